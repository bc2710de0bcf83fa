import ExoABI
import ExoKit
import ExoSched

/// futex(2) WAIT and WAKE: threads sleep on a 32-bit user word and are
/// woken by address. Waiters are keyed by (address space, address), so
/// the threads of one process meet there (private or not) and private
/// futexes of different processes never do. Guarded by the scheduler lock.
///
/// No lost wakeups: a waiter compares the word and queues itself in one
/// hold of the scheduler lock; a waker changes the word in user memory
/// first and then takes the lock to wake, so either the waiter sees the new
/// value (EAGAIN) or the waker sees the waiter.
enum Futexes {
    private struct Key: Hashable { let root: UInt64; let address: UInt64 }
    nonisolated(unsafe) private static var waiters: [Key: [ThreadID]] = [:]

    static func call(_ c: SyscallContext) throws(Errno) -> Int64 {
        let operation = c.a1 & ~UInt64(128 | 256)         // FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME
        guard c.a0 % 4 == 0 else { throw .invalidArgument }
        guard let space = Process.current.space else { throw .invalidArgument }
        let key = Key(root: space.root, address: c.a0)
        switch operation {
        case 0, 9:                                         // FUTEX_WAIT, FUTEX_WAIT_BITSET
            if operation == 9 && UInt32(truncatingIfNeeded: c.a5) == 0 { throw .invalidArgument }
            // Fault the word in (and EFAULT) before the lock is taken.
            _ = try UserMode.read(UInt32.self, at: c.a0)
            var timeout: UInt64? = nil
            if c.a3 != 0 {
                let time = try LinuxTimespec(decoding: try UserMode.readBytes(at: c.a3, count: 16), at: 0).validatedInterval()
                guard let nanoseconds = time.totalNanoseconds else { throw .invalidArgument }
                timeout = UInt64(nanoseconds)
            }
            return try wait(key: key, expected: UInt32(truncatingIfNeeded: c.a2), timeout: timeout)
        case 1, 10:                                        // FUTEX_WAKE, FUTEX_WAKE_BITSET
            return Int64(wake(root: space.root, address: c.a0, count: Int(min(c.a2, UInt64(Int32.max)))))
        default:
            throw .notImplemented
        }
    }

    /// Sleeps while the word at `key` holds `expected`, until a WAKE, a
    /// signal for the thread (EINTR) or the timeout (ETIMEDOUT).
    private static func wait(key: Key, expected: UInt32, timeout: UInt64?) throws(Errno) -> Int64 {
        let me = Scheduler.current
        let thread = UserThread.current
        let start = Clock.nanosecondsSinceBoot()
        return try Scheduler.withLockThrowing { () throws(Errno) -> Int64 in
            // Under the lock; a fault here is resolved in place (lock order:
            // scheduler, then address space).
            guard try UserMode.read(UInt32.self, at: key.address) == expected else { throw .tryAgain }
            if thread.hasDeliverableSignal { throw .interrupted }
            waiters[key, default: []].append(me)
            if let timeout { Scheduler.sleepLocked(nanoseconds: timeout) } else { Scheduler.block() }
            guard let index = waiters[key]?.firstIndex(of: me) else { return 0 }    // a WAKE took us off
            waiters[key]!.remove(at: index)
            if waiters[key]!.isEmpty { waiters[key] = nil }
            if let timeout, Clock.nanosecondsSinceBoot() - start >= timeout { throw .timedOut }
            throw .interrupted
        }
    }

    /// Wakes up to `count` waiters on `address` in the address space
    /// `root`; returns how many. (FUTEX_WAKE, and thread exit's
    /// clear_child_tid.)
    static func wake(root: UInt64, address: UInt64, count: Int) -> Int {
        let key = Key(root: root, address: address)
        return Scheduler.withLock { () -> Int in
            var woken = 0
            while woken < count, let thread = waiters[key]?.first {
                waiters[key]!.removeFirst()
                if waiters[key]!.isEmpty { waiters[key] = nil }
                Scheduler.wake(thread)
                woken += 1
            }
            return woken
        }
    }
}
