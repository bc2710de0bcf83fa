/// Where one ACPI table lies and what its header says.
public struct ACPITableEntry: Equatable, Sendable {
    /// The table's signature.
    public var signature: ACPISignature
    /// Physical address of the table.
    public var address: UInt64
    /// Length in bytes, header included.
    public var length: UInt32
    /// The table's revision.
    public var revision: UInt8
    /// Whether the table's bytes sum to zero. Always true for the root table
    /// and the tables `ACPITables` parses (a mismatch there is an error).
    public var checksumIsValid: Bool

    /// An entry describing `table`.
    public init(_ table: ACPITable) {
        self.init(signature: table.signature, address: table.address, length: table.length,
                  revision: table.revision, checksumIsValid: table.checksumIsValid)
    }

    /// An entry from its fields.
    public init(signature: ACPISignature, address: UInt64, length: UInt32, revision: UInt8,
                checksumIsValid: Bool) {
        self.signature = signature
        self.address = address
        self.length = length
        self.revision = revision
        self.checksumIsValid = checksumIsValid
    }
}

/// What the kernel needs from the firmware's ACPI tables, parsed and checked.
///
/// Produced by `ACPIParser.parse`; everything is a copy, so the tables'
/// memory (ACPI reclaimable) may be reused once this exists.
public struct ACPITables: Sendable {
    /// 0 for ACPI 1.0 (RSDT only); 2 and later have an XSDT.
    public var rsdpRevision: UInt8
    /// The RSDP's OEM ID, trailing spaces removed ("BOCHS" under QEMU).
    public var oemID: String
    /// The root table used: the XSDT when the RSDP offers one, else the RSDT.
    public var root: ACPITableEntry
    /// Every table the root lists, in its order (null entries skipped).
    public var tables: [ACPITableEntry]
    /// Interrupt controllers and processors: the first "APIC" table.
    public var madt: MADT?
    /// The first "HPET" table.
    public var hpet: HPET?
    /// NUMA placement of processors and memory: the first "SRAT" table.
    public var srat: SRAT?
    /// NUMA distances: the first "SLIT" table.
    public var slit: SLIT?

    /// Tables from their parts; the parsed tables start absent.
    public init(rsdpRevision: UInt8, oemID: String, root: ACPITableEntry,
                tables: [ACPITableEntry]) {
        self.rsdpRevision = rsdpRevision
        self.oemID = oemID
        self.root = root
        self.tables = tables
    }

    /// The first listed table with `signature`, or nil.
    public func table(_ signature: ACPISignature) -> ACPITableEntry? {
        tables.first { $0.signature == signature }
    }
}
