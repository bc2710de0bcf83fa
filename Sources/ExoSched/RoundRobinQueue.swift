/// The baseline policy `RunQueue` is measured against: one FIFO, one fixed
/// slice, no classes, no wakeup preemption (a woken thread waits its turn).
///
/// Same interface and the same intrusive links, so the simulator and the
/// kernel can swap it in. It does not touch threads' classes or predictions
/// (it does account their runtime), and every thread weighs 1 in its load.
///
/// Invariants: as `RunQueue`'s 2-4, with one list.
public struct RoundRobinQueue: SchedulingQueue, Sendable {
    public let cpu: CPUID
    /// Every thread's slice.
    public let timeSlice: Nanoseconds
    private var list = ThreadList()
    private var pinnedQueued: UInt32 = 0
    public private(set) var current: ThreadID?
    private var sliceStart: Nanoseconds = 0

    /// An empty queue for `cpu` giving each thread `timeSlice` (> 0).
    public init(cpu: CPUID, timeSlice: Nanoseconds = 4_000_000) {
        precondition(cpu <= SchedEntity.Location.maximumCPU, "CPU number out of range")
        precondition(timeSlice > 0, "a zero slice never lets a thread run")
        self.cpu = cpu
        self.timeSlice = timeSlice
    }

    public var count: Int { Int(list.count) }

    public var load: CPULoad {
        CPULoad(weighted: list.count + (current == nil ? 0 : 1), queued: list.count,
                migratable: list.count - pinnedQueued, isRunning: current != nil)
    }

    public var preemptionDeadline: Nanoseconds? { current == nil ? nil : sliceStart + timeSlice }

    public mutating func enqueue<Table: SchedEntityTable>(_ thread: ThreadID, waitingSince: Nanoseconds,
                                                          entities: inout Table) throws(SchedError) {
        try checkDetached(thread, for: cpu, entities: entities)
        insert(thread, waitingSince: waitingSince, entities: &entities)
    }

    private mutating func insert<Table: SchedEntityTable>(_ thread: ThreadID, waitingSince: Nanoseconds,
                                                          entities: inout Table) {
        var since = waitingSince
        if let tail = list.last { since = max(since, entities[tail].waitingSince) }
        entities[thread].waitingSince = since
        entities[thread].location = .queued(cpu)
        list.append(thread, entities: &entities)
        if entities[thread].pinnedCPU != nil { pinnedQueued += 1 }
    }

    public mutating func pickNext<Table: SchedEntityTable>(now: Nanoseconds, entities: inout Table) -> ThreadID? {
        precondition(current == nil, "pickNext while a thread runs: switch it out first")
        guard let thread = list.popFirst(entities: &entities) else { return nil }
        if entities[thread].pinnedCPU != nil { pinnedQueued -= 1 }
        dispatch(thread, now: now, entities: &entities)
        return thread
    }

    public mutating func beginRunning<Table: SchedEntityTable>(_ thread: ThreadID, now: Nanoseconds,
                                                               entities: inout Table) throws(SchedError) {
        guard current == nil else { throw .cpuBusy(cpu) }
        try checkDetached(thread, for: cpu, entities: entities)
        dispatch(thread, now: now, entities: &entities)
    }

    private mutating func dispatch<Table: SchedEntityTable>(_ thread: ThreadID, now: Nanoseconds,
                                                            entities: inout Table) {
        entities[thread].location = .running(cpu)
        entities[thread].lastCPU = cpu
        current = thread
        sliceStart = now
    }

    @discardableResult
    public mutating func switchOut<Table: SchedEntityTable>(now: Nanoseconds, reason: SwitchOutReason,
                                                            entities: inout Table) throws(SchedError) -> ThreadID {
        guard let thread = current else { throw .cpuIdle(cpu) }
        current = nil
        entities[thread].runtime += elapsed(from: sliceStart, to: now)
        entities[thread].location = .detached
        if reason == .preempted || reason == .yielded, !entities[thread].isPinned(elsewhereThan: cpu) {
            insert(thread, waitingSince: now, entities: &entities)
        }
        return thread
    }

    public mutating func remove<Table: SchedEntityTable>(_ thread: ThreadID, entities: inout Table) throws(SchedError) {
        guard entities[thread].location == .queued(cpu) else { throw .notQueued(thread) }
        list.remove(thread, entities: &entities)
        if entities[thread].pinnedCPU != nil { pinnedQueued -= 1 }
        entities[thread].location = .detached
    }

    public func shouldPreempt(now: Nanoseconds) -> Bool {
        guard !list.isEmpty else { return false }
        guard current != nil else { return true }
        return elapsed(from: sliceStart, to: now) >= timeSlice
    }

    /// The longest-waiting movable thread, preferring one whose home is `node`.
    public func migrationCandidate<Table: SchedEntityTable>(toNode node: NUMANode, now: Nanoseconds,
                                                            cooldown: Nanoseconds, maximumWeight: UInt32,
                                                            entities: Table) -> ThreadID? {
        guard maximumWeight >= 1 else { return nil }
        var otherNode: ThreadID?
        var cursor = list.first
        var scanned = 0
        while let thread = cursor, scanned < RunQueue.migrationScanLimit {
            let entity = entities[thread]
            if isMigratable(entity, now: now, cooldown: cooldown) {
                if entity.homeNode == node { return thread }
                if otherNode == nil { otherNode = thread }
            }
            cursor = list.successor(of: thread, entities: entities)
            scanned += 1
        }
        return otherNode
    }
}
