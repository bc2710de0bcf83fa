import ExoKit
import Testing
@testable import ExoMemory

/// SplitMix64: a tiny seeded generator, so randomized allocator tests replay
/// exactly (named apart from the heap tests' generator in this module).
typealias AllocatorTestRandom = SplitMix64

/// An allocator over its own metadata buffer, freed when the test ends.
final class BuddyFixture {
    let metadata: UnsafeMutableBufferPointer<BuddyAllocator.FrameRecord>
    var allocator: BuddyAllocator

    init(base: UInt64, frameCount: Int) {
        let count = BuddyAllocator.metadataCount(frameCount: frameCount)
        metadata = .allocate(capacity: count)
        metadata.initialize(repeating: BuddyAllocator.FrameRecord())
        allocator = BuddyAllocator(base: base, frameCount: frameCount, metadata: metadata)
    }

    deinit { metadata.deallocate() }
}

private let frame = BuddyAllocator.frameSize
private let mib: UInt64 = 1 << 20

@Suite("Buddy frame allocator")
struct BuddyAllocatorTests {
    /// 8 MiB at 16 MiB, all added: two order-10 blocks.
    func fullyAdded() throws -> BuddyFixture {
        let fixture = BuddyFixture(base: 16 * mib, frameCount: 2048)
        try fixture.allocator.addFreeRange(16 * mib..<24 * mib)
        return fixture
    }

    @Test func splitBlockIsFreedFrameByFrameAndCoalescesBack() throws {
        let fixture = try fullyAdded()
        let block = try fixture.allocator.allocate(order: 2)
        #expect(throws: MemoryError.notAllocated(block)) { try fixture.allocator.split(block, order: 1) }
        #expect(throws: MemoryError.notAllocated(block + frame)) { try fixture.allocator.split(block + frame, order: 0) }
        try fixture.allocator.split(block, order: 2)
        #expect(fixture.allocator.verify() == nil)
        #expect(throws: MemoryError.notAllocated(block)) { try fixture.allocator.free(block, order: 2) }
        for index in [2, 0, 3, 1] as [UInt64] { try fixture.allocator.free(block + index * frame, order: 0) }
        #expect(throws: MemoryError.doubleFree(block + frame)) { try fixture.allocator.free(block + frame, order: 0) }
        #expect(fixture.allocator.statistics.freeBlocks == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2])
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func frameRecordStaysSmall() {
        #expect(MemoryLayout<BuddyAllocator.FrameRecord>.stride <= 12)
        #expect(BuddyAllocator.metadataCount(frameCount: 1000) == 1000)
    }

    @Test func everyFrameStartsReserved() throws {
        let fixture = BuddyFixture(base: 0, frameCount: 64)
        #expect(throws: MemoryError.outOfMemory) { try fixture.allocator.allocate(order: 0) }
        let stats = fixture.allocator.statistics
        #expect(stats.totalFrames == 0 && stats.freeFrames == 0 && stats.allocatedFrames == 0)
        #expect(stats.freeBlocks == Array(repeating: 0, count: 11))
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func addingAnAlignedRegionCoalescesToMaximalBlocks() throws {
        let fixture = try fullyAdded()
        let stats = fixture.allocator.statistics
        #expect(stats.freeBlocks == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2])
        #expect(stats.totalFrames == 2048 && stats.freeFrames == 2048)
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func unalignedRegionSplitsIntoNaturallyAlignedBlocks() throws {
        let fixture = BuddyFixture(base: 0, frameCount: 16)
        // Frames 1...8: 1 (order 0), 2-3 (order 1), 4-7 (order 2), 8 (order 0).
        try fixture.allocator.addFreeRange(0x1000..<0x9000)
        let blocks = fixture.allocator.statistics.freeBlocks
        #expect(blocks == [2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func addFreeRangeRoundsInwardToWholeFrames() throws {
        let fixture = BuddyFixture(base: 0, frameCount: 16)
        try fixture.allocator.addFreeRange(0x1800..<0x3800)
        #expect(fixture.allocator.statistics.freeFrames == 1)
        #expect(try fixture.allocator.allocate(order: 0) == 0x2000)
        // Less than a whole frame adds nothing.
        try fixture.allocator.addFreeRange(0x5100..<0x5f00)
        #expect(fixture.allocator.statistics.freeFrames == 0)
    }

    @Test func addingFreeMemoryAgainChangesNothing() throws {
        let fixture = try fullyAdded()
        let before = fixture.allocator.statistics
        try fixture.allocator.addFreeRange(17 * mib..<18 * mib)
        let after = fixture.allocator.statistics
        #expect(after == before)
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func addFreeRangeOutsideTheSpanThrows() throws {
        let fixture = BuddyFixture(base: 16 * mib, frameCount: 256)
        #expect(throws: MemoryError.outOfRange(15 * mib)) {
            try fixture.allocator.addFreeRange(15 * mib..<17 * mib)
        }
        #expect(throws: MemoryError.outOfRange(17 * mib)) {
            try fixture.allocator.addFreeRange(16 * mib..<18 * mib)
        }
        #expect(fixture.allocator.statistics.totalFrames == 0)
    }

    @Test func allocatesAndFreesEveryOrder() throws {
        let fixture = try fullyAdded()
        let initial = fixture.allocator.statistics
        for order in 0...BuddyAllocator.maxOrder {
            let address = try fixture.allocator.allocate(order: order)
            let size = frame << UInt64(order)
            #expect(address % size == 0)
            #expect(address >= 16 * mib && address + size <= 24 * mib)
            let stats = fixture.allocator.statistics
            #expect(stats.allocatedFrames == 1 << order)
            #expect(stats.freeFrames == 2048 - (1 << order))
            #expect(fixture.allocator.verify() == nil)
            try fixture.allocator.free(address, order: order)
            let after = fixture.allocator.statistics
            #expect(after == initial)
        }
    }

    @Test func blocksAreNaturallyAlignedWhateverTheSpanBase() throws {
        // A span starting at an odd frame, so span indices and physical frame
        // numbers disagree about alignment.
        let base: UInt64 = 0x10_3000
        let fixture = BuddyFixture(base: base, frameCount: 3000)
        try fixture.allocator.addFreeRange(base..<(base + 3000 * frame))
        #expect(fixture.allocator.verify() == nil)
        var order = BuddyAllocator.maxOrder
        var handedOut = 0
        while order >= 0 {
            while let address = try? fixture.allocator.allocate(order: order) {
                #expect(address % (frame << UInt64(order)) == 0)
                #expect(address >= base && address + (frame << UInt64(order)) <= base + 3000 * frame)
                handedOut += 1 << order
            }
            order -= 1
        }
        #expect(handedOut == 3000)
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func exhaustionThrowsOutOfMemoryAndChangesNothing() throws {
        let fixture = BuddyFixture(base: 0, frameCount: 64)
        try fixture.allocator.addFreeRange(0..<64 * frame)
        var addresses: [UInt64] = []
        for _ in 0..<64 { addresses.append(try fixture.allocator.allocate(order: 0)) }
        #expect(Set(addresses).count == 64)
        let before = fixture.allocator.statistics
        #expect(throws: MemoryError.outOfMemory) { try fixture.allocator.allocate(order: 0) }
        let after = fixture.allocator.statistics
        #expect(after == before)

        // Fragmented: every other frame free gives 32 free frames but no order-1 block.
        for address in addresses where (address / frame) % 2 == 0 {
            try fixture.allocator.free(address, order: 0)
        }
        let fragmented = fixture.allocator.statistics
        #expect(fragmented.freeFrames == 32)
        #expect(throws: MemoryError.outOfMemory) { try fixture.allocator.allocate(order: 1) }
        let unchanged = fixture.allocator.statistics
        #expect(unchanged == fragmented)
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func impossibleOrdersAreInvalidRequests() throws {
        let fixture = try fullyAdded()
        #expect(throws: MemoryError.invalidRequest) { try fixture.allocator.allocate(order: -1) }
        #expect(throws: MemoryError.invalidRequest) { try fixture.allocator.allocate(order: 11) }
        #expect(throws: MemoryError.invalidRequest) { try fixture.allocator.free(16 * mib, order: 11) }
    }

    @Test func doubleFreeIsDetected() throws {
        let fixture = try fullyAdded()
        let initial = fixture.allocator.statistics
        let address = try fixture.allocator.allocate(order: 3)
        try fixture.allocator.free(address, order: 3)
        // The block has merged back into an order-10 block, so its head
        // record is no longer a head: detection must find the enclosing block.
        #expect(throws: MemoryError.doubleFree(address)) { try fixture.allocator.free(address, order: 3) }
        #expect(throws: MemoryError.doubleFree(address)) { try fixture.allocator.free(address, order: 0) }
        let after = fixture.allocator.statistics
        #expect(after == initial)
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func doubleFreeOfAnUnmergedBlockIsDetected() throws {
        let fixture = try fullyAdded()
        let first = try fixture.allocator.allocate(order: 0)
        let second = try fixture.allocator.allocate(order: 0)
        try fixture.allocator.free(first, order: 0)
        #expect(throws: MemoryError.doubleFree(first)) { try fixture.allocator.free(first, order: 0) }
        try fixture.allocator.free(second, order: 0)
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func freeWithTheWrongOrderIsRejected() throws {
        let fixture = try fullyAdded()
        let address = try fixture.allocator.allocate(order: 2)
        let before = fixture.allocator.statistics
        #expect(throws: MemoryError.notAllocated(address)) { try fixture.allocator.free(address, order: 1) }
        if address % (frame << 3) == 0 {
            #expect(throws: MemoryError.notAllocated(address)) { try fixture.allocator.free(address, order: 3) }
        }
        let after = fixture.allocator.statistics
        #expect(after == before)
        try fixture.allocator.free(address, order: 2)
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func freeInsideABlockOrOfReservedMemoryIsRejected() throws {
        let fixture = BuddyFixture(base: 0, frameCount: 1024)
        try fixture.allocator.addFreeRange(0..<512 * frame)
        let address = try fixture.allocator.allocate(order: 4)
        #expect(throws: MemoryError.notAllocated(address + frame)) {
            try fixture.allocator.free(address + frame, order: 0)
        }
        #expect(throws: MemoryError.notAllocated(600 * frame)) {
            try fixture.allocator.free(600 * frame, order: 0)
        }
    }

    @Test func misalignedFreeIsRejected() throws {
        let fixture = try fullyAdded()
        let address = try fixture.allocator.allocate(order: 2)
        #expect(throws: MemoryError.misaligned(address + 0x800)) {
            try fixture.allocator.free(address + 0x800, order: 2)
        }
        #expect(throws: MemoryError.misaligned(address + frame)) {
            try fixture.allocator.free(address + frame, order: 2)
        }
    }

    @Test func freeOutsideTheSpanIsRejected() throws {
        let fixture = try fullyAdded()
        #expect(throws: MemoryError.outOfRange(15 * mib)) { try fixture.allocator.free(15 * mib, order: 0) }
        #expect(throws: MemoryError.outOfRange(24 * mib)) { try fixture.allocator.free(24 * mib, order: 0) }
    }

    @Test func freeOfABlockRunningPastTheSpanIsOutOfRange() throws {
        // 3 frames at 0: an order-2 block at 0 would need frame 3.
        let fixture = BuddyFixture(base: 0, frameCount: 3)
        try fixture.allocator.addFreeRange(0..<3 * frame)
        #expect(throws: MemoryError.outOfRange(0)) { try fixture.allocator.free(0, order: 2) }
    }

    @Test func reserveRangeSplitsTheBlockAroundIt() throws {
        let fixture = BuddyFixture(base: 0, frameCount: 1024)
        try fixture.allocator.addFreeRange(0..<4 * mib)
        let reserved: UInt64 = 300 * frame
        try fixture.allocator.reserveRange(reserved..<(reserved + frame))
        // One frame out of an order-10 block leaves one block of each order 0...9.
        let stats = fixture.allocator.statistics
        #expect(stats.freeBlocks == [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0])
        #expect(stats.totalFrames == 1023 && stats.freeFrames == 1023)
        #expect(fixture.allocator.verify() == nil)

        var handedOut: [UInt64] = []
        while let address = try? fixture.allocator.allocate(order: 0) { handedOut.append(address) }
        #expect(handedOut.count == 1023)
        #expect(!handedOut.contains(reserved))
        for address in handedOut { try fixture.allocator.free(address, order: 0) }

        // Adding the frame back merges everything into one block again.
        try fixture.allocator.addFreeRange(reserved..<(reserved + frame))
        let merged = fixture.allocator.statistics
        #expect(merged.freeBlocks == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func reserveRangeRoundsOutwardAndIgnoresWhatLiesOutsideTheSpan() throws {
        let fixture = BuddyFixture(base: 1 * mib, frameCount: 256)
        try fixture.allocator.addFreeRange(1 * mib..<2 * mib)
        // Partial frames at both ends are reserved whole; the part below the span is ignored.
        try fixture.allocator.reserveRange(0..<(1 * mib + 2 * frame + 1))
        try fixture.allocator.reserveRange((2 * mib - 1)..<(3 * mib))
        let stats = fixture.allocator.statistics
        #expect(stats.totalFrames == 256 - 3 - 1)
        #expect(fixture.allocator.verify() == nil)
        // Reserving reserved memory again is harmless.
        try fixture.allocator.reserveRange(0..<(1 * mib + 2 * frame))
        let again = fixture.allocator.statistics
        #expect(again == stats)
    }

    @Test func addingOrReservingAllocatedMemoryThrowsInUse() throws {
        let fixture = try fullyAdded()
        let address = try fixture.allocator.allocate(order: 4)
        let before = fixture.allocator.statistics
        #expect(throws: MemoryError.inUse(address)) {
            try fixture.allocator.addFreeRange(address..<(address + 16 * frame))
        }
        #expect(throws: MemoryError.inUse(address + 2 * frame)) {
            try fixture.allocator.reserveRange((address + 2 * frame)..<(address + 64 * frame))
        }
        let after = fixture.allocator.statistics
        #expect(after == before)
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func verifyReportsCorruptedMetadata() throws {
        let fixture = try fullyAdded()
        _ = try fixture.allocator.allocate(order: 0)
        #expect(fixture.allocator.verify() == nil)
        // A stray head inside a free block.
        fixture.metadata[700] = BuddyAllocator.FrameRecord(
            next: BuddyAllocator.noLink, prev: BuddyAllocator.noLink, order: 0, state: .allocatedHead)
        #expect(fixture.allocator.verify() != nil)
    }

    @Test func mapWithHolesNeverHandsOutGapFrames() throws {
        // 16 MiB span; usable [0, 5 MiB + 12 KiB) and [7 MiB - 4 KiB, 16 MiB),
        // then a "kernel image" reserved inside the upper region.
        let fixture = BuddyFixture(base: 0, frameCount: 4096)
        try fixture.allocator.addFreeRange(0..<(5 * mib + 3 * frame))
        try fixture.allocator.addFreeRange((7 * mib - frame)..<16 * mib)
        try fixture.allocator.reserveRange((9 * mib + 5 * frame)..<(10 * mib + 7))
        let gaps: [Range<UInt64>] = [(5 * mib + 3 * frame)..<(7 * mib - frame), (9 * mib + 5 * frame)..<(10 * mib + frame)]
        var expectedFrames = 4096
        for gap in gaps { expectedFrames -= Int((gap.upperBound - gap.lowerBound) / frame) }
        #expect(fixture.allocator.statistics.totalFrames == expectedFrames)
        #expect(fixture.allocator.verify() == nil)

        var handedOut = 0
        for order in stride(from: BuddyAllocator.maxOrder, through: 0, by: -1) {
            while let address = try? fixture.allocator.allocate(order: order) {
                let block = address..<(address + (frame << UInt64(order)))
                for gap in gaps { #expect(!block.overlaps(gap)) }
                handedOut += 1 << order
            }
        }
        #expect(handedOut == expectedFrames)
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func randomizedOperationsMatchAModel() throws {
        // 32 MiB span at 64 MiB with an unaligned start, a hole, and a
        // reserved "module" inside an added region.
        let base: UInt64 = 64 * mib
        let fixture = BuddyFixture(base: base, frameCount: 8192)
        let added: [Range<UInt64>] = [(base + 3 * frame)..<(base + 11 * mib), (base + 13 * mib)..<(base + 32 * mib)]
        let reservedAfter: Range<UInt64> = (base + 20 * mib + 5 * frame)..<(base + 21 * mib + 9 * frame)
        for range in added { try fixture.allocator.addFreeRange(range) }
        try fixture.allocator.reserveRange(reservedAfter)
        func allocatable(_ frameAddress: UInt64) -> Bool {
            added.contains { $0.contains(frameAddress) } && !reservedAfter.contains(frameAddress)
        }
        let initial = fixture.allocator.statistics
        #expect(fixture.allocator.verify() == nil)

        var rng = AllocatorTestRandom(state: 0x5eed_1234)
        var live: [(address: UInt64, order: Int)] = []
        var usedFrames = Set<UInt64>()
        var failures = 0
        for step in 0..<10_000 {
            if live.isEmpty || rng.next(below: 100) < 55 {
                let roll = rng.next(below: 100)
                let order = roll < 50 ? 0 : roll < 70 ? 1 + rng.next(below: 3) : roll < 90 ? 4 + rng.next(below: 4) : 8 + rng.next(below: 3)
                let before = fixture.allocator.statistics
                do throws(MemoryError) {
                    let address = try fixture.allocator.allocate(order: order)
                    #expect(address % (frame << UInt64(order)) == 0)
                    for index in 0..<(UInt64(1) << UInt64(order)) {
                        let frameAddress = address + index * frame
                        #expect(allocatable(frameAddress), "step \(step): \(frameAddress) is not allocatable")
                        let (inserted, _) = usedFrames.insert(frameAddress)
                        #expect(inserted, "step \(step): \(frameAddress) handed out twice")
                    }
                    live.append((address, order))
                } catch {
                    #expect(error == .outOfMemory)
                    failures += 1
                    // Honest exhaustion: no free block of this order or larger, nothing changed.
                    let after = fixture.allocator.statistics
                    #expect(after == before)
                    #expect(after.freeBlocks[order...].allSatisfy { $0 == 0 })
                }
            } else {
                let victim = live.remove(at: rng.next(below: live.count))
                try fixture.allocator.free(victim.address, order: victim.order)
                for index in 0..<(UInt64(1) << UInt64(victim.order)) {
                    usedFrames.remove(victim.address + index * frame)
                }
                if rng.next(below: 20) == 0 {
                    #expect(throws: MemoryError.doubleFree(victim.address)) {
                        try fixture.allocator.free(victim.address, order: victim.order)
                    }
                }
            }
            let stats = fixture.allocator.statistics
            #expect(stats.allocatedFrames == usedFrames.count)
            if step % 250 == 0 {
                let problem = fixture.allocator.verify()
                #expect(problem == nil, "step \(step)")
            }
        }
        #expect(failures > 0, "the run should reach exhaustion at some orders")

        for block in live { try fixture.allocator.free(block.address, order: block.order) }
        let final = fixture.allocator.statistics
        #expect(final == initial)
        #expect(fixture.allocator.verify() == nil)
    }
}
