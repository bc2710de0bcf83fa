import ExoKit
import ExoMemory

/// Pages for the heap: buddy frames seen through the direct map.
struct FrameHeapSource: HeapPageSource {
    let window: Range<UInt>

    func allocatePages(order: Int) throws(MemoryError) -> UInt {
        UInt(KernelLayout.virtual(physical: try PhysicalMemory.allocate(order: order)))
    }

    func freePages(_ address: UInt, order: Int) {
        do {
            try PhysicalMemory.free(KernelLayout.physical(virtual: UInt64(address)), order: order)
        } catch {
            panic("heap returned a block the frame allocator refused: \(error.description)")
        }
    }
}

/// The kernel heap once the frame allocator exists: the hybrid heap of
/// ExoMemory (per-CPU magazines, slabs, buddy pages) behind the C
/// allocation entry points the Swift runtime calls.
///
/// Allocations made before it existed (boot-information arrays) stay in
/// the early heap; `free` sends each pointer back where it came from.
/// Heap operations run with interrupts off: the CPU cache must not be
/// re-entered by an interrupt handler on the same CPU.
enum KernelHeap {
    nonisolated(unsafe) private static var heap: HybridHeap<FrameHeapSource>? = nil
    /// This CPU's cache: one per CPU, found through per-CPU data.
    static var cacheIndex: Int { SMP.currentIndex }
    static let cacheCount = SMP.maximumCPUs

    static var isInitialized: Bool { heap != nil }

    /// The heap itself, for benchmarks that measure its fast paths without
    /// the interrupt masking around them. Caller keeps interrupts off.
    static var core: HybridHeap<FrameHeapSource> { heap.unsafelyUnwrapped }

    static func initialize() throws(MemoryError) {
        let window = UInt(KernelLayout.kernelBase)..<UInt(KernelLayout.virtual(physical: PhysicalMemory.top))
        let secret = UInt(CPU.hardwareRandom() ?? CPU.timestamp() &* 0x9E37_79B9_7F4A_7C15)
        heap = try HybridHeap(source: FrameHeapSource(window: window), cacheCount: cacheCount, secret: secret)
    }

    /// `size` bytes aligned to `alignment`; `.outOfMemory` when RAM is exhausted.
    @inline(__always)
    static func allocate(size: Int, alignment: Int) throws(MemoryError) -> UnsafeMutableRawPointer {
        try CPU.withInterruptsDisabled { () throws(MemoryError) -> UnsafeMutableRawPointer in
            try heap.unsafelyUnwrapped.allocate(size: size, alignment: alignment, cache: cacheIndex)
        }
    }

    /// Frees `pointer`. A double free or a pointer the heap never handed
    /// out stops the kernel with a report: continuing would corrupt memory.
    @inline(__always)
    static func free(_ pointer: UnsafeMutableRawPointer) {
        do {
            try CPU.withInterruptsDisabled { () throws(MemoryError) in
                try heap.unsafelyUnwrapped.free(pointer, cache: cacheIndex)
            }
        } catch {
            panic("heap: \(error.description)")
        }
    }

    /// Like `free`, but hands the error back (for tests of the checks).
    static func tryFree(_ pointer: UnsafeMutableRawPointer) throws(MemoryError) {
        try CPU.withInterruptsDisabled { () throws(MemoryError) in
            try heap!.free(pointer, cache: cacheIndex)
        }
    }

    static func statistics() -> HybridHeap<FrameHeapSource>.Statistics { heap!.statistics() }
    static func verify() -> String? { CPU.withInterruptsDisabled { heap!.verify() } }
    static func drain() throws(MemoryError) {
        try CPU.withInterruptsDisabled { () throws(MemoryError) in try heap!.drain(cache: cacheIndex) }
    }

    /// What the console prints when an allocation fails: the request, the
    /// heap's occupancy and the frame allocator's free lists.
    static func reportOutOfMemory(size: Int, alignment: Int) {
        // Built without String interpolation where possible: the heap is full.
        Log.writeTimestamp()
        Console.write("error: out of memory: ")
        Console.writeDecimal(UInt64(size))
        Console.write(" bytes (alignment ")
        Console.writeDecimal(UInt64(alignment))
        Console.write(") could not be allocated\n")
        if PhysicalMemory.isInitialized {
            let frames = PhysicalMemory.statistics
            Console.write("  frames free: ")
            Console.writeDecimal(UInt64(frames.freeFrames))
            Console.write(" of ")
            Console.writeDecimal(UInt64(frames.totalFrames))
            Console.write("\n")
        }
    }
}

@_cdecl("posix_memalign")
func posixMemalign(_ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int) -> CInt {
    guard alignment > 0, alignment & (alignment - 1) == 0 else { return Errno.invalidArgument.rawValue }
    if KernelHeap.isInitialized {
        do {
            result.pointee = try KernelHeap.allocate(size: size, alignment: alignment)
            return 0
        } catch {
            KernelHeap.reportOutOfMemory(size: size, alignment: alignment)
            return Errno.outOfMemory.rawValue
        }
    }
    guard let block = EarlyHeap.allocate(size: size, alignment: alignment) else {
        KernelHeap.reportOutOfMemory(size: size, alignment: alignment)
        return Errno.outOfMemory.rawValue
    }
    result.pointee = block
    return 0
}

@_cdecl("exo_heap_free")
func exoHeapFree(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer else { return }
    if EarlyHeap.contains(pointer) {
        EarlyHeap.free(pointer)
    } else if KernelHeap.isInitialized {
        KernelHeap.free(pointer)
    } else {
        panic("heap: free of \(Hex.string(UInt64(UInt(bitPattern: pointer)))) before any heap could have allocated it")
    }
}
