// Root System Description Pointer (ACPI 6.5, 5.2.5.3):
//
//   0  "RSD PTR " [8]           revision 2 and later add:
//   8  checksum u8 (bytes 0-19)  20  length u32 (whole RSDP, 36)
//   9  OEM ID [6]                24  XSDT address u64
//  15  revision u8 (0: ACPI 1.0) 32  extended checksum u8 (all `length` bytes)
//  16  RSDT address u32          33  reserved [3]
//
// On a BIOS machine it sits on a 16-byte boundary in the first KiB of the
// EBDA (real-mode segment in the BDA word at 0x40E) or in 0xE0000-0xFFFFF.
// Under UEFI it can be anywhere (OVMF's is 4-byte aligned): the loader finds
// it through the EFI system table and passes a copy (multiboot2 tags 14/15).
//
// The RSDT lists 32-bit table addresses after its header; the XSDT, used
// when the RSDP has revision >= 2 and gives one, lists 64-bit addresses.

/// The fields of a checked RSDP.
struct RSDP {
    /// "RSD PTR " read as a little-endian `UInt64`.
    static let signature: UInt64 = 0x2052_5450_2044_5352
    static let version1Length = 20
    static let version2Length = 36

    let revision: UInt8
    let oemID: String
    let rsdtAddress: UInt32
    /// Zero for revisions below 2 (ACPI 1.0), which have no XSDT.
    let xsdtAddress: UInt64

    /// The RSDP in `bytes` (a copy at least as long as its `length`).
    ///
    /// Throws `.badRSDPLength`, `.badRSDPSignature` or `.badRSDPChecksum`.
    init(_ bytes: [UInt8]) throws(ACPIError) {
        try Self.checkVersion1Part(bytes)
        revision = bytes[15]
        oemID = ACPIText.trimmed(bytes[9..<15])
        rsdtAddress = UInt32(truncatingIfNeeded: ACPIBytes.little(bytes, at: 16, count: 4))
        if revision < 2 {
            xsdtAddress = 0
            return
        }
        guard bytes.count >= Self.version2Length else { throw .badRSDPLength(UInt32(bytes.count)) }
        let length = UInt32(truncatingIfNeeded: ACPIBytes.little(bytes, at: 20, count: 4))
        guard length >= UInt32(Self.version2Length) && length <= ACPIParser.maximumRSDPLength
            && Int(length) <= bytes.count
        else { throw .badRSDPLength(length) }
        guard ACPIChecksum.isValid(bytes[0..<Int(length)]) else {
            throw .badRSDPChecksum(extended: true)
        }
        xsdtAddress = ACPIBytes.little(bytes, at: 24, count: 8)
    }

    /// Checks what every revision has: 20 bytes, the signature, and the
    /// checksum over those 20 bytes. Until it passes, `length` is noise.
    static func checkVersion1Part(_ bytes: [UInt8]) throws(ACPIError) {
        guard bytes.count >= version1Length else { throw .badRSDPLength(UInt32(bytes.count)) }
        guard ACPIBytes.little(bytes, at: 0, count: 8) == signature else { throw .badRSDPSignature }
        guard ACPIChecksum.isValid(bytes[0..<version1Length]) else {
            throw .badRSDPChecksum(extended: false)
        }
    }
}

/// Finds and parses the firmware's ACPI tables.
///
/// Everything read is untrusted: memory is read only through a
/// `PhysicalMemoryReader`, every length is checked against a limit and
/// against the table holding it, and every loop is bounded, so corrupt
/// tables yield an `ACPIError` rather than a fault, a trap or a hang.
public enum ACPIParser {
    /// Largest table accepted; real MADTs and SRATs are a few KiB, DSDTs
    /// and SSDTs up to a few hundred.
    public static let maximumTableLength: UInt32 = 1 << 20
    /// Largest revision-2 RSDP `length` accepted (the specification's is 36).
    public static let maximumRSDPLength: UInt32 = 4096
    /// Most records per MADT or SRAT, and most entries per RSDT or XSDT.
    public static let maximumRecords = 4096

    /// Physical address of the BDA word holding the EBDA's real-mode segment.
    static let ebdaSegmentPointer: UInt64 = 0x40E
    /// How much of the EBDA is searched.
    static let ebdaSearchLength: UInt64 = 1024
    /// The BIOS read-only area searched after the EBDA.
    static let biosAreaStart: UInt64 = 0xE_0000
    static let biosAreaEnd: UInt64 = 0x10_0000

    /// Finds the RSDP on a BIOS machine: on 16-byte boundaries, first in the
    /// first KiB of the EBDA, then in 0xE0000-0xFFFFF. Unreadable addresses
    /// are skipped, as are signature matches whose checksums fail.
    ///
    /// Returns the physical address of the first valid RSDP. Throws
    /// `.noRSDP` when there is none, or, when the signature was seen but
    /// every match was invalid, the error of the first match
    /// (`.badRSDPChecksum`, `.badRSDPLength`).
    public static func findRSDP<M: PhysicalMemoryReader>(memory: M) throws(ACPIError) -> UInt64 {
        let memory = ACPIMemory(reader: memory)
        var firstFailure: ACPIError? = nil
        var areas: [(start: UInt64, end: UInt64)] = []
        // Linux ignores a segment below 0x40 (base below 0x400, the
        // interrupt table): firmware without an EBDA leaves 0 there.
        if let segment = try? memory.bytes(at: ebdaSegmentPointer, count: 2) {
            let base = (UInt64(segment[0]) | UInt64(segment[1]) << 8) << 4
            if base >= 0x400 { areas.append((base, base + ebdaSearchLength)) }
        }
        areas.append((biosAreaStart, biosAreaEnd))
        for area in areas {
            var address = area.start
            while address < area.end {
                defer { address += 16 }
                guard memory.holds(RSDP.signature, at: address) else { continue }
                do {
                    _ = try readRSDP(at: address, memory: memory)
                    return address
                } catch {
                    if firstFailure == nil { firstFailure = error }
                }
            }
        }
        throw firstFailure ?? .noRSDP
    }

    /// Parses the tables reached from the RSDP at physical `rsdpAddress`.
    ///
    /// Throws `.unreadable` when the RSDP cannot be read, otherwise whatever
    /// `parse(rsdpBytes:memory:)` throws.
    public static func parse<M: PhysicalMemoryReader>(
        rsdpAddress: UInt64, memory: M
    ) throws(ACPIError) -> ACPITables {
        let memory = ACPIMemory(reader: memory)
        return try parse(rsdp: try readRSDP(at: rsdpAddress, memory: memory), memory: memory)
    }

    /// Parses the tables reached from a copy of the RSDP, as a loader hands
    /// it over (multiboot2 tag 14 or 15: `BootInfo.acpiRSDP`).
    ///
    /// The root table is the XSDT when the RSDP has revision >= 2 and a
    /// non-zero XSDT address, else the RSDT. Every table it lists must have
    /// a readable header, a length in 36...`maximumTableLength` and readable
    /// bytes up to that length; each is listed in `ACPITables.tables` with
    /// its checksum status. The MADT, HPET, SRAT and SLIT are parsed (the
    /// first of each signature, as Linux does) and must have valid
    /// checksums; other tables with bad checksums are only flagged.
    ///
    /// Throws the RSDP's `.badRSDPLength`, `.badRSDPSignature`,
    /// `.badRSDPChecksum` or `.noRootTable`; for the root table and the
    /// tables it lists `.unreadable`, `.addressOverflow`, `.badSignature`
    /// (root only), `.badLength`, `.truncated`, `.badChecksum`,
    /// `.tooManyEntries`; and each parsed table's own errors (see `MADT`,
    /// `HPET`, `SRAT`, `SLIT`).
    public static func parse<M: PhysicalMemoryReader>(
        rsdpBytes: [UInt8], memory: M
    ) throws(ACPIError) -> ACPITables {
        try parse(rsdp: try RSDP(rsdpBytes), memory: ACPIMemory(reader: memory))
    }

    /// Copies the table at physical `address` out of memory and checks its
    /// header: readable, `length` in 36...`maximumTableLength`, no address
    /// overflow, all `length` bytes readable. The checksum is not required
    /// (see `ACPITable.checksumIsValid`).
    ///
    /// For tables reached some other way, e.g. the DSDT through the FADT.
    /// Throws `.unreadable`, `.addressOverflow`, `.badLength` or `.truncated`.
    public static func readTable<M: PhysicalMemoryReader>(
        at address: UInt64, memory: M
    ) throws(ACPIError) -> ACPITable {
        try readTable(at: address, memory: ACPIMemory(reader: memory))
    }

    // MARK: - Implementation

    /// Reads the RSDP at `address`: 20 bytes, then for revision >= 2 its
    /// whole `length`.
    static func readRSDP<M>(at address: UInt64, memory: ACPIMemory<M>) throws(ACPIError) -> RSDP {
        let first = try memory.bytes(at: address, count: RSDP.version1Length)
        try RSDP.checkVersion1Part(first)
        guard first[15] >= 2 else { return try RSDP(first) }
        let lengthField = try memory.bytes(at: try memory.address(address, plus: 20), count: 4)
        let length = UInt32(truncatingIfNeeded: ACPIBytes.little(lengthField, at: 0, count: 4))
        guard length >= UInt32(RSDP.version2Length) && length <= maximumRSDPLength else {
            throw .badRSDPLength(length)
        }
        return try RSDP(try memory.bytes(at: address, count: Int(length)))
    }

    static func readTable<M>(at address: UInt64, memory: ACPIMemory<M>) throws(ACPIError) -> ACPITable {
        let (signature, length, _) = try readHeader(at: address, memory: memory)
        let bytes: [UInt8]
        do {
            bytes = try memory.bytes(at: address, count: Int(length))
        } catch {
            throw .truncated(signature: signature, address: address, length: length)
        }
        return ACPITable(address: address, bytes: bytes)
    }

    /// Checks the table at `address` as `readTable` does, and sums its
    /// bytes, without copying it: tables Exo does not parse (SSDTs can be
    /// hundreds of KiB) are only listed.
    static func inspectTable<M>(at address: UInt64, memory: ACPIMemory<M>) throws(ACPIError)
        -> ACPITableEntry
    {
        let (signature, length, revision) = try readHeader(at: address, memory: memory)
        var sum: UInt8 = 0
        for index in 0..<UInt64(length) {
            // Cannot overflow: readHeader checked address + length.
            guard let byte = memory.reader.byte(at: address + index) else {
                throw .truncated(signature: signature, address: address, length: length)
            }
            sum &+= byte
        }
        return ACPITableEntry(signature: signature, address: address, length: length,
                              revision: revision, checksumIsValid: sum == 0)
    }

    /// The signature, `length` and revision of the table at `address`, after checking
    /// that the header is readable, `length` lies in
    /// 36...`maximumTableLength` and `address + length` does not overflow.
    static func readHeader<M>(at address: UInt64, memory: ACPIMemory<M>) throws(ACPIError)
        -> (signature: ACPISignature, length: UInt32, revision: UInt8)
    {
        let header = try memory.bytes(at: address, count: ACPITable.headerLength)
        let signature = ACPISignature(
            rawValue: UInt32(truncatingIfNeeded: ACPIBytes.little(header, at: 0, count: 4)))
        let length = UInt32(truncatingIfNeeded: ACPIBytes.little(header, at: 4, count: 4))
        guard length >= UInt32(ACPITable.headerLength) && length <= maximumTableLength else {
            throw .badLength(signature: signature, address: address, length: length)
        }
        _ = try memory.address(address, plus: UInt64(length))
        return (signature, length, header[8])
    }

    static func parse<M>(rsdp: RSDP, memory: ACPIMemory<M>) throws(ACPIError) -> ACPITables {
        let rootAddress: UInt64
        let expected: ACPISignature
        let entryWidth: Int
        if rsdp.revision >= 2 && rsdp.xsdtAddress != 0 {
            (rootAddress, expected, entryWidth) = (rsdp.xsdtAddress, .xsdt, 8)
        } else if rsdp.rsdtAddress != 0 {
            (rootAddress, expected, entryWidth) = (UInt64(rsdp.rsdtAddress), .rsdt, 4)
        } else {
            throw .noRootTable
        }
        let root = try readTable(at: rootAddress, memory: memory)
        guard root.signature == expected else {
            throw .badSignature(expected: expected, found: root.signature, address: rootAddress)
        }
        try root.requireValidChecksum()
        // Bytes after the last whole entry are ignored.
        let entryCount = (root.bytes.count - ACPITable.headerLength) / entryWidth
        guard entryCount <= maximumRecords else { throw .tooManyEntries(signature: expected) }

        var result = ACPITables(
            rsdpRevision: rsdp.revision, oemID: rsdp.oemID,
            root: ACPITableEntry(root), tables: [])
        for index in 0..<entryCount {
            let offset = ACPITable.headerLength + index * entryWidth
            let address = entryWidth == 8 ? root.u64(at: offset) : UInt64(root.u32(at: offset))
            if address == 0 { continue }  // Some firmware leaves null slots.
            let entry = try inspectTable(at: address, memory: memory)
            result.tables.append(entry)
            // The first table of each signature Exo uses is copied, its
            // checksum required, and parsed.
            switch entry.signature {
            case .madt where result.madt == nil:
                result.madt = try MADT(try readCheckedTable(at: address, memory: memory))
            case .hpet where result.hpet == nil:
                result.hpet = try HPET(try readCheckedTable(at: address, memory: memory))
            case .srat where result.srat == nil:
                result.srat = try SRAT(try readCheckedTable(at: address, memory: memory))
            case .slit where result.slit == nil:
                result.slit = try SLIT(try readCheckedTable(at: address, memory: memory))
            default:
                break
            }
        }
        return result
    }

    /// `readTable`, then `.badChecksum` unless the bytes sum to zero.
    static func readCheckedTable<M>(at address: UInt64, memory: ACPIMemory<M>) throws(ACPIError)
        -> ACPITable
    {
        let table = try readTable(at: address, memory: memory)
        try table.requireValidChecksum()
        return table
    }
}
