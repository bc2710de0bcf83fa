import CExoArch
import ExoKit

/// The boot heap: serves the Swift runtime until the frame allocator and the
/// kernel heap exist (boot-information parsing runs before them), then only
/// takes back what it handed out. Power-of-two size classes carved from a
/// fixed arena (section .early_heap).
///
/// - Blocks of 16 B ... 2 KiB come from pages dedicated to one size class;
///   blocks of 4 KiB and up are whole pages. Every block is aligned to
///   min(its size, 4 KiB), which is how `posix_memalign` alignments up to
///   4 KiB are honoured.
/// - Freed blocks go on a per-class free list and are reused first.
/// - The first arena page is metadata: one class byte per arena page (so
///   `free` finds a block's size without a header) and the list heads.
/// Freeing a pointer the heap never handed out is reported and stops the
/// kernel: silently accepting it would corrupt memory later.
enum EarlyHeap {
    static let minimumShift = 4                    // 16 bytes
    static let classCount = 24                     // up to 128 MiB
    static let pageSize = 4096
    private static let unusedPage: UInt8 = 0xFF
    private static let continuationPage: UInt8 = 0xFE

    nonisolated(unsafe) private static var initialized = false
    nonisolated(unsafe) private static var bump: UInt = 0
    nonisolated(unsafe) private(set) static var bytesInUse: Int = 0
    nonisolated(unsafe) private(set) static var allocationCount: Int = 0

    private static var arenaStart: UInt { UInt(exo_early_heap_start_address()) }
    private static var arenaEnd: UInt { UInt(exo_early_heap_end_address()) }
    private static var pageCount: Int { Int(arenaEnd - arenaStart) / pageSize }

    // Safety: the metadata page is the arena's first page, owned by this file.
    private static var pageClasses: UnsafeMutablePointer<UInt8> { UnsafeMutablePointer(bitPattern: arenaStart)! }
    private static var freeLists: UnsafeMutablePointer<UInt> {
        UnsafeMutablePointer(bitPattern: arenaStart + UInt(pageSize - classCount * 8))!
    }

    private static func initialize() {
        precondition(pageCount <= pageSize - classCount * 8, "metadata page too small for the arena")
        pageClasses.initialize(repeating: unusedPage, count: pageCount)
        freeLists.initialize(repeating: 0, count: classCount)
        bump = arenaStart + UInt(pageSize)
        initialized = true
    }

    static func sizeClass(for size: Int, alignment: Int) -> Int? {
        let needed = max(size, alignment, 1 << minimumShift)
        var shift = minimumShift
        while (1 << shift) < needed { shift += 1 }
        let sizeClass = shift - minimumShift
        return sizeClass < classCount ? sizeClass : nil
    }

    /// A block of at least `size` bytes aligned to `alignment` (a power of
    /// two, at most 4096), or nil when the arena is exhausted.
    static func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
        if !initialized { initialize() }
        guard alignment <= pageSize, let sizeClass = sizeClass(for: size, alignment: alignment) else { return nil }
        let blockSize = 1 << (sizeClass + minimumShift)
        if freeLists[sizeClass] == 0 && !refill(sizeClass: sizeClass, blockSize: blockSize) { return nil }
        let block = freeLists[sizeClass]
        freeLists[sizeClass] = UnsafeMutablePointer<UInt>(bitPattern: block)!.pointee
        bytesInUse += blockSize
        allocationCount += 1
        return UnsafeMutableRawPointer(bitPattern: block)
    }

    /// Whether `pointer` lies in the early heap's arena.
    static func contains(_ pointer: UnsafeMutableRawPointer) -> Bool {
        let address = UInt(bitPattern: pointer)
        return address >= arenaStart && address < arenaEnd
    }

    static func free(_ pointer: UnsafeMutableRawPointer) {
        let address = UInt(bitPattern: pointer)
        guard initialized, address >= arenaStart + UInt(pageSize), address < bump else {
            panic("heap: free of a pointer the heap never allocated: \(Hex.string(UInt64(address)))")
        }
        let sizeClass = pageClasses[Int(address - arenaStart) / pageSize]
        guard Int(sizeClass) < classCount else {
            panic("heap: free of a pointer inside no block: \(Hex.string(UInt64(address)))")
        }
        let blockSize = 1 << (Int(sizeClass) + minimumShift)
        guard address % UInt(min(blockSize, pageSize)) == 0 else {
            panic("heap: free of an interior pointer: \(Hex.string(UInt64(address)))")
        }
        UnsafeMutablePointer<UInt>(bitPattern: address)!.pointee = freeLists[Int(sizeClass)]
        freeLists[Int(sizeClass)] = address
        bytesInUse -= blockSize
        allocationCount -= 1
    }

    /// Takes fresh pages from the bump pointer for `sizeClass`.
    private static func refill(sizeClass: Int, blockSize: Int) -> Bool {
        let bytes = max(blockSize, pageSize)
        guard arenaEnd - bump >= UInt(bytes) else { return false }
        let start = bump
        bump += UInt(bytes)
        let firstPage = Int(start - arenaStart) / pageSize
        pageClasses[firstPage] = UInt8(sizeClass)
        for page in 1..<(bytes / pageSize) { pageClasses[firstPage + page] = continuationPage }
        // Thread the new blocks onto the free list, lowest address first.
        var offset = bytes - blockSize
        while offset >= 0 {
            let block = start + UInt(offset)
            UnsafeMutablePointer<UInt>(bitPattern: block)!.pointee = freeLists[sizeClass]
            freeLists[sizeClass] = block
            offset -= blockSize
        }
        return true
    }
}
