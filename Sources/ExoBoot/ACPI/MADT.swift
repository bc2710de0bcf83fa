// Multiple APIC Description Table, signature "APIC" (ACPI 6.5, 5.2.12):
//
//  36  local APIC address u32    40  flags u32 (bit 0: PC-AT dual 8259s)
//  44  records: type u8, length u8, fields
//
// Record types read (offsets within the record):
//   0  processor local APIC (8): UID u8 @2, APIC ID u8 @3, flags u32 @4
//   1  I/O APIC (12): ID u8 @2, address u32 @4, GSI base u32 @8
//   2  interrupt source override (10): bus u8 @2, source u8 @3, GSI u32 @4,
//      MPS INTI flags u16 @8
//   3  NMI source (8): MPS INTI flags u16 @2, GSI u32 @4
//   4  local APIC NMI (6): UID u8 @2 (0xFF: all), flags u16 @3, LINT# u8 @5
//   5  local APIC address override (12): address u64 @4
//   9  processor local x2APIC (16): x2APIC ID u32 @4, flags u32 @8, UID u32 @12
//  10  local x2APIC NMI (12): flags u16 @2, UID u32 @4 (~0: all), LINT# u8 @8
// Processor flags: bit 0 enabled, bit 1 online capable (may be enabled
// later). MPS INTI flags: bits 0-1 polarity, bits 2-3 trigger mode.
// Other types (GIC, RISC-V, I/O SAPIC...) are skipped.

/// The interrupt-controller layout the firmware describes: processors
/// (by local APIC ID), I/O APICs, and how ISA IRQs map onto global system
/// interrupts (GSIs).
public struct MADT: Sendable {
    /// The MADT's flags.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// PCAT_COMPAT: the machine also has dual 8259 PICs, which must be
        /// masked before the I/O APICs are used.
        public static let pcATCompatible = Flags(rawValue: 1 << 0)
    }

    /// Interrupt polarity (MPS INTI flags bits 0-1).
    public enum Polarity: Equatable, Sendable {
        /// 0: as the bus specifies (ISA: active high).
        case conformsToBus
        /// 1
        case activeHigh
        /// 2: not defined.
        case reserved
        /// 3
        case activeLow

        init(flags: UInt16) {
            switch flags & 0b11 {
            case 0: self = .conformsToBus
            case 1: self = .activeHigh
            case 2: self = .reserved
            default: self = .activeLow
            }
        }
    }

    /// Interrupt trigger mode (MPS INTI flags bits 2-3).
    public enum TriggerMode: Equatable, Sendable {
        /// 0: as the bus specifies (ISA: edge).
        case conformsToBus
        /// 1
        case edge
        /// 2: not defined.
        case reserved
        /// 3
        case level

        init(flags: UInt16) {
            switch (flags >> 2) & 0b11 {
            case 0: self = .conformsToBus
            case 1: self = .edge
            case 2: self = .reserved
            default: self = .level
            }
        }
    }

    /// One processor's local APIC (record type 0) or x2APIC (type 9).
    public struct LocalAPIC: Equatable, Sendable {
        /// The ACPI processor UID, matching the processor's object in the DSDT.
        public var processorUID: UInt32
        /// The local APIC ID (8 bits for type 0, 32 for x2APIC).
        public var apicID: UInt32
        /// The processor is usable now.
        public var enabled: Bool
        /// The processor is disabled but may be brought online (hot-add).
        public var onlineCapable: Bool
        /// Described by an x2APIC record (type 9).
        public var isX2APIC: Bool

        /// Whether the kernel may start this processor.
        public var isUsable: Bool { enabled || onlineCapable }
    }

    /// One I/O APIC (record type 1).
    public struct IOAPIC: Equatable, Sendable {
        /// The I/O APIC's ID.
        public var id: UInt8
        /// Physical address of its registers.
        public var address: UInt64
        /// The first GSI its inputs serve.
        public var gsiBase: UInt32
    }

    /// An ISA IRQ wired to a different GSI or with other electrical
    /// properties than the identity default (record type 2).
    public struct InterruptSourceOverride: Equatable, Sendable {
        /// Always 0 (ISA).
        public var bus: UInt8
        /// The ISA IRQ number.
        public var sourceIRQ: UInt8
        /// The GSI it arrives on.
        public var gsi: UInt32
        /// Its polarity at the I/O APIC input.
        public var polarity: Polarity
        /// Its trigger mode at the I/O APIC input.
        public var triggerMode: TriggerMode
    }

    /// A GSI wired to NMI (record type 3).
    public struct NMISource: Equatable, Sendable {
        /// The GSI to program as NMI.
        public var gsi: UInt32
        /// Its polarity.
        public var polarity: Polarity
        /// Its trigger mode.
        public var triggerMode: TriggerMode
    }

    /// A local APIC LINT pin wired to NMI (record types 4 and 10).
    public struct LocalAPICNMI: Equatable, Sendable {
        /// The processor's ACPI UID, or nil for all processors.
        public var processorUID: UInt32?
        /// 0 for LINT0, 1 for LINT1.
        public var lint: UInt8
        /// The pin's polarity.
        public var polarity: Polarity
        /// The pin's trigger mode.
        public var triggerMode: TriggerMode
    }

    /// Physical address of every processor's local APIC registers, with a
    /// type-5 override (64-bit address) applied.
    public var localAPICAddress: UInt64
    /// The table's flags.
    public var flags: Flags
    /// Every processor record (types 0 and 9), in table order, as given:
    /// disabled ones included (see `LocalAPIC.isUsable`); firmware may list
    /// a processor both ways.
    public var processors: [LocalAPIC]
    /// Every I/O APIC, in table order.
    public var ioAPICs: [IOAPIC]
    /// ISA IRQ overrides (see `isaInterrupt(_:)`).
    public var interruptOverrides: [InterruptSourceOverride]
    /// GSIs wired to NMI.
    public var nmiSources: [NMISource]
    /// Local APIC pins wired to NMI (types 4 and 10).
    public var localAPICNMIs: [LocalAPICNMI]

    /// Whether legacy 8259 PICs are present (and must be masked).
    public var hasLegacyPICs: Bool { flags.contains(.pcATCompatible) }

    /// How ISA IRQ `irq` reaches the I/O APICs: its override, or else the
    /// ISA default (the same-numbered GSI, edge-triggered, active high).
    public func isaInterrupt(_ irq: UInt8) -> InterruptSourceOverride {
        if let override = interruptOverrides.first(where: { $0.bus == 0 && $0.sourceIRQ == irq }) {
            return override
        }
        return InterruptSourceOverride(bus: 0, sourceIRQ: irq, gsi: UInt32(irq),
                                       polarity: .activeHigh, triggerMode: .edge)
    }

    static let fixedLength = 44

    /// Parses a MADT whose checksum has been checked.
    ///
    /// Throws `.badLength` (shorter than its fixed fields),
    /// `.badRecordLength`, `.recordTooShort` or `.tooManyEntries`.
    init(_ table: ACPITable) throws(ACPIError) {
        try table.require(length: Self.fixedLength)
        localAPICAddress = UInt64(table.u32(at: 36))
        flags = Flags(rawValue: table.u32(at: 40))
        processors = []
        ioAPICs = []
        interruptOverrides = []
        nmiSources = []
        localAPICNMIs = []

        var records = table.records(from: Self.fixedLength)
        while let record = try records.next() {
            let at = record.offset
            switch record.type {
            case 0:
                try requireRecord(record, length: 8, in: table)
                let processorFlags = table.u32(at: at + 4)
                processors.append(LocalAPIC(
                    processorUID: UInt32(table.u8(at: at + 2)), apicID: UInt32(table.u8(at: at + 3)),
                    enabled: processorFlags & 1 != 0, onlineCapable: processorFlags & 2 != 0,
                    isX2APIC: false))
            case 1:
                try requireRecord(record, length: 12, in: table)
                ioAPICs.append(IOAPIC(id: table.u8(at: at + 2), address: UInt64(table.u32(at: at + 4)),
                                      gsiBase: table.u32(at: at + 8)))
            case 2:
                try requireRecord(record, length: 10, in: table)
                let inti = table.u16(at: at + 8)
                interruptOverrides.append(InterruptSourceOverride(
                    bus: table.u8(at: at + 2), sourceIRQ: table.u8(at: at + 3),
                    gsi: table.u32(at: at + 4),
                    polarity: Polarity(flags: inti), triggerMode: TriggerMode(flags: inti)))
            case 3:
                try requireRecord(record, length: 8, in: table)
                let inti = table.u16(at: at + 2)
                nmiSources.append(NMISource(gsi: table.u32(at: at + 4), polarity: Polarity(flags: inti),
                                            triggerMode: TriggerMode(flags: inti)))
            case 4:
                try requireRecord(record, length: 6, in: table)
                let uid = table.u8(at: at + 2)
                let inti = table.u16(at: at + 3)
                localAPICNMIs.append(LocalAPICNMI(
                    processorUID: uid == 0xFF ? nil : UInt32(uid), lint: table.u8(at: at + 5),
                    polarity: Polarity(flags: inti), triggerMode: TriggerMode(flags: inti)))
            case 5:
                try requireRecord(record, length: 12, in: table)
                localAPICAddress = table.u64(at: at + 4)
            case 9:
                try requireRecord(record, length: 16, in: table)
                let processorFlags = table.u32(at: at + 8)
                processors.append(LocalAPIC(
                    processorUID: table.u32(at: at + 12), apicID: table.u32(at: at + 4),
                    enabled: processorFlags & 1 != 0, onlineCapable: processorFlags & 2 != 0,
                    isX2APIC: true))
            case 10:
                try requireRecord(record, length: 12, in: table)
                let uid = table.u32(at: at + 4)
                let inti = table.u16(at: at + 2)
                localAPICNMIs.append(LocalAPICNMI(
                    processorUID: uid == 0xFFFF_FFFF ? nil : uid, lint: table.u8(at: at + 8),
                    polarity: Polarity(flags: inti), triggerMode: TriggerMode(flags: inti)))
            default:
                break  // Not an x86 APIC structure we use.
            }
        }
    }
}
