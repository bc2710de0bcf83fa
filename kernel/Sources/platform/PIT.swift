/// The 8254 programmable interval timer, used here only as a reference
/// clock of known frequency to calibrate the TSC.
///
/// Channel 2 is used because its gate is software-controlled (port 0x61
/// bit 0) and its output readable (port 0x61 bit 5), so no interrupt is needed.
enum PIT {
    static let frequencyHz: UInt64 = 1_193_182

    /// Counts TSC ticks over `microseconds` of PIT time (at most ~54 ms, the
    /// 16-bit counter's range). Interrupts should be off.
    static func measureTimestampTicks(overMicroseconds microseconds: UInt64) -> UInt64 {
        let count = UInt16(clamping: frequencyHz * microseconds / 1_000_000)
        // Gate low, speaker off; then mode 0 (interrupt on terminal count),
        // lobyte/hibyte, channel 2.
        let control = PortIO.read8(0x61)
        PortIO.write8(0x61, (control & ~0x03))
        PortIO.write8(0x43, 0xB0)
        PortIO.write8(0x42, UInt8(truncatingIfNeeded: count))
        PortIO.write8(0x42, UInt8(truncatingIfNeeded: count >> 8))
        // Raise the gate: counting starts; OUT2 goes high at terminal count.
        PortIO.write8(0x61, (control & ~0x02) | 0x01)
        let start = CPU.timestamp()
        var spins: UInt64 = 0
        while PortIO.read8(0x61) & 0x20 == 0 && spins < 50_000_000 { spins += 1 }
        let end = CPU.timestamp()
        PortIO.write8(0x61, control)
        return end &- start
    }

    /// The fewest TSC ticks seen over `rounds` windows of `microseconds`
    /// (see `Clock.calibrationRounds` for why the minimum).
    static func shortestTimestampTicks(overMicroseconds microseconds: UInt64, rounds: Int) -> UInt64 {
        var shortest = UInt64.max
        for _ in 0..<rounds {
            shortest = min(shortest, measureTimestampTicks(overMicroseconds: microseconds))
        }
        return shortest
    }
}
