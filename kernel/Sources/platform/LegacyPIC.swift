/// The two cascaded 8259A PICs. Exo uses the APICs; the PICs are remapped
/// to vectors 32-47 (at reset they overlap CPU exceptions: a timer tick
/// would look like a double fault) and every line is masked.
///
/// A masked PIC can still raise a spurious IRQ 7 or 15; those get no EOI
/// (on the secondary, the primary still needs one for the cascade line).
enum LegacyPIC {
    private static let primaryCommand: UInt16 = 0x20, primaryData: UInt16 = 0x21
    private static let secondaryCommand: UInt16 = 0xA0, secondaryData: UInt16 = 0xA1

    nonisolated(unsafe) private(set) static var spuriousCount: UInt64 = 0

    /// ICW1-ICW4: edge-triggered, cascaded (secondary on line 2), 8086
    /// mode, then mask everything.
    static func remapAndMaskAll() {
        PortIO.write8(primaryCommand, 0x11)
        PortIO.write8(secondaryCommand, 0x11)
        PortIO.write8(primaryData, Interrupts.legacyPICBase)
        PortIO.write8(secondaryData, Interrupts.legacyPICBase + 8)
        PortIO.write8(primaryData, 0x04)
        PortIO.write8(secondaryData, 0x02)
        PortIO.write8(primaryData, 0x01)
        PortIO.write8(secondaryData, 0x01)
        PortIO.write8(primaryData, 0xFF)
        PortIO.write8(secondaryData, 0xFF)
    }

    static func acknowledgeSpurious(line: Int) {
        spuriousCount &+= 1
        if line >= 8 { PortIO.write8(primaryCommand, 0x20) }
    }
}
