import ExoABI
import ExoKit
import ExoSched

/// ITIMER_REAL timers (alarm, setitimer): each process may have one
/// deadline on the monotonic clock, optionally repeating; when it passes,
/// the process gets SIGALRM.
///
/// One kernel thread serves them all: it sleeps until the earliest
/// deadline, posts the signals that are due, re-arms repeating timers, and
/// sleeps again. Setting a timer wakes it so it can recompute. Deadlines
/// and the thread's state are guarded by the scheduler lock.
enum AlarmClock {
    nonisolated(unsafe) private static var thread: ThreadID? = nil
    nonisolated(unsafe) private static var sleepingUntil: UInt64 = 0

    /// Sets `process`'s timer (deadline 0: disarm); returns the previous
    /// (remaining, interval) in nanoseconds.
    static func set(_ process: Process, after delay: UInt64, interval: UInt64) -> (UInt64, UInt64) {
        startIfNeeded()
        return Scheduler.withLock {
            let now = Clock.nanosecondsSinceBoot()
            let old = (process.alarmDeadline > now ? process.alarmDeadline - now : (process.alarmDeadline == 0 ? 0 : 1),
                       process.alarmInterval)
            process.alarmDeadline = delay == 0 ? 0 : now + delay
            process.alarmInterval = interval
            if let thread, process.alarmDeadline != 0, process.alarmDeadline < sleepingUntil {
                Scheduler.wake(thread)
            }
            return old
        }
    }

    /// The time left on `process`'s timer and its interval (nanoseconds).
    static func remaining(_ process: Process) -> (UInt64, UInt64) {
        Scheduler.withLock {
            let now = Clock.nanosecondsSinceBoot()
            let left = process.alarmDeadline == 0 ? 0 : (process.alarmDeadline > now ? process.alarmDeadline - now : 1)
            return (left, process.alarmInterval)
        }
    }

    private static func startIfNeeded() {
        guard Scheduler.withLock({ thread == nil }) else { return }
        guard let started = try? Threads.spawn(name: "alarm clock", { serve() }) else {
            panic("no memory for the alarm clock thread")
        }
        Scheduler.withLock { thread = thread ?? started }
    }

    /// Posts due alarms, then sleeps until the next deadline — in one
    /// visit under the lock. Computing the deadline and going to sleep in
    /// two visits lost wakeups: a `set` in between saw the old
    /// `sleepingUntil`, woke a thread that was still running (no effect),
    /// and the thread then slept past the new deadline, or for ever when
    /// it had found none (seen as a fuzz run hanging in a read the
    /// interval timer was meant to interrupt).
    private static func serve() {
        while true {
            Scheduler.withLock {
                let now = Clock.nanosecondsSinceBoot()
                var earliest = UInt64.max
                for process in Process.allLocked where process.state == .running && process.alarmDeadline != 0 {
                    if process.alarmDeadline <= now {
                        process.postLocked(.alarm)
                        process.alarmDeadline = process.alarmInterval == 0 ? 0 : now + process.alarmInterval
                    }
                    if process.alarmDeadline != 0 { earliest = min(earliest, process.alarmDeadline) }
                }
                sleepingUntil = earliest
                if earliest == UInt64.max {
                    Scheduler.block()
                } else {
                    Scheduler.sleepLocked(nanoseconds: earliest - now)
                }
            }
        }
    }
}
