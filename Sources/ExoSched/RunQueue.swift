/// One CPU's run queue under Exo's policy: three FIFO queues, Hot, Normal
/// and Cold, chosen by each thread's predicted CPU burst.
///
/// Dispatch order (`pickNext`):
/// 1. Aging: if the Normal or Cold class has had a thread waiting and none of
///    its threads running for longer than its starvation bound, its oldest
///    thread runs (the more overdue class first). It then runs its whole
///    slice: a waking Hot thread does not preempt it, or a stream of Hot
///    wakeups would take the CPU back each time and starve it anyway.
/// 2. Otherwise the oldest Hot thread, else Normal, else Cold.
///
/// Aging measures a *class's* starvation, not a thread's wait: four Cold
/// threads sharing a CPU wait 30 ms each between their 10 ms slices, and
/// that is round robin, not starvation (aging them would make every Cold
/// dispatch immune to wakeup preemption). Bound (checked by the tests): a
/// class with waiting threads is served within its starvation bound plus the
/// slice then running plus, for one class, the other class's aged slice; a
/// thread behind k others of its class within k + 1 such rounds. Under a
/// saturating Hot load each lower class therefore keeps a minimum share of
/// about slice / (bound + slice): Cold 10/30, Normal 4/14 with the defaults
/// (the simulation in the tests measures Hot 54%, Cold 33%, Normal 13%, the
/// Normal threads there blocking after 2 ms).
///
/// Invariants:
/// 1. Every queued thread is on exactly the list of its `schedClass`, with
///    `location == .queued(cpu)`; classes change only while a thread is not
///    queued (at `switchOut`).
/// 2. `waitingSince` is nondecreasing from head to tail of each list, so the
///    head is the longest-waiting thread and aging looks only at heads.
/// 3. `pinnedQueued` counts queued threads with a `pinnedCPU`.
/// 4. `current`, if any, has `location == .running(cpu)` and is on no list.
///
/// A value type with no references: it owns no memory (the threads' links
/// live in the caller's entity table), so it can sit in a per-CPU area.
public struct RunQueue: SchedulingQueue, Sendable {
    public let cpu: CPUID
    public let parameters: SchedulerParameters
    private var lists = PerClass(repeating: ThreadList())
    /// When a thread of each class last stopped running here.
    private var lastRan = PerClass<Nanoseconds>(repeating: 0)
    private var pinnedQueued: UInt32 = 0
    /// The running thread, if any.
    public var current: ThreadID? {
        currentNumber == ThreadID.endOfList ? nil : ThreadID(rawValue: currentNumber)
    }
    /// `current` as its raw number, `endOfList` for none: no optional's
    /// tag byte to store and test on the switch path.
    private var currentNumber = ThreadID.endOfList
    /// `current`'s class when it was dispatched (decides its slice).
    private var currentClass = SchedClass.normal
    private var sliceStart: Nanoseconds = 0
    /// Whether `current` was dispatched by aging (then only its slice's end
    /// preempts it).
    private var currentIsAged = false
    /// Dispatches made by aging rather than class order, since creation.
    public private(set) var agedDispatches: UInt64 = 0

    /// An empty queue for `cpu`. Precondition: `parameters.validate()` passes.
    public init(cpu: CPUID, parameters: SchedulerParameters = .standard) {
        precondition(cpu <= SchedEntity.Location.maximumCPU, "CPU number out of range")
        self.cpu = cpu
        self.parameters = parameters
    }

    // The read-only members below are forced inline: in the embedded
    // kernel build (-Osize) a non-inlined call copies the whole queue to
    // pass `self`, which costs more than the member itself, on every switch.
    @inline(__always)
    public var count: Int { Int(lists.hot.count + lists.normal.count + lists.cold.count) }

    /// No thread waits (one test of the three counts, no sum).
    @inline(__always)
    public var isEmpty: Bool { lists.hot.count | lists.normal.count | lists.cold.count == 0 }

    /// Threads waiting in `schedClass`'s queue.
    @inline(__always)
    public func count(of schedClass: SchedClass) -> Int { Int(lists[schedClass].count) }

    /// The class the running thread was dispatched with.
    @inline(__always)
    public var currentSchedClass: SchedClass? { current == nil ? nil : currentClass }

    @inline(__always)
    public var load: CPULoad {
        let weights = parameters.loadWeights
        var weighted = lists.hot.count * weights.hot + lists.normal.count * weights.normal
            + lists.cold.count * weights.cold
        if current != nil { weighted += weights[currentClass] }
        let queued = UInt32(count)
        return CPULoad(weighted: weighted, queued: queued, migratable: queued - pinnedQueued,
                       isRunning: current != nil)
    }

    @inline(__always)
    public var preemptionDeadline: Nanoseconds? {
        guard current != nil else { return nil }
        let sliceEnd = sliceStart + parameters.timeSlice(for: currentClass)
        if wakeupPreemptionApplies {
            return min(sliceEnd, sliceStart + parameters.wakeupPreemptionGranularity)
        }
        return sliceEnd
    }

    /// A Hot thread waits and the running thread may be preempted for it.
    private var wakeupPreemptionApplies: Bool {
        current != nil && !currentIsAged && currentClass != .hot && !lists.hot.isEmpty
    }

    /// Queues a detached thread (woken, new or moved here). A thread whose
    /// last bursts ended in handoffs has them in its predictor but not yet
    /// in its class: that is brought up to date first.
    public mutating func enqueue<Table: SchedEntityTable>(_ thread: ThreadID, waitingSince: Nanoseconds,
                                                          entities: inout Table) throws(SchedError) {
        try checkDetached(thread, for: cpu, entities: entities)
        if entities[thread].classIsStale {
            entities[thread].schedClass = updatedClass(of: entities[thread])
            entities[thread].classIsStale = false
        }
        insert(thread, waitingSince: waitingSince, entities: &entities)
    }

    /// Links a detached thread that may run here at its class's tail.
    private mutating func insert<Table: SchedEntityTable>(_ thread: ThreadID, waitingSince: Nanoseconds,
                                                          entities: inout Table) {
        let schedClass = entities[thread].schedClass
        var since = waitingSince
        if let tail = lists[schedClass].last {
            since = max(since, entities[tail].waitingSince)  // invariant 2
        }
        entities[thread].waitingSince = since
        entities[thread].location = .queued(cpu)
        lists[schedClass].append(thread, entities: &entities)
        if entities[thread].pinnedCPU != nil { pinnedQueued += 1 }
    }

    public mutating func pickNext<Table: SchedEntityTable>(now: Nanoseconds, entities: inout Table) -> ThreadID? {
        precondition(current == nil, "pickNext while a thread runs: switch it out first")
        let aged = mostOverdueClass(now: now, entities: entities)
        let chosen: SchedClass
        if let aged {
            chosen = aged
        } else if !lists.hot.isEmpty {
            chosen = .hot
        } else if !lists.normal.isEmpty {
            chosen = .normal
        } else if !lists.cold.isEmpty {
            chosen = .cold
        } else {
            return nil
        }
        guard let thread = lists[chosen].popFirst(entities: &entities) else { return nil }
        if entities[thread].pinnedCPU != nil { pinnedQueued -= 1 }
        dispatch(thread, aged: aged != nil, now: now, entities: &entities)
        return thread
    }

    public mutating func beginRunning<Table: SchedEntityTable>(_ thread: ThreadID, now: Nanoseconds,
                                                               entities: inout Table) throws(SchedError) {
        guard current == nil else { throw .cpuBusy(cpu) }
        try checkDetached(thread, for: cpu, entities: entities)
        dispatch(thread, aged: false, now: now, entities: &entities)
    }

    private mutating func dispatch<Table: SchedEntityTable>(_ thread: ThreadID, aged: Bool, now: Nanoseconds,
                                                            entities: inout Table) {
        entities[thread].location = .running(cpu)
        entities[thread].lastCPU = cpu
        currentNumber = thread.rawValue
        currentClass = entities[thread].schedClass
        sliceStart = now
        currentIsAged = aged
        if aged { agedDispatches += 1 }
    }

    /// The class (Normal or Cold) that has starved longest past its bound.
    @inline(__always)
    private func mostOverdueClass<Table: SchedEntityTable>(now: Nanoseconds, entities: Table) -> SchedClass? {
        let normal = overdue(.normal, bound: parameters.normalStarvationBound, now: now, entities: entities)
        let cold = overdue(.cold, bound: parameters.coldStarvationBound, now: now, entities: entities)
        switch (normal, cold) {
        case (nil, nil): return nil
        case (.some, nil): return .normal
        case (nil, .some): return .cold
        case (.some(let n), .some(let c)): return n > c ? .normal : .cold
        }
    }

    /// How far past `bound` the class has gone without running while it had
    /// a thread waiting; `nil` if not past it.
    @inline(__always)
    private func overdue<Table: SchedEntityTable>(_ schedClass: SchedClass, bound: Nanoseconds,
                                                  now: Nanoseconds, entities: Table) -> Nanoseconds? {
        guard let head = lists[schedClass].first else { return nil }
        let starving = elapsed(from: max(lastRan[schedClass], entities[head].waitingSince), to: now)
        return starving >= bound ? starving - bound : nil
    }

    @discardableResult
    public mutating func switchOut<Table: SchedEntityTable>(now: Nanoseconds, reason: SwitchOutReason,
                                                            entities: inout Table) throws(SchedError) -> ThreadID {
        guard let thread = current else { throw .cpuIdle(cpu) }
        // Point of no return: the thread leaves the CPU.
        let ran = elapsed(from: sliceStart, to: now)
        lastRan[currentClass] = now
        currentNumber = ThreadID.endOfList
        var entity = entities[thread]
        entity.runtime += ran
        entity.currentBurst += ran
        switch reason {
        case .blocked:
            entity.predictor.record(sampleAtMostMaximum: min(entity.currentBurst, parameters.burstSampleCap))
            entity.currentBurst = 0
        case .exited:
            entity.currentBurst = 0
        case .preempted, .yielded:
            break
        }
        entity.schedClass = updatedClass(of: entity)
        entity.classIsStale = false
        entity.location = .detached
        entities[thread] = entity
        if reason == .preempted || reason == .yielded, !entity.isPinned(elsewhereThan: cpu) {
            insert(thread, waitingSince: now, entities: &entities)
        }
        return thread
    }

    /// `entity`'s class from its prediction and its burst in progress. The
    /// burst in progress counts as evidence too: a thread that has already
    /// run longer than its prediction without blocking is not the
    /// short-burst thread its history says (and, never blocking, a CPU hog
    /// would otherwise never feed the predictor at all).
    @inline(__always)
    private func updatedClass(of entity: SchedEntity) -> SchedClass {
        parameters.classifier.classify(max(entity.predictor.predicted, entity.currentBurst), current: entity.schedClass)
    }

    /// Whether `target`, a detached thread that may run here, can take the
    /// CPU straight from the running thread (`tryHandOff`) without
    /// cheating anyone queued: no class is past its starvation bound, and
    /// nothing waiting outranks it (a Hot thread waits and `target` is not
    /// Hot). Checks only; changes nothing (`mutating` for the reason given
    /// at `admitsHandOffPastWaiters`).
    @inline(__always)
    public mutating func admitsHandOff<Table: SchedEntityTable>(to target: ThreadID, now: Nanoseconds,
                                                                entities: Table) -> Bool {
        handOffCheck(to: target, now: now, entities: entities) != .refused
    }

    private enum HandOffCheck { case refused, nobodyQueued, admittedPastWaiters }

    @inline(__always)
    private mutating func handOffCheck<Table: SchedEntityTable>(to target: ThreadID, now: Nanoseconds,
                                                                entities: Table) -> HandOffCheck {
        guard currentNumber != ThreadID.endOfList, entities[target].location == .detached,
              !entities[target].isPinned(elsewhereThan: cpu) else { return .refused }
        // The call/reply case first: nobody else waits here.
        if lists.hot.count | lists.normal.count | lists.cold.count == 0 { return .nobodyQueued }
        return admitsHandOffPastWaiters(to: target, now: now, entities: entities) ? .admittedPastWaiters : .refused
    }

    /// `admitsHandOff` when threads are queued: out of line, so the common
    /// empty-queue check stays a few instructions. `mutating` only so that
    /// the queue is passed by address: a non-mutating call copies all of it
    /// first (measured: 220 instructions); it changes nothing.
    @inline(never)
    private mutating func admitsHandOffPastWaiters<Table: SchedEntityTable>(to target: ThreadID, now: Nanoseconds,
                                                                           entities: Table) -> Bool {
        if !lists.hot.isEmpty && entities[target].schedClass != .hot { return false }
        if lists.normal.isEmpty && lists.cold.isEmpty { return true }
        return mostOverdueClass(now: now, entities: entities) == nil
    }

    /// If `admitsHandOff(to: target, …)`, the running thread blocks and
    /// `target` runs in its place, with no trip through the queues: the
    /// direct switch of a call/reply (IPC) or a handoff between
    /// cooperating threads. Returns the thread that stopped running, or
    /// `nil` (and nothing changed) when the handoff is not admitted.
    ///
    /// The outgoing thread's burst ends here and goes into its predictor
    /// exactly as at `switchOut(reason: .blocked)`; `target` starts a fresh
    /// slice of its class. Two things `switchOut` does are left to where
    /// they are used, so that the switch path is only the burst's
    /// bookkeeping:
    /// - The outgoing thread's *class* is not re-derived from the updated
    ///   prediction here but marked stale, and re-derived at its next
    ///   `enqueue` or `switchOut`, where a class decides which list it
    ///   joins. While it only hands off it is on no list, and the burst is
    ///   not lost: it is in the predictor. (As a handoff target it runs
    ///   with the class it has, for its slice.)
    /// - `lastRan` is not updated while no thread is queued. It only matters
    ///   through `max(lastRan, head.waitingSince)` in aging, and a thread
    ///   queued later has `waitingSince` at or after now, which wins over
    ///   any `lastRan` written now.
    @inline(__always) @discardableResult
    public mutating func tryHandOff<Table: SchedEntityTable>(to target: ThreadID, now: Nanoseconds,
                                                             entities: inout Table) -> ThreadID? {
        let check = handOffCheck(to: target, now: now, entities: entities)
        if check == .refused { return nil }
        // Point of no return.
        return commitHandOff(to: target, now: now, pastWaiters: check == .admittedPastWaiters, entities: &entities)
    }

    /// `tryHandOff`'s commit: the running thread's burst ends and `target`
    /// is dispatched in its place. Returns the thread that stopped running.
    @inline(__always)
    private mutating func commitHandOff<Table: SchedEntityTable>(to target: ThreadID, now: Nanoseconds,
                                                                 pastWaiters: Bool,
                                                                 entities: inout Table) -> ThreadID {
        let thread = ThreadID(rawValue: currentNumber)
        let ran = elapsed(from: sliceStart, to: now)
        if pastWaiters { lastRan[currentClass] = now }
        // Field by field: copying the entity out and back costs more than
        // the whole update (the kernel's table is reached through an
        // addressor, so each line below is one or two stores).
        // Wrapping adds: nanosecond totals cannot reach 2^64 (584 years).
        entities[thread].runtime &+= ran
        let burst = entities[thread].currentBurst &+ ran
        entities[thread].currentBurst = 0
        entities[thread].predictor.record(sampleAtMostMaximum: min(burst, parameters.burstSampleCap))
        entities[thread].classIsStale = true
        entities[thread].location = .detached
        dispatch(target, aged: false, now: now, entities: &entities)
        return thread
    }

    /// At the end of a slice that nobody waits to take over, the running
    /// thread keeps the CPU for another slice of its class, so the next
    /// preemption deadline is a slice ahead rather than in the past (a
    /// timer armed for a past deadline fires again at once, over and over).
    /// What it ran is charged first: runtime and the burst in progress,
    /// which keeps growing (it did not block), and the class follows that
    /// burst as at a switch-out. Returns whether a slice was renewed.
    @discardableResult
    public mutating func renewSliceIfExpired<Table: SchedEntityTable>(now: Nanoseconds,
                                                                      entities: inout Table) -> Bool {
        guard let thread = current, isEmpty else { return false }
        let ran = elapsed(from: sliceStart, to: now)
        guard ran >= parameters.timeSlice(for: currentClass) else { return false }
        entities[thread].runtime &+= ran
        entities[thread].currentBurst &+= ran
        entities[thread].schedClass = updatedClass(of: entities[thread])
        entities[thread].classIsStale = false
        currentClass = entities[thread].schedClass
        sliceStart = now
        currentIsAged = false
        return true
    }

    // MARK: Lazy handoff (the IPC fast path's)

    /// Whether the running thread may hand the CPU to `target` *lazily*:
    /// the switch happens but this queue is not told, and `target` runs
    /// on the slice of the thread the queue still records as running (its
    /// `current`, the slice's owner), as an L4 server runs on its
    /// client's time. `settle` later brings the record up to date, and
    /// only then does the owner's burst end.
    ///
    /// Admitted only when no thread waits here (handing the CPU around a
    /// chain then cheats nobody: any thread queued later makes the kernel
    /// settle first, through the timer or its IPI) and `target` may run
    /// here: detached (blocked, so on no queue), or the slice's owner
    /// itself, which a reply hands the CPU back to. Checks only.
    @inline(__always)
    public func admitsLazyHandOff<Table: SchedEntityTable>(to target: ThreadID, entities: Table) -> Bool {
        guard currentNumber != ThreadID.endOfList, isEmpty else { return false }
        let location = entities[target].location
        return (location == .detached || target.rawValue == currentNumber)
            && !entities[target].isPinned(elsewhereThan: cpu)
    }

    /// After lazy handoffs, makes `running` (the thread this CPU actually
    /// runs, detached while it ran on another's slice) the queue's
    /// `current`, exactly as if the slice's owner had handed off to it
    /// now: the owner's burst ends and goes into its predictor, and
    /// `running` starts a slice of its own. Nothing happens when the
    /// record is already right (or the CPU idles). The kernel calls it
    /// before anything that reads or changes `current`.
    @inline(__always)
    public mutating func settle<Table: SchedEntityTable>(running: ThreadID, now: Nanoseconds,
                                                         entities: inout Table) {
        guard currentNumber != ThreadID.endOfList, currentNumber != running.rawValue,
              entities[running].location == .detached else { return }
        settleSlowly(running: running, now: now, entities: &entities)
    }

    @inline(never)
    private mutating func settleSlowly<Table: SchedEntityTable>(running: ThreadID, now: Nanoseconds,
                                                                entities: inout Table) {
        _ = commitHandOff(to: running, now: now, pastWaiters: count > 0, entities: &entities)
    }

    public mutating func remove<Table: SchedEntityTable>(_ thread: ThreadID, entities: inout Table) throws(SchedError) {
        guard entities[thread].location == .queued(cpu) else { throw .notQueued(thread) }
        lists[entities[thread].schedClass].remove(thread, entities: &entities)
        if entities[thread].pinnedCPU != nil { pinnedQueued -= 1 }
        entities[thread].location = .detached
    }

    @inline(__always)
    public func shouldPreempt(now: Nanoseconds) -> Bool {
        guard count > 0 else { return false }
        guard current != nil else { return true }
        let ran = elapsed(from: sliceStart, to: now)
        if ran >= parameters.timeSlice(for: currentClass) { return true }
        return wakeupPreemptionApplies && ran >= parameters.wakeupPreemptionGranularity
    }

    /// How many threads of each class `migrationCandidate` looks at, from the
    /// head: keeps the scan O(1) under the queue lock.
    public static let migrationScanLimit = 8

    /// Preference: a thread whose home node is `node` over one from another
    /// node; then Cold over Normal over Hot (CPU-bound threads gain most from
    /// an idle CPU, and Hot ones are cheap to leave and often talk to a
    /// partner on this CPU); then the longest waiting.
    public func migrationCandidate<Table: SchedEntityTable>(toNode node: NUMANode, now: Nanoseconds,
                                                            cooldown: Nanoseconds, maximumWeight: UInt32,
                                                            entities: Table) -> ThreadID? {
        var otherNode: ThreadID?
        for rank in 0..<3 {  // no array literal: that could allocate
            let schedClass: SchedClass = rank == 0 ? .cold : rank == 1 ? .normal : .hot
            guard parameters.loadWeights[schedClass] <= maximumWeight else { continue }
            var cursor = lists[schedClass].first
            var scanned = 0
            while let thread = cursor, scanned < Self.migrationScanLimit {
                let entity = entities[thread]
                if isMigratable(entity, now: now, cooldown: cooldown) {
                    if entity.homeNode == node { return thread }
                    if otherNode == nil { otherNode = thread }
                }
                cursor = lists[schedClass].successor(of: thread, entities: entities)
                scanned += 1
            }
        }
        return otherNode
    }

    /// Checks invariants 1-4 by walking every list: `nil` if they hold,
    /// else what is wrong. O(queued threads); for tests and debug builds.
    public func verify<Table: SchedEntityTable>(entities: Table) -> String? {
        var pinned: UInt32 = 0
        for rank in 0..<3 {
            let schedClass: SchedClass = rank == 0 ? .hot : rank == 1 ? .normal : .cold
            let list = lists[schedClass]
            var previous = ThreadID.endOfList
            var previousWait: Nanoseconds = 0
            var seen: UInt32 = 0
            var cursor = list.first
            while let thread = cursor {
                let entity = entities[thread]
                let place = "\(schedClass) list, thread \(thread.rawValue)"
                guard seen < list.count else { return "\(schedClass) list longer than its count (a cycle?)" }
                guard entity.prev == previous else { return "\(place): back link broken" }
                guard entity.schedClass == schedClass else { return "\(place): on the wrong class's list" }
                guard entity.location == .queued(cpu) else { return "\(place): location is not queued here" }
                guard entity.waitingSince >= previousWait else { return "\(place): waits longer than its predecessor" }
                if entity.pinnedCPU != nil { pinned += 1 }
                previous = thread.rawValue
                previousWait = entity.waitingSince
                seen += 1
                cursor = list.successor(of: thread, entities: entities)
            }
            guard seen == list.count, previous == (list.last?.rawValue ?? ThreadID.endOfList) else {
                return "\(schedClass) list: count or tail wrong"
            }
        }
        guard pinned == pinnedQueued else { return "pinned count \(pinnedQueued), found \(pinned)" }
        if let current, entities[current].location != .running(cpu) { return "current thread is not running here" }
        return nil
    }

    /// The waiting threads of `schedClass`, head first (for tests and
    /// debugging output; allocates).
    public func queued<Table: SchedEntityTable>(_ schedClass: SchedClass, entities: Table) -> [ThreadID] {
        var result: [ThreadID] = []
        var cursor = lists[schedClass].first
        while let thread = cursor {
            result.append(thread)
            cursor = lists[schedClass].successor(of: thread, entities: entities)
        }
        return result
    }
}
