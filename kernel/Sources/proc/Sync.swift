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
///
/// Intrusive: the links live in the waiting threads' own records
/// (`Threads.Record.waitNext/waitPrev/waitQueue`), so queueing never
/// allocates and every operation is O(1). A thread waits on at most one
/// queue at a time (it blocks right after queueing), which `waitQueue`
/// records and the enqueue paths check. The lock preconditions are debug
/// assertions, as on the scheduler's own hot paths: these run on every IPC
/// and pipe wakeup.
final class WaitQueue {
    private var head = WaitLinks.none
    private var tail = WaitLinks.none

    var isEmpty: Bool { head == WaitLinks.none }

    /// This queue's identity in thread records (not retained: a queue
    /// outlives its waiters, each of which leaves it before returning).
    private var identity: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// Blocks the calling thread until woken; returns with the lock held,
    /// no longer queued.
    func wait() {
        assert(Scheduler.lock.isHeldHere, "wait needs the scheduler lock")
        let me = Scheduler.current
        append(me)
        Scheduler.block()
        remove(me)
    }

    @inline(__always)
    private func append(_ thread: ThreadID) {
        let record = Threads.table + thread.index
        precondition(record.pointee.waitQueue == nil, "a thread waits on one queue at a time")
        record.pointee.waitQueue = identity
        record.pointee.waitNext = WaitLinks.none
        record.pointee.waitPrev = tail
        if tail == WaitLinks.none { head = thread.rawValue } else { Threads.table[Int(tail)].waitNext = thread.rawValue }
        tail = thread.rawValue
    }

    /// Unlinks `thread` if it is on this queue (a no-op otherwise: it was
    /// taken off by a wakeup).
    @inline(__always)
    private func remove(_ thread: ThreadID) {
        let record = Threads.table + thread.index
        guard record.pointee.waitQueue == identity else { return }
        let next = record.pointee.waitNext, prev = record.pointee.waitPrev
        if prev == WaitLinks.none { head = next } else { Threads.table[Int(prev)].waitNext = next }
        if next == WaitLinks.none { tail = prev } else { Threads.table[Int(next)].waitPrev = prev }
        record.pointee.waitQueue = nil
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
    @inline(__always)
    func takeFirst() -> ThreadID? {
        assert(Scheduler.lock.isHeldHere, "takeFirst needs the scheduler lock")
        return takeFirstWaiter()
    }

    @inline(__always)
    private func takeFirstWaiter() -> ThreadID? {
        guard head != WaitLinks.none else { return nil }
        let first = ThreadID(rawValue: head)
        remove(first)
        return first
    }

    /// The one thread waiting, if exactly one is (nil for none or more):
    /// a fast path's check before `takeSole`. Lock held.
    @inline(__always)
    var soleWaiter: ThreadID? {
        head != WaitLinks.none && head == tail ? ThreadID(rawValue: head) : nil
    }

    /// Takes the `soleWaiter` off the queue without waking it (a direct
    /// handoff follows), leaving the queue empty. Lock held.
    @inline(__always)
    func takeSole(_ thread: ThreadID) {
        assert(soleWaiter == thread, "takeSole needs the sole waiter")
        Threads.table[thread.index].waitQueue = nil
        head = WaitLinks.none
        tail = WaitLinks.none
    }

    /// Queues the calling thread without blocking it: the caller then
    /// blocks another way (`Scheduler.handOff`) and, woken, calls
    /// `leaveCurrentQueue`.
    @inline(__always)
    func enqueueCurrent() {
        assert(Scheduler.lock.isHeldHere, "enqueueCurrent needs the scheduler lock")
        append(Scheduler.current)
    }

    /// Takes the calling thread off whatever queue it is on, found through
    /// its own record. Only for queues whose owner empties them before it
    /// can go (a ring's close wakes every waiter, and the last handle's
    /// close comes before the ring is freed): a thread still on such a
    /// queue proves the queue alive. Lock held.
    @inline(__always)
    static func leaveCurrentQueue() {
        leave(Scheduler.current)
    }

    /// `enqueue` into a queue known to be empty (a fast path's check):
    /// the caller is head and tail, without the links of a longer queue.
    @inline(__always)
    func enqueueIntoEmpty(_ me: ThreadID) {
        assert(Scheduler.lock.isHeldHere && me == Scheduler.current && isEmpty, "enqueueIntoEmpty needs the lock, the caller, an empty queue")
        let record = Threads.table + me.index
        record.pointee.waitQueue = identity
        record.pointee.waitNext = WaitLinks.none
        record.pointee.waitPrev = WaitLinks.none
        head = me.rawValue
        tail = me.rawValue
    }

    /// `leaveCurrentQueue` for a caller that has its own ThreadID at hand.
    @inline(__always)
    static func leave(_ me: ThreadID) {
        assert(Scheduler.lock.isHeldHere && me == Scheduler.current, "leave needs the lock, and the caller")
        guard let queue = Threads.table[me.index].waitQueue else { return }
        Unmanaged<WaitQueue>.fromOpaque(queue)._withUnsafeGuaranteedRef { $0.remove(me) }
    }

    /// Inline, the common empty case is one compare; the loop is not.
    @inline(__always)
    func wakeAll() {
        if !isEmpty { wakeEveryWaiter() }
    }

    @inline(never)
    private func wakeEveryWaiter() {
        assert(Scheduler.lock.isHeldHere, "wake needs the scheduler lock")
        while let waiter = takeFirstWaiter() { Scheduler.wake(waiter) }
    }
}

/// The end-of-list mark of the wait-queue links in thread records.
enum WaitLinks {
    static let none = UInt32.max
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
