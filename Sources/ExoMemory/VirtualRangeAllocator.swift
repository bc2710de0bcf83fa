import ExoKit

/// Hands out kernel virtual address ranges (kernel stacks, MMIO windows)
/// from a fixed window, with unmapped guard gaps around each one.
///
/// Invariants:
/// 1. `ranges` is sorted, and every range in it is page aligned, non-empty
///    and inside `bounds`.
/// 2. Guards: between two allocations, and between an allocation and either
///    end of the window, lie at least `guardSize` bytes that belong to no
///    allocation. Nothing maps them, so a stack overflow or a runaway MMIO
///    write faults instead of silently landing in the neighbour (or in
///    whatever lies just outside the window).
///
/// Kernels hold few such ranges (tens to hundreds), so a sorted array with
/// first-fit search is simpler than a tree and fast enough. Holes coalesce
/// by construction: they are just the gaps between array entries.
public struct VirtualRangeAllocator {
    /// The granule of every range and guard.
    public static let pageSize: UInt64 = 4096

    /// The managed window.
    public let bounds: Range<UInt64>
    /// Minimum unallocated bytes on each side of every allocation.
    public let guardSize: UInt64
    private var ranges: [Range<UInt64>] = []
    private var allocatedBytes: UInt64 = 0

    /// Manages [base, base+size).
    ///
    /// Preconditions: `base`, `size` and `guardSize` are multiples of 4096
    /// (`guardSize` may be 0: no guards), and the window does not wrap.
    public init(base: UInt64, size: UInt64, guardSize: UInt64 = 4096) {
        precondition(Alignment.isAligned(base, to: Self.pageSize), "window base must be page aligned")
        precondition(Alignment.isAligned(size, to: Self.pageSize), "window size must be page aligned")
        precondition(Alignment.isAligned(guardSize, to: Self.pageSize), "guard size must be page aligned")
        precondition(base <= UInt64.max - size, "window wraps the address space")
        self.bounds = base..<(base + size)
        self.guardSize = guardSize
    }

    /// The lowest range of `size` bytes (rounded up to whole pages) starting
    /// at a multiple of `alignment` that leaves `guardSize` free bytes on
    /// both sides (first fit).
    ///
    /// Throws, with nothing changed, `.invalidRequest` for size 0 or an
    /// alignment that is not a power of two >= 4096, and `.outOfMemory` if
    /// no hole fits.
    public mutating func allocate(size: UInt64, alignment: UInt64 = 4096) throws(MemoryError) -> Range<UInt64> {
        guard size > 0, Alignment.isPowerOfTwo(alignment), alignment >= Self.pageSize else {
            throw .invalidRequest
        }
        // A size that overflows when rounded cannot fit any window.
        guard let length = Alignment.alignUp(size, to: Self.pageSize) else { throw .outOfMemory }

        var holeStart = bounds.lowerBound
        for position in 0...ranges.count {
            let holeEnd = position < ranges.count ? ranges[position].lowerBound : bounds.upperBound
            if let start = fit(length: length, alignment: alignment, in: holeStart, holeEnd) {
                // Point of no return. Inserting at `position` keeps `ranges` sorted.
                let range = start..<(start + length)
                ranges.insert(range, at: position)
                allocatedBytes += length
                return range
            }
            if position < ranges.count { holeStart = ranges[position].upperBound }
        }
        throw .outOfMemory
    }

    /// Returns a range exactly as `allocate` returned it; the hole it leaves
    /// merges with its neighbours.
    ///
    /// Throws, with nothing changed:
    /// - `.outOfRange` if `range` is not inside the window;
    /// - `.doubleFree` if no byte of `range` is allocated (it is already free);
    /// - `.notAllocated` if it overlaps an allocation without being exactly one.
    public mutating func free(_ range: Range<UInt64>) throws(MemoryError) {
        let position = firstIndex(notBelow: range.lowerBound)
        if position < ranges.count && ranges[position] == range {
            ranges.remove(at: position)
            allocatedBytes -= range.upperBound - range.lowerBound
            return
        }
        guard range.lowerBound >= bounds.lowerBound, range.upperBound <= bounds.upperBound else {
            throw .outOfRange(range.lowerBound)
        }
        if range.isEmpty { throw .notAllocated(range.lowerBound) }
        let overlapsBelow = position > 0 && ranges[position - 1].upperBound > range.lowerBound
        let overlapsAbove = position < ranges.count && ranges[position].lowerBound < range.upperBound
        if overlapsBelow || overlapsAbove { throw .notAllocated(range.lowerBound) }
        throw .doubleFree(range.lowerBound)
    }

    /// The live allocations, sorted by address.
    public var allocatedRanges: [Range<UInt64>] { ranges }

    /// Bytes of the window in no allocation. Guards count as free, so not all
    /// of it can be allocated.
    public var freeBytes: UInt64 {
        bounds.upperBound - bounds.lowerBound - allocatedBytes
    }

    /// Where a block of `length` bytes aligned to `alignment` can start in
    /// the hole [holeStart, holeEnd) with a guard on each side, or nil.
    /// Every step checks overflow: a window can end at the top of the
    /// address space.
    private func fit(length: UInt64, alignment: UInt64, in holeStart: UInt64, _ holeEnd: UInt64) -> UInt64? {
        let (afterGuard, overflowBelow) = holeStart.addingReportingOverflow(guardSize)
        guard !overflowBelow, let start = Alignment.alignUp(afterGuard, to: alignment) else { return nil }
        let (end, overflowEnd) = start.addingReportingOverflow(length)
        let (endWithGuard, overflowAbove) = end.addingReportingOverflow(guardSize)
        guard !overflowEnd, !overflowAbove, endWithGuard <= holeEnd else { return nil }
        return start
    }

    /// The index of the first range starting at or above `address` (binary search).
    private func firstIndex(notBelow address: UInt64) -> Int {
        var low = 0, high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].lowerBound < address { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
