/// Statistics, draining and the full consistency check.
extension HybridHeap {
    /// A snapshot of the heap's occupancy.
    public struct Statistics: Equatable, Sendable {
        public struct SizeClass: Equatable, Sendable {
            public var objectSize: Int
            public var spans: Int
            /// Objects handed to users and not yet freed.
            public var objectsInUse: Int
            /// Freed objects waiting in CPU magazines.
            public var objectsCached: Int
            public var objectsFreeInSpans: Int
        }
        public var classes: [SizeClass]
        public var largeBlocks: Int
        public var largePages: Int
        /// Pages held in small-object spans.
        public var spanPages: Int

        /// Bytes users hold: small objects at their class size plus large blocks.
        public var bytesInUse: Int {
            classes.reduce(0) { $0 + $1.objectsInUse * $1.objectSize } + largePages * HybridHeapLayout.pageSize
        }
        /// Pages the heap holds from its source (excluding its own metadata).
        public var pagesHeld: Int { spanPages + largePages }
    }

    /// Reads every class under its lock. Consistent per class; other CPUs
    /// may change other classes meanwhile.
    public func statistics() -> Statistics {
        var classes: [Statistics.SizeClass] = []
        for sizeClass in 0..<Self.classCount {
            let lock = classLock(sizeClass)
            lock.lock()
            let state = central[sizeClass]
            var cached = 0
            for cache in 0..<cacheCount { cached += magazineCounts[cache * Self.classCount + sizeClass] }
            lock.unlock()
            let total = state.spanCount * Int(classInfo[sizeClass].objectCount)
            classes.append(.init(objectSize: Int(classInfo[sizeClass].objectSize), spans: state.spanCount,
                                 objectsInUse: total - state.freeInSpans - cached,
                                 objectsCached: cached, objectsFreeInSpans: state.freeInSpans))
        }
        let lock = sourceLock
        lock.lock()
        defer { lock.unlock() }
        return Statistics(classes: classes, largeBlocks: shared.pointee.largeBlocks,
                          largePages: shared.pointee.largePages, spanPages: shared.pointee.spanPages)
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
    public func verify() -> String? {
        for sizeClass in 0..<Self.classCount { classLock(sizeClass).lock() }
        sourceLock.lock()
        defer {
            sourceLock.unlock()
            for sizeClass in 0..<Self.classCount { classLock(sizeClass).unlock() }
        }
        for sizeClass in 0..<Self.classCount {
            if let problem = verifyClass(sizeClass) { return problem }
        }
        return nil
    }

    private func verifyClass(_ sizeClass: Int) -> String? {
        let info = classInfo[sizeClass]
        let state = central[sizeClass]
        let wordCount = (Int(info.objectCount) + 63) / 64
        var spans = 0, free = 0, empty = 0
        var span = state.allHead
        while span != 0 {
            spans += 1
            if spans > state.spanCount { return "class \(info.objectSize): span list longer than its count" }
            let spanHeader = header(ofSpan: span).pointee
            if spanHeader.sizeClass != sizeClass { return "span \(span): wrong class in header" }
            let firstPage = pageIndex(span)
            for page in 0..<(1 << HybridHeapLayout.spanOrder) where pageClass[firstPage + page] != UInt8(sizeClass + 1) {
                return "span \(span): page \(page) not marked with its class"
            }
            let words = bitmap(ofSpan: span)
            var bits = 0
            for index in 0..<wordCount { bits += words[index].nonzeroBitCount }
            let lastBits = Int(info.objectCount) - (wordCount - 1) * 64
            if lastBits < 64 && words[wordCount - 1] >> UInt64(lastBits) != 0 { return "span \(span): bitmap bits past the last object" }
            if bits != spanHeader.freeCount { return "span \(span): free count \(spanHeader.freeCount) but \(bits) bits set" }
            if spanHeader.onPartialList != (bits > 0) { return "span \(span): partial-list membership wrong" }
            if bits == Int(info.objectCount) { empty += 1 }
            free += bits
            span = spanHeader.nextAll
        }
        if spans != state.spanCount { return "class \(info.objectSize): \(spans) spans listed, count says \(state.spanCount)" }
        if free != state.freeInSpans { return "class \(info.objectSize): \(free) free bits, counter says \(state.freeInSpans)" }
        if empty != state.emptySpanCount { return "class \(info.objectSize): \(empty) empty spans, counter says \(state.emptySpanCount)" }
        // Magazine objects: a valid object start of this class, marker set,
        // not free in the span, and in no other magazine slot. Mark each
        // as seen by setting its bit, then clear those bits again.
        var seen: [UInt] = []
        var problem: String? = nil
        for cache in 0..<cacheCount where problem == nil {
            let magazine = cache * Self.classCount + sizeClass
            for slot in 0..<magazineCounts[magazine] {
                let object = magazineSlots[magazine * HybridHeapLayout.magazineCapacity + slot]
                let offset = object &- windowBase
                guard offset < windowSize, pageClass[Int(offset >> 12)] == UInt8(sizeClass + 1),
                      info.isObjectStart(object & UInt(HybridHeapLayout.spanSize - 1)) else {
                    problem = "magazine holds \(object), not an object of class \(info.objectSize)"; break
                }
                if UnsafeMutablePointer<UInt>(bitPattern: object)!.pointee != object ^ secret {
                    problem = "magazine object \(object) lost its free marker (written after free?)"; break
                }
                let spanBase = object & ~UInt(HybridHeapLayout.spanSize - 1)
                let index = Int((object - spanBase - info.firstObjectOffset) / info.objectSize)
                let words = bitmap(ofSpan: spanBase)
                let mask: UInt64 = 1 << UInt64(index & 63)
                if words[index >> 6] & mask != 0 { problem = "object \(object) is both cached and free in its span (or cached twice)"; break }
                words[index >> 6] |= mask
                seen.append(object)
            }
        }
        for object in seen {
            let spanBase = object & ~UInt(HybridHeapLayout.spanSize - 1)
            let index = Int((object - spanBase - info.firstObjectOffset) / info.objectSize)
            bitmap(ofSpan: spanBase)[index >> 6] &= ~(1 << UInt64(index & 63))
        }
        return problem
    }
}
