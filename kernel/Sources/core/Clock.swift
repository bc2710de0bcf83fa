/// Time since boot from the TSC, calibrated against the PIT.
///
/// Invariant TSC is assumed (QEMU and every x86_64 CPU of the last decade
/// have it). Under `-icount shift=0` the TSC counts guest instructions and
/// the PIT runs on the same virtual clock, so calibration still holds.
enum Clock {
    nonisolated(unsafe) private(set) static var timestampAtBoot: UInt64 = 0
    nonisolated(unsafe) private(set) static var timestampHz: UInt64 = 0

    /// The calibration window: long enough that one PIT tick (0.84 µs) is
    /// noise, short enough not to matter for boot time.
    static let calibrationMicroseconds: UInt64 = 1_000
    /// Windows measured; the shortest wins. Under emulation the CPU can be
    /// descheduled while it polls the PIT, which only ever lengthens a
    /// window, so the minimum is the best estimate.
    static let calibrationRounds = 3

    static func markBoot(timestamp: UInt64) { timestampAtBoot = timestamp }

    static func calibrate() {
        timestampHz = PIT.shortestTimestampTicks(overMicroseconds: calibrationMicroseconds, rounds: calibrationRounds)
            * 1_000_000 / calibrationMicroseconds
    }

    /// Nanoseconds since `markBoot` on the monotonic clock (the invariant
    /// TSC), or 0 before calibration.
    static func nanosecondsSinceBoot() -> UInt64 {
        guard timestampHz != 0 else { return 0 }
        let elapsed = CPU.timestamp() &- timestampAtBoot
        // Split to stay in 64 bits: the remainder is below the frequency
        // (< 1.8 * 10^10 Hz keeps remainder * 10^9 in range).
        let seconds = elapsed / timestampHz
        let remainder = elapsed % timestampHz
        return seconds * 1_000_000_000 + remainder * 1_000_000_000 / timestampHz
    }

    /// Microseconds since `markBoot`, or 0 before calibration.
    static func microsecondsSinceBoot() -> UInt64 { nanosecondsSinceBoot() / 1000 }
}
