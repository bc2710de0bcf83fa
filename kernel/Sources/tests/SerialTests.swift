/// The COM1 UART: present, transmits, and its polled receive path works
/// (exercised through the UART's internal loopback, so nothing reaches the
/// host terminal and no host input is needed).
enum SerialTests {
    static let suite = KernelTestSuite(name: "serial", tests: [
        KernelTest(name: "com1_is_present", body: present),
        KernelTest(name: "loopback_round_trips_every_byte_value", body: loopback),
        KernelTest(name: "polled_read_returns_nothing_when_idle", body: idleRead),
    ])

    static func present(_ t: TestContext) {
        t.expect(Serial16550.com1.isPresent(), "scratch register keeps its value")
        t.expect(!Serial16550(base: 0x3E8 + 0x100).isPresent(), "an empty port range reports absent")
    }

    static func loopback(_ t: TestContext) {
        let bytes = (0...255).map { UInt8($0) }
        let echoed = Serial16550.com1.loopbackRoundTrip(bytes)
        t.expect(echoed == bytes, "all 256 byte values come back in order")
    }

    static func idleRead(_ t: TestContext) {
        let interrupts = CPU.interruptsEnabled
        CPU.disableInterrupts()
        Serial16550.com1.drainReceiver()
        t.expect(Serial16550.com1.readByte() == nil, "no byte after draining")
        if interrupts { CPU.enableInterrupts() }
    }
}
