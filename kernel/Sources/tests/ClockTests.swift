/// The TSC calibration against the PIT, and the monotonic boot clock.
enum ClockTests {
    static let suite = KernelTestSuite(name: "clock", tests: [
        KernelTest(name: "tsc_frequency_is_calibrated", body: calibrated),
        KernelTest(name: "tsc_agrees_with_an_independent_pit_interval", body: agreesWithPIT),
        KernelTest(name: "boot_clock_is_monotonic", body: monotonic),
    ])

    static func calibrated(_ t: TestContext) {
        t.expect(Clock.timestampHz > 10_000_000, "above 10 MHz (\(Clock.timestampHz) Hz)")
        t.expect(Clock.timestampHz < 100_000_000_000, "below 100 GHz (\(Clock.timestampHz) Hz)")
    }

    static func agreesWithPIT(_ t: TestContext) {
        // A 20 ms PIT interval, measured in TSC ticks, should read as about
        // 20 000 us on the calibrated clock. Emulation adds jitter (hence the
        // shortest of three); 25% is far tighter than any calibration bug
        // (wrong divisor, wrong window).
        let ticks = PIT.shortestTimestampTicks(overMicroseconds: 20_000, rounds: 3)
        let micros = ticks * 1_000_000 / max(Clock.timestampHz, 1)
        t.expect(micros > 15_000 && micros < 25_000, "20 ms PIT interval reads as \(micros) us")
    }

    static func monotonic(_ t: TestContext) {
        var previous = Clock.microsecondsSinceBoot()
        var decreasing = 0
        for _ in 0..<1000 {
            let now = Clock.microsecondsSinceBoot()
            if now < previous { decreasing += 1 }
            previous = now
        }
        t.expectEqual(decreasing, 0, "never goes backwards")
        t.expect(previous > 0, "time has passed since boot")
    }
}
