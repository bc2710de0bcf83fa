import ExoBoot
import ExoKit
import ExoMemory

/// The kernel's physical frame allocator: one buddy allocator over all RAM,
/// built from the boot memory map.
///
/// Never handed out: the first 1 MiB (BIOS data, real-mode trampolines for
/// the SMP work), the kernel image with its BSS and early heap, boot
/// modules, and the allocator's own metadata (one 12-byte record per frame,
/// carved from the first available memory above the image).
///
/// Every entry point takes the allocator's spin lock (interrupts off while
/// held), so any CPU, and interrupt handlers, may allocate frames.
enum PhysicalMemory {
    /// Not optional, and only ever mutated in place: the allocator is a
    /// ~200-byte struct, and going through an Optional made each call copy
    /// it out and back (measured: 520 guest instructions per alloc+free pair).
    nonisolated(unsafe) private static var buddy = BuddyAllocator(
        base: 0, frameCount: 0, metadata: UnsafeMutableBufferPointer(start: nil, count: 0))
    nonisolated(unsafe) private static var initialized = false
    /// Serialises every CPU's use of the allocator (interrupts off while held).
    static let lock = KernelSpinLock()
    /// Physical memory the frame allocator spans: [0, top).
    nonisolated(unsafe) private(set) static var top: UInt64 = 0
    nonisolated(unsafe) private(set) static var metadataRange: Range<UInt64> = 0..<0
    nonisolated(unsafe) private(set) static var initialStatistics: BuddyAllocator.Statistics? = nil

    static let lowMemoryLimit: UInt64 = 1 << 20

    static var isInitialized: Bool { initialized }

    /// Builds the allocator from the sanitized boot memory map.
    static func initialize(bootInfo info: BootInfo) throws(MemoryError) {
        let available = info.memoryMap.filter { $0.kind == .available }
        guard let last = available.last else { throw .outOfMemory }
        // Frames above what the boot tables map cannot be touched until the
        // kernel address space exists; the allocator spans them anyway (its
        // metadata goes below 4 GiB), so they are usable once mapped.
        top = Alignment.alignDown(last.end, to: BuddyAllocator.frameSize)
        let frameCount = Int(top / BuddyAllocator.frameSize)
        let metadataBytes = UInt64(BuddyAllocator.metadataCount(frameCount: frameCount) * MemoryLayout<BuddyAllocator.FrameRecord>.stride)

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
        var allocator = BuddyAllocator(base: 0, frameCount: frameCount,
                                       metadata: UnsafeMutableBufferPointer(start: records, count: frameCount))
        for region in available { try allocator.addFreeRange(region.base..<region.end) }
        for range in excluded { try allocator.reserveRange(range) }
        buddy = allocator
        initialized = true
        initialStatistics = allocator.statistics
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

    /// A naturally aligned block of 2^order frames (physical address).
    static func allocate(order: Int) throws(MemoryError) -> UInt64 {
        try lock.withLock { () throws(MemoryError) -> UInt64 in
            try buddy.allocate(order: order)
        }
    }

    static func free(_ address: UInt64, order: Int) throws(MemoryError) {
        try lock.withLock { () throws(MemoryError) in
            try buddy.free(address, order: order)
        }
    }

    /// A zeroed 4 KiB frame (page tables, stacks).
    static func allocateZeroedFrame() throws(MemoryError) -> UInt64 {
        let frame = try allocate(order: 0)
        UnsafeMutableRawPointer(bitPattern: UInt(KernelLayout.virtual(physical: frame)))!
            .initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        return frame
    }

    static var statistics: BuddyAllocator.Statistics {
        lock.withLock { buddy.statistics }
    }

    static func verify() -> String? {
        lock.withLock { buddy.verify() }
    }

    /// Boot-log lines: totals and free blocks per order.
    static func logSummary() {
        let stats = statistics
        Log.info("frames: \(stats.totalFrames) usable (\(stats.totalFrames * 4 / 1024) MiB), \(stats.freeFrames) free; allocator metadata \(Hex.string(metadataRange.lowerBound))-\(Hex.string(metadataRange.upperBound))")
        var orders = "frames: free blocks per order (4K..4M):"
        for (order, count) in stats.freeBlocks.enumerated() { orders += " \(order):\(count)" }
        Log.info(orders)
    }
}
