import ExoBoot
import ExoKit
import ExoMemory
import ExoSched

/// The kernel's physical frame allocator: frames kept per NUMA node, one
/// buddy allocator per node's piece of RAM (ExoMemory's NodeFrameAllocator),
/// built from the boot memory map and the SRAT. Without SRAT all RAM is one
/// node, as on a uniform machine.
///
/// Allocation prefers the calling CPU's node and falls back to the others
/// by SLIT distance; a freed block goes back to the node that owns its
/// address, whichever CPU frees it.
///
/// Never handed out: the first 1 MiB (BIOS data, real-mode trampolines for
/// the SMP work), the kernel image with its BSS and early heap, boot
/// modules, and the allocator's own metadata (one 12-byte record per frame
/// for all of [0, top), carved from the first available memory above the
/// image; on a NUMA machine it therefore sits on node 0).
///
/// Every entry point takes the allocator's spin lock (interrupts off while
/// held), so any CPU, and interrupt handlers, may allocate frames.
enum PhysicalMemory {
    /// The allocator, in storage of its own and only ever mutated in place
    /// through this pointer: it holds its buddies inline (several KiB), and
    /// a copy out of a global and back would cost far more than the
    /// allocation (an Optional around the single ~200-byte buddy already
    /// cost 520 guest instructions per alloc+free pair). A pointer with a
    /// constant initial value, so that reading it needs no `swift_once`.
    /// Valid from `initialize` on (before it, nothing may call in: the
    /// early heap serves the Swift runtime, and `isInitialized` is false).
    nonisolated(unsafe) private static var frames = UnsafeMutablePointer<NodeFrameAllocator>(bitPattern: 8)!
    /// Each CPU's node (SMP index to node index), which `allocate(order:)`
    /// prefers. All node 0 until `preferNodes(of:)` runs after the CPUs
    /// have started and the topology is known.
    nonisolated(unsafe) private static var cpuNodes = InlineArray<16, UInt8>(repeating: 0)
    nonisolated(unsafe) private static var initialized = false
    /// Serialises every CPU's use of the allocator (interrupts off while held).
    static let lock = KernelSpinLock()
    /// Physical memory the frame allocator spans: [0, top).
    nonisolated(unsafe) private(set) static var top: UInt64 = 0
    nonisolated(unsafe) private(set) static var metadataRange: Range<UInt64> = 0..<0
    nonisolated(unsafe) private(set) static var initialStatistics: BuddyAllocator.Statistics? = nil
    /// Why the firmware's NUMA layout was not used (nil when it was, or
    /// when there was none).
    nonisolated(unsafe) private(set) static var numaProblem: String? = nil

    static let lowMemoryLimit: UInt64 = 1 << 20

    static var isInitialized: Bool { initialized }

    /// Builds the allocator from the sanitized boot memory map and, when the
    /// firmware has an SRAT, its memory ranges per node (`numa`, from
    /// `Firmware.memoryNodes`). A NUMA layout the allocator cannot hold (too
    /// many nodes or pieces) is logged and replaced by a single node.
    static func initialize(bootInfo info: BootInfo,
                           numa: (ranges: [NodeFrameAllocator.Zone], nodeCount: Int, distances: [UInt8])?) throws(MemoryError) {
        let available = info.memoryMap.filter { $0.kind == .available }
        guard let last = available.last else { throw .outOfMemory }
        // Frames above what the boot tables map cannot be touched until the
        // kernel address space exists; the allocator spans them anyway (its
        // metadata goes below 4 GiB), so they are usable once mapped.
        top = Alignment.alignDown(last.end, to: BuddyAllocator.frameSize)
        let uniform = [NodeFrameAllocator.Zone(span: 0..<top, node: 0)]
        var zones = uniform, nodeCount = 1, distances: [UInt8] = []
        if let numa {
            let numaZones = NodeFrameAllocator.zones(nodeRanges: numa.ranges, top: top)
            let frameCount = NodeFrameAllocator.metadataCount(zones: numaZones)
            if let problem = NodeFrameAllocator.problem(zones: numaZones, nodeCount: numa.nodeCount,
                                                        distances: numa.distances, metadataCount: frameCount) {
                numaProblem = problem.description
                Log.warning("numa: SRAT memory layout not used (\(problem.description)); all memory is one node")
            } else {
                (zones, nodeCount, distances) = (numaZones, numa.nodeCount, numa.distances)
            }
        }
        // Zones partition [0, top), so this is one record per frame of RAM.
        let frameCount = NodeFrameAllocator.metadataCount(zones: zones)
        let metadataBytes = UInt64(frameCount * MemoryLayout<BuddyAllocator.FrameRecord>.stride)

        var excluded: [Range<UInt64>] = [0..<lowMemoryLimit, KernelLayout.imagePhysicalRange]
        for module in info.modules { excluded.append(Alignment.alignDown(module.start, to: 4096)..<(Alignment.alignUp(module.end, to: 4096) ?? module.end)) }
        guard let metadataStart = firstFit(bytes: metadataBytes, in: available, avoiding: excluded,
                                           below: KernelLayout.bootDirectMapSize) else { throw .outOfMemory }
        metadataRange = metadataStart..<(Alignment.alignUp(metadataStart + metadataBytes, to: 4096) ?? top)
        excluded.append(metadataRange)

        // Safety: the metadata range is available RAM below 4 GiB, mapped by
        // the boot tables, and excluded from the allocator itself.
        let records = UnsafeMutablePointer<BuddyAllocator.FrameRecord>(
            bitPattern: UInt(KernelLayout.virtual(physical: metadataStart)))!
        // Lives as long as the kernel (allocated from the early heap).
        let allocator = UnsafeMutablePointer<NodeFrameAllocator>.allocate(capacity: 1)
        allocator.initialize(to: try NodeFrameAllocator(zones: zones, nodeCount: nodeCount, distances: distances,
                                                        metadata: UnsafeMutableBufferPointer(start: records, count: frameCount)))
        for region in available { try allocator.pointee.addFreeRange(region.base..<region.end) }
        for range in excluded { try allocator.pointee.reserveRange(range) }
        frames = allocator
        initialized = true
        initialStatistics = allocator.pointee.statistics
    }

    /// Makes each CPU prefer its own node's memory (`topology` as the
    /// scheduler sees it). A node the allocator does not know (its layout
    /// was refused) reads as node 0.
    static func preferNodes(of topology: CPUTopology) {
        lock.withLock {
            for cpu in 0..<min(topology.cpuCount, cpuNodes.count) {
                let node = topology.node(of: CPUID(cpu)).index
                cpuNodes[cpu] = UInt8(node < frames.pointee.nodeCount ? node : 0)
            }
        }
    }

    /// The lowest page-aligned address in `regions` with `bytes` free below
    /// `limit`, clear of every range in `avoiding`.
    private static func firstFit(bytes: UInt64, in regions: [MemoryRegion], avoiding: [Range<UInt64>], below limit: UInt64) -> UInt64? {
        for region in regions {
            var candidate = Alignment.alignUp(region.base, to: 4096) ?? region.end
            while candidate + bytes <= min(region.end, limit) {
                if let clash = avoiding.first(where: { $0.overlaps(candidate..<(candidate + bytes)) }) {
                    candidate = Alignment.alignUp(clash.upperBound, to: 4096) ?? region.end
                } else {
                    return candidate
                }
            }
        }
        return nil
    }

    /// A naturally aligned block of 2^order frames (physical address), from
    /// the calling CPU's node if it has one free, else the nearest node's.
    static func allocate(order: Int) throws(MemoryError) -> UInt64 {
        try lock.withLock { () throws(MemoryError) -> UInt64 in
            // Read under the lock (interrupts off): the thread cannot move
            // to another CPU between reading its node and allocating.
            try frames.pointee.allocate(order: order, preferredNode: Int(cpuNodes[SMP.currentIndex]))
        }
    }

    /// A naturally aligned block of 2^order frames from `preferredNode`, or
    /// from the nearest node with one when it has none. Throws
    /// `.invalidRequest` for a node that does not exist.
    static func allocate(order: Int, preferredNode: Int) throws(MemoryError) -> UInt64 {
        try lock.withLock { () throws(MemoryError) -> UInt64 in
            try frames.pointee.allocate(order: order, preferredNode: preferredNode)
        }
    }

    /// Returns a block to the node that owns it.
    static func free(_ address: UInt64, order: Int) throws(MemoryError) {
        try lock.withLock { () throws(MemoryError) in
            try frames.pointee.free(address, order: order)
        }
    }

    /// Makes an allocated 2^order block 2^order single frames (see
    /// `BuddyAllocator.split`).
    static func split(_ address: UInt64, order: Int) throws(MemoryError) {
        try lock.withLock { () throws(MemoryError) in
            try frames.pointee.split(address, order: order)
        }
    }

    /// A zeroed 4 KiB frame (page tables, stacks).
    static func allocateZeroedFrame() throws(MemoryError) -> UInt64 {
        let frame = try allocate(order: 0)
        UnsafeMutableRawPointer(bitPattern: UInt(KernelLayout.virtual(physical: frame)))!
            .initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        return frame
    }

    /// How many NUMA nodes the allocator keeps apart (1 without SRAT).
    static var nodeCount: Int { frames.pointee.nodeCount }

    /// The node whose memory holds `physical`, or nil outside [0, top).
    static func node(of physical: UInt64) -> Int? {
        lock.withLock { frames.pointee.node(of: physical) }
    }

    /// The contiguous per-node pieces of [0, top), in address order.
    static var zones: [NodeFrameAllocator.Zone] {
        lock.withLock { frames.pointee.zones }
    }

    /// Frames currently free on `node` (0 for a node without memory).
    static func freeFrames(node: Int) -> Int {
        lock.withLock { frames.pointee.freeFrames(node: node) }
    }

    /// Counters of `node` alone.
    static func statistics(node: Int) -> BuddyAllocator.Statistics {
        lock.withLock { frames.pointee.statistics(node: node) }
    }

    /// Counters summed over every node.
    static var statistics: BuddyAllocator.Statistics {
        lock.withLock { frames.pointee.statistics }
    }

    static func verify() -> String? {
        lock.withLock { frames.pointee.verify() }
    }

    /// Boot-log lines: totals, free blocks per order, and on a NUMA machine
    /// the frames of each node and where its memory lies.
    static func logSummary() {
        let stats = statistics
        Log.info("frames: \(stats.totalFrames) usable (\(stats.totalFrames * 4 / 1024) MiB), \(stats.freeFrames) free; allocator metadata \(Hex.string(metadataRange.lowerBound))-\(Hex.string(metadataRange.upperBound))")
        var orders = "frames: free blocks per order (4K..4M):"
        for (order, count) in stats.freeBlocks.enumerated() { orders += " \(order):\(count)" }
        Log.info(orders)
        guard nodeCount > 1 else { return }
        var line = "numa:"
        for node in 0..<nodeCount {
            line += (node == 0 ? " " : ", ") + "node\(node) \(statistics(node: node).totalFrames) frames"
        }
        Log.info(line)
        var layout = "numa: memory"
        for zone in zones {
            layout += " node\(zone.node) \(Hex.string(zone.span.lowerBound))-\(Hex.string(zone.span.upperBound))"
        }
        Log.info(layout)
    }
}
