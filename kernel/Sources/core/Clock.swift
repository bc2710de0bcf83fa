/// Time since boot from the TSC, calibrated against the PIT.
///
/// Invariant TSC is assumed (QEMU and every x86_64 CPU of the last decade
/// have it). Under `-icount shift=0` the TSC counts guest instructions and
/// the PIT runs on the same virtual clock, so calibration still holds.
enum Clock {
    nonisolated(unsafe) private(set) static var timestampAtBoot: UInt64 = 0
    nonisolated(unsafe) private(set) static var timestampHz: UInt64 = 0
    /// Nanoseconds per TSC tick in 32.32 fixed point: the scheduler reads
    /// the clock on every switch, and a multiply and shift is a fraction of
    /// the two divisions the exact formula takes. Relative error below
    /// 2^-32 per tick; the 128-bit product cannot overflow before ~2^96 /
    /// 2^32 ns (centuries at any TSC rate QEMU or hardware uses).
    nonisolated(unsafe) private static var nanosecondsPerTick: UInt64 = 0

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
        nanosecondsPerTick = timestampHz == 0 ? 0 : (1_000_000_000 << 32) / timestampHz
    }

    /// Nanoseconds since `markBoot` on the monotonic clock (the invariant
    /// TSC), or 0 before calibration.
    @inline(__always)
    static func nanosecondsSinceBoot() -> UInt64 {
        let elapsed = CPU.timestamp() &- timestampAtBoot
        let product = elapsed.multipliedFullWidth(by: nanosecondsPerTick)
        return product.high << 32 | product.low >> 32
    }

    /// Microseconds since `markBoot`, or 0 before calibration.
    static func microsecondsSinceBoot() -> UInt64 { nanosecondsSinceBoot() / 1000 }
}
