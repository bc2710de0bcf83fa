// System Resource Affinity Table, signature "SRAT" (ACPI 6.5, 5.2.16):
//
//  36  reserved u32 (1)   40  reserved u64   48  records: type u8, length u8
//
// Record types read (offsets within the record):
//   0  processor local APIC affinity (16): proximity domain bits 0-7 u8 @2,
//      APIC ID u8 @3, flags u32 @4, SAPIC EID u8 @8, proximity domain
//      bits 8-31 [3] @9 (only from table revision 2), clock domain u32 @12
//   1  memory affinity (40): proximity domain u32 @2, base u64 @8,
//      length u64 @16, flags u32 @28 (bit 0 enabled, 1 hot-pluggable,
//      2 non-volatile)
//   2  processor local x2APIC affinity (24): proximity domain u32 @4,
//      x2APIC ID u32 @8, flags u32 @12, clock domain u32 @16
// Processor flags: bit 0 enabled. Other types (GICC, generic initiator...)
// are skipped. QEMU writes revision 1, and a disabled empty memory record
// after the real ones.

/// Which NUMA proximity domain each processor and memory range belongs to.
public struct SRAT: Sendable {
    /// One processor's domain (record types 0 and 2).
    public struct ProcessorAffinity: Equatable, Sendable {
        /// The processor's local APIC (or x2APIC) ID.
        public var apicID: UInt32
        /// Its proximity domain.
        public var proximityDomain: UInt32
        /// Whether the record is in use; a disabled one must be ignored.
        public var enabled: Bool
        /// Its clock domain.
        public var clockDomain: UInt32
        /// Described by an x2APIC record (type 2).
        public var isX2APIC: Bool
    }

    /// One memory range's domain (record type 1).
    public struct MemoryAffinity: Equatable, Sendable {
        /// First physical address of the range.
        public var base: UInt64
        /// Length of the range in bytes; `base + length` does not overflow.
        public var length: UInt64
        /// Its proximity domain.
        public var proximityDomain: UInt32
        /// Whether the record is in use; a disabled one must be ignored.
        public var enabled: Bool
        /// The range may be hot-added or removed.
        public var hotPluggable: Bool
        /// The range is non-volatile memory.
        public var nonVolatile: Bool

        /// One past the last address of the range.
        public var end: UInt64 { base + length }
    }

    /// Every processor record, in table order.
    public var processorAffinities: [ProcessorAffinity]
    /// Every memory record, in table order.
    public var memoryAffinities: [MemoryAffinity]

    /// The distinct proximity domains of enabled records, ascending.
    public var proximityDomains: [UInt32] {
        var domains: [UInt32] = []
        for processor in processorAffinities where processor.enabled
            && !domains.contains(processor.proximityDomain) {
            domains.append(processor.proximityDomain)
        }
        for memory in memoryAffinities where memory.enabled
            && !domains.contains(memory.proximityDomain) {
            domains.append(memory.proximityDomain)
        }
        return domains.sorted()
    }

    static let fixedLength = 48

    /// Parses an SRAT whose checksum has been checked.
    ///
    /// Throws `.badLength` (shorter than its fixed fields),
    /// `.badRecordLength`, `.recordTooShort`, `.tooManyEntries` or
    /// `.badMemoryRange`.
    init(_ table: ACPITable) throws(ACPIError) {
        try table.require(length: Self.fixedLength)
        processorAffinities = []
        memoryAffinities = []
        var records = table.records(from: Self.fixedLength)
        while let record = try records.next() {
            let at = record.offset
            switch record.type {
            case 0:
                try requireRecord(record, length: 16, in: table)
                var domain = UInt32(table.u8(at: at + 2))
                if table.revision >= 2 {
                    domain |= UInt32(table.u8(at: at + 9)) << 8 | UInt32(table.u8(at: at + 10)) << 16
                        | UInt32(table.u8(at: at + 11)) << 24
                }
                processorAffinities.append(ProcessorAffinity(
                    apicID: UInt32(table.u8(at: at + 3)), proximityDomain: domain,
                    enabled: table.u32(at: at + 4) & 1 != 0, clockDomain: table.u32(at: at + 12),
                    isX2APIC: false))
            case 1:
                try requireRecord(record, length: 40, in: table)
                let base = table.u64(at: at + 8)
                let length = table.u64(at: at + 16)
                guard !base.addingReportingOverflow(length).overflow else {
                    throw .badMemoryRange(base: base, length: length)
                }
                let flags = table.u32(at: at + 28)
                memoryAffinities.append(MemoryAffinity(
                    base: base, length: length, proximityDomain: table.u32(at: at + 2),
                    enabled: flags & 1 != 0, hotPluggable: flags & 2 != 0,
                    nonVolatile: flags & 4 != 0))
            case 2:
                try requireRecord(record, length: 24, in: table)
                processorAffinities.append(ProcessorAffinity(
                    apicID: table.u32(at: at + 8), proximityDomain: table.u32(at: at + 4),
                    enabled: table.u32(at: at + 12) & 1 != 0, clockDomain: table.u32(at: at + 16),
                    isX2APIC: true))
            default:
                break  // Not an x86 affinity structure we use.
            }
        }
    }
}
