// Every ACPI system description table opens with the same 36-byte header
// (ACPI 6.5, 5.2.6):
//
//   0  signature [4]      16  OEM table ID [8]
//   4  length u32         24  OEM revision u32
//   8  revision u8        28  creator ID u32
//   9  checksum u8        32  creator revision u32
//  10  OEM ID [6]
//
// `length` counts the header; all bytes of the table sum to 0 mod 256.

/// One ACPI table copied out of physical memory, its header checked.
///
/// Invariants (established by `ACPIParser.readTable`): `bytes.count ==
/// length`, `length` lies in 36...`ACPIParser.maximumTableLength`, and
/// `address + length` does not overflow. The checksum is not required
/// here (see `checksumIsValid`): the parsers of the tables Exo uses insist
/// on it, other tables are listed either way.
public struct ACPITable: Sendable {
    /// Size of the common header.
    public static let headerLength = 36

    /// Physical address of the table's first byte.
    public let address: UInt64
    /// The whole table, header included.
    public let bytes: [UInt8]

    /// Wraps bytes already checked against the invariants above.
    init(address: UInt64, bytes: [UInt8]) {
        precondition(bytes.count >= Self.headerLength)
        self.address = address
        self.bytes = bytes
    }

    /// The table's signature (bytes 0-3).
    public var signature: ACPISignature { ACPISignature(rawValue: u32(at: 0)) }
    /// The table's length in bytes, header included.
    public var length: UInt32 { UInt32(bytes.count) }
    /// The table's revision (its layout version).
    public var revision: UInt8 { bytes[8] }
    /// Whether all bytes sum to zero modulo 256.
    public var checksumIsValid: Bool { ACPIChecksum.isValid(bytes[...]) }
    /// The OEM ID, trailing spaces and NULs removed.
    public var oemID: String { ACPIText.trimmed(bytes[10..<16]) }
    /// The OEM's name for this table, trailing spaces and NULs removed.
    public var oemTableID: String { ACPIText.trimmed(bytes[16..<24]) }

    // Field accessors. Callers check `offset + size <= bytes.count` first
    // (a record's length against its type's fields, a table's length against
    // its fixed fields); the array's bounds check backs that up.

    func u8(at offset: Int) -> UInt8 { bytes[offset] }

    func u16(at offset: Int) -> UInt16 { UInt16(truncatingIfNeeded: little(at: offset, count: 2)) }

    func u32(at offset: Int) -> UInt32 { UInt32(truncatingIfNeeded: little(at: offset, count: 4)) }

    func u64(at offset: Int) -> UInt64 { little(at: offset, count: 8) }

    private func little(at offset: Int, count: Int) -> UInt64 {
        ACPIBytes.little(bytes, at: offset, count: count)
    }

    /// Throws `.badLength` unless the table holds at least `minimum` bytes.
    func require(length minimum: Int) throws(ACPIError) {
        guard bytes.count >= minimum else {
            throw .badLength(signature: signature, address: address, length: length)
        }
    }

    /// Throws `.badChecksum` unless the bytes sum to zero.
    func requireValidChecksum() throws(ACPIError) {
        guard checksumIsValid else { throw .badChecksum(signature: signature, address: address) }
    }

    /// The variable-length records (MADT, SRAT) that follow the fixed fields.
    func records(from start: Int) -> ACPIRecords { ACPIRecords(table: self, offset: start) }
}

/// A walk over type/length records, `type u8, length u8, fields`, each
/// `length` bytes long (header included), packed to the end of the table.
///
/// Each record is checked before it is returned: its length is at least 2
/// (so the walk always advances; a zero length cannot loop forever) and it
/// ends inside the table. At most `ACPIParser.maximumRecords` are returned.
/// One stray byte after the last record (too short for a record header) is
/// ignored, as Linux does.
struct ACPIRecords {
    /// One record: its type, its offset in the table and its length.
    struct Record {
        let type: UInt8
        let offset: Int
        let length: Int
    }

    let table: ACPITable
    var offset: Int
    var count = 0

    init(table: ACPITable, offset: Int) {
        self.table = table
        self.offset = offset
    }

    /// The next record, nil after the last; throws `.badRecordLength` or
    /// `.tooManyEntries`.
    mutating func next() throws(ACPIError) -> Record? {
        guard offset + 2 <= table.bytes.count else { return nil }
        let type = table.u8(at: offset)
        let length = table.u8(at: offset + 1)
        guard length >= 2 && offset + Int(length) <= table.bytes.count else {
            throw .badRecordLength(signature: table.signature, offset: UInt32(offset), length: length)
        }
        count += 1
        guard count <= ACPIParser.maximumRecords else {
            throw .tooManyEntries(signature: table.signature)
        }
        let record = Record(type: type, offset: offset, length: Int(length))
        offset += Int(length)
        return record
    }
}

/// Throws `.recordTooShort` unless `record` holds at least `minimum` bytes.
func requireRecord(_ record: ACPIRecords.Record, length minimum: Int,
                   in table: ACPITable) throws(ACPIError) {
    guard record.length >= minimum else {
        throw .recordTooShort(signature: table.signature, type: record.type,
                              length: UInt8(truncatingIfNeeded: record.length))
    }
}

/// Little-endian integers in byte arrays.
enum ACPIBytes {
    /// The `count`-byte (at most 8) little-endian value at `offset`; the
    /// caller has checked that the bytes exist.
    static func little(_ bytes: [UInt8], at offset: Int, count: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<count { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        return value
    }
}

/// The ACPI checksum rule: all bytes of a structure sum to 0 mod 256.
enum ACPIChecksum {
    static func isValid(_ bytes: ArraySlice<UInt8>) -> Bool {
        var sum: UInt8 = 0
        for byte in bytes { sum &+= byte }
        return sum == 0
    }
}

/// Fixed-width ASCII fields (OEM IDs), padded with spaces or NULs.
enum ACPIText {
    /// `field` decoded as UTF-8 (bad bytes become U+FFFD) without its
    /// trailing spaces and NULs.
    static func trimmed(_ field: ArraySlice<UInt8>) -> String {
        var end = field.endIndex
        while end > field.startIndex && (field[end - 1] == 0x20 || field[end - 1] == 0) { end -= 1 }
        return String(decoding: field[field.startIndex..<end], as: UTF8.self)
    }
}

/// Bounds- and overflow-checked reads for the ACPI parsers, which report
/// `ACPIError` rather than `BootInfoError`.
struct ACPIMemory<M: PhysicalMemoryReader> {
    let reader: M

    /// `base + offset`, or `.addressOverflow`.
    func address(_ base: UInt64, plus offset: UInt64) throws(ACPIError) -> UInt64 {
        let (sum, overflow) = base.addingReportingOverflow(offset)
        if overflow { throw .addressOverflow(base: base, offset: offset) }
        return sum
    }

    /// `count` bytes from `address`; `.unreadable` names the first byte that
    /// is not readable.
    func bytes(at address: UInt64, count: Int) throws(ACPIError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for index in 0..<count {
            let byteAddress = try self.address(address, plus: UInt64(index))
            guard let byte = reader.byte(at: byteAddress) else {
                throw .unreadable(address: byteAddress)
            }
            bytes.append(byte)
        }
        return bytes
    }

    /// Whether the 8 bytes at `address` are readable and, read
    /// little-endian, equal `expected`; stops at the first byte that is not.
    /// Used by the RSDP scan, which skips what it cannot read.
    func holds(_ expected: UInt64, at address: UInt64) -> Bool {
        for index in 0..<8 {
            let (byteAddress, overflow) = address.addingReportingOverflow(UInt64(index))
            guard !overflow, let byte = reader.byte(at: byteAddress),
                  byte == UInt8(truncatingIfNeeded: expected >> (8 * UInt64(index)))
            else { return false }
        }
        return true
    }
}
