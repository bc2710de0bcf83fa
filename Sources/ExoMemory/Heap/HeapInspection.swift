import ExoKit

/// Statistics, draining and the full consistency check.
extension HybridHeap {
    /// A snapshot of the heap's occupancy. Plain numbers, no arrays: taking
    /// one must not allocate from the heap it describes (in the kernel, that
    /// would change the very counts being read).
    public struct Statistics: Equatable, Sendable {
        /// Bytes users hold: small objects at their class size plus large blocks.
        public var bytesInUse = 0
        /// Small objects users hold.
        public var objectsInUse = 0
        /// Freed objects waiting in CPU magazines.
        public var objectsCached = 0
        public var objectsFreeInSpans = 0
        public var spans = 0
        /// The most spans any one class holds.
        public var largestClassSpanCount = 0
        public var largeBlocks = 0
        public var largePages = 0
        /// Pages held in small-object spans.
        public var spanPages = 0
        /// Pages the heap holds from its source (excluding its own metadata).
        public var pagesHeld: Int { spanPages + largePages }
    }

    /// Occupancy of one size class.
    public struct ClassStatistics: Equatable, Sendable {
        public var objectSize: Int
        public var spans: Int
        public var objectsInUse: Int
        public var objectsCached: Int
        public var objectsFreeInSpans: Int
    }

    /// Class `index`'s occupancy, read under its lock.
    public func statistics(sizeClass index: Int) -> ClassStatistics {
        let lock = classLock(index)
        lock.lock()
        defer { lock.unlock() }
        let state = central[index]
        var cached = 0
        for cache in 0..<cacheCount { cached += magazineCounts[cache * Self.classCount + index] }
        let total = state.spanCount * Int(classInfo[index].objectCount)
        return ClassStatistics(objectSize: Int(classInfo[index].objectSize), spans: state.spanCount,
                               objectsInUse: total - state.freeInSpans - cached, objectsCached: cached,
                               objectsFreeInSpans: state.freeInSpans)
    }

    /// Reads every class under its lock. Consistent per class; other CPUs
    /// may change other classes meanwhile.
    public func statistics() -> Statistics {
        var result = Statistics()
        for index in 0..<Self.classCount {
            let one = statistics(sizeClass: index)
            result.bytesInUse += one.objectsInUse * one.objectSize
            result.objectsInUse += one.objectsInUse
            result.objectsCached += one.objectsCached
            result.objectsFreeInSpans += one.objectsFreeInSpans
            result.spans += one.spans
            result.largestClassSpanCount = max(result.largestClassSpanCount, one.spans)
        }
        let lock = sourceLock
        lock.lock()
        defer { lock.unlock() }
        result.largeBlocks = shared.pointee.largeBlocks
        result.largePages = shared.pointee.largePages
        result.spanPages = shared.pointee.spanPages
        result.bytesInUse += result.largePages * HybridHeapLayout.pageSize
        return result
    }

    /// Returns every object in `cache`'s magazines to its span (and so
    /// empty spans beyond one per class to the source).
    public func drain(cache: Int) throws(MemoryError) {
        for sizeClass in 0..<Self.classCount {
            let magazine = cache * Self.classCount + sizeClass
            try flush(magazine: magazine, sizeClass: sizeClass, count: magazineCounts[magazine])
        }
    }

    /// Checks every invariant in the type's documentation, with all locks
    /// held (so no CPU may be inside the heap's fast path on the caller's
    /// cache). Returns nil if consistent, else the first problem found.
    ///
    /// Nothing here allocates while the locks are held: in the kernel this
    /// heap is also the allocator of the code calling it, so an allocation
    /// would spin on a held lock or change the magazines under inspection.
    public func verify() -> String? {
        for sizeClass in 0..<Self.classCount { classLock(sizeClass).lock() }
        sourceLock.lock()
        var problem: HeapProblem? = nil
        for sizeClass in 0..<Self.classCount where problem == nil {
            problem = verifyClass(sizeClass)
        }
        sourceLock.unlock()
        for sizeClass in 0..<Self.classCount { classLock(sizeClass).unlock() }
        return problem?.description
    }

    /// A failed check: what, and the numbers that show it (formatted only
    /// after the locks are released).
    struct HeapProblem {
        let what: StaticString
        let address: UInt
        let objectSize: UInt
        var description: String {
            "\(what.description) (address \(Hex.string(UInt64(address))), class \(objectSize))"
        }
    }

    private func verifyClass(_ sizeClass: Int) -> HeapProblem? {
        let info = classInfo[sizeClass]
        let state = central[sizeClass]
        func problem(_ what: StaticString, _ address: UInt) -> HeapProblem {
            HeapProblem(what: what, address: address, objectSize: info.objectSize)
        }
        let wordCount = (Int(info.objectCount) + 63) / 64
        var spans = 0, free = 0, empty = 0
        var span = state.allHead
        while span != 0 {
            spans += 1
            if spans > state.spanCount { return problem("span list longer than its count", span) }
            let spanHeader = header(ofSpan: span).pointee
            if spanHeader.sizeClass != sizeClass { return problem("span header names another class", span) }
            let firstPage = pageIndex(span)
            for page in 0..<(1 << HybridHeapLayout.spanOrder) where pageClass[firstPage + page] != UInt8(sizeClass + 1) {
                return problem("span page not marked with its class", span)
            }
            let words = bitmap(ofSpan: span)
            var bits = 0
            for index in 0..<wordCount { bits += words[index].nonzeroBitCount }
            let lastBits = Int(info.objectCount) - (wordCount - 1) * 64
            if lastBits < 64 && words[wordCount - 1] >> UInt64(lastBits) != 0 { return problem("bitmap bits past the last object", span) }
            if bits != spanHeader.freeCount { return problem("span free count disagrees with its bitmap", span) }
            if spanHeader.onPartialList != (bits > 0) { return problem("span partial-list membership wrong", span) }
            if bits == Int(info.objectCount) { empty += 1 }
            free += bits
            span = spanHeader.nextAll
        }
        if spans != state.spanCount { return problem("span count disagrees with the span list", 0) }
        if free != state.freeInSpans { return problem("free-object counter disagrees with the bitmaps", 0) }
        if empty != state.emptySpanCount { return problem("empty-span counter disagrees with the spans", 0) }
        // Magazine objects: a valid object start of this class, marker set,
        // not free in its span, and in no other magazine slot. Each checked
        // object's bit is set as a "seen" mark, then cleared in a second pass
        // over the same objects.
        var found: HeapProblem? = nil
        var checked = 0
        outer: for cache in 0..<cacheCount {
            let magazine = cache * Self.classCount + sizeClass
            for slot in 0..<magazineCounts[magazine] {
                let object = magazineSlots[magazine * HybridHeapLayout.magazineCapacity + slot]
                let offset = object &- windowBase
                guard offset < windowSize, pageClass[Int(offset >> 12)] == UInt8(sizeClass + 1),
                      info.isObjectStart(object & UInt(HybridHeapLayout.spanSize - 1)) else {
                    found = problem("magazine holds something that is not an object of its class", object); break outer
                }
                if UnsafeMutablePointer<UInt>(bitPattern: object)!.pointee != object ^ secret {
                    found = problem("magazine object lost its free marker (written after free?)", object); break outer
                }
                let (words, mask) = bit(of: object, info: info)
                if words.pointee & mask != 0 {
                    found = problem("object both cached and free in its span, or cached twice", object); break outer
                }
                words.pointee |= mask
                checked += 1
            }
        }
        for cache in 0..<cacheCount where checked > 0 {
            let magazine = cache * Self.classCount + sizeClass
            for slot in 0..<magazineCounts[magazine] where checked > 0 {
                let (words, mask) = bit(of: magazineSlots[magazine * HybridHeapLayout.magazineCapacity + slot], info: info)
                words.pointee &= ~mask
                checked -= 1
            }
        }
        return found
    }

    /// The bitmap word and mask for `object` in its span.
    private func bit(of object: UInt, info: SizeClassInfo) -> (UnsafeMutablePointer<UInt64>, UInt64) {
        let spanBase = object & ~UInt(HybridHeapLayout.spanSize - 1)
        let index = Int((object - spanBase - info.firstObjectOffset) / info.objectSize)
        return (bitmap(ofSpan: spanBase) + (index >> 6), 1 << UInt64(index & 63))
    }
}
