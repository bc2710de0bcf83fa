// High Precision Event Timer table, signature "HPET" (IA-PC HPET
// specification 1.0a, 3.2.4), 56 bytes:
//
//  36  event timer block ID u32: bits 0-7 hardware revision, 8-12 number
//      of the last comparator (count - 1), 13 64-bit main counter,
//      15 legacy replacement routing capable, 16-31 PCI vendor ID
//  40  base address, generic address structure (12 bytes):
//      space ID u8 @40 (0: system memory), bit width @41, bit offset @42,
//      access size @43, address u64 @44
//  52  HPET number u8
//  53  main counter minimum clock tick in periodic mode u16
//  55  page protection and OEM attribute u8
//
// QEMU: ID 0x8086a201 (3 comparators, 64-bit, legacy capable), base 0xFED00000.

/// The first HPET's register block and capabilities, as the firmware
/// describes it. The registers themselves (period, exact comparator count)
/// are the authority once mapped; these are what the firmware promised.
public struct HPET: Sendable {
    /// Physical address of the register block (system memory space).
    public var baseAddress: UInt64
    /// Which HPET block this is (0 for the first).
    public var hpetNumber: UInt8
    /// Smallest tick, in main-counter clocks, that periodic mode may be
    /// set to without losing interrupts.
    public var minimumTick: UInt16
    /// Comparators (timers) in the block.
    public var comparatorCount: Int
    /// Whether the main counter is 64 bits wide (else 32).
    public var counterIs64Bit: Bool
    /// Whether timers 0 and 1 can replace the PIT and RTC interrupts.
    public var legacyReplacementCapable: Bool
    /// The block's hardware revision.
    public var hardwareRevision: UInt8
    /// The PCI vendor ID of the block's maker (0x8086 under QEMU).
    public var pciVendorID: UInt16
    /// Page protection (low nibble: 0 none, 1 4 KiB, 2 64 KiB) and OEM bits.
    public var pageProtection: UInt8

    static let fixedLength = 56

    /// Parses an HPET table whose checksum has been checked.
    ///
    /// Throws `.badLength` (shorter than 56 bytes) or
    /// `.unsupportedAddressSpace` (registers not in system memory).
    init(_ table: ACPITable) throws(ACPIError) {
        try table.require(length: Self.fixedLength)
        let space = table.u8(at: 40)
        guard space == 0 else {
            throw .unsupportedAddressSpace(signature: table.signature, space: space)
        }
        let blockID = table.u32(at: 36)
        hardwareRevision = UInt8(truncatingIfNeeded: blockID)
        comparatorCount = Int((blockID >> 8) & 0x1F) + 1
        counterIs64Bit = blockID & (1 << 13) != 0
        legacyReplacementCapable = blockID & (1 << 15) != 0
        pciVendorID = UInt16(truncatingIfNeeded: blockID >> 16)
        baseAddress = table.u64(at: 44)
        hpetNumber = table.u8(at: 52)
        minimumTick = table.u16(at: 53)
        pageProtection = table.u8(at: 55)
    }
}
