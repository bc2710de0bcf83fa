import CExoArch

/// The two cascaded 8259A PICs, and the table of handlers for their lines.
///
/// At reset they deliver IRQ 0-7 on vectors 8-15, on top of CPU exceptions
/// (a timer tick would look like a double fault), so boot remaps them to
/// vectors 32-47 and masks every line; a driver unmasks the line it handles.
/// The local APIC and IOAPIC replace them in the interrupt-controller work.
enum InterruptRouting {
    static let legacyBase: UInt8 = 32
    static let legacyLineCount = 16

    private static let primaryCommand: UInt16 = 0x20, primaryData: UInt16 = 0x21
    private static let secondaryCommand: UInt16 = 0xA0, secondaryData: UInt16 = 0xA1
    private static let endOfInterrupt: UInt8 = 0x20

    nonisolated(unsafe) private static var handlers: [(() -> Void)?] = Array(repeating: nil, count: 16)
    nonisolated(unsafe) private(set) static var spuriousCount: UInt64 = 0
    nonisolated(unsafe) private static var mask: UInt16 = 0xFFFF

    /// ICW1-ICW4: edge-triggered, cascaded (secondary on line 2), 8086 mode.
    static func remapAndMaskAll() {
        PortIO.write8(primaryCommand, 0x11)
        PortIO.write8(secondaryCommand, 0x11)
        PortIO.write8(primaryData, legacyBase)
        PortIO.write8(secondaryData, legacyBase + 8)
        PortIO.write8(primaryData, 0x04)
        PortIO.write8(secondaryData, 0x02)
        PortIO.write8(primaryData, 0x01)
        PortIO.write8(secondaryData, 0x01)
        mask = 0xFFFF
        writeMask()
    }

    /// Runs `handler` (with interrupts off) whenever `line` fires, and unmasks it.
    static func install(line: Int, handler: @escaping () -> Void) {
        precondition(line >= 0 && line < legacyLineCount && line != 2, "line 2 is the cascade")
        handlers[line] = handler
        mask &= ~(1 << UInt16(line))
        if line >= 8 { mask &= ~(1 << 2) }
        writeMask()
    }

    static func stubAddress(line: Int) -> UInt64 {
        withUnsafePointer(to: exo_irq_stubs) { tuple in
            tuple.withMemoryRebound(to: UInt64.self, capacity: 16) { $0[line] }
        }
    }

    static func dispatch(vector: UInt8) {
        let line = Int(vector &- legacyBase)
        guard line >= 0 && line < legacyLineCount else { return }
        // Lines 7 and 15 also carry spurious interrupts: the in-service
        // register says whether the PIC really raised them. Spurious ones
        // get no EOI (on the secondary, the primary still needs one).
        if line == 7 || line == 15 {
            let command = line == 7 ? primaryCommand : secondaryCommand
            PortIO.write8(command, 0x0B)
            if PortIO.read8(command) & 0x80 == 0 {
                spuriousCount &+= 1
                if line == 15 { PortIO.write8(primaryCommand, endOfInterrupt) }
                return
            }
        }
        handlers[line]?()
        if line >= 8 { PortIO.write8(secondaryCommand, endOfInterrupt) }
        PortIO.write8(primaryCommand, endOfInterrupt)
    }

    private static func writeMask() {
        PortIO.write8(primaryData, UInt8(truncatingIfNeeded: mask))
        PortIO.write8(secondaryData, UInt8(truncatingIfNeeded: mask >> 8))
    }
}
