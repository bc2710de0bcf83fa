import ExoKit
import Testing
@testable import ExoMemory

/// A per-node allocator over its own metadata buffer, freed when the test ends.
final class NodeFrameFixture {
    let metadata: UnsafeMutableBufferPointer<BuddyAllocator.FrameRecord>
    var allocator: NodeFrameAllocator

    init(zones: [NodeFrameAllocator.Zone], nodeCount: Int, distances: [UInt8] = []) throws {
        metadata = .allocate(capacity: max(1, NodeFrameAllocator.metadataCount(zones: zones)))
        metadata.initialize(repeating: BuddyAllocator.FrameRecord())
        allocator = try NodeFrameAllocator(zones: zones, nodeCount: nodeCount, distances: distances, metadata: metadata)
    }

    deinit { metadata.deallocate() }
}

private typealias Zone = NodeFrameAllocator.Zone
private let mib: UInt64 = 1 << 20
private let frame = BuddyAllocator.frameSize

@Suite("Per-node frame allocator")
struct NodeFrameAllocatorTests {
    /// QEMU's two-node layout at a small scale: node 0 owns [0, 8 MiB),
    /// node 1 owns [8 MiB, 16 MiB), all of it free.
    func twoNodes(distances: [UInt8] = [10, 20, 20, 10]) throws -> NodeFrameFixture {
        let fixture = try NodeFrameFixture(
            zones: [Zone(span: 0..<8 * mib, node: 0), Zone(span: 8 * mib..<16 * mib, node: 1)],
            nodeCount: 2, distances: distances)
        try fixture.allocator.addFreeRange(0..<16 * mib)
        return fixture
    }

    // MARK: Layout from affinity ranges

    @Test func withoutRangesAllMemoryIsOneZoneOnNodeZero() {
        #expect(NodeFrameAllocator.zones(nodeRanges: [], top: 64 * mib + 123) == [Zone(span: 0..<64 * mib, node: 0)])
        #expect(NodeFrameAllocator.zones(nodeRanges: [], top: 100).isEmpty, "less than one frame of memory")
    }

    @Test func qemuTwoNodeRangesBecomeTwoZones() {
        // What QEMU's SRAT says for -m 256M split over two nodes: the 640 KiB
        // of low memory and the rest of node 0 as separate ranges.
        let ranges = [Zone(span: 0..<0xA_0000, node: 0), Zone(span: 0x10_0000..<0x800_0000, node: 0),
                      Zone(span: 0x800_0000..<0x1000_0000, node: 1)]
        #expect(NodeFrameAllocator.zones(nodeRanges: ranges, top: 0xFFE_0000)
            == [Zone(span: 0..<0x800_0000, node: 0), Zone(span: 0x800_0000..<0xFFE_0000, node: 1)])
    }

    @Test func holesBelongToTheZoneBelowAndUnsortedInputIsSorted() {
        let ranges = [Zone(span: 40 * mib..<60 * mib, node: 0), Zone(span: 8 * mib..<16 * mib, node: 1),
                      Zone(span: 20 * mib..<30 * mib, node: 0)]
        #expect(NodeFrameAllocator.zones(nodeRanges: ranges, top: 100 * mib)
            == [Zone(span: 0..<20 * mib, node: 1), Zone(span: 20 * mib..<100 * mib, node: 0)])
    }

    @Test func interleavedRangesGiveANodeSeveralZones() {
        let ranges = [Zone(span: 0..<16 * mib, node: 0), Zone(span: 16 * mib..<32 * mib, node: 1),
                      Zone(span: 32 * mib..<48 * mib, node: 0)]
        #expect(NodeFrameAllocator.zones(nodeRanges: ranges, top: 48 * mib)
            == [Zone(span: 0..<16 * mib, node: 0), Zone(span: 16 * mib..<32 * mib, node: 1),
                Zone(span: 32 * mib..<48 * mib, node: 0)])
    }

    @Test func rangesAboveTopAreIgnoredAndBoundariesRoundDownToFrames() {
        let ranges = [Zone(span: 0..<0x80_0800, node: 0), Zone(span: 0x80_0800..<0x100_0000, node: 1),
                      Zone(span: 0x200_0000..<0x300_0000, node: 2)]
        #expect(NodeFrameAllocator.zones(nodeRanges: ranges, top: 0x100_0000)
            == [Zone(span: 0..<0x80_0000, node: 0), Zone(span: 0x80_0000..<0x100_0000, node: 1)])
    }

    @Test func overlappingRangesOfTwoNodesStillPartition() {
        // Hostile firmware: node 1's range starts inside node 0's, and a
        // zero-length range of node 2 sits in the middle.
        let ranges = [Zone(span: 0..<32 * mib, node: 0), Zone(span: 16 * mib..<16 * mib, node: 2),
                      Zone(span: 16 * mib..<48 * mib, node: 1), Zone(span: 16 * mib..<20 * mib, node: 0)]
        let zones = NodeFrameAllocator.zones(nodeRanges: ranges, top: 48 * mib)
        #expect(zones.first?.span.lowerBound == 0 && zones.last?.span.upperBound == 48 * mib)
        for (previous, next) in zip(zones, zones.dropFirst()) {
            #expect(previous.span.upperBound == next.span.lowerBound, "zones are contiguous")
            #expect(previous.node != next.node, "adjacent zones of one node are merged")
        }
        #expect(zones.allSatisfy { !$0.span.isEmpty })
    }

    // MARK: Refused layouts

    @Test func malformedLayoutsAreRefusedWithTheirReason() throws {
        let metadata = UnsafeMutableBufferPointer<BuddyAllocator.FrameRecord>.allocate(capacity: 4096)
        defer { metadata.deallocate() }
        let good = [Zone(span: 0..<8 * mib, node: 0), Zone(span: 8 * mib..<16 * mib, node: 1)]
        func problem(_ zones: [Zone], nodes: Int = 2, distances: [UInt8] = [], records: Int = 4096) -> NodeFrameAllocator.LayoutProblem? {
            NodeFrameAllocator.problem(zones: zones, nodeCount: nodes, distances: distances, metadataCount: records)
        }
        #expect(problem(good) == nil)
        #expect(problem([]) == .zoneCount(0))
        let many = (0..<17).map { Zone(span: UInt64($0) * mib..<UInt64($0 + 1) * mib, node: 0) }
        #expect(problem(many) == .zoneCount(17))
        #expect(problem(good, nodes: 0) == .nodeCount(0))
        #expect(problem(good, nodes: 9) == .nodeCount(9))
        #expect(problem([good[1], good[0]]) == .badZone(1), "out of order")
        #expect(problem([Zone(span: 0..<9 * mib, node: 0), good[1]]) == .badZone(1), "overlapping")
        #expect(problem([Zone(span: 0..<0x800, node: 0)]) == .badZone(0), "not frame aligned")
        #expect(problem([Zone(span: 4096..<4096, node: 0)]) == .badZone(0), "empty")
        #expect(problem([good[0], Zone(span: 8 * mib..<16 * mib, node: 2)]) == .badNode(zone: 1))
        #expect(problem([Zone(span: 0..<8 * mib, node: -1)]) == .badNode(zone: 0))
        #expect(problem(good, distances: [10, 20, 10]) == .distanceCount(3))
        #expect(problem(good, records: 4095) == .metadataTooSmall(needed: 4096))
        #expect(throws: MemoryError.invalidRequest) {
            _ = try NodeFrameAllocator(zones: good, nodeCount: 2, distances: [10], metadata: metadata)
        }
        #expect(NodeFrameAllocator.LayoutProblem.zoneCount(17).description.contains("17 zones"))
    }

    @Test func metadataCoversTheZonesUnionIncludingGaps() {
        #expect(NodeFrameAllocator.metadataCount(zones: []) == 0)
        let zones = [Zone(span: 4 * mib..<8 * mib, node: 0), Zone(span: 12 * mib..<16 * mib, node: 1)]
        #expect(NodeFrameAllocator.metadataCount(zones: zones) == Int(12 * mib / frame))
    }

    @Test func anEmptyAllocatorHasNoMemory() {
        var allocator = NodeFrameAllocator()
        #expect(throws: MemoryError.outOfMemory) { try allocator.allocate(order: 0, preferredNode: 0) }
        #expect(throws: MemoryError.outOfRange(0x1000)) { try allocator.free(0x1000, order: 0) }
        #expect(allocator.statistics.totalFrames == 0 && allocator.node(of: 0) == nil)
        #expect(allocator.verify() == nil)
    }

    // MARK: Placement and fallback

    @Test func framesComeFromThePreferredNode() throws {
        let fixture = try twoNodes()
        for order in [0, 3, 9, 10] {
            let onOne = try fixture.allocator.allocate(order: order, preferredNode: 1)
            #expect((8 * mib..<16 * mib).contains(onOne), "order \(order) from node 1")
            #expect(fixture.allocator.node(of: onOne) == 1)
            let onZero = try fixture.allocator.allocate(order: order, preferredNode: 0)
            #expect((0..<8 * mib).contains(onZero), "order \(order) from node 0")
            #expect(fixture.allocator.node(of: onZero) == 0)
        }
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func anExhaustedNodeFallsBackAndFreesGoHome() throws {
        let fixture = try twoNodes()
        let before = fixture.allocator.statistics
        let nodeOneFrames = fixture.allocator.freeFrames(node: 1)
        #expect(nodeOneFrames == 2048 && fixture.allocator.freeFrames(node: 0) == 2048)
        var taken: [UInt64] = []
        for _ in 0..<nodeOneFrames { taken.append(try fixture.allocator.allocate(order: 0, preferredNode: 1)) }
        #expect(taken.allSatisfy { fixture.allocator.node(of: $0) == 1 })
        #expect(fixture.allocator.freeFrames(node: 1) == 0)
        let fallback = try fixture.allocator.allocate(order: 0, preferredNode: 1)
        #expect(fixture.allocator.node(of: fallback) == 0, "node 1 full: node 0 serves it")
        #expect(fixture.allocator.freeFrames(node: 0) == 2047)
        try fixture.allocator.free(fallback, order: 0)
        #expect(fixture.allocator.freeFrames(node: 0) == 2048, "the fallback frame went back to node 0")
        for address in taken { try fixture.allocator.free(address, order: 0) }
        #expect(fixture.allocator.statistics == before, "coalesced back to the initial blocks")
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func exhaustingEveryNodeIsOutOfMemoryAndRecovers() throws {
        let fixture = try twoNodes()
        var taken: [UInt64] = []
        for _ in 0..<4 { taken.append(try fixture.allocator.allocate(order: 10, preferredNode: 0)) }
        #expect(throws: MemoryError.outOfMemory) { try fixture.allocator.allocate(order: 0, preferredNode: 0) }
        #expect(throws: MemoryError.outOfMemory) { try fixture.allocator.allocate(order: 0, preferredNode: 1) }
        #expect(Set(taken.map { fixture.allocator.node(of: $0)! }) == [0, 1])
        for address in taken { try fixture.allocator.free(address, order: 10) }
        #expect(fixture.allocator.statistics.freeFrames == 4096)
    }

    @Test func fallbackFollowsDistanceThenNodeIndex() throws {
        // Four nodes of 4 MiB. From node 0: node 2 and 3 at 20 (tie: 2
        // first), node 1 at 30. From node 3: node 1 at 15, then 0 and 2 at 40.
        let distances: [UInt8] = [10, 30, 20, 20,
                                  30, 10, 20, 15,
                                  20, 20, 10, 40,
                                  40, 15, 40, 10]
        let zones = (0..<4).map { Zone(span: UInt64($0) * 4 * mib..<UInt64($0 + 1) * 4 * mib, node: $0) }
        let fixture = try NodeFrameFixture(zones: zones, nodeCount: 4, distances: distances)
        try fixture.allocator.addFreeRange(0..<16 * mib)
        #expect(fixture.allocator.fallbackOrder(from: 0) == [0, 2, 3, 1])
        #expect(fixture.allocator.fallbackOrder(from: 3) == [3, 1, 0, 2])
        #expect(fixture.allocator.fallbackOrder(from: 4).isEmpty && fixture.allocator.fallbackOrder(from: -1).isEmpty)
        // Each 4 MiB node is one order-10 block: the nodes fill in fallback order.
        var served: [Int] = []
        for _ in 0..<4 { served.append(fixture.allocator.node(of: try fixture.allocator.allocate(order: 10, preferredNode: 0))!) }
        #expect(served == [0, 2, 3, 1])
    }

    @Test func withoutDistancesEveryOtherNodeIsEquallyFar() throws {
        let zones = (0..<3).map { Zone(span: UInt64($0) * 4 * mib..<UInt64($0 + 1) * 4 * mib, node: $0) }
        let fixture = try NodeFrameFixture(zones: zones, nodeCount: 3)
        #expect(fixture.allocator.fallbackOrder(from: 2) == [2, 0, 1])
        #expect(fixture.allocator.fallbackOrder(from: 1) == [1, 0, 2])
    }

    @Test func aNodeWithoutMemoryAllocatesFromItsNearestNeighbour() throws {
        // Node 1 has CPUs but no memory; node 2 is nearer to it than node 0.
        let zones = [Zone(span: 0..<4 * mib, node: 0), Zone(span: 4 * mib..<8 * mib, node: 2)]
        let fixture = try NodeFrameFixture(zones: zones, nodeCount: 3,
                                           distances: [10, 20, 30, 20, 10, 15, 30, 15, 10])
        try fixture.allocator.addFreeRange(0..<8 * mib)
        #expect(fixture.allocator.freeFrames(node: 1) == 0)
        #expect(fixture.allocator.node(of: try fixture.allocator.allocate(order: 0, preferredNode: 1)) == 2)
    }

    @Test func aNodeWithSeveralZonesTriesThemAllBeforeFallingBack() throws {
        let zones = [Zone(span: 0..<4 * mib, node: 0), Zone(span: 4 * mib..<8 * mib, node: 1),
                     Zone(span: 8 * mib..<12 * mib, node: 0)]
        let fixture = try NodeFrameFixture(zones: zones, nodeCount: 2)
        try fixture.allocator.addFreeRange(0..<12 * mib)
        let first = try fixture.allocator.allocate(order: 10, preferredNode: 0)
        let second = try fixture.allocator.allocate(order: 10, preferredNode: 0)
        let third = try fixture.allocator.allocate(order: 10, preferredNode: 0)
        #expect(first == 0 && second == 8 * mib, "both node-0 zones, in address order")
        #expect(third == 4 * mib, "then node 1")
        #expect(fixture.allocator.statistics(node: 0).allocatedFrames == 2048)
    }

    // MARK: Blocks stay inside their zone

    @Test func blocksNeverStraddleAZoneBoundary() throws {
        // A boundary one frame past 4 MiB: the buddy of the last node-0
        // frame is in node 1 and must never merge with it.
        let boundary = 4 * mib + frame
        let zones = [Zone(span: 0..<boundary, node: 0), Zone(span: boundary..<12 * mib, node: 1)]
        let fixture = try NodeFrameFixture(zones: zones, nodeCount: 2)
        try fixture.allocator.addFreeRange(0..<12 * mib)
        #expect(fixture.allocator.statistics(node: 0).freeFrames == 1025)
        #expect(fixture.allocator.statistics(node: 0).freeBlocks[0] == 1, "the frame past 4 MiB stays alone")
        var blocks: [(UInt64, Int)] = []
        for order in stride(from: 10, through: 0, by: -1) {
            while let block = try? fixture.allocator.allocate(order: order, preferredNode: 0) {
                let size = frame << UInt64(order)
                #expect(fixture.allocator.node(of: block) == fixture.allocator.node(of: block + size - 1),
                        "block at \(block) of order \(order) lies in one zone")
                blocks.append((block, order))
            }
        }
        #expect(fixture.allocator.statistics.freeFrames == 0)
        for (block, order) in blocks { try fixture.allocator.free(block, order: order) }
        #expect(fixture.allocator.statistics.freeFrames == 3072)
        #expect(fixture.allocator.verify() == nil)
    }

    @Test func addAndReserveSplitAcrossZones() throws {
        let zones = [Zone(span: 0..<8 * mib, node: 0), Zone(span: 8 * mib..<16 * mib, node: 1)]
        let fixture = try NodeFrameFixture(zones: zones, nodeCount: 2)
        try fixture.allocator.addFreeRange(6 * mib..<10 * mib)
        #expect(fixture.allocator.freeFrames(node: 0) == 512 && fixture.allocator.freeFrames(node: 1) == 512)
        try fixture.allocator.reserveRange(7 * mib..<9 * mib)
        #expect(fixture.allocator.freeFrames(node: 0) == 256 && fixture.allocator.freeFrames(node: 1) == 256)
        // A range beyond every zone adds nothing and is not an error.
        try fixture.allocator.addFreeRange(20 * mib..<30 * mib)
        #expect(fixture.allocator.statistics.totalFrames == 512)
        #expect(fixture.allocator.verify() == nil)
    }

    // MARK: Refused requests

    @Test func badRequestsAreTypedErrorsAndChangeNothing() throws {
        let fixture = try twoNodes()
        let before = fixture.allocator.statistics
        #expect(throws: MemoryError.invalidRequest) { try fixture.allocator.allocate(order: 11, preferredNode: 0) }
        #expect(throws: MemoryError.invalidRequest) { try fixture.allocator.allocate(order: -1, preferredNode: 0) }
        #expect(throws: MemoryError.invalidRequest) { try fixture.allocator.allocate(order: 0, preferredNode: 2) }
        #expect(throws: MemoryError.invalidRequest) { try fixture.allocator.allocate(order: 0, preferredNode: -1) }
        #expect(throws: MemoryError.outOfRange(16 * mib)) { try fixture.allocator.free(16 * mib, order: 0) }
        let block = try fixture.allocator.allocate(order: 1, preferredNode: 1)
        #expect(throws: MemoryError.notAllocated(block)) { try fixture.allocator.free(block, order: 0) }
        #expect(throws: MemoryError.misaligned(block + frame)) { try fixture.allocator.free(block + frame, order: 1) }
        try fixture.allocator.free(block, order: 1)
        #expect(throws: MemoryError.doubleFree(block)) { try fixture.allocator.free(block, order: 1) }
        #expect(fixture.allocator.statistics == before)
        #expect(fixture.allocator.node(of: 16 * mib) == nil && fixture.allocator.node(of: 8 * mib - 1) == 0)
    }

    // MARK: Randomized

    @Test func randomTrafficKeepsEveryNodeConsistent() throws {
        let zones = [Zone(span: 0..<3 * mib, node: 0), Zone(span: 3 * mib..<7 * mib, node: 1),
                     Zone(span: 7 * mib..<8 * mib, node: 2), Zone(span: 8 * mib..<12 * mib, node: 0)]
        let fixture = try NodeFrameFixture(zones: zones, nodeCount: 3, distances: [10, 21, 31, 21, 10, 21, 31, 21, 10])
        try fixture.allocator.addFreeRange(0..<12 * mib)
        try fixture.allocator.reserveRange(0..<64 * 1024)  // like the kernel's low memory
        let before = fixture.allocator.statistics
        var random = AllocatorTestRandom(seed: 0x4E_55_4D_41)
        var live: [(address: UInt64, order: Int, node: Int)] = []
        var perNode = [0, 0, 0]
        for step in 0..<20_000 {
            if live.isEmpty || random.below(100) < 55 {
                let order = random.below(5), preferred = random.below(3)
                guard let address = try? fixture.allocator.allocate(order: order, preferredNode: preferred) else { continue }
                let node = fixture.allocator.node(of: address)!
                // Served by the preferred node unless it had no block that big.
                if node != preferred {
                    #expect(fixture.allocator.statistics(node: preferred).freeBlocks[order...].allSatisfy { $0 == 0 })
                }
                live.append((address, order, node))
                perNode[node] += 1 << order
            } else {
                let victim = live.remove(at: random.below(live.count))
                try fixture.allocator.free(victim.address, order: victim.order)
                perNode[victim.node] -= 1 << victim.order
            }
            if step % 2000 == 0 {
                #expect(fixture.allocator.verify() == nil)
                for node in 0..<3 { #expect(fixture.allocator.statistics(node: node).allocatedFrames == perNode[node]) }
            }
        }
        for block in live { try fixture.allocator.free(block.address, order: block.order) }
        #expect(fixture.allocator.statistics == before)
        #expect(fixture.allocator.verify() == nil)
    }
}
