import ExoKit

/// Every way the firmware's ACPI tables can be missing or broken.
///
/// Addresses are physical. Record offsets are byte offsets from the start of
/// the table, so a panic report can be matched against a hex dump of it.
public enum ACPIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No RSDP in the EBDA's first KiB or in 0xE0000-0xFFFFF.
    case noRSDP
    /// The RSDP given does not start with "RSD PTR ".
    case badRSDPSignature
    /// The RSDP's checksum over its first 20 bytes is not zero (`extended`
    /// false), or, for revision 2 and later, the one over its whole `length`
    /// (`extended` true).
    case badRSDPChecksum(extended: Bool)
    /// The RSDP is too short: a copy under 20 bytes, or a revision-2 RSDP
    /// whose `length` is under 36, above `ACPIParser.maximumRSDPLength` or
    /// longer than the copy holding it. The payload is that length.
    case badRSDPLength(UInt32)
    /// The RSDP gives neither an RSDT nor an XSDT address.
    case noRootTable
    /// A byte that must be read (an RSDP, or a table header) is not readable.
    case unreadable(address: UInt64)
    /// A pointer plus a length wraps past the end of the 64-bit address space.
    case addressOverflow(base: UInt64, offset: UInt64)
    /// The RSDP's RSDT or XSDT pointer leads to a table with another signature.
    case badSignature(expected: ACPISignature, found: ACPISignature, address: UInt64)
    /// A table's `length` is below the 36-byte header, above
    /// `ACPIParser.maximumTableLength`, or too short for the table's fixed fields.
    case badLength(signature: ACPISignature, address: UInt64, length: UInt32)
    /// A table's header is readable but its `length` runs into unreadable memory.
    case truncated(signature: ACPISignature, address: UInt64, length: UInt32)
    /// The bytes of a table do not sum to zero modulo 256.
    case badChecksum(signature: ACPISignature, address: UInt64)
    /// A MADT or SRAT record's length is below 2 (its own header) or runs
    /// past the end of the table.
    case badRecordLength(signature: ACPISignature, offset: UInt32, length: UInt8)
    /// A MADT or SRAT record is shorter than the fields its type defines.
    case recordTooShort(signature: ACPISignature, type: UInt8, length: UInt8)
    /// More records (or root-table entries) than `ACPIParser.maximumRecords`.
    case tooManyEntries(signature: ACPISignature)
    /// The SLIT's locality count needs more bytes than the table holds (or
    /// its square overflows).
    case badLocalityCount(UInt64)
    /// A generic address (e.g. the HPET's registers) is not in system memory
    /// space (space ID 0); the payload is the space ID found.
    case unsupportedAddressSpace(signature: ACPISignature, space: UInt8)
    /// An SRAT memory range whose end wraps past 2^64.
    case badMemoryRange(base: UInt64, length: UInt64)

    /// One line for the kernel's panic report.
    public var description: String {
        switch self {
        case .noRSDP:
            return "ACPI: no RSDP in the EBDA or 0xe0000-0xfffff"
        case .badRSDPSignature:
            return "ACPI: RSDP does not start with \"RSD PTR \""
        case .badRSDPChecksum(let extended):
            return extended ? "ACPI: RSDP extended checksum mismatch" : "ACPI: RSDP checksum mismatch"
        case .badRSDPLength(let length):
            return "ACPI: bad RSDP length " + Hex.string(UInt64(length), digits: 8)
        case .noRootTable:
            return "ACPI: RSDP gives no RSDT or XSDT address"
        case .unreadable(let address):
            return "ACPI: unreadable address " + Hex.string(address)
        case .addressOverflow(let base, let offset):
            return "ACPI: address " + Hex.string(base) + " + " + Hex.string(offset) + " overflows"
        case .badSignature(let expected, let found, let address):
            return "ACPI: expected " + expected.description + " at " + Hex.string(address)
                + ", found " + found.description
        case .badLength(let signature, let address, let length):
            return "ACPI: " + signature.description + " at " + Hex.string(address)
                + " has bad length " + Hex.string(UInt64(length), digits: 8)
        case .truncated(let signature, let address, let length):
            return "ACPI: " + signature.description + " at " + Hex.string(address) + " (length "
                + Hex.string(UInt64(length), digits: 8) + ") runs into unreadable memory"
        case .badChecksum(let signature, let address):
            return "ACPI: " + signature.description + " at " + Hex.string(address)
                + " checksum mismatch"
        case .badRecordLength(let signature, let offset, let length):
            return "ACPI: " + signature.description + " record at offset "
                + Hex.string(UInt64(offset), digits: 8) + " has bad length "
                + Hex.string(UInt64(length), digits: 2)
        case .recordTooShort(let signature, let type, let length):
            return "ACPI: " + signature.description + " record type " + Hex.string(UInt64(type), digits: 2)
                + " too short (length " + Hex.string(UInt64(length), digits: 2) + ")"
        case .tooManyEntries(let signature):
            return "ACPI: " + signature.description + " has too many entries"
        case .badLocalityCount(let count):
            return "ACPI: SLIT locality count " + Hex.string(count) + " exceeds the table"
        case .unsupportedAddressSpace(let signature, let space):
            return "ACPI: " + signature.description + " registers in address space "
                + Hex.string(UInt64(space), digits: 2) + ", not system memory"
        case .badMemoryRange(let base, let length):
            return "ACPI: SRAT memory range " + Hex.string(base) + " + " + Hex.string(length)
                + " overflows"
        }
    }
}
