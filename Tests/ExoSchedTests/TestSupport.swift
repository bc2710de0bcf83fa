import Testing
@testable import ExoSched

let us: Nanoseconds = 1_000
let ms: Nanoseconds = 1_000_000

extension ThreadID: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self.init(value) }
}

extension CPUID: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self.init(value) }
}

/// One CPU's queue, its entity table and a clock, for driving the policy
/// the way the kernel does.
struct QueueHarness<Queue: SchedulingQueue> {
    var queue: Queue
    var entities: SchedEntityArray
    var now: Nanoseconds = 0

    init(queue: Queue, threads: Int, parameters: SchedulerParameters = .standard) {
        self.queue = queue
        self.entities = SchedEntityArray(capacity: threads, parameters: parameters)
    }

    mutating func enqueue(_ thread: ThreadID) throws {
        try queue.enqueue(thread, now: now, entities: &entities)
    }

    mutating func pick() -> ThreadID? {
        queue.pickNext(now: now, entities: &entities)
    }

    /// Runs the current thread for `duration`, then switches it out.
    @discardableResult
    mutating func run(for duration: Nanoseconds, then reason: SwitchOutReason) throws -> ThreadID {
        now += duration
        return try queue.switchOut(now: now, reason: reason, entities: &entities)
    }

    /// Dispatches `thread` directly and runs one burst of `burst`, ending
    /// with `reason`; the class it ends with.
    mutating func burst(_ thread: ThreadID, _ burst: Nanoseconds, then reason: SwitchOutReason = .blocked) throws -> SchedClass {
        try queue.beginRunning(thread, now: now, entities: &entities)
        try run(for: burst, then: reason)
        if reason == .preempted || reason == .yielded { try queue.remove(thread, entities: &entities) }
        return entities[thread].schedClass
    }

    /// Drains the queue in pick order, each thread running 1 ns and blocking.
    mutating func drain() throws -> [ThreadID] {
        var order: [ThreadID] = []
        while let thread = pick() {
            order.append(thread)
            try run(for: 1, then: .blocked)
        }
        return order
    }
}

extension QueueHarness where Queue == RunQueue {
    init(threads: Int, parameters: SchedulerParameters = .standard) {
        self.init(queue: RunQueue(cpu: 0, parameters: parameters), threads: threads, parameters: parameters)
    }

    /// Forces a thread's class (tests only; normally only bursts change it).
    mutating func set(_ thread: ThreadID, to schedClass: SchedClass) {
        entities[thread].schedClass = schedClass
    }
}
