import Testing
@testable import ExoBoot

@Suite("Memory map sanitizer")
struct MemoryMapSanitizerTests {
    func region(_ base: UInt64, _ length: UInt64, _ kind: MemoryKind) -> MemoryRegion {
        MemoryRegion(base: base, length: length, kind: kind)
    }

    @Test func zeroLengthEntriesAreDroppedAndCounted() {
        let result = MemoryMapSanitizer.sanitize([
            region(0, 0x1000, .available), region(0x5000, 0, .reserved), region(0x8000, 0, .available),
        ])
        #expect(result.regions == [region(0, 0x1000, .available)])
        #expect(result.anomalies == 2)
    }

    @Test func reservedInsideAvailableSplitsItIntoThree() {
        let result = MemoryMapSanitizer.sanitize([
            region(0x10_0000, 0x100_0000, .available),  // 1 MiB ..< 17 MiB
            region(0x40_0000, 0x1000, .reserved),
        ])
        let expected = [region(0x10_0000, 0x30_0000, .available),
                        region(0x40_0000, 0x1000, .reserved),
                        region(0x40_1000, 0xcf_f000, .available)]
        #expect(result.regions == expected)
        #expect(result.anomalies == 2)  // both entries of the overlapping pair
    }

    @Test func touchingRegionsOfOneKindAreMergedWithoutAnomaly() {
        let result = MemoryMapSanitizer.sanitize([
            region(0x2000, 0x1000, .available), region(0, 0x1000, .available),
            region(0x1000, 0x1000, .available), region(0x3000, 0x1000, .reserved),
        ])
        #expect(result.regions == [region(0, 0x3000, .available), region(0x3000, 0x1000, .reserved)])
        #expect(result.anomalies == 0)
    }

    @Test func outputIsSortedByBase() {
        let result = MemoryMapSanitizer.sanitize([
            region(0xfffc_0000, 0x4_0000, .reserved), region(0x10_0000, 0x1000, .available),
            region(0, 0x9_fc00, .available),
        ])
        #expect(result.regions.map(\.base) == [0, 0x10_0000, 0xfffc_0000])
    }

    @Test func entryWrappingPastTwoToThe64IsClipped() {
        let base: UInt64 = 0xffff_ffff_ffff_0000
        let result = MemoryMapSanitizer.sanitize([region(base, 0x2_0000, .reserved)])
        #expect(result.regions == [region(base, 0xffff, .reserved)])
        #expect(result.regions.first?.end == UInt64.max)
        #expect(result.anomalies == 1)
    }

    @Test func higherTypeWinsBetweenTwoNonAvailableKinds() {
        // ACPI reclaimable (3) over reserved (2); defective (5) over ACPI NVS (4).
        let result = MemoryMapSanitizer.sanitize([
            region(0, 0x3000, .reserved), region(0x1000, 0x1000, .acpiReclaimable),
            region(0x10000, 0x2000, .defective), region(0x10000, 0x4000, .acpiNVS),
        ])
        let expected = [region(0, 0x1000, .reserved), region(0x1000, 0x1000, .acpiReclaimable),
                        region(0x2000, 0x1000, .reserved), region(0x10000, 0x2000, .defective),
                        region(0x12000, 0x2000, .acpiNVS)]
        #expect(result.regions == expected)
        #expect(result.anomalies == 4)
    }

    @Test func unknownTypesAreTreatedAsReservedNotAvailable() {
        let result = MemoryMapSanitizer.sanitize([
            region(0, 0x4000, .available), region(0x1000, 0x1000, .other(12)),
        ])
        let expected = [region(0, 0x1000, .available), region(0x1000, 0x1000, .other(12)),
                        region(0x2000, 0x2000, .available)]
        #expect(result.regions == expected)
    }

    @Test func identicalDuplicatesCollapseToOneRegion() {
        let entry = region(0x10_0000, 0x1000, .available)
        let result = MemoryMapSanitizer.sanitize([entry, entry, entry])
        #expect(result.regions == [entry])
        #expect(result.anomalies == 3)
    }

    @Test func multibootTypeNumbersRoundTrip() {
        for type in UInt32(0)...8 {
            #expect(MemoryKind(multibootType: type).multibootType == type)
        }
        #expect(MemoryKind(multibootType: 1) == .available)
        #expect(MemoryKind(multibootType: 7) == .other(7))
    }

    /// The model's precedence, written out independently of the sanitizer:
    /// available loses to everything, otherwise the higher type wins.
    func rank(_ kind: MemoryKind) -> UInt64 {
        kind == .available ? 0 : 1 + UInt64(kind.multibootType)
    }

    /// Against a brute-force model on a small address space: every address
    /// gets the most restrictive kind of the entries covering it, and the
    /// anomaly count matches a pairwise overlap check.
    @Test func matchesBruteForceModelOnRandomMaps() {
        var random = SplitMix64(state: 0x5eed_0001)
        let kinds: [MemoryKind] = [.available, .available, .reserved, .acpiReclaimable, .acpiNVS,
                                   .defective, .other(9)]
        for _ in 0..<500 {
            let raw = (0..<random.below(12)).map { _ in
                region(UInt64(random.below(64)), UInt64(random.below(16)), kinds[random.below(kinds.count)])
            }
            let result = MemoryMapSanitizer.sanitize(raw)
            #expect(isSanitized(result.regions))

            for address in UInt64(0)..<82 {
                let covering = raw.filter { $0.base <= address && address < $0.end }
                let expected = covering.max { rank($0.kind) < rank($1.kind) }?.kind
                let actual = result.regions.first { $0.base <= address && address < $0.end }?.kind
                #expect(actual == expected, "address \(address) in \(raw)")
            }

            var expectedAnomalies = 0
            for (index, entry) in raw.enumerated() {
                let overlaps = raw.indices.contains { other in
                    other != index && raw[other].length > 0
                        && raw[other].base < entry.end && entry.base < raw[other].end
                }
                if entry.length == 0 || overlaps { expectedAnomalies += 1 }
            }
            #expect(result.anomalies == expectedAnomalies, "\(raw)")
        }
    }
}
