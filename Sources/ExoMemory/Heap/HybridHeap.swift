/// The kernel heap: per-CPU magazines in front of per-class slabs, whole
/// buddy pages for large blocks.
///
/// ```
/// allocate(64) ──> CPU cache: magazine for class 64 (no lock)
///                    │ empty: refill 32 objects
///                    ▼
///                  class 64 spans (64 KiB slabs, class lock; free objects
///                    │ in a bitmap in each span's header)
///                    │ no partial span: new span
///                    ▼
///                  page source (buddy, source lock)       <── allocate(> 2 KiB)
/// ```
/// Invariants:
/// - An object is in exactly one place: with the user, in one magazine,
///   or free in its span (bitmap bit set).
/// - An object in a magazine holds `address ^ secret` in its first word
///   (the free marker); `allocate` clears it. Freeing an object whose first
///   word is already its marker is a double free. Objects back in their span
///   are caught by the bitmap when a flush finds their bit already set.
/// - `pageClass[page]` is class + 1 for every page of a small span, else 0;
///   `pageOrder[page]` is the order of a large block starting there, else
///   `notLargeBlock`. Free uses them to reject foreign and interior pointers.
///
/// The heap is a struct of pointers into metadata pages it takes from its
/// source at creation; copies share the same heap. Caches are indexed
/// 0..<cacheCount: the kernel uses one per CPU (interrupts off while in
/// use), host programs one per thread. Two threads must never use one cache
/// at the same time.
public struct HybridHeap<Source: HeapPageSource> {
    /// Everything the heap knows, in its own cache lines of the metadata
    /// block: the heap value itself is one pointer, so passing it around
    /// (to the slow paths, through the kernel's globals) copies 8 bytes,
    /// not 120.
    @usableFromInline struct Fields {
        @usableFromInline var windowBase: UInt
        @usableFromInline var windowSize: UInt
        @usableFromInline var secret: UInt
        @usableFromInline var cacheCount: Int
        @usableFromInline var pageClass: UnsafeMutablePointer<UInt8>
        @usableFromInline var pageOrder: UnsafeMutablePointer<UInt8>
        @usableFromInline var fastTable: UnsafeMutablePointer<UInt8>
        @usableFromInline var classInfo: UnsafeMutablePointer<SizeClassInfo>
        @usableFromInline var magazineCounts: UnsafeMutablePointer<Int>
        @usableFromInline var magazineSlots: UnsafeMutablePointer<UInt>
        @usableFromInline var central: UnsafeMutablePointer<CentralClass>
        @usableFromInline var shared: UnsafeMutablePointer<SharedState>
        @usableFromInline var lockWords: UnsafeMutableRawPointer
        @usableFromInline var metadataBlock: (address: UInt, order: Int)
    }
    @usableFromInline let fields: UnsafeMutablePointer<Fields>
    @inlinable var windowBase: UInt { fields.pointee.windowBase }
    @inlinable var windowSize: UInt { fields.pointee.windowSize }
    @inlinable var secret: UInt { fields.pointee.secret }
    @inlinable var cacheCount: Int { fields.pointee.cacheCount }
    @inlinable var pageClass: UnsafeMutablePointer<UInt8> { fields.pointee.pageClass }
    @inlinable var pageOrder: UnsafeMutablePointer<UInt8> { fields.pointee.pageOrder }
    @inlinable var fastTable: UnsafeMutablePointer<UInt8> { fields.pointee.fastTable }
    @inlinable var classInfo: UnsafeMutablePointer<SizeClassInfo> { fields.pointee.classInfo }
    @inlinable var magazineCounts: UnsafeMutablePointer<Int> { fields.pointee.magazineCounts }
    @inlinable var magazineSlots: UnsafeMutablePointer<UInt> { fields.pointee.magazineSlots }
    @inlinable var central: UnsafeMutablePointer<CentralClass> { fields.pointee.central }
    @inlinable var shared: UnsafeMutablePointer<SharedState> { fields.pointee.shared }
    @inlinable var lockWords: UnsafeMutableRawPointer { fields.pointee.lockWords }
    @inlinable var metadataBlock: (address: UInt, order: Int) { fields.pointee.metadataBlock }

    @inlinable static var classCount: Int { HeapSizeClasses.count }
    @usableFromInline static var notLargeBlock: UInt8 { 0xFF }

    /// Per-class slab state, guarded by that class's lock.
    @usableFromInline
    struct CentralClass {
        /// Spans with at least one free object (doubly linked through headers).
        var partialHead: UInt = 0
        var spanCount = 0
        var emptySpanCount = 0
        var freeInSpans = 0
        /// Every span of the class, for statistics and the heap check.
        var allHead: UInt = 0
    }

    /// State shared by all CPUs, guarded by the source lock.
    @usableFromInline
    struct SharedState {
        var source: Source
        var largeBlocks = 0
        var largePages = 0
        var spanPages = 0
    }

    /// Creates a heap drawing on `source`, with `cacheCount` CPU caches.
    /// `secret` seeds the free markers (use a random value).
    public init(source: Source, cacheCount: Int, secret: UInt) throws(MemoryError) {
        precondition(cacheCount > 0)
        var source = source
        let window = source.window
        precondition(window.lowerBound % UInt(HybridHeapLayout.spanSize) == 0, "window must be span aligned")
        let pages = Int((window.upperBound - window.lowerBound) / UInt(HybridHeapLayout.pageSize))
        let classes = HeapSizeClasses.count
        // Lay out all metadata in one block from the source.
        var layout = MetadataLayout()
        let fieldsOffset = layout.reserve((MemoryLayout<Fields>.size + 63) / 64 * 64, alignment: 64)  // own cache lines: read by every fast path
        let sharedOffset = layout.reserve(MemoryLayout<SharedState>.size, alignment: 64)
        let centralOffset = layout.reserve(MemoryLayout<CentralClass>.stride * classes, alignment: 16)
        let infoOffset = layout.reserve(MemoryLayout<SizeClassInfo>.stride * (classes + 1), alignment: 16)
        let countsOffset = layout.reserve(8 * cacheCount * classes, alignment: 64)
        let slotsOffset = layout.reserve(8 * cacheCount * classes * HybridHeapLayout.magazineCapacity, alignment: 64)
        let locksOffset = layout.reserve(64 * (classes + 1), alignment: 64)
        let tableOffset = layout.reserve(HeapSizeClasses.fastTableCount, alignment: 16)
        let pageClassOffset = layout.reserve(pages, alignment: 16)
        let pageOrderOffset = layout.reserve(pages, alignment: 16)
        var order = 0
        while (HybridHeapLayout.pageSize << order) < layout.size { order += 1 }
        let block = try source.allocatePages(order: order)
        let base = UnsafeMutableRawPointer(bitPattern: block)!
        base.initializeMemory(as: UInt8.self, repeating: 0, count: HybridHeapLayout.pageSize << order)

        let fieldsPointer = (base + fieldsOffset).bindMemory(to: Fields.self, capacity: 1)
        fieldsPointer.initialize(to: Fields(
            windowBase: window.lowerBound,
            windowSize: window.upperBound - window.lowerBound,
            secret: secret | 1,
            cacheCount: cacheCount,
            pageClass: (base + pageClassOffset).bindMemory(to: UInt8.self, capacity: pages),
            pageOrder: (base + pageOrderOffset).bindMemory(to: UInt8.self, capacity: pages),
            fastTable: (base + tableOffset).bindMemory(to: UInt8.self, capacity: HeapSizeClasses.fastTableCount),
            classInfo: (base + infoOffset).bindMemory(to: SizeClassInfo.self, capacity: classes + 1),
            magazineCounts: (base + countsOffset).bindMemory(to: Int.self, capacity: cacheCount * classes),
            magazineSlots: (base + slotsOffset).bindMemory(to: UInt.self, capacity: cacheCount * classes * HybridHeapLayout.magazineCapacity),
            central: (base + centralOffset).bindMemory(to: CentralClass.self, capacity: classes),
            shared: (base + sharedOffset).bindMemory(to: SharedState.self, capacity: 1),
            lockWords: base + locksOffset,
            metadataBlock: (block, order)))
        fields = fieldsPointer

        central.initialize(repeating: CentralClass(), count: classes)
        for (index, size) in HeapSizeClasses.sizes.enumerated() {
            (classInfo + index).initialize(to: SizeClassInfo(objectSize: size))
        }
        for index in 0...classes { _ = SpinLock(initializingAt: lockWords + 64 * index) }
        for size in 0...HeapSizeClasses.fastTableLimit {
            let slot = (size + 7) / 8
            fastTable[slot] = UInt8(HeapSizeClasses.classIndex(size: size, alignment: 8)!)
            fastTable[slot + HeapSizeClasses.fastTableHalf] = UInt8(HeapSizeClasses.classIndex(size: size, alignment: 16)!)
        }
        pageOrder.update(repeating: Self.notLargeBlock, count: pages)
        // The metadata block itself stays unmarked, so freeing into it is
        // refused like any foreign pointer.
        shared.initialize(to: SharedState(source: source))
    }

    @usableFromInline
    func classLock(_ sizeClass: Int) -> SpinLock { SpinLock(existingAt: lockWords + 64 * sizeClass) }
    @usableFromInline
    var sourceLock: SpinLock { SpinLock(existingAt: lockWords + 64 * Self.classCount) }

    // MARK: Fast paths

    /// The fast path alone: an object from `cache`'s magazine, or nil when
    /// the request needs the slow path (empty magazine, big size or alignment).
    /// Checks first (table-sized request, object cached), then commit: pop
    /// and clear the free marker. Non-throwing, so callers can tail-call the
    /// slow path and this stays free of register saves.
    @inlinable @inline(__always)
    public func allocateFromCache(size: Int, alignment: Int = 16, cache: Int) -> UnsafeMutableRawPointer? {
        if size <= HeapSizeClasses.fastTableLimit && alignment <= 16 {
            let sizeClass = Int(fastTable[HeapSizeClasses.fastTableIndex(size: size, alignment: alignment)])
            let magazine = cache &* Self.classCount &+ sizeClass
            let count = magazineCounts[magazine]
            if count != 0 {
                let object = magazineSlots[magazine &* HybridHeapLayout.magazineCapacity &+ count &- 1]
                magazineCounts[magazine] = count &- 1
                let pointer = UnsafeMutablePointer<UInt>(bitPattern: object).unsafelyUnwrapped
                pointer.pointee = 0
                return UnsafeMutableRawPointer(pointer)
            }
        }
        return nil
    }

    /// `size` bytes aligned to `alignment` (a power of two), from CPU cache
    /// `cache`. Throws `.outOfMemory` when the source is exhausted and
    /// `.invalidRequest` for a bad alignment or cache index.
    @inlinable @inline(__always)
    public func allocate(size: Int, alignment: Int = 16, cache: Int) throws(MemoryError) -> UnsafeMutableRawPointer {
        if let pointer = allocateFromCache(size: size, alignment: alignment, cache: cache) { return pointer }
        return try allocateSlow(size: size, alignment: alignment, cache: cache)
    }

    /// The fast path alone: true if `pointer` went into `cache`'s magazine;
    /// false (nothing changed) when `free` must take the slow path. Checks
    /// first (inside the window, on a small-span page, at an object start,
    /// not already carrying its free marker, room in the magazine), then
    /// commit: mark and push.
    @inlinable @inline(__always)
    public func freeToCache(_ pointer: UnsafeMutableRawPointer, cache: Int) -> Bool {
        let address = UInt(bitPattern: pointer)
        let offset = address &- windowBase
        if offset < windowSize {
            let classPlusOne = Int(pageClass[Int(offset &>> 12)])
            if classPlusOne != 0 {
                let sizeClass = classPlusOne &- 1
                let word = pointer.assumingMemoryBound(to: UInt.self)
                if classInfo[sizeClass].isObjectStart(address & UInt(HybridHeapLayout.spanSize &- 1))
                    && word.pointee != address ^ secret {
                    let magazine = cache &* Self.classCount &+ sizeClass
                    let count = magazineCounts[magazine]
                    if count != HybridHeapLayout.magazineCapacity {
                        word.pointee = address ^ secret
                        magazineSlots[magazine &* HybridHeapLayout.magazineCapacity &+ count] = address
                        magazineCounts[magazine] = count &+ 1
                        return true
                    }
                }
            }
        }
        return false
    }

    /// Returns `pointer` (from `allocate` on any cache) to CPU cache `cache`.
    /// Throws `.doubleFree` or `.notAllocated` (foreign or interior pointer)
    /// and leaves the heap unchanged in that case.
    @inlinable @inline(__always)
    public func free(_ pointer: UnsafeMutableRawPointer, cache: Int) throws(MemoryError) {
        if freeToCache(pointer, cache: cache) { return }
        try freeSlow(pointer, cache: cache)
    }
}

/// Offsets of the heap's metadata structures within one block.
struct MetadataLayout {
    private(set) var size = 0
    mutating func reserve(_ bytes: Int, alignment: Int) -> Int {
        let start = (size + alignment - 1) / alignment * alignment
        size = start + bytes
        return start
    }
}
