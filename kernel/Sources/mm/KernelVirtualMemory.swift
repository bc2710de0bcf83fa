import ExoKit
import ExoMemory
import ExoX86

/// Kernel virtual ranges above the direct map: stacks and MMIO windows.
///
/// Every range is separated from its neighbours by unmapped guard pages
/// (VirtualRangeAllocator keeps the gaps), so a stack overflow or an MMIO
/// overrun faults at once instead of running into the next range.
enum KernelVirtualMemory {
    static let region: Range<UInt64> = 0x0000_7000_0000_0000..<0x0000_7010_0000_0000
    static let lock = KernelSpinLock()
    nonisolated(unsafe) private static var ranges = VirtualRangeAllocator(
        base: region.lowerBound, size: region.upperBound - region.lowerBound, guardSize: KernelLayout.pageSize)

    /// A mapped kernel stack; the page below `bottom` is its unmapped guard.
    struct Stack {
        let bottom: UInt64
        let top: UInt64
        var guardPage: UInt64 { bottom - KernelLayout.pageSize }
    }

    /// A zeroed stack of `pages` pages with a guard page below it.
    static func allocateStack(pages: Int, name: StaticString) throws(MemoryError) -> Stack {
        let range = try lock.withLock { () throws(MemoryError) -> Range<UInt64> in
            try ranges.allocate(size: UInt64(pages) * KernelLayout.pageSize)
        }
        do {
            try backWithFrames(range, flags: KernelAddressSpace.kernelDataFlags)
        } catch {
            try? lock.withLock { () throws(MemoryError) in try ranges.free(range) }
            throw error
        }
        KernelStacks.register(KernelStacks.Stack(name: name, guardPage: range.lowerBound - KernelLayout.pageSize,
                                                 bottom: range.lowerBound, top: range.upperBound))
        return Stack(bottom: range.lowerBound, top: range.upperBound)
    }

    static func freeStack(_ stack: Stack) throws(MemoryError) {
        KernelStacks.unregister(top: stack.top)
        try release(stack.bottom..<stack.top, freeFrames: true)
    }

    /// Maps device registers at `physical` (any alignment) uncached; returns
    /// the virtual address of `physical`.
    static func mapDevice(physical: UInt64, size: UInt64) throws(MemoryError) -> UInt64 {
        let first = Alignment.alignDown(physical, to: KernelLayout.pageSize)
        guard let last = Alignment.alignUp(physical + size, to: KernelLayout.pageSize), size > 0 else { throw .invalidRequest }
        let range = try lock.withLock { () throws(MemoryError) -> Range<UInt64> in
            try ranges.allocate(size: last - first)
        }
        let flags = KernelAddressSpace.kernelDataFlags.union([.cacheDisable, .writeThrough])
        var offset: UInt64 = 0
        while offset < last - first {
            try KernelAddressSpace.map(virtual: range.lowerBound + offset, physical: first + offset, flags: flags)
            offset += KernelLayout.pageSize
        }
        return range.lowerBound + (physical - first)
    }

    static func unmapDevice(virtual: UInt64, size: UInt64) throws(MemoryError) {
        let first = Alignment.alignDown(virtual, to: KernelLayout.pageSize)
        guard let last = Alignment.alignUp(virtual + size, to: KernelLayout.pageSize) else { throw .invalidRequest }
        try release(first..<last, freeFrames: false)
    }

    private static func backWithFrames(_ range: Range<UInt64>, flags: PageFlags) throws(MemoryError) {
        var page = range.lowerBound
        while page < range.upperBound {
            do {
                let frame = try PhysicalMemory.allocateZeroedFrame()
                try KernelAddressSpace.map(virtual: page, physical: frame, flags: flags)
            } catch {
                try? release(range.lowerBound..<page, freeFrames: true, keepRange: true)
                throw error
            }
            page += KernelLayout.pageSize
        }
    }

    private static func release(_ range: Range<UInt64>, freeFrames: Bool, keepRange: Bool = false) throws(MemoryError) {
        var page = range.lowerBound
        while page < range.upperBound {
            let frame = try KernelAddressSpace.unmap(virtual: page)
            if freeFrames { try PhysicalMemory.free(frame, order: 0) }
            page += KernelLayout.pageSize
        }
        if !keepRange {
            try lock.withLock { () throws(MemoryError) in try ranges.free(range) }
        }
    }
}
