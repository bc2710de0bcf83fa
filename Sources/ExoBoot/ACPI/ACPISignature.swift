/// The four-character signature that opens every ACPI system description
/// table ("APIC", "HPET", ...).
///
/// Kept as the raw little-endian `UInt32` of the four bytes as they lie in
/// memory, so signatures compare as integers: no String comparison (and no
/// Unicode tables) in the kernel, and garbage bytes are representable.
public struct ACPISignature: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The four signature bytes read as a little-endian `UInt32`.
    public let rawValue: UInt32

    /// The signature whose bytes, read little-endian, are `rawValue`.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The signature spelled by `text`, which must be exactly four bytes.
    public init(_ text: StaticString) {
        precondition(text.utf8CodeUnitCount == 4, "an ACPI signature has four bytes")
        var value: UInt32 = 0
        for index in 0..<4 {
            value |= UInt32(text.utf8Start[index]) << (8 * UInt32(index))
        }
        self.rawValue = value
    }

    // Written as integers so they are static data rather than lazily
    // initialized globals; a test checks each against its text.

    /// Root System Description Table (32-bit table pointers).
    public static let rsdt = ACPISignature(rawValue: 0x5444_5352)  // "RSDT"
    /// Extended System Description Table (64-bit table pointers).
    public static let xsdt = ACPISignature(rawValue: 0x5444_5358)  // "XSDT"
    /// Multiple APIC Description Table.
    public static let madt = ACPISignature(rawValue: 0x4349_5041)  // "APIC"
    /// High Precision Event Timer table.
    public static let hpet = ACPISignature(rawValue: 0x5445_5048)  // "HPET"
    /// System Resource Affinity Table (NUMA placement of CPUs and memory).
    public static let srat = ACPISignature(rawValue: 0x5441_5253)  // "SRAT"
    /// System Locality Information Table (NUMA distances).
    public static let slit = ACPISignature(rawValue: 0x5449_4C53)  // "SLIT"
    /// Fixed ACPI Description Table.
    public static let fadt = ACPISignature(rawValue: 0x5043_4146)  // "FACP"
    /// PCI Express memory-mapped configuration space table.
    public static let mcfg = ACPISignature(rawValue: 0x4746_434D)  // "MCFG"

    /// The four characters; bytes outside printable ASCII show as `?`.
    public var description: String {
        var bytes: [UInt8] = []
        for index in 0..<4 {
            let byte = UInt8(truncatingIfNeeded: rawValue >> (8 * UInt32(index)))
            bytes.append(byte >= 0x20 && byte < 0x7f ? byte : UInt8(ascii: "?"))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
