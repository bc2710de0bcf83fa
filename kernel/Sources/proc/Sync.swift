import ExoSched

/// Blocking synchronisation for kernel threads: wait queues, mutexes,
/// counting semaphores.
///
/// All of them work under the scheduler lock, which makes "check the
/// condition, then sleep" atomic on every CPU: a wakeup cannot slip in
/// between (the lost wakeup).

/// Threads waiting for something, woken in FIFO order. Every method needs
/// the scheduler lock.
struct WaitQueue {
    private var waiters: [ThreadID] = []

    var isEmpty: Bool { waiters.isEmpty }

    /// Blocks the calling thread until woken; returns with the lock held.
    mutating func wait() {
        precondition(Scheduler.lock.isHeldHere, "wait needs the scheduler lock")
        waiters.append(Scheduler.current)
        Scheduler.block()
    }

    /// Wakes the longest waiter; returns whether there was one.
    @discardableResult
    mutating func wakeOne() -> Bool {
        precondition(Scheduler.lock.isHeldHere, "wake needs the scheduler lock")
        guard !waiters.isEmpty else { return false }
        Scheduler.wake(waiters.removeFirst())
        return true
    }

    /// Takes the longest waiter off the queue without waking it (for a
    /// direct handoff to it).
    mutating func takeFirst() -> ThreadID? {
        precondition(Scheduler.lock.isHeldHere, "takeFirst needs the scheduler lock")
        return waiters.isEmpty ? nil : waiters.removeFirst()
    }

    /// Queues the calling thread without blocking it yet: the caller then
    /// blocks some other way (`Scheduler.handOff`).
    mutating func enqueueCurrent() {
        precondition(Scheduler.lock.isHeldHere, "enqueueCurrent needs the scheduler lock")
        waiters.append(Scheduler.current)
    }

    /// Forgets the calling thread if it is still queued (woken by a signal
    /// or a closed end rather than by this queue).
    mutating func removeCurrent() {
        let me = Scheduler.current
        waiters.removeAll { $0 == me }
    }

    mutating func wakeAll() {
        precondition(Scheduler.lock.isHeldHere, "wake needs the scheduler lock")
        let all = waiters
        waiters.removeAll()
        for thread in all { Scheduler.wake(thread) }
    }
}

/// A sleeping mutual-exclusion lock. Not recursive: locking it twice from
/// one thread is a bug and stops the kernel.
final class KernelMutex {
    private var owner: ThreadID? = nil
    private var waiters = WaitQueue()
    private(set) var contentions: UInt64 = 0

    func lock() {
        Scheduler.withLock {
            precondition(owner != Scheduler.current, "mutex locked twice by one thread")
            while owner != nil {
                contentions &+= 1
                waiters.wait()
            }
            owner = Scheduler.current
        }
    }

    func unlock() {
        Scheduler.withLock {
            precondition(owner == Scheduler.current, "mutex unlocked by a thread that does not hold it")
            owner = nil
            waiters.wakeOne()
        }
    }

    func withLock<R>(_ body: () -> R) -> R {
        lock()
        defer { unlock() }
        return body()
    }
}

/// A counting semaphore.
final class KernelSemaphore {
    private var count: Int
    private var waiters = WaitQueue()

    init(count: Int = 0) { self.count = count }

    /// Takes one unit, blocking while there is none.
    func wait() {
        Scheduler.withLock {
            while count == 0 { waiters.wait() }
            count -= 1
        }
    }

    /// Adds one unit and wakes a waiter.
    func signal() {
        Scheduler.withLock {
            count += 1
            waiters.wakeOne()
        }
    }

    var value: Int { Scheduler.withLock { count } }
}
