import ExoMemory
import Glibc

/// The heap's page source on the host: one mmap'd window of address space,
/// carved into 4 KiB "frames" by the same `BuddyAllocator` the kernel uses
/// for physical memory. The kernel's source is the buddy allocator seen
/// through the direct map; here virtual addresses stand in for physical ones
/// (the window is its own direct map).
///
/// Pages are reserved, not committed (`MAP_NORESERVE`): the kernel backs
/// them on first touch, as the direct map of real RAM would already be.
struct HostPageSource: HeapPageSource {
    let window: Range<UInt>
    private var buddy: BuddyAllocator

    /// Reserves `windowBytes` (a multiple of 4 MiB) of address space whose
    /// start is 4 MiB aligned, so every buddy block of order <= maxOrder is
    /// aligned to its size in virtual memory too (the heap needs 64 KiB
    /// spans 64 KiB aligned).
    ///
    /// The window must stay well under 8 GiB: the heap keeps 2 bytes of
    /// metadata per window page in one buddy block, and the largest block
    /// (order 10) is 4 MiB.
    init(windowBytes: Int) {
        let alignment = 4 << 20
        precondition(windowBytes > 0 && windowBytes % alignment == 0, "window must be whole 4 MiB blocks")
        let reservation = windowBytes + alignment
        guard let mapping = mmap(nil, reservation, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              mapping != MAP_FAILED else {
            fatalError("mmap of \(reservation) bytes failed")
        }
        // Give back the unaligned head and the tail beyond the window.
        let raw = UInt(bitPattern: mapping)
        let start = (raw + UInt(alignment) - 1) & ~UInt(alignment - 1)
        let end = start + UInt(windowBytes)
        if start > raw { munmap(mapping, Int(start - raw)) }
        let reservationEnd = raw + UInt(reservation)
        if reservationEnd > end { munmap(UnsafeMutableRawPointer(bitPattern: end), Int(reservationEnd - end)) }

        let frames = windowBytes / Int(BuddyAllocator.frameSize)
        // Frame records live outside the window (the kernel puts them in
        // memory it reserves at boot); they are never freed.
        let records = UnsafeMutableBufferPointer<BuddyAllocator.FrameRecord>.allocate(
            capacity: BuddyAllocator.metadataCount(frameCount: frames))
        var buddy = BuddyAllocator(base: UInt64(start), frameCount: frames, metadata: records)
        do {
            try buddy.addFreeRange(UInt64(start)..<UInt64(end))
        } catch {
            fatalError("buddy: \(error.description)")
        }
        self.window = start..<end
        self.buddy = buddy
    }

    mutating func allocatePages(order: Int) throws(MemoryError) -> UInt {
        UInt(try buddy.allocate(order: order))
    }

    mutating func freePages(_ address: UInt, order: Int) {
        do {
            try buddy.free(UInt64(address), order: order)
        } catch {
            fatalError("heap returned a bad block \(address) order \(order): \(error.description)")
        }
    }
}
