import CExoArch
import ExoBoot
import ExoKit
import ExoMemory
import ExoSched

/// Per-thread scheduling state for ExoSched, in a table the run queues of
/// every CPU share (a pointer, so no Swift array is mutated from two CPUs).
struct KernelEntities: SchedEntityTable {
    let base: UnsafeMutablePointer<SchedEntity>
    // Addressors, not get/set: ExoSched updates single fields
    // (`entities[t].runtime += …`), which a get/set pair would turn into a
    // copy of the whole entity out and back for every field.
    subscript(thread: ThreadID) -> SchedEntity {
        unsafeAddress { UnsafePointer(base + thread.index) }
        nonmutating unsafeMutableAddress { base + thread.index }
    }
}

/// Picks which thread runs on each CPU, switches to it, and keeps time.
///
/// Policy is ExoSched's: per-CPU Hot/Normal/Cold run queues with classes
/// from an EMA of CPU bursts, per-class slices, aging, and the load
/// balancer's placement and stealing. This file is the mechanism.
///
/// Locking (xv6-style): one scheduler lock guards every run queue, thread
/// state and sleep list. `reschedule` is entered with it held and
/// interrupts off, and returns with it held: the lock is handed across the
/// context switch to the thread that resumes (a new thread releases it in
/// `threadStarted`). One lock keeps SMP correct and simple; per-CPU locks
/// are the refinement when contention shows.
///
/// Timers: each CPU's one-shot APIC timer is armed for its nearest event,
/// the queue's preemption deadline or its earliest sleeper. Armed later
/// than needed never happens (re-armed only for earlier events; an early
/// interrupt re-evaluates).
enum Scheduler {
    static let lock = KernelSpinLock()
    nonisolated(unsafe) private(set) static var entities = KernelEntities(base: UnsafeMutablePointer(bitPattern: 8)!)
    nonisolated(unsafe) private static var queues: UnsafeMutablePointer<RunQueue> = UnsafeMutablePointer(bitPattern: 8)!
    nonisolated(unsafe) private static var idleThreads: UnsafeMutablePointer<ThreadID> = UnsafeMutablePointer(bitPattern: 8)!
    nonisolated(unsafe) private static var deadlines: UnsafeMutablePointer<UInt64> = UnsafeMutablePointer(bitPattern: 8)!
    /// Sleeping threads per CPU, soonest deadline first.
    nonisolated(unsafe) private static var sleepers: [[ThreadID]] = []
    nonisolated(unsafe) private static var loads: [CPULoad] = []
    nonisolated(unsafe) private static var balancer = LoadBalancer(topology: .uniform(cpuCount: 1))
    nonisolated(unsafe) private(set) static var started = false
    nonisolated(unsafe) private(set) static var switches: UInt64 = 0
    nonisolated(unsafe) private(set) static var preemptions: UInt64 = 0
    nonisolated(unsafe) private(set) static var timerInterrupts: UInt64 = 0
    nonisolated(unsafe) private(set) static var steals: UInt64 = 0
    nonisolated(unsafe) private(set) static var remoteWakeups: UInt64 = 0
    /// Set by `yield` for the switch-out reason.
    nonisolated(unsafe) private static var yielding: UnsafeMutablePointer<Bool> = UnsafeMutablePointer(bitPattern: 8)!

    static var cpuCount: Int { SMP.maximumCPUs }

    /// The policy's knobs: ExoSched's standard Hot/Normal/Cold parameters,
    /// or plain round robin with `exo.sched=rr` (for comparisons).
    nonisolated(unsafe) private(set) static var parameters = SchedulerParameters.standard

    /// The calling thread, with interrupts on or off.
    ///
    /// One GS-relative load of this CPU's `PerCPU.currentThread`. Not
    /// `running[SMP.currentIndex]`: with interrupts on, a preemption between
    /// reading the CPU index and reading `running` can move the caller to
    /// another CPU, and the second read then names whatever thread now runs
    /// on the first CPU. (That was a real bug: on -smp 2, a just-exec'd cat
    /// on its way back to ring 3 took the shell's pending SIGCHLD with the
    /// shell's handler, and died in the handler's code.)
    @inline(__always)
    static var current: ThreadID { ThreadID(trustedRawValue: exo_read_gs_current_thread()) }

    /// The thread running on CPU `cpu` (its idle thread when its queue has
    /// none), for other CPUs to look at under the lock: that CPU's
    /// per-CPU record. A thread asking for itself uses `current`.
    @inline(__always)
    private static func running(on cpu: Int) -> ThreadID { ThreadID(rawValue: SMP.cpus[cpu].currentThread) }

    /// Makes `thread` the one this CPU runs (`current`, `running(on:)`).
    /// Lock held, interrupts off, on this CPU's switch path.
    @inline(__always)
    private static func setRunning(_ thread: ThreadID) {
        SMP.current.pointee.currentThread = thread.rawValue
    }

    /// Per-CPU state for every possible CPU, the boot context as thread 0
    /// on CPU 0, and the boot CPU's idle thread. Interrupts off.
    static func initialize(entityCapacity: Int) throws(MemoryError) {
        if BootState.commandLine.value(of: "exo.sched") == "rr" {
            parameters = .roundRobin
            Log.info("sched: round-robin policy (exo.sched=rr)")
        }
        let table = UnsafeMutablePointer<SchedEntity>.allocate(capacity: entityCapacity)
        table.initialize(repeating: SchedEntity(parameters: parameters), count: entityCapacity)
        entities = KernelEntities(base: table)
        queues = .allocate(capacity: cpuCount)
        idleThreads = .allocate(capacity: cpuCount)
        deadlines = .allocate(capacity: cpuCount)
        yielding = .allocate(capacity: cpuCount)
        for cpu in 0..<cpuCount {
            (queues + cpu).initialize(to: RunQueue(cpu: CPUID(cpu), parameters: parameters))
            (idleThreads + cpu).initialize(to: ThreadID(0))
            (deadlines + cpu).initialize(to: UInt64.max)
            (yielding + cpu).initialize(to: false)
        }
        sleepers = Array(repeating: [], count: cpuCount)
        loads = Array(repeating: .idle, count: cpuCount)
        // Thread 0 (kmain) is running on CPU 0 as an ordinary thread.
        try? queues[0].beginRunning(ThreadID(0), now: Clock.nanosecondsSinceBoot(), entities: &entities)
        Interrupts.register(vector: Interrupts.timer) { timerOrIPI(isTimer: true) }
        Interrupts.register(vector: Interrupts.reschedule) { timerOrIPI(isTimer: false) }
    }

    /// Starts scheduling on the boot CPU: its idle thread exists from here.
    static func start(topology: CPUTopology) throws(MemoryError) {
        balancer = LoadBalancer(topology: topology)
        let idle = try Threads.spawnIdle(name: "idle 0")
        idleThreads[0] = idle
        started = true
    }

    /// The CPU/NUMA layout the balancer weighs (after the APs are up).
    static func setTopology(_ topology: CPUTopology) {
        withLock {
            balancer = LoadBalancer(topology: topology)
            self.topology = topology
        }
    }

    nonisolated(unsafe) private(set) static var topology = CPUTopology.uniform(cpuCount: 1)

    /// Called on an application processor, on its boot stack, which becomes
    /// its idle thread. Interrupts off.
    static func adoptIdleContext(cpu: Int) throws(MemoryError) {
        let idle = try Threads.adoptCurrentContext(name: "idle")
        lock.acquire()
        idleThreads[cpu] = idle
        setRunning(idle)
        lock.release()
    }

    // MARK: State changes (scheduler lock held, interrupts off)

    /// Puts a new or woken thread on a run queue chosen by the balancer,
    /// and makes that CPU reschedule if the newcomer should run at once.
    static func makeReady(_ thread: ThreadID) {
        precondition(lock.isHeldHere, "makeReady needs the scheduler lock")
        Threads.table[thread.index].state = .ready
        let now = Clock.nanosecondsSinceBoot()
        // A slice's owner that handed off lazily is still recorded as
        // running on its CPU's queue: that record is settled first.
        settleRecord(of: thread, now: now)
        let me = SMP.currentIndex
        let target = SMP.count > 1 ? balancer.placement(forWaking: entities[thread], loads: onlineLoads()).index : me
        do { try queues[target].enqueue(thread, waitingSince: now, entities: &entities) } catch {
            panic("run queue refused thread \(thread.rawValue): \(error.errno.name.description)")
        }
        if SMP.count > 1 { loads[target] = queues[target].load }
        let targetIdle = running(on: target) == idleThreads[target]
        if target != me {
            if targetIdle || queues[target].shouldPreempt(now: now) {
                remoteWakeups &+= 1
                LocalAPIC.sendInterrupt(to: SMP.cpus[target].apicID, vector: Interrupts.reschedule)
            }
        } else if queues[me].shouldPreempt(now: now) || running(on: me) == idleThreads[me] {
            arm(cpu: me, at: now, now: now)      // reschedule from the timer, right away
        }
    }

    /// Wakes a blocked or sleeping thread (no effect on others).
    static func wake(_ thread: ThreadID) {
        precondition(lock.isHeldHere, "wake needs the scheduler lock")
        let state = Threads.table[thread.index].state
        guard state == .blocked || state == .sleeping else { return }
        if state == .sleeping {
            for cpu in 0..<cpuCount { sleepers[cpu].removeAll { $0 == thread } }
        }
        makeReady(thread)
    }

    /// Blocks the calling thread until `wake`; returns with the lock held.
    static func block() {
        precondition(lock.isHeldHere, "block needs the scheduler lock")
        Threads.table[current.index].state = .blocked
        reschedule()
    }

    /// Runs `body` holding the scheduler lock with interrupts off.
    @inline(__always)
    static func withLock<R>(_ body: () -> R) -> R {
        CPU.withInterruptsDisabled {
            lock.acquire()
            defer { lock.release() }
            return body()
        }
    }

    static func withLockThrowing<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try CPU.withInterruptsDisabled { () throws(E) -> R in
            lock.acquire()
            defer { lock.release() }
            return try body()
        }
    }

    /// Whether this CPU's run queue is empty (read without the lock, for
    /// the sched_yield fast path: a thread queued here a moment later
    /// preempts the caller through the timer or an IPI anyway).
    static var nothingQueuedHere: Bool { queues[SMP.currentIndex].count == 0 }

    /// Gives up the CPU; the caller stays runnable.
    static func yield() {
        withLock {
            yielding[SMP.currentIndex] = true
            reschedule()
        }
    }

    /// Sends a reschedule IPI to the CPU running `thread`, if that is not
    /// this CPU: a thread in ring 3 there enters the kernel and, on its
    /// way back, acts on pending signals (kill, exit_group). Lock held.
    static func interruptIfRunningElsewhere(_ thread: ThreadID) {
        precondition(lock.isHeldHere, "interruptIfRunningElsewhere needs the scheduler lock")
        let me = SMP.currentIndex
        for cpu in 0..<SMP.count where cpu != me && running(on: cpu) == thread {
            LocalAPIC.sendInterrupt(to: SMP.cpus[cpu].apicID, vector: Interrupts.reschedule)
        }
    }

    /// Sleeps at least `nanoseconds` on the monotonic clock.
    static func sleep(nanoseconds: UInt64) {
        withLock { sleepLocked(nanoseconds: nanoseconds) }
    }

    /// `sleep` for a caller that holds the lock (so that its check of a
    /// wake-up condition and the sleep are one step); returns with it held.
    static func sleepLocked(nanoseconds: UInt64) {
        precondition(lock.isHeldHere, "sleepLocked needs the scheduler lock")
        let cpu = SMP.currentIndex
        let me = running(on: cpu)
        let (sum, overflow) = Clock.nanosecondsSinceBoot().addingReportingOverflow(nanoseconds)
        let deadline = overflow ? UInt64.max - 1 : sum   // "forever" for absurd requests
        Threads.table[me.index].state = .sleeping
        Threads.table[me.index].wakeDeadline = deadline
        let index = sleepers[cpu].firstIndex { Threads.table[$0.index].wakeDeadline > deadline } ?? sleepers[cpu].count
        sleepers[cpu].insert(me, at: index)
        reschedule()
    }

    // MARK: The switch

    /// Chooses the next thread for this CPU and switches to it. The caller
    /// set its own state: `.running` means it stays runnable (yield or
    /// preemption). Lock held, interrupts off; returns with the lock held.
    static func reschedule() {
        assert(lock.isHeldHere && !CPU.interruptsEnabled, "reschedule needs the scheduler lock")
        let cpu = SMP.currentIndex
        let now = Clock.nanosecondsSinceBoot()
        let previous = running(on: cpu)
        settle(cpu: cpu, now: now)
        let state = Threads.table[previous.index].state
        if previous != idleThreads[cpu] {
            let reason: SwitchOutReason = state == .running ? (yielding[cpu] ? .yielded : .preempted)
                : (state == .exited ? .exited : .blocked)
            do { _ = try queues[cpu].switchOut(now: now, reason: reason, entities: &entities) } catch {
                panic("switch-out refused: \(error.errno.name.description)")
            }
            if state == .running { Threads.table[previous.index].state = .ready }
        }
        yielding[cpu] = false
        var next = queues[cpu].pickNext(now: now, entities: &entities)
        if next == nil && SMP.count > 1 { next = stealWork(for: cpu, now: now) }
        let chosen = next ?? idleThreads[cpu]
        if SMP.count > 1 { loads[cpu] = queues[cpu].load }   // only the balancer reads loads
        Threads.table[chosen.index].state = .running
        armNearestEvent(cpu: cpu, now: now)
        guard chosen != previous else { return }
        setRunning(chosen)
        switchContext(from: Threads.table + previous.index, to: Threads.table + chosen.index)
    }

    /// The machine side of every switch: page tables and kernel stack,
    /// then the register window with the eager FPU switch (see Threads).
    /// Both records by address, computed by the caller before its stores
    /// to the table: the table's base is then loaded once, not again after
    /// every store and opaque instruction sequence.
    @inline(__always)
    private static func switchContext(from outgoing: UnsafeMutablePointer<Threads.Record>,
                                      to incoming: UnsafeMutablePointer<Threads.Record>) {
        switches &+= 1
        Threads.loadMachineContext(of: incoming)
        exo_switch_context(&outgoing.pointee.savedStackPointer, incoming.pointee.savedStackPointer,
                           outgoing.pointee.fpuArea, incoming.pointee.fpuArea)
    }

    /// The caller blocks and `target`, blocked waiting for it (the other
    /// side of a call/reply), runs at once on this CPU: no run-queue trip,
    /// no timer work. Falls back to an ordinary wakeup and block when the
    /// queue owes the CPU to someone else or `target` may not run here.
    /// Returns, lock held, once someone wakes the caller (or hands back).
    ///
    /// Lazy when nobody waits here (`RunQueue.admitsLazyHandOff`): the
    /// switch alone, states and machine context, and the run queue is not
    /// told: `target` runs on the slice of the thread the queue records as
    /// running (the slice's owner, the first caller of a call chain), and
    /// `settle` charges the owner and makes the running thread the queue's
    /// before anything reads the record: the next reschedule, a wakeup of
    /// the owner, an eager handoff. A call/reply ping-pong then never
    /// touches the queue or the burst predictor between two timer ticks,
    /// and the burst the owner is charged is the chain's. (Liedtke's lazy
    /// scheduling; seL4 lets a server run on its client's scheduling
    /// context the same way.)
    ///
    /// Inlined into its few callers (IPC call/reply, benchmarks): their
    /// frame is saved once, not once per switch on top of the register
    /// window. Lock held, interrupts off.
    @inline(__always)
    static func handOff(to target: ThreadID) {
        assert(lock.isHeldHere && !CPU.interruptsEnabled, "handOff needs the scheduler lock")
        guard mayHandOffLazily(to: target) else {
            handOffEagerly(to: target, cpu: SMP.currentIndex)
            return
        }
        handOffLazily(from: current, to: target)
    }

    /// `handOff`'s lazy case as a check and a commit, also for a fast path
    /// that must know before it changes anything that the CPU will go
    /// straight to `target`: `target` blocked, nobody queued here, `target`
    /// free to run here. Lock held, interrupts off.
    @inline(__always)
    static func mayHandOffLazily(to target: ThreadID) -> Bool {
        Threads.table[target.index].state == .blocked
            && queues[SMP.currentIndex].admitsLazyHandOff(to: target, entities: entities)
    }

    /// The commit after `mayHandOffLazily(to:)` answered yes, in the same
    /// lock visit: `handOff` without its checks.
    @inline(__always)
    static func handOffLazily(from me: ThreadID, to target: ThreadID) {
        assert(me == current, "the caller hands off")
        switchDirectly(from: Threads.table + me.index, to: Threads.table + target.index, target)
    }

    /// The handoff through the run queue (`tryHandOff`: the caller's burst
    /// ends here, `target` gets a slice of its own), when threads wait on
    /// this CPU or `target` is recorded elsewhere; an ordinary wakeup and
    /// block when the queue refuses it.
    @inline(never)
    private static func handOffEagerly(to target: ThreadID, cpu: Int) {
        let now = Clock.nanosecondsSinceBoot()
        settle(cpu: cpu, now: now)
        let incoming = Threads.table + target.index
        if incoming.pointee.state == .blocked { settleRecord(of: target, now: now) }
        // Checks: the target waits for us, and the queue admits it (which
        // also refuses the idle thread: it is never the queue's current
        // thread, so `tryHandOff` finds no running thread to hand off).
        guard incoming.pointee.state == .blocked,
              let previous = queues[cpu].tryHandOff(to: target, now: now, entities: &entities) else {
            wake(target)
            block()
            return
        }
        switchDirectly(from: Threads.table + previous.index, to: incoming, target)
    }

    /// The direct switch of a handoff: the caller blocked, `target` running
    /// on this CPU.
    @inline(__always)
    private static func switchDirectly(from outgoing: UnsafeMutablePointer<Threads.Record>,
                                       to incoming: UnsafeMutablePointer<Threads.Record>, _ target: ThreadID) {
        outgoing.pointee.state = .blocked
        incoming.pointee.state = .running
        setRunning(target)
        switchContext(from: outgoing, to: incoming)
    }

    /// Brings `cpu`'s run-queue record of its running thread up to date
    /// after lazy handoffs (`handOff`). Lock held.
    @inline(__always)
    private static func settle(cpu: Int, now: UInt64) {
        queues[cpu].settle(running: running(on: cpu), now: now, entities: &entities)
    }

    /// If `thread` (not running) is still some queue's record of its
    /// running thread (it handed off lazily), settles that queue. Lock held.
    @inline(__always)
    private static func settleRecord(of thread: ThreadID, now: UInt64) {
        let location = entities[thread].location
        if location.kind == .running { settle(cpu: Int(location.cpu.rawValue), now: now) }
    }

    /// An idle CPU takes a waiting thread from the busiest one.
    private static func stealWork(for cpu: Int, now: UInt64) -> ThreadID? {
        guard let victim = balancer.stealSource(for: CPUID(cpu), loads: onlineLoads()) else { return nil }
        let moved = try? balancer.steal(from: &queues[victim.index], to: &queues[cpu], now: now, entities: &entities)
        guard moved != nil else { return nil }
        steals &+= 1
        loads[victim.index] = queues[victim.index].load
        return queues[cpu].pickNext(now: now, entities: &entities)
    }

    private static func onlineLoads() -> [CPULoad] {
        var result = loads
        for cpu in SMP.count..<cpuCount { result[cpu] = CPULoad(weighted: .max, queued: 0, migratable: 0, isRunning: true) }
        return result
    }

    /// A new thread's first act: it holds the lock handed over by the
    /// switch that started it.
    static func threadStarted() {
        lock.release()
    }

    // MARK: Time

    /// The APIC timer or a reschedule IPI (interrupts off, EOI sent).
    private static func timerOrIPI(isTimer: Bool) {
        lock.acquire()
        defer { lock.release() }
        let cpu = SMP.currentIndex
        let now = Clock.nanosecondsSinceBoot()
        if isTimer { timerInterrupts &+= 1; deadlines[cpu] = UInt64.max }
        while let first = sleepers[cpu].first, Threads.table[first.index].wakeDeadline <= now {
            sleepers[cpu].removeFirst()
            makeReady(first)
        }
        let idle = running(on: cpu) == idleThreads[cpu]
        if (idle && (queues[cpu].count > 0 || SMP.count > 1)) || queues[cpu].shouldPreempt(now: now) {
            if !idle { preemptions &+= 1 }
            reschedule()
        } else {
            if isTimer { queues[cpu].renewSliceIfExpired(now: now, entities: &entities) }
            armNearestEvent(cpu: cpu, now: now)
        }
    }

    private static func armNearestEvent(cpu: Int, now: UInt64) {
        var next = queues[cpu].preemptionDeadline ?? UInt64.max
        if let first = sleepers[cpu].first { next = min(next, Threads.table[first.index].wakeDeadline) }
        guard next != UInt64.max else { return }
        arm(cpu: cpu, at: next, now: now)
    }

    private static func arm(cpu: Int, at deadline: UInt64, now: UInt64) {
        guard deadline < deadlines[cpu] || deadlines[cpu] <= now else { return }
        deadlines[cpu] = deadline
        LocalAPIC.armOneShot(nanoseconds: max(deadline > now ? deadline - now : 0, 1_000))
    }

    /// The thread `cpu`'s run queue records as running: after lazy
    /// handoffs, the slice's owner rather than the thread the CPU runs
    /// (tests). Lock held.
    static func recordedRunning(on cpu: Int) -> ThreadID? { queues[cpu].current }

    /// Threads waiting on `cpu`'s run queue (tests). Lock held.
    static func queuedCount(on cpu: Int) -> Int { queues[cpu].count }

    /// This CPU's class for the running thread (statistics, tests).
    static func schedClass(of thread: ThreadID) -> SchedClass { entities[thread].schedClass }
}
