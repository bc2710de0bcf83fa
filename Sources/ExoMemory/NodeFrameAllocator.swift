import ExoKit

/// Physical frames kept per NUMA node: one buddy allocator per *zone* (a
/// contiguous piece of physical memory that belongs to one node), and the
/// policy that picks a zone: the preferred node's zones first, then the
/// other nodes' in increasing distance (SLIT), ties broken by node index.
///
/// Zones partition the managed span: memory the firmware describes for no
/// node (holes, or memory above the last affinity range) belongs to the zone
/// below it, so every frame has exactly one owner and one metadata record.
/// A node may own several zones (ranges interleaved with another node's),
/// and a node may own none (a CPU-only node: it allocates from its nearest
/// neighbour).
///
/// Storage is fixed (`maximumZones` buddies inline), so the value needs no
/// heap and keeps working before one exists. Like `BuddyAllocator` it does
/// not own the metadata buffer: keep exactly one live copy, and mutate it in
/// place (it is several KiB; copying it out of a global on every call would
/// dominate the allocation cost).
///
/// Invariants:
/// 1. Zones are sorted by address, frame aligned, non-empty and disjoint;
///    zone `z` owns exactly the frames of `zoneSpans[z]`.
/// 2. Row `n` of `allocationOrder` lists every zone once: node `n`'s zones
///    in address order, then each other node's, nodes taken in fallback order.
/// 3. Every free frame is on the free lists of the zone that owns it: `free`
///    returns a block to the zone containing its address, never elsewhere.
public struct NodeFrameAllocator {
    /// The most NUMA nodes told apart; firmware describing more is not
    /// supported (the kernel then manages all memory as one node).
    public static let maximumNodes = 8
    /// The most zones (contiguous per-node pieces) held.
    public static let maximumZones = 16

    /// A contiguous piece of physical memory and the node it belongs to.
    public struct Zone: Equatable, Sendable {
        /// The physical addresses of the zone, frame aligned.
        public var span: Range<UInt64>
        /// The node index (0..<nodeCount), not the firmware's domain number.
        public var node: Int

        /// A zone covering `span` on `node`.
        public init(span: Range<UInt64>, node: Int) {
            self.span = span
            self.node = node
        }
    }

    /// Why `init` refused a layout (all are `MemoryError.invalidRequest` to
    /// callers that only need to know it failed; the kernel logs the reason).
    public enum LayoutProblem: Equatable, Sendable {
        /// No zones, or more than `maximumZones`.
        case zoneCount(Int)
        /// Node count not in 1...maximumNodes.
        case nodeCount(Int)
        /// A zone that is empty, not frame aligned, out of address order or
        /// overlapping the previous one.
        case badZone(Int)
        /// A zone's node is not below the node count.
        case badNode(zone: Int)
        /// The distance matrix is neither empty nor nodeCount² entries.
        case distanceCount(Int)
        /// The metadata buffer is smaller than the zones' union needs.
        case metadataTooSmall(needed: Int)
    }

    private var buddies: InlineArray<16, BuddyAllocator>
    /// Zone spans, kept apart from the buddies so that finding a frame's zone
    /// touches 16 bytes per zone, not a whole allocator.
    private var zoneStarts: InlineArray<16, UInt64>
    private var zoneEnds: InlineArray<16, UInt64>
    private var zoneNodes: InlineArray<16, UInt8>
    /// Row n (`maximumZones` entries, `zoneCount` used): the zones node n
    /// tries, in order (invariant 2).
    private var allocationOrder: InlineArray<128, UInt8>
    /// Row n (`maximumNodes` entries, `nodeCount` used): node n, then the
    /// others by increasing distance.
    private var fallbackOrder: InlineArray<64, UInt8>
    /// How many zones are in use (0 for the empty placeholder).
    public private(set) var zoneCount: Int
    /// How many nodes allocations may prefer: 0..<nodeCount (at least 1).
    public private(set) var nodeCount: Int

    /// An allocator with no memory: every allocation fails with
    /// `.outOfMemory`. The placeholder a global starts as.
    public init() {
        let empty = BuddyAllocator(base: 0, frameCount: 0, metadata: UnsafeMutableBufferPointer(start: nil, count: 0))
        buddies = InlineArray(repeating: empty)
        zoneStarts = InlineArray(repeating: 0)
        zoneEnds = InlineArray(repeating: 0)
        zoneNodes = InlineArray(repeating: 0)
        allocationOrder = InlineArray(repeating: 0)
        fallbackOrder = InlineArray(repeating: 0)
        zoneCount = 0
        nodeCount = 1
    }

    /// Records needed for `zones`: one per frame from the first zone's start
    /// to the last zone's end (gaps between zones included, unused).
    public static func metadataCount(zones: [Zone]) -> Int {
        guard let first = zones.first, let last = zones.last, last.span.upperBound > first.span.lowerBound else { return 0 }
        return Int((last.span.upperBound - first.span.lowerBound) / BuddyAllocator.frameSize)
    }

    /// What is wrong with a layout, or nil if `init` accepts it.
    public static func problem(zones: [Zone], nodeCount: Int, distances: [UInt8], metadataCount: Int) -> LayoutProblem? {
        guard !zones.isEmpty && zones.count <= maximumZones else { return .zoneCount(zones.count) }
        guard nodeCount >= 1 && nodeCount <= maximumNodes else { return .nodeCount(nodeCount) }
        var previousEnd: UInt64 = 0
        for (index, zone) in zones.enumerated() {
            guard !zone.span.isEmpty, Alignment.isAligned(zone.span.lowerBound, to: BuddyAllocator.frameSize),
                Alignment.isAligned(zone.span.upperBound, to: BuddyAllocator.frameSize),
                index == 0 || zone.span.lowerBound >= previousEnd
            else { return .badZone(index) }
            guard zone.node >= 0 && zone.node < nodeCount else { return .badNode(zone: index) }
            previousEnd = zone.span.upperBound
        }
        guard distances.isEmpty || distances.count == nodeCount * nodeCount else { return .distanceCount(distances.count) }
        let needed = Self.metadataCount(zones: zones)
        guard metadataCount >= needed else { return .metadataTooSmall(needed: needed) }
        return nil
    }

    /// Manages `zones`, every frame reserved until `addFreeRange` makes it
    /// allocatable.
    ///
    /// `distances` is the node distance matrix, row-major, nodeCount² entries
    /// (10 = local, as in the SLIT), or empty for "every other node is
    /// equally far". `metadata` holds `metadataCount(zones:)` records; record
    /// i describes the frame i frames above the first zone's start, so each
    /// zone's buddy gets its own slice.
    ///
    /// Throws `.invalidRequest` (nothing built) when `problem(...)` reports one.
    public init(zones: [Zone], nodeCount: Int, distances: [UInt8],
                metadata: UnsafeMutableBufferPointer<BuddyAllocator.FrameRecord>) throws(MemoryError) {
        guard Self.problem(zones: zones, nodeCount: nodeCount, distances: distances, metadataCount: metadata.count) == nil else {
            throw .invalidRequest
        }
        self.init()
        self.nodeCount = nodeCount
        zoneCount = zones.count
        let firstFrame = Int(zones[0].span.lowerBound / BuddyAllocator.frameSize)
        for (index, zone) in zones.enumerated() {
            let start = Int(zone.span.lowerBound / BuddyAllocator.frameSize) - firstFrame
            let count = Int((zone.span.upperBound - zone.span.lowerBound) / BuddyAllocator.frameSize)
            let slice = UnsafeMutableBufferPointer(rebasing: metadata[start..<(start + count)])
            buddies[index] = BuddyAllocator(base: zone.span.lowerBound, frameCount: count, metadata: slice)
            zoneStarts[index] = zone.span.lowerBound
            zoneEnds[index] = zone.span.upperBound
            zoneNodes[index] = UInt8(zone.node)
        }
        // The fallback rows, computed once: the node itself, then the others
        // sorted by (distance, index).
        for node in 0..<nodeCount {
            var others = (0..<nodeCount).filter { $0 != node }
            others.sort { a, b in
                let da = Self.distance(distances, nodeCount: nodeCount, from: node, to: a)
                let db = Self.distance(distances, nodeCount: nodeCount, from: node, to: b)
                return da != db ? da < db : a < b
            }
            var position = 0
            for target in [node] + others {
                fallbackOrder[node * Self.maximumNodes + position] = UInt8(target)
                position += 1
            }
            position = 0
            for target in [node] + others {
                for zone in 0..<zoneCount where Int(zoneNodes[zone]) == target {
                    allocationOrder[node * Self.maximumZones + position] = UInt8(zone)
                    position += 1
                }
            }
        }
    }

    /// The distance from node `from` to node `to`: the matrix entry, or 10
    /// and 20 (local, remote) when the matrix is empty.
    private static func distance(_ distances: [UInt8], nodeCount: Int, from: Int, to: Int) -> UInt8 {
        if distances.isEmpty { return from == to ? 10 : 20 }
        return distances[from * nodeCount + to]
    }

    // MARK: - Layout

    /// Zones for memory described by per-node ranges (the SRAT's enabled
    /// memory affinities, domains already turned into node indices),
    /// partitioning [0, top).
    ///
    /// Ranges are sorted by base; each starts a zone at its base (rounded
    /// down to a frame, never below the previous zone's start), so memory
    /// between two ranges belongs to the lower one, memory below the first
    /// range to the first range's node and memory above the last to the last
    /// one's. Adjacent zones of one node are merged, empty ones dropped, and
    /// ranges at or above `top` ignored. Without ranges: one zone, node 0.
    /// `top` is rounded down to a frame.
    public static func zones(nodeRanges: [Zone], top: UInt64) -> [Zone] {
        let end = Alignment.alignDown(top, to: BuddyAllocator.frameSize)
        guard end > 0 else { return [] }
        let ranges = nodeRanges.filter { !$0.span.isEmpty && $0.span.lowerBound < end }
            .sorted { $0.span.lowerBound < $1.span.lowerBound }
        guard let first = ranges.first else { return [Zone(span: 0..<end, node: 0)] }
        var zones: [Zone] = []
        var start: UInt64 = 0
        var node = first.node
        for range in ranges.dropFirst() {
            let boundary = max(Alignment.alignDown(range.span.lowerBound, to: BuddyAllocator.frameSize), start)
            if range.node == node { continue }  // the zone extends over it
            if boundary > start { zones.append(Zone(span: start..<boundary, node: node)) }
            start = boundary
            node = range.node
        }
        zones.append(Zone(span: start..<end, node: node))
        // A zone dropped for being empty can leave two of one node adjacent.
        var merged: [Zone] = []
        for zone in zones {
            if let last = merged.last, last.node == zone.node {
                merged[merged.count - 1].span = last.span.lowerBound..<zone.span.upperBound
            } else {
                merged.append(zone)
            }
        }
        return merged
    }

    /// The zones, in address order.
    public var zones: [Zone] {
        (0..<zoneCount).map { Zone(span: zoneStarts[$0]..<zoneEnds[$0], node: Int(zoneNodes[$0])) }
    }

    /// Node `node`, then every other node in the order it falls back to them.
    /// Empty for a node that does not exist.
    public func fallbackOrder(from node: Int) -> [Int] {
        guard node >= 0 && node < nodeCount else { return [] }
        return (0..<nodeCount).map { Int(fallbackOrder[node * Self.maximumNodes + $0]) }
    }

    /// The node owning `address`, or nil outside every zone.
    public func node(of address: UInt64) -> Int? {
        zoneIndex(of: address).map { Int(zoneNodes[$0]) }
    }

    @inline(__always)
    private func zoneIndex(of address: UInt64) -> Int? {
        for zone in 0..<zoneCount where address >= zoneStarts[zone] && address < zoneEnds[zone] { return zone }
        return nil
    }

    // MARK: - Adding and reserving memory

    /// Makes physical `range` allocatable, each part in the zone that owns it
    /// (see `BuddyAllocator.addFreeRange`: rounded inward to whole frames).
    /// Parts outside every zone are ignored.
    ///
    /// Throws `.inUse` if a frame in it is allocated; zones before the one
    /// that threw keep their added frames.
    public mutating func addFreeRange(_ range: Range<UInt64>) throws(MemoryError) {
        for zone in 0..<zoneCount {
            let start = max(range.lowerBound, zoneStarts[zone]), end = min(range.upperBound, zoneEnds[zone])
            if start < end { try buddies[zone].addFreeRange(start..<end) }
        }
    }

    /// Takes physical `range` out of the allocator, in whichever zones it
    /// touches (see `BuddyAllocator.reserveRange`: rounded outward).
    ///
    /// Throws `.inUse` if a frame in it is allocated; zones before the one
    /// that threw keep their reservations.
    public mutating func reserveRange(_ range: Range<UInt64>) throws(MemoryError) {
        for zone in 0..<zoneCount where range.overlaps(zoneStarts[zone]..<zoneEnds[zone]) {
            try buddies[zone].reserveRange(range)
        }
    }

    // MARK: - Allocating and freeing

    /// A naturally aligned block of 2^order frames, from `preferredNode` if
    /// it has one, else from the nearest node that does.
    ///
    /// Throws, with nothing changed, `.invalidRequest` for an order outside
    /// 0...maxOrder or a node not below `nodeCount`, and `.outOfMemory` when
    /// no zone of any node has a block that large.
    // Inlined into the caller: the common case (the preferred node's first
    // zone has a block) is one bounds check and one table load on top of
    // the buddy's own allocation.
    @inline(__always)
    public mutating func allocate(order: Int, preferredNode: Int) throws(MemoryError) -> UInt64 {
        guard preferredNode >= 0 && preferredNode < nodeCount else { throw .invalidRequest }
        do {
            // The buddy refuses a bad order itself, with `.invalidRequest`.
            // Without zones, row entries name zone 0, an empty buddy.
            return try buddies[Int(allocationOrder[preferredNode &* Self.maximumZones])].allocate(order: order)
        } catch .outOfMemory {
            return try allocateElsewhere(order: order, preferredNode: preferredNode)
        }
    }

    /// The slow path of `allocate`: the preferred node's other zones, then
    /// the other nodes' in fallback order (the first zone already failed).
    @inline(never)
    private mutating func allocateElsewhere(order: Int, preferredNode: Int) throws(MemoryError) -> UInt64 {
        let row = preferredNode * Self.maximumZones
        for position in 1..<max(zoneCount, 1) {
            // The order was valid, so the only error is this zone being full.
            if let address = try? buddies[Int(allocationOrder[row + position])].allocate(order: order) {
                return address
            }
        }
        throw .outOfMemory
    }

    /// `BuddyAllocator.split` in the zone that owns `address`.
    public mutating func split(_ address: UInt64, order: Int) throws(MemoryError) {
        for zone in 0..<zoneCount where address >= zoneStarts[zone] && address < zoneEnds[zone] {
            return try buddies[zone].split(address, order: order)
        }
        throw .outOfRange(address)
    }

    /// Returns a block from `allocate` to the zone that owns it.
    ///
    /// Throws, with nothing changed, `.outOfRange` for an address outside
    /// every zone, else whatever `BuddyAllocator.free` throws (`.misaligned`,
    /// `.doubleFree`, `.notAllocated`, `.invalidRequest`, `.outOfRange` for a
    /// block running past its zone).
    @inline(__always)
    public mutating func free(_ address: UInt64, order: Int) throws(MemoryError) {
        // The search is written out here, not shared with `node(of:)`: in a
        // non-mutating helper the embedded compiler copies each 128-byte
        // bounds array to the stack per zone, which made a free cost 250
        // instructions more.
        var zone = 0
        while zone < zoneCount {
            if address >= zoneStarts[zone] && address < zoneEnds[zone] {
                return try buddies[zone].free(address, order: order)
            }
            zone += 1
        }
        throw .outOfRange(address)
    }

    // MARK: - Statistics and checks

    /// Counters summed over every zone.
    public var statistics: BuddyAllocator.Statistics {
        summedStatistics { _ in true }
    }

    /// Counters summed over the zones of `node` (all zero for a node with
    /// no memory or that does not exist).
    public func statistics(node: Int) -> BuddyAllocator.Statistics {
        summedStatistics { Int(zoneNodes[$0]) == node }
    }

    /// Free frames on `node`.
    public func freeFrames(node: Int) -> Int {
        statistics(node: node).freeFrames
    }

    private func summedStatistics(where included: (Int) -> Bool) -> BuddyAllocator.Statistics {
        var sum = BuddyAllocator.Statistics(totalFrames: 0, freeFrames: 0,
                                            freeBlocks: Array(repeating: 0, count: BuddyAllocator.maxOrder + 1),
                                            allocatedFrames: 0)
        for zone in 0..<zoneCount where included(zone) {
            let stats = buddies[zone].statistics
            sum.totalFrames += stats.totalFrames
            sum.freeFrames += stats.freeFrames
            sum.allocatedFrames += stats.allocatedFrames
            for order in 0...BuddyAllocator.maxOrder { sum.freeBlocks[order] += stats.freeBlocks[order] }
        }
        return sum
    }

    /// Checks every zone's buddy invariants and that each spans exactly its
    /// zone. Returns nil if all hold, else the first violation found.
    public func verify() -> String? {
        for zone in 0..<zoneCount {
            let span = zoneStarts[zone]..<zoneEnds[zone]
            guard buddies[zone].span == span else { return "zone \(zone): allocator span differs from the zone" }
            if let problem = buddies[zone].verify() {
                return "zone \(zone) (node \(zoneNodes[zone]), \(Hex.string(span.lowerBound))-\(Hex.string(span.upperBound))): \(problem)"
            }
        }
        return nil
    }
}

extension NodeFrameAllocator.LayoutProblem {
    /// A short description for the boot log.
    public var description: String {
        switch self {
        case .zoneCount(let count): "\(count) zones (1...\(NodeFrameAllocator.maximumZones) supported)"
        case .nodeCount(let count): "\(count) nodes (1...\(NodeFrameAllocator.maximumNodes) supported)"
        case .badZone(let index): "zone \(index) is empty, misaligned or out of order"
        case .badNode(let index): "zone \(index) names a node that does not exist"
        case .distanceCount(let count): "\(count) distances for the node count"
        case .metadataTooSmall(let needed): "metadata needs \(needed) records"
        }
    }
}
