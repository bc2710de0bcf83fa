/// The heap's slow paths: magazine refill and flush, span creation and
/// release, large blocks, and error classification. All of it runs under
/// the class lock (and, inside, the source lock).
extension HybridHeap {
    /// Span header at the start of every 64 KiB span; the free-object bitmap
    /// (bit set = free in the span) follows at offset 64.
    @usableFromInline
    struct SpanHeader {
        var sizeClass: Int
        var freeCount: Int
        var nextPartial: UInt
        var previousPartial: UInt
        var onPartialList: Bool
        var nextAll: UInt
        var previousAll: UInt
    }

    @usableFromInline
    func header(ofSpan base: UInt) -> UnsafeMutablePointer<SpanHeader> {
        UnsafeMutablePointer<SpanHeader>(bitPattern: base).unsafelyUnwrapped
    }

    func bitmap(ofSpan base: UInt) -> UnsafeMutablePointer<UInt64> {
        UnsafeMutablePointer<UInt64>(bitPattern: base &+ UInt(HybridHeapLayout.spanHeaderSize)).unsafelyUnwrapped
    }

    func pageIndex(_ address: UInt) -> Int { Int((address &- windowBase) >> 12) }

    @usableFromInline
    func allocateSlow(size: Int, alignment: Int, cache: Int) throws(MemoryError) -> UnsafeMutableRawPointer {
        guard alignment > 0, alignment & (alignment - 1) == 0, size >= 0 else { throw .invalidRequest }
        guard cache >= 0 && cache < cacheCount else { throw .invalidRequest }
        guard let sizeClass = HeapSizeClasses.classIndex(size: size, alignment: alignment) else {
            return try allocateLarge(size: size, alignment: alignment)
        }
        let magazine = cache * Self.classCount + sizeClass
        if magazineCounts[magazine] == 0 {
            try refill(magazine: magazine, sizeClass: sizeClass)
        }
        let count = magazineCounts[magazine] - 1
        let object = magazineSlots[magazine * HybridHeapLayout.magazineCapacity + count]
        magazineCounts[magazine] = count
        let pointer = UnsafeMutablePointer<UInt>(bitPattern: object)!
        pointer.pointee = 0
        return UnsafeMutableRawPointer(pointer)
    }

    @usableFromInline
    func freeSlow(_ pointer: UnsafeMutableRawPointer, cache: Int) throws(MemoryError) {
        let address = UInt(bitPattern: pointer)
        guard cache >= 0 && cache < cacheCount else { throw .invalidRequest }
        guard address &- windowBase < windowSize else { throw .notAllocated(UInt64(address)) }
        let page = pageIndex(address)
        let classPlusOne = Int(pageClass[page])
        if classPlusOne == 0 {
            guard pageOrder[page] != Self.notLargeBlock, address & UInt(HybridHeapLayout.pageSize - 1) == 0 else {
                throw .notAllocated(UInt64(address))
            }
            return freeLarge(address, order: Int(pageOrder[page]))
        }
        let sizeClass = classPlusOne - 1
        guard classInfo[sizeClass].isObjectStart(address & UInt(HybridHeapLayout.spanSize - 1)) else {
            throw .notAllocated(UInt64(address))
        }
        let word = pointer.assumingMemoryBound(to: UInt.self)
        if word.pointee == address ^ secret { throw .doubleFree(UInt64(address)) }
        // The magazine is full: return half of it to the spans first.
        let magazine = cache * Self.classCount + sizeClass
        try flush(magazine: magazine, sizeClass: sizeClass, count: HybridHeapLayout.transferBatch)
        word.pointee = address ^ secret
        magazineSlots[magazine * HybridHeapLayout.magazineCapacity + magazineCounts[magazine]] = address
        magazineCounts[magazine] += 1
    }

    /// Moves up to `transferBatch` free objects of `sizeClass` from its
    /// spans into `magazine`, creating a span if none has free objects.
    func refill(magazine: Int, sizeClass: Int) throws(MemoryError) {
        let lock = classLock(sizeClass)
        lock.lock()
        defer { lock.unlock() }
        let info = classInfo[sizeClass]
        var taken = 0
        while taken < HybridHeapLayout.transferBatch {
            var span = central[sizeClass].partialHead
            if span == 0 {
                if taken > 0 { break }
                span = try createSpan(sizeClass: sizeClass)
            }
            let words = bitmap(ofSpan: span)
            let spanHeader = header(ofSpan: span)
            let wordCount = (Int(info.objectCount) + 63) / 64
            if spanHeader.pointee.freeCount == Int(info.objectCount) { central[sizeClass].emptySpanCount -= 1 }
            var index = 0
            while index < wordCount && taken < HybridHeapLayout.transferBatch && spanHeader.pointee.freeCount > 0 {
                while words[index] != 0 && taken < HybridHeapLayout.transferBatch {
                    let bit = words[index].trailingZeroBitCount
                    words[index] &= words[index] - 1
                    let object = span + info.firstObjectOffset + UInt(index * 64 + bit) * info.objectSize
                    // Objects in magazines carry their free marker.
                    UnsafeMutablePointer<UInt>(bitPattern: object)!.pointee = object ^ secret
                    magazineSlots[magazine * HybridHeapLayout.magazineCapacity + magazineCounts[magazine]] = object
                    magazineCounts[magazine] += 1
                    spanHeader.pointee.freeCount -= 1
                    central[sizeClass].freeInSpans -= 1
                    taken += 1
                }
                index += 1
            }
            if spanHeader.pointee.freeCount == 0 { removeFromPartialList(span, sizeClass: sizeClass) }
        }
    }

    /// Returns the top `count` objects of `magazine` to their spans.
    /// A bit already set means the object was free in its span: a double
    /// free that got past the marker check (the object had left the magazine).
    func flush(magazine: Int, sizeClass: Int, count: Int) throws(MemoryError) {
        let lock = classLock(sizeClass)
        lock.lock()
        defer { lock.unlock() }
        let info = classInfo[sizeClass]
        var problem: MemoryError? = nil
        let moving = min(count, magazineCounts[magazine])
        for _ in 0..<moving {
            magazineCounts[magazine] -= 1
            let object = magazineSlots[magazine * HybridHeapLayout.magazineCapacity + magazineCounts[magazine]]
            let span = object & ~UInt(HybridHeapLayout.spanSize - 1)
            let index = Int((object - span - info.firstObjectOffset) / info.objectSize)
            let words = bitmap(ofSpan: span)
            let mask: UInt64 = 1 << UInt64(index & 63)
            if words[index >> 6] & mask != 0 {
                problem = .doubleFree(UInt64(object))
                continue
            }
            words[index >> 6] |= mask
            let spanHeader = header(ofSpan: span)
            spanHeader.pointee.freeCount += 1
            central[sizeClass].freeInSpans += 1
            if !spanHeader.pointee.onPartialList { pushOnPartialList(span, sizeClass: sizeClass) }
            if spanHeader.pointee.freeCount == Int(info.objectCount) {
                central[sizeClass].emptySpanCount += 1
                // Keep one empty span per class to absorb alloc/free churn;
                // give further ones back to the page source.
                if central[sizeClass].emptySpanCount > 1 { releaseSpan(span, sizeClass: sizeClass) }
            }
        }
        if let problem { throw problem }
    }

    func createSpan(sizeClass: Int) throws(MemoryError) -> UInt {
        let span: UInt = try withSource { (source: inout Source) throws(MemoryError) -> UInt in
            let span = try source.allocatePages(order: HybridHeapLayout.spanOrder)
            shared.pointee.spanPages += 1 << HybridHeapLayout.spanOrder
            return span
        }
        let info = classInfo[sizeClass]
        let spanHeader = header(ofSpan: span)
        spanHeader.initialize(to: SpanHeader(sizeClass: sizeClass, freeCount: Int(info.objectCount), nextPartial: 0,
                                             previousPartial: 0, onPartialList: false, nextAll: central[sizeClass].allHead,
                                             previousAll: 0))
        if central[sizeClass].allHead != 0 { header(ofSpan: central[sizeClass].allHead).pointee.previousAll = span }
        central[sizeClass].allHead = span
        let words = bitmap(ofSpan: span)
        let wordCount = (Int(info.objectCount) + 63) / 64
        for index in 0..<wordCount {
            let bitsHere = min(64, Int(info.objectCount) - index * 64)
            words[index] = bitsHere == 64 ? UInt64.max : (UInt64(1) << UInt64(bitsHere)) - 1
        }
        let firstPage = pageIndex(span)
        for page in 0..<(1 << HybridHeapLayout.spanOrder) { pageClass[firstPage + page] = UInt8(sizeClass + 1) }
        central[sizeClass].spanCount += 1
        central[sizeClass].emptySpanCount += 1
        central[sizeClass].freeInSpans += Int(info.objectCount)
        pushOnPartialList(span, sizeClass: sizeClass)
        return span
    }

    func releaseSpan(_ span: UInt, sizeClass: Int) {
        removeFromPartialList(span, sizeClass: sizeClass)
        let spanHeader = header(ofSpan: span).pointee
        if spanHeader.previousAll != 0 { header(ofSpan: spanHeader.previousAll).pointee.nextAll = spanHeader.nextAll }
        else { central[sizeClass].allHead = spanHeader.nextAll }
        if spanHeader.nextAll != 0 { header(ofSpan: spanHeader.nextAll).pointee.previousAll = spanHeader.previousAll }
        central[sizeClass].spanCount -= 1
        central[sizeClass].emptySpanCount -= 1
        central[sizeClass].freeInSpans -= Int(classInfo[sizeClass].objectCount)
        let firstPage = pageIndex(span)
        for page in 0..<(1 << HybridHeapLayout.spanOrder) { pageClass[firstPage + page] = 0 }
        withSource { (source: inout Source) in
            source.freePages(span, order: HybridHeapLayout.spanOrder)
            shared.pointee.spanPages -= 1 << HybridHeapLayout.spanOrder
        }
    }

    func pushOnPartialList(_ span: UInt, sizeClass: Int) {
        let spanHeader = header(ofSpan: span)
        let head = central[sizeClass].partialHead
        spanHeader.pointee.nextPartial = head
        spanHeader.pointee.previousPartial = 0
        spanHeader.pointee.onPartialList = true
        if head != 0 { header(ofSpan: head).pointee.previousPartial = span }
        central[sizeClass].partialHead = span
    }

    func removeFromPartialList(_ span: UInt, sizeClass: Int) {
        let spanHeader = header(ofSpan: span)
        guard spanHeader.pointee.onPartialList else { return }
        let next = spanHeader.pointee.nextPartial
        let previous = spanHeader.pointee.previousPartial
        if previous != 0 { header(ofSpan: previous).pointee.nextPartial = next } else { central[sizeClass].partialHead = next }
        if next != 0 { header(ofSpan: next).pointee.previousPartial = previous }
        spanHeader.pointee.onPartialList = false
    }

    // MARK: Large blocks

    func allocateLarge(size: Int, alignment: Int) throws(MemoryError) -> UnsafeMutableRawPointer {
        let bytes = max(size, alignment, 1)
        var order = 0
        while (HybridHeapLayout.pageSize << order) < bytes {
            order += 1
            if order > 30 { throw .outOfMemory }
        }
        let block: UInt = try withSource { (source: inout Source) throws(MemoryError) -> UInt in
            let block = try source.allocatePages(order: order)
            shared.pointee.largeBlocks += 1
            shared.pointee.largePages += 1 << order
            pageOrder[pageIndex(block)] = UInt8(order)
            return block
        }
        return UnsafeMutableRawPointer(bitPattern: block)!
    }

    func freeLarge(_ address: UInt, order: Int) {
        withSource { (source: inout Source) in
            pageOrder[pageIndex(address)] = Self.notLargeBlock
            shared.pointee.largeBlocks -= 1
            shared.pointee.largePages -= 1 << order
            source.freePages(address, order: order)
        }
    }

    @inline(__always)
    func withSource<R>(_ body: (inout Source) throws(MemoryError) -> R) throws(MemoryError) -> R {
        let lock = sourceLock
        lock.lock()
        defer { lock.unlock() }
        return try body(&shared.pointee.source)
    }

    @inline(__always)
    func withSource(_ body: (inout Source) -> Void) {
        let lock = sourceLock
        lock.lock()
        defer { lock.unlock() }
        body(&shared.pointee.source)
    }
}
