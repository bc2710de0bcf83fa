import ExoSched

/// Blocking synchronisation for kernel threads: wait queues, mutexes,
/// counting semaphores.
///
/// All of them work under the scheduler lock, which makes "check the
/// condition, then sleep" atomic on every CPU: a wakeup cannot slip in
/// between (the lost wakeup).

/// Threads waiting for something, woken in FIFO order. Every method needs
/// the scheduler lock.
///
/// A waiter can also be woken by something else (a signal posted to its
/// thread wakes it wherever it sleeps), so every caller re-checks its
/// condition in a loop, and `wait` takes the caller off the queue when it
/// returns: a thread woken some other way must not stay queued, or a later
/// `wakeOne` would spend itself on it (and lose the real waiter's wakeup),
/// or wake it while it sleeps somewhere else.
///
/// A class, not a struct: the queue is changed by other threads while a
/// waiter sleeps inside `wait`, which an inout `self` would forbid.
final class WaitQueue {
    private var waiters: [ThreadID] = []

    var isEmpty: Bool { waiters.isEmpty }

    /// Blocks the calling thread until woken; returns with the lock held,
    /// no longer queued.
    func wait() {
        precondition(Scheduler.lock.isHeldHere, "wait needs the scheduler lock")
        let me = Scheduler.current
        waiters.append(me)
        Scheduler.block()
        remove(me)
    }

    /// Without allocating: the array keeps its capacity, so a queue that
    /// is waited on again and again (IPC, pipes) never reallocates.
    private func remove(_ thread: ThreadID) {
        if let index = waiters.firstIndex(of: thread) { waiters.remove(at: index) }
    }

    /// Wakes the longest waiter; returns whether there was one.
    @discardableResult
    func wakeOne() -> Bool {
        precondition(Scheduler.lock.isHeldHere, "wake needs the scheduler lock")
        guard let first = takeFirstWaiter() else { return false }
        Scheduler.wake(first)
        return true
    }

    /// Takes the longest waiter off the queue without waking it (for a
    /// direct handoff to it).
    func takeFirst() -> ThreadID? {
        precondition(Scheduler.lock.isHeldHere, "takeFirst needs the scheduler lock")
        return takeFirstWaiter()
    }

    /// The head, off the queue. A queue of one (the usual case: one
    /// receiver, one joiner) pops from the end, which moves nothing.
    private func takeFirstWaiter() -> ThreadID? {
        switch waiters.count {
        case 0: return nil
        case 1: return waiters.removeLast()
        default: return waiters.remove(at: 0)
        }
    }

    /// Queues the calling thread without blocking it: the caller then
    /// blocks another way (`Scheduler.handOff`) and calls `removeCurrent`.
    func enqueueCurrent() {
        precondition(Scheduler.lock.isHeldHere, "enqueueCurrent needs the scheduler lock")
        waiters.append(Scheduler.current)
    }

    /// Takes the calling thread off the queue if it is still on it.
    func removeCurrent() { remove(Scheduler.current) }

    func wakeAll() {
        precondition(Scheduler.lock.isHeldHere, "wake needs the scheduler lock")
        for index in waiters.indices { Scheduler.wake(waiters[index]) }
        waiters.removeAll(keepingCapacity: true)
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
