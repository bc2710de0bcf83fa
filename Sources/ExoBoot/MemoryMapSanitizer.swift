/// A memory map after sanitizing, with a count of what had to be fixed.
public struct SanitizedMemoryMap: Equatable, Sendable {
    /// Sorted by base, pairwise disjoint, no zero-length regions, and no two
    /// touching regions of the same kind.
    public var regions: [MemoryRegion]
    /// How many raw entries were zero-length, clipped at the top of the
    /// address space, or overlapping another entry (each counted once).
    public var anomalies: Int

    /// A sanitized map; `regions` must already satisfy the invariants above.
    public init(regions: [MemoryRegion], anomalies: Int) {
        self.regions = regions
        self.anomalies = anomalies
    }
}

/// Turns a firmware memory map into one the frame allocator can trust.
///
/// Real firmware reports overlapping, unsorted and zero-length entries; like
/// Linux's e820 sanitizer we repair the map rather than refuse to boot, and
/// resolve every conflict toward the safer answer: where entries overlap the
/// more restrictive kind wins (anything beats `.available`; among the rest
/// the higher multiboot type number wins), so RAM is never handed out twice
/// or on top of firmware data or a device.
public enum MemoryMapSanitizer {
    /// The sanitized form of `raw`, which may be in any order.
    ///
    /// Returns regions sorted by base, pairwise disjoint, without zero-length
    /// regions, with touching regions of one kind merged. An entry whose
    /// `base + length` passes 2^64 - 1 is clipped to end at `UInt64.max`, so
    /// `end` is always representable (the top byte of the address space is
    /// never in a region). Runs in O(n log n) for n entries, times the
    /// number of distinct kinds (a handful).
    public static func sanitize(_ raw: [MemoryRegion]) -> SanitizedMemoryMap {
        // 1. Clip entries that wrap, drop empty ones.
        var anomalies = 0
        var kept: [(region: MemoryRegion, clipped: Bool)] = []
        kept.reserveCapacity(raw.count)
        for var region in raw {
            var clipped = false
            if region.base.addingReportingOverflow(region.length).overflow {
                region.length = UInt64.max - region.base
                clipped = true
            }
            if region.length == 0 {
                anomalies += 1
                continue
            }
            kept.append((region, clipped))
        }
        kept.sort { $0.region.base < $1.region.base }

        // 2. Count each clipped or overlapping entry once. With entries
        // sorted by base, entry i overlaps another exactly when an earlier
        // entry ends after its base, or the next entry starts before its end.
        var furthestEnd: UInt64 = 0
        for index in kept.indices {
            let region = kept[index].region
            let overlapsEarlier = index > 0 && furthestEnd > region.base
            let overlapsNext = index + 1 < kept.count && kept[index + 1].region.base < region.end
            if kept[index].clipped || overlapsEarlier || overlapsNext { anomalies += 1 }
            furthestEnd = max(furthestEnd, region.end)
        }

        // 3. Sweep the boundaries in address order, keeping the kinds that
        // cover the current point; each stretch between two boundaries gets
        // the most restrictive kind covering it.
        var boundaries: [Boundary] = []
        boundaries.reserveCapacity(kept.count * 2)
        for (region, _) in kept {
            boundaries.append(Boundary(position: region.base, kind: region.kind, opens: true))
            boundaries.append(Boundary(position: region.end, kind: region.kind, opens: false))
        }
        boundaries.sort { $0.position < $1.position }

        var covering = CoveringKinds()
        var regions: [MemoryRegion] = []
        var index = 0
        while index < boundaries.count {
            let position = boundaries[index].position
            while index < boundaries.count && boundaries[index].position == position {
                covering.apply(boundaries[index])
                index += 1
            }
            guard index < boundaries.count, let kind = covering.mostRestrictive else { continue }
            let next = boundaries[index].position
            if let last = regions.last, last.kind == kind, last.end == position {
                regions[regions.count - 1].length += next - position
            } else {
                regions.append(MemoryRegion(base: position, length: next - position, kind: kind))
            }
        }
        return SanitizedMemoryMap(regions: regions, anomalies: anomalies)
    }

    /// Where a raw entry begins (`opens`) or ends.
    private struct Boundary {
        var position: UInt64
        var kind: MemoryKind
        var opens: Bool
    }

    /// The kinds of the raw entries covering the sweep's current point, with
    /// how many entries of each.
    private struct CoveringKinds {
        private var counts: [(kind: MemoryKind, count: Int)] = []

        /// Enters or leaves the entry that `boundary` belongs to.
        mutating func apply(_ boundary: Boundary) {
            if let slot = counts.firstIndex(where: { $0.kind == boundary.kind }) {
                counts[slot].count += boundary.opens ? 1 : -1
                if counts[slot].count == 0 { counts.remove(at: slot) }
            } else {
                // Every entry opens before it closes (length > 0 and ties
                // are applied together), so a missing kind is an opening.
                counts.append((boundary.kind, 1))
            }
        }

        /// The kind that wins where all the covering entries overlap, or nil
        /// when nothing covers the point.
        var mostRestrictive: MemoryKind? {
            var best: MemoryKind? = nil
            for (kind, _) in counts {
                if best.map({ restriction(of: kind) > restriction(of: $0) }) ?? true { best = kind }
            }
            return best
        }
    }

    /// Orders kinds by how restrictive they are: `.available` least, then by
    /// multiboot type number.
    static func restriction(of kind: MemoryKind) -> UInt64 {
        kind == .available ? 0 : UInt64(kind.multibootType) + 1
    }
}
