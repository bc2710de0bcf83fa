import ExoKit
import ExoMemory
#if canImport(Glibc)
import Glibc
#endif

/// A page source over a host allocation: a page bitmap searched first-fit
/// for naturally aligned runs. Simple rather than fast; `pageLimit` caps how
/// many pages it will hand out, to test exhaustion.
struct TestPageSource: HeapPageSource {
    let window: Range<UInt>
    private var used: [Bool]
    var pageLimit: Int
    private(set) var pagesOut = 0

    init(megabytes: Int, pageLimit: Int = .max) {
        var memory: UnsafeMutableRawPointer? = nil
        let bytes = megabytes << 20
        precondition(posix_memalign(&memory, 4 << 20, bytes) == 0)
        let base = UInt(bitPattern: memory)
        window = base..<(base + UInt(bytes))
        used = Array(repeating: false, count: bytes / 4096)
        self.pageLimit = pageLimit
    }

    mutating func allocatePages(order: Int) throws(MemoryError) -> UInt {
        let count = 1 << order
        guard pagesOut + count <= pageLimit else { throw .outOfMemory }
        var start = 0
        while start + count <= used.count {
            if !used[start..<(start + count)].contains(true) {
                for page in start..<(start + count) { used[page] = true }
                pagesOut += count
                return window.lowerBound + UInt(start * 4096)
            }
            start += count
        }
        throw .outOfMemory
    }

    mutating func freePages(_ address: UInt, order: Int) {
        let start = Int((address - window.lowerBound) / 4096)
        for page in start..<(start + (1 << order)) {
            precondition(used[page], "test source: freeing a free page")
            used[page] = false
        }
        pagesOut -= 1 << order
    }
}

/// SeededRandom: a small deterministic generator for randomized tests.
typealias SeededRandom = SplitMix64

/// A page source like the kernel's: a BuddyAllocator over a host window,
/// its "physical" addresses being the host addresses themselves.
struct BuddyPageSource: HeapPageSource {
    let window: Range<UInt>
    var buddy: BuddyAllocator

    init(megabytes: Int) {
        var memory: UnsafeMutableRawPointer? = nil
        let bytes = megabytes << 20
        precondition(posix_memalign(&memory, 4 << 20, bytes) == 0)
        let base = UInt(bitPattern: memory)
        window = base..<(base + UInt(bytes))
        let frames = bytes / 4096
        let metadata = UnsafeMutableBufferPointer<BuddyAllocator.FrameRecord>.allocate(capacity: BuddyAllocator.metadataCount(frameCount: frames))
        buddy = BuddyAllocator(base: UInt64(base), frameCount: frames, metadata: metadata)
        try! buddy.addFreeRange(UInt64(base)..<UInt64(base + UInt(bytes)))
    }

    mutating func allocatePages(order: Int) throws(MemoryError) -> UInt {
        UInt(try buddy.allocate(order: order))
    }

    mutating func freePages(_ address: UInt, order: Int) {
        try! buddy.free(UInt64(address), order: order)
    }
}
