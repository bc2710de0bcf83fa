import Testing
@testable import ExoMemory

private let page: UInt64 = 4096
private let windowBase: UInt64 = 0x0000_4000_8000_0000

@Suite("Kernel virtual range allocator")
struct VirtualRangeAllocatorTests {
    /// Checks invariants 1 and 2 of `VirtualRangeAllocator` from outside.
    func expectWellFormed(_ allocator: VirtualRangeAllocator, sourceLocation: SourceLocation = #_sourceLocation) {
        let ranges = allocator.allocatedRanges
        let guardSize = allocator.guardSize
        var previousEnd: UInt64? = nil
        var allocated: UInt64 = 0
        for range in ranges {
            #expect(!range.isEmpty && range.lowerBound % page == 0 && range.upperBound % page == 0,
                    sourceLocation: sourceLocation)
            let belowGap = range.lowerBound - (previousEnd ?? allocator.bounds.lowerBound)
            #expect(range.lowerBound >= (previousEnd ?? allocator.bounds.lowerBound) && belowGap >= guardSize,
                    "gap below \(range) is \(belowGap)", sourceLocation: sourceLocation)
            previousEnd = range.upperBound
            allocated += range.upperBound - range.lowerBound
        }
        if let last = previousEnd {
            #expect(last <= allocator.bounds.upperBound && allocator.bounds.upperBound - last >= guardSize,
                    sourceLocation: sourceLocation)
        }
        let size = allocator.bounds.upperBound - allocator.bounds.lowerBound
        #expect(allocator.freeBytes == size - allocated, sourceLocation: sourceLocation)
    }

    @Test func firstRangeLeavesAGuardAboveTheWindowBase() throws {
        var allocator = VirtualRangeAllocator(base: windowBase, size: 1 << 20)
        let range = try allocator.allocate(size: 16 * page)
        #expect(range == (windowBase + page)..<(windowBase + 17 * page))
        #expect(allocator.freeBytes == (1 << 20) - 16 * page)
    }

    @Test func neighboursAreSeparatedByTheGuard() throws {
        var allocator = VirtualRangeAllocator(base: windowBase, size: 1 << 20, guardSize: 2 * page)
        var ranges: [Range<UInt64>] = []
        for size in [page, 3 * page, 8 * page, page] { ranges.append(try allocator.allocate(size: size)) }
        for (lower, upper) in zip(ranges, ranges.dropFirst()) {
            #expect(upper.lowerBound - lower.upperBound >= 2 * page)
        }
        // First fit packs them exactly one guard apart.
        #expect(ranges[1].lowerBound == ranges[0].upperBound + 2 * page)
        expectWellFormed(allocator)
    }

    @Test func zeroGuardPacksRangesTogether() throws {
        var allocator = VirtualRangeAllocator(base: windowBase, size: 4 * page, guardSize: 0)
        let first = try allocator.allocate(size: 2 * page)
        let second = try allocator.allocate(size: 2 * page)
        #expect(first == windowBase..<(windowBase + 2 * page))
        #expect(second == (windowBase + 2 * page)..<(windowBase + 4 * page))
        #expect(allocator.freeBytes == 0)
    }

    @Test func sizesRoundUpToWholePages() throws {
        var allocator = VirtualRangeAllocator(base: windowBase, size: 1 << 20)
        let range = try allocator.allocate(size: page + 1)
        #expect(range.upperBound - range.lowerBound == 2 * page)
    }

    @Test func alignmentIsHonoured() throws {
        var allocator = VirtualRangeAllocator(base: windowBase + page, size: 4 << 20)
        let small = try allocator.allocate(size: page)
        let aligned = try allocator.allocate(size: 3 * page, alignment: 1 << 20)
        #expect(aligned.lowerBound % (1 << 20) == 0)
        #expect(aligned.lowerBound - small.upperBound >= page)
        // The hole left below the aligned range is still used first-fit.
        let next = try allocator.allocate(size: page)
        #expect(next.lowerBound < aligned.lowerBound)
        expectWellFormed(allocator)
    }

    @Test func invalidRequestsAreRejected() {
        var allocator = VirtualRangeAllocator(base: windowBase, size: 1 << 20)
        #expect(throws: MemoryError.invalidRequest) { try allocator.allocate(size: 0) }
        #expect(throws: MemoryError.invalidRequest) { try allocator.allocate(size: page, alignment: 0) }
        #expect(throws: MemoryError.invalidRequest) { try allocator.allocate(size: page, alignment: 3 * page) }
        #expect(throws: MemoryError.invalidRequest) { try allocator.allocate(size: page, alignment: 2048) }
        #expect(throws: MemoryError.outOfMemory) { try allocator.allocate(size: UInt64.max) }
        #expect(allocator.allocatedRanges.isEmpty)
    }

    @Test func exhaustionThrowsOutOfMemoryAndChangesNothing() throws {
        // 10 pages with 1-page guards: ranges of 2 pages fit at 1, 4, 7 (guard at 9).
        var allocator = VirtualRangeAllocator(base: windowBase, size: 10 * page)
        for _ in 0..<3 { _ = try allocator.allocate(size: 2 * page) }
        let before = allocator.allocatedRanges
        #expect(throws: MemoryError.outOfMemory) { try allocator.allocate(size: page) }
        let after = allocator.allocatedRanges
        #expect(after == before)
        #expect(allocator.freeBytes == 4 * page)
        expectWellFormed(allocator)
    }

    @Test func freedRangesAreReusedAndHolesMerge() throws {
        var allocator = VirtualRangeAllocator(base: windowBase, size: 64 * page)
        let a = try allocator.allocate(size: 4 * page)
        let b = try allocator.allocate(size: 4 * page)
        let c = try allocator.allocate(size: 4 * page)
        try allocator.free(b)
        #expect(try allocator.allocate(size: 4 * page) == b)
        try allocator.free(b)
        try allocator.free(a)
        // a's and b's holes merged: 9 pages fit below c with guards on both sides.
        let big = try allocator.allocate(size: 9 * page)
        #expect(big == (windowBase + page)..<(windowBase + 10 * page))
        #expect(big.upperBound + page <= c.lowerBound)
        expectWellFormed(allocator)
    }

    @Test func badFreesAreDetected() throws {
        var allocator = VirtualRangeAllocator(base: windowBase, size: 64 * page)
        let range = try allocator.allocate(size: 4 * page)
        let before = allocator.allocatedRanges
        #expect(throws: MemoryError.notAllocated(range.lowerBound)) {
            try allocator.free(range.lowerBound..<(range.upperBound - page))
        }
        #expect(throws: MemoryError.notAllocated(range.lowerBound + page)) {
            try allocator.free((range.lowerBound + page)..<range.upperBound)
        }
        #expect(throws: MemoryError.outOfRange(windowBase - page)) {
            try allocator.free((windowBase - page)..<windowBase)
        }
        let after = allocator.allocatedRanges
        #expect(after == before)
        try allocator.free(range)
        #expect(throws: MemoryError.doubleFree(range.lowerBound)) { try allocator.free(range) }
        #expect(allocator.freeBytes == 64 * page)
    }

    @Test func randomizedOperationsKeepRangesDisjointAndGuarded() throws {
        let size: UInt64 = 16 << 20
        var allocator = VirtualRangeAllocator(base: windowBase, size: size, guardSize: 4 * page)
        var rng = AllocatorTestRandom(state: 0xface_b00c)
        var live: [Range<UInt64>] = []
        var failures = 0
        for step in 0..<4000 {
            if live.isEmpty || rng.next(below: 100) < 60 {
                let length = UInt64(1 + rng.next(below: 64)) * page - UInt64(rng.next(below: 2))
                let alignment = page << UInt64(rng.next(below: 6))
                do throws(MemoryError) {
                    let range = try allocator.allocate(size: length, alignment: alignment)
                    #expect(range.lowerBound % alignment == 0)
                    #expect(range.upperBound - range.lowerBound >= length)
                    for other in live { #expect(!other.overlaps(range), "step \(step)") }
                    live.append(range)
                } catch {
                    #expect(error == .outOfMemory)
                    failures += 1
                }
            } else {
                let victim = live.remove(at: rng.next(below: live.count))
                try allocator.free(victim)
            }
            if step % 50 == 0 { expectWellFormed(allocator) }
        }
        let sortedLive = live.sorted { $0.lowerBound < $1.lowerBound }
        #expect(allocator.allocatedRanges == sortedLive)
        #expect(failures > 0, "the run should fill the window at some point")
        for range in live { try allocator.free(range) }
        #expect(allocator.freeBytes == size)
        #expect(allocator.allocatedRanges.isEmpty)
    }
}
