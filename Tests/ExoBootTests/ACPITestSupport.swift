@testable import ExoBoot

/// The error `body` throws, or nil when it returns.
func acpiError<T>(_ body: () throws(ACPIError) -> T) -> ACPIError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// Physical memory holding the QEMU table dumps (`QEMUACPITables`) at their
/// real addresses, patchable before it is handed to the parser.
struct ACPIFixture {
    /// Region base -> bytes; regions never overlap.
    var regions: [UInt64: [UInt8]]

    init(_ regions: [UInt64: [UInt8]]) { self.regions = regions }

    static var pc: ACPIFixture { ACPIFixture(QEMUACPITables.pc) }
    static var q35: ACPIFixture { ACPIFixture(QEMUACPITables.q35) }
    static var numa: ACPIFixture { ACPIFixture(QEMUACPITables.numa) }
    static var q35uefi: ACPIFixture { ACPIFixture(QEMUACPITables.q35uefi) }

    /// The OVMF ACPI 2.0 RSDP (the one a UEFI loader passes on).
    static let uefiRSDP2: UInt64 = 0x7b7_e014
    /// The OVMF ACPI 1.0 RSDP.
    static let uefiRSDP1: UInt64 = 0x7b7_e000

    /// The regions, and when `biosAreas` is set, zeros under the rest of
    /// the EBDA's first KiB and of 0xE0000-0xFFFFF, as on a real machine
    /// (the RSDP scan then walks the whole area).
    func memory(biosAreas: Bool = false) -> FakePhysicalMemory {
        var memory = FakePhysicalMemory()
        for base in regions.keys.sorted() { memory.map(regions[base]!, at: base) }
        if biosAreas {
            memory.map([UInt8](repeating: 0, count: 0x400), at: 0x9_fc00)
            memory.map([UInt8](repeating: 0, count: 0x2_0000), at: 0xe_0000)
        }
        return memory
    }

    /// Address of the first region whose bytes start with `signature`.
    func address(of signature: StaticString) -> UInt64 {
        let wanted = ACPISignature(signature)
        for base in regions.keys.sorted() {
            let bytes = regions[base]!
            if bytes.count >= 4 && ACPIBytes.little(bytes, at: 0, count: 4) == UInt64(wanted.rawValue) {
                return base
            }
        }
        preconditionFailure("no \(signature) in fixture")
    }

    /// The region holding physical `address`, and the offset in it.
    private func locate(_ address: UInt64) -> (base: UInt64, offset: Int) {
        for (base, bytes) in regions where address >= base && address - base < UInt64(bytes.count) {
            return (base, Int(address - base))
        }
        preconditionFailure("address \(address) not in fixture")
    }

    subscript(address: UInt64) -> UInt8 {
        get { let (base, offset) = locate(address); return regions[base]![offset] }
        set { let (base, offset) = locate(address); regions[base]![offset] = newValue }
    }

    /// Writes `value` little-endian, `width` bytes, at physical `address`.
    mutating func write(_ value: UInt64, width: Int, at address: UInt64) {
        for index in 0..<width {
            self[address + UInt64(index)] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))
        }
    }

    /// Recomputes the checksum byte of the table starting at `base` over
    /// its whole region (or, for an RSDP, both of its checksums).
    mutating func fixChecksum(_ base: UInt64) {
        var bytes = regions[base]!
        if ACPIBytes.little(bytes, at: 0, count: 8) == RSDP.signature {
            ACPITableBuilder.setChecksum(&bytes, byte: 8, over: 20)
            if bytes.count >= 36 { ACPITableBuilder.setChecksum(&bytes, byte: 32, over: bytes.count) }
        } else {
            ACPITableBuilder.setChecksum(&bytes, byte: 9, over: bytes.count)
        }
        regions[base] = bytes
    }
}

/// Builds ACPI tables byte by byte, with a valid header and checksum.
struct ACPITableBuilder {
    var image = ByteImage()

    /// Starts a table: header with `signature` and `revision`; length and
    /// checksum are filled in by `finish`.
    init(_ signature: StaticString, revision: UInt8 = 1) {
        image.u32(ACPISignature(signature).rawValue)
        image.u32(0)           // length
        image.u8(revision)
        image.u8(0)            // checksum
        image.raw(Array("EXOTST".utf8))
        image.raw(Array("EXOTABLE".utf8))
        image.u32(1)           // OEM revision
        image.u32(0x4F58_45)   // creator "EXO"
        image.u32(1)           // creator revision
    }

    /// A record: type, length (default: 2 + payload), payload.
    mutating func record(_ type: UInt8, _ payload: [UInt8], declaredLength: UInt8? = nil) {
        image.u8(type)
        image.u8(declaredLength ?? UInt8(2 + payload.count))
        image.raw(payload)
    }

    /// The finished table; `length` overrides the length field (the
    /// checksum still covers the real bytes).
    func finish(length: UInt32? = nil) -> [UInt8] {
        var bytes = image.bytes
        var header = ByteImage(bytes: bytes)
        header.set32(length ?? UInt32(bytes.count), at: 4)
        bytes = header.bytes
        Self.setChecksum(&bytes, byte: 9, over: bytes.count)
        return bytes
    }

    /// Sets `bytes[byte]` so that the first `count` bytes sum to zero.
    static func setChecksum(_ bytes: inout [UInt8], byte: Int, over count: Int) {
        bytes[byte] = 0
        let sum = bytes[0..<count].reduce(UInt8(0)) { $0 &+ $1 }
        bytes[byte] = 0 &- sum
    }
}

/// A small machine assembled from built tables: an ACPI 2.0 RSDP at
/// 0xF0000, an XSDT at 0x10000 listing the given tables at 0x20000,
/// 0x30000, ...
struct SyntheticACPI {
    static let rsdpAddress: UInt64 = 0xF_0000
    static let xsdtAddress: UInt64 = 0x1_0000

    static func tableAddress(_ index: Int) -> UInt64 { 0x2_0000 + 0x1_0000 * UInt64(index) }

    static func memory(_ tables: [[UInt8]]) -> FakePhysicalMemory {
        var xsdt = ACPITableBuilder("XSDT")
        for index in tables.indices { xsdt.image.u64(tableAddress(index)) }
        var memory = FakePhysicalMemory()
        memory.map(rsdp(xsdt: xsdtAddress), at: rsdpAddress)
        memory.map(xsdt.finish(), at: xsdtAddress)
        for (index, table) in tables.enumerated() { memory.map(table, at: tableAddress(index)) }
        return memory
    }

    /// An ACPI 2.0 RSDP with valid checksums.
    static func rsdp(xsdt: UInt64, rsdt: UInt32 = 0, revision: UInt8 = 2) -> [UInt8] {
        var image = ByteImage()
        image.raw(Array("RSD PTR ".utf8))
        image.u8(0)
        image.raw(Array("EXOTST".utf8))
        image.u8(revision)
        image.u32(rsdt)
        image.u32(36)
        image.u64(xsdt)
        image.u8(0)
        image.zeros(3)
        var bytes = image.bytes
        ACPITableBuilder.setChecksum(&bytes, byte: 8, over: 20)
        ACPITableBuilder.setChecksum(&bytes, byte: 32, over: 36)
        return bytes
    }

    static func parse(_ tables: [[UInt8]]) throws(ACPIError) -> ACPITables {
        try ACPIParser.parse(rsdpAddress: rsdpAddress, memory: memory(tables))
    }

    /// A MADT with the usual header fields and `body` records.
    static func madt(localAPIC: UInt32 = 0xFEE0_0000, flags: UInt32 = 1,
                     _ build: (inout ACPITableBuilder) -> Void) -> [UInt8] {
        var table = ACPITableBuilder("APIC", revision: 5)
        table.image.u32(localAPIC)
        table.image.u32(flags)
        build(&table)
        return table.finish()
    }

    /// An SRAT of `revision` with `body` records.
    static func srat(revision: UInt8 = 3, _ build: (inout ACPITableBuilder) -> Void) -> [UInt8] {
        var table = ACPITableBuilder("SRAT", revision: revision)
        table.image.u32(1)
        table.image.u64(0)
        build(&table)
        return table.finish()
    }
}

extension ByteImage {
    /// `value` as `count` little-endian bytes.
    static func little(_ value: UInt64, _ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }
}
