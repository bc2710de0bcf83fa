/// What one CPU's run queue tells the load balancer. A snapshot: the
/// kernel may read other CPUs' figures without their locks and act on a
/// slightly stale one, which costs at most a useless or a missed migration.
public struct CPULoad: Equatable, Sendable {
    /// Sum of `SchedulerParameters.loadWeights` over its queued threads and
    /// its running one.
    public var weighted: UInt32
    /// Threads waiting on its queue (not counting the running one).
    public var queued: UInt32
    /// Of those, the ones not pinned to it (the only ones that may move).
    public var migratable: UInt32
    /// Whether a thread is running on it.
    public var isRunning: Bool

    public init(weighted: UInt32, queued: UInt32, migratable: UInt32, isRunning: Bool) {
        self.weighted = weighted
        self.queued = queued
        self.migratable = migratable
        self.isRunning = isRunning
    }

    /// Nothing running, nothing waiting.
    public static let idle = CPULoad(weighted: 0, queued: 0, migratable: 0, isRunning: false)

    /// Nothing running and nothing waiting: the CPU sits in its idle loop.
    public var isIdle: Bool { !isRunning && queued == 0 }
}

/// One CPU's run queue, as the kernel (and `SchedulerSimulator`) drives it.
/// Implemented by `RunQueue` (the Hot/Normal/Cold policy) and
/// `RoundRobinQueue` (the baseline it is measured against).
///
/// The kernel calls, all under this CPU's run-queue lock:
/// - `enqueue(_:now:entities:)` when a thread becomes runnable here (created,
///   woken, its affinity changed); then `shouldPreempt(now:)`, and if it
///   says so, reschedules this CPU (an IPI if it is another CPU).
/// - `shouldPreempt(now:)` from the timer interrupt at
///   `preemptionDeadline`; if true, reschedules.
/// - To reschedule: `switchOut(now:reason:entities:)` for the running
///   thread (which re-enqueues it if it was preempted or yielded), then
///   `pickNext(now:entities:)`; `nil` means steal (`LoadBalancer`) or idle.
/// - `beginRunning(_:now:entities:)` to run a thread directly without the
///   queue (IPC handoff to the receiver of a message).
/// - `remove(_:entities:)` when a queued thread must leave (killed,
///   migrated, affinity changed).
///
/// A thread's burst is measured from its dispatch (`pickNext` or
/// `beginRunning`) to `switchOut`, so `now` must come from one clock that all
/// CPUs agree on (the invariant TSC, in nanoseconds).
///
/// No method allocates; each is O(1) (the migration scan is bounded).
public protocol SchedulingQueue {
    /// The CPU this queue belongs to.
    var cpu: CPUID { get }
    /// The thread running on this CPU, if any.
    var current: ThreadID? { get }
    /// Threads waiting (not counting `current`).
    var count: Int { get }
    /// This CPU's load figure for the balancer.
    var load: CPULoad { get }
    /// When `shouldPreempt` may next turn true without anything being
    /// enqueued: arm the one-shot timer for it. `nil` with no thread running.
    var preemptionDeadline: Nanoseconds? { get }

    /// Puts a runnable, detached thread at the tail of its class, as waiting
    /// since `waitingSince` (`now` for a wakeup, the old value for a
    /// migration, which keeps its place in the aging order as far as the
    /// queue's FIFO order allows).
    ///
    /// Throws `alreadyQueued`/`alreadyRunning` if the thread is not
    /// detached, `pinnedElsewhere` if it is pinned to another CPU.
    mutating func enqueue<Table: SchedEntityTable>(_ thread: ThreadID, waitingSince: Nanoseconds,
                                                   entities: inout Table) throws(SchedError)

    /// Dequeues the thread to run next and makes it `current`.
    /// Precondition: no thread is running (`switchOut` first).
    mutating func pickNext<Table: SchedEntityTable>(now: Nanoseconds, entities: inout Table) -> ThreadID?

    /// Makes a detached thread `current` without going through the queue.
    /// Throws `cpuBusy` if one is running, `alreadyQueued`/`alreadyRunning`
    /// or `pinnedElsewhere` as `enqueue` does.
    mutating func beginRunning<Table: SchedEntityTable>(_ thread: ThreadID, now: Nanoseconds,
                                                        entities: inout Table) throws(SchedError)

    /// The running thread leaves the CPU: accounts its CPU time, updates its
    /// prediction and class, and re-enqueues it if it was preempted or
    /// yielded (unless it is now pinned to another CPU: then it is left
    /// detached for the kernel to enqueue there). Returns it.
    /// Throws `cpuIdle` if no thread is running.
    @discardableResult
    mutating func switchOut<Table: SchedEntityTable>(now: Nanoseconds, reason: SwitchOutReason,
                                                     entities: inout Table) throws(SchedError) -> ThreadID

    /// Takes a queued thread off this queue (it becomes detached).
    /// Throws `notQueued` if it is not on this queue.
    mutating func remove<Table: SchedEntityTable>(_ thread: ThreadID, entities: inout Table) throws(SchedError)

    /// Should this CPU reschedule now? True when idle with work queued, when
    /// the running thread's slice is over and someone waits, or (policy
    /// permitting) when a more urgent thread waits.
    func shouldPreempt(now: Nanoseconds) -> Bool

    /// A queued thread that may move to a CPU on `node`: not pinned, not
    /// migrated within `cooldown`, weight at most `maximumWeight`; `nil` if
    /// none. The policy decides the preference order.
    func migrationCandidate<Table: SchedEntityTable>(toNode node: NUMANode, now: Nanoseconds,
                                                     cooldown: Nanoseconds, maximumWeight: UInt32,
                                                     entities: Table) -> ThreadID?
}

extension SchedulingQueue {
    /// Enqueues a thread that becomes runnable now (created or woken).
    public mutating func enqueue<Table: SchedEntityTable>(_ thread: ThreadID, now: Nanoseconds,
                                                          entities: inout Table) throws(SchedError) {
        try enqueue(thread, waitingSince: now, entities: &entities)
    }
}

/// The checks every queue makes before taking a thread (enqueue or run).
func checkDetached<Table: SchedEntityTable>(_ thread: ThreadID, for cpu: CPUID, entities: Table) throws(SchedError) {
    let entity = entities[thread]
    switch entity.location.kind {
    case .queued: throw .alreadyQueued(thread)
    case .running: throw .alreadyRunning(thread)
    case .detached: break
    }
    if entity.isPinned(elsewhereThan: cpu) { throw .pinnedElsewhere(thread) }
}

/// Is `entity` free to move: not pinned and not moved within `cooldown`?
func isMigratable(_ entity: SchedEntity, now: Nanoseconds, cooldown: Nanoseconds) -> Bool {
    if entity.pinnedCPU != nil { return false }
    if let moved = entity.lastMigration, elapsed(from: moved, to: now) < cooldown { return false }
    return true
}
