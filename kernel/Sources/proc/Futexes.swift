import ExoABI
import ExoKit
import ExoSched

/// futex(2) WAIT and WAKE: threads sleep on a 32-bit user word and are
/// woken by address. Waiters are keyed by (address space, address), so
/// private futexes of different processes never meet. Guarded by the
/// scheduler lock.
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
            let value = try UserMode.read(UInt32.self, at: c.a0)
            var timeout: UInt64? = nil
            if c.a3 != 0 {
                let time = try LinuxTimespec(decoding: try UserMode.readBytes(at: c.a3, count: 16), at: 0).validatedInterval()
                guard let nanoseconds = time.totalNanoseconds else { throw .invalidArgument }
                timeout = UInt64(nanoseconds)
            }
            guard value == UInt32(truncatingIfNeeded: c.a2) else { throw .tryAgain }
            if Process.current.signals.hasDeliverable { throw .interrupted }
            let me = Scheduler.current
            let start = Clock.nanosecondsSinceBoot()
            Scheduler.withLock { waiters[key, default: []].append(me) }
            if let timeout { Scheduler.sleep(nanoseconds: timeout) } else { Scheduler.withLock { Scheduler.block() } }
            let stillWaiting = Scheduler.withLock { () -> Bool in
                guard let index = waiters[key]?.firstIndex(of: me) else { return false }
                waiters[key]!.remove(at: index)
                if waiters[key]!.isEmpty { waiters[key] = nil }
                return true
            }
            guard stillWaiting else { return 0 }          // a WAKE took us off the list
            if let timeout, Clock.nanosecondsSinceBoot() - start >= timeout { throw .timedOut }
            throw .interrupted
        case 1, 10:                                        // FUTEX_WAKE, FUTEX_WAKE_BITSET
            let limit = Int(min(c.a2, UInt64(Int32.max)))
            return Scheduler.withLock { () -> Int64 in
                var woken = 0
                while woken < limit, let thread = waiters[key]?.first {
                    waiters[key]!.removeFirst()
                    if waiters[key]!.isEmpty { waiters[key] = nil }
                    Scheduler.wake(thread)
                    woken += 1
                }
                return Int64(woken)
            }
        default:
            throw .notImplemented
        }
    }
}
