/// Blocking synchronisation for kernel threads: wait queues, mutexes,
/// counting semaphores.
///
/// Each operation runs its check-and-block step with interrupts off, so a
/// wakeup cannot slip between "condition false" and "asleep" (the lost
/// wakeup). On one CPU that is the whole story; the SMP work adds a spin
/// lock next to each interrupt-off section.

/// Threads waiting for something, woken in FIFO order.
struct WaitQueue {
    private var waiters: [ThreadID] = []

    var isEmpty: Bool { waiters.isEmpty }

    /// Blocks the calling thread until woken. Interrupts must be off.
    mutating func wait() {
        precondition(!CPU.interruptsEnabled, "wait needs interrupts off")
        waiters.append(Scheduler.current)
        Scheduler.block()
    }

    /// Wakes the longest waiter; returns whether there was one.
    @discardableResult
    mutating func wakeOne() -> Bool {
        guard !waiters.isEmpty else { return false }
        Scheduler.wake(waiters.removeFirst())
        return true
    }

    mutating func wakeAll() {
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
        CPU.withInterruptsDisabled {
            precondition(owner != Scheduler.current, "mutex locked twice by one thread")
            while owner != nil {
                contentions &+= 1
                waiters.wait()
            }
            owner = Scheduler.current
        }
    }

    func unlock() {
        CPU.withInterruptsDisabled {
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
        CPU.withInterruptsDisabled {
            while count == 0 { waiters.wait() }
            count -= 1
        }
    }

    /// Adds one unit and wakes a waiter.
    func signal() {
        CPU.withInterruptsDisabled {
            count += 1
            waiters.wakeOne()
        }
    }

    var value: Int { CPU.withInterruptsDisabled { count } }
}
