/// A clock for `clock_gettime`, `clock_nanosleep`, timers (`CLOCK_*`,
/// Linux `uapi/linux/time.h`).
///
/// Negative IDs are not errors by themselves: Linux encodes per-process
/// and per-thread CPU-time clocks of *other* tasks as `~pid << 3 | type`
/// (`clock_getcpuclockid`). `isPerTaskCPUClock` recognises them; the
/// kernel decides whether to support them.
public struct ClockID: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// The clock from its argument register (`clockid_t`, an `int`).
    public init(argument: UInt64) { rawValue = Int32(truncatingIfNeeded: argument) }

    /// `CLOCK_REALTIME` (0): wall-clock time since the epoch; settable.
    public static let realtime = ClockID(rawValue: 0)
    /// `CLOCK_MONOTONIC` (1): time since boot, excluding suspend; never jumps.
    public static let monotonic = ClockID(rawValue: 1)
    /// `CLOCK_PROCESS_CPUTIME_ID` (2): CPU time of the calling process.
    public static let processCPUTime = ClockID(rawValue: 2)
    /// `CLOCK_THREAD_CPUTIME_ID` (3): CPU time of the calling thread.
    public static let threadCPUTime = ClockID(rawValue: 3)
    /// `CLOCK_MONOTONIC_RAW` (4): monotonic, without NTP slewing.
    public static let monotonicRaw = ClockID(rawValue: 4)
    /// `CLOCK_REALTIME_COARSE` (5): realtime at tick resolution.
    public static let realtimeCoarse = ClockID(rawValue: 5)
    /// `CLOCK_MONOTONIC_COARSE` (6): monotonic at tick resolution.
    public static let monotonicCoarse = ClockID(rawValue: 6)
    /// `CLOCK_BOOTTIME` (7): monotonic including suspend.
    public static let bootTime = ClockID(rawValue: 7)
    /// `CLOCK_REALTIME_ALARM` (8): realtime that wakes the system.
    public static let realtimeAlarm = ClockID(rawValue: 8)
    /// `CLOCK_BOOTTIME_ALARM` (9): boot time that wakes the system.
    public static let bootTimeAlarm = ClockID(rawValue: 9)
    /// `CLOCK_TAI` (11): International Atomic Time.
    public static let tai = ClockID(rawValue: 11)

    /// Whether this is one of the fixed clocks above (0...11 except the
    /// unused 10, `CLOCK_SGI_CYCLE`).
    public var isKnownStaticClock: Bool { rawValue >= 0 && rawValue <= 11 && rawValue != 10 }

    /// Whether this is an encoded CPU-time clock of another process or
    /// thread (`rawValue < 0`); see the type's doc.
    public var isPerTaskCPUClock: Bool { rawValue < 0 }
}

/// `clock_nanosleep`/`timer_settime`/`timerfd_settime` flags.
public struct TimerFlags: KnownFlagSet {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `TIMER_ABSTIME` (1): the time is an absolute clock value, not an
    /// interval from now.
    public static let absolute = TimerFlags(rawValue: 1)
    /// The only bit `clock_nanosleep` and `timer_settime` accept.
    public static let known: TimerFlags = [.absolute]
}
