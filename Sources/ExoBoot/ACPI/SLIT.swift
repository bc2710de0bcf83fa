// System Locality Information Table, signature "SLIT" (ACPI 6.5, 5.2.17):
//
//  36  number of localities N u64
//  44  N x N bytes, row-major: entry [i][j] is the relative distance from
//      locality i to locality j; 10 means local, 255 unreachable.
//
// Localities are numbered as the SRAT's proximity domains.

/// The relative memory-access distances between NUMA proximity domains.
public struct SLIT: Sendable {
    /// How many localities (proximity domains) the matrix covers.
    public let localityCount: Int
    /// `localityCount` squared distances, row-major.
    private let distances: [UInt8]

    /// The relative distance from locality `from` to locality `to` (10 is
    /// local), or nil when either is not below `localityCount`.
    public func distance(from: Int, to: Int) -> UInt8? {
        guard from >= 0 && from < localityCount && to >= 0 && to < localityCount else { return nil }
        return distances[from * localityCount + to]
    }

    static let fixedLength = 44

    /// Parses a SLIT whose checksum has been checked.
    ///
    /// Throws `.badLength` (shorter than its fixed fields) or
    /// `.badLocalityCount` (the matrix would not fit in the table).
    init(_ table: ACPITable) throws(ACPIError) {
        try table.require(length: Self.fixedLength)
        let count = table.u64(at: 36)
        let available = UInt64(table.bytes.count - Self.fixedLength)
        // count <= available keeps count * count from overflowing: tables
        // are at most 1 MiB.
        guard count <= available && count * count <= available else {
            throw .badLocalityCount(count)
        }
        localityCount = Int(count)
        distances = Array(table.bytes[Self.fixedLength..<(Self.fixedLength + localityCount * localityCount)])
    }
}
