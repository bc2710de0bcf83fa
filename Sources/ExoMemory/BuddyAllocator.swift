import ExoKit

/// The physical frame allocator: a binary buddy system over 4 KiB frames.
///
/// A block of order k is 2^k contiguous frames (order 0 = 4 KiB, order 9 =
/// 2 MiB, order 10 = 4 MiB). Allocation takes the smallest free block that
/// fits and splits it; freeing merges a block with its buddy (the other half
/// of the block of order k+1 it came from) for as long as that buddy is free.
///
/// Metadata lives in a caller-provided buffer of one `FrameRecord` per frame,
/// not in a Swift Array, because the kernel sets this up before it has a heap
/// big enough to hold per-frame data for all of RAM.
///
/// Invariants (all checked by `verify()`):
/// 1. Every frame of the span is in exactly one block, free or allocated, or
///    in none: it is *reserved* (never added, or reserved again).
/// 2. Natural alignment: a block of order k starts at a physical address that
///    is a multiple of 4 KiB * 2^k and lies wholly inside the span. This makes
///    a block's buddy one XOR away, and lets callers map an order-9 block with
///    one 2 MiB page.
/// 3. Only a block's first frame (its *head*) says free or allocated, with
///    the order; its other frames say `.interior` and reserved frames say
///    `.reserved`. Allocating or freeing therefore touches one record per
///    level, never every frame of a block. The block containing a frame is
///    found by trying at most maxOrder+1 aligned candidate heads, and whether
///    a frame is reserved at all is one load (which keeps adding and
///    reserving whole memory regions at boot linear in the frames).
/// 4. Fully coalesced: no free block of order < maxOrder has a free buddy of
///    the same order. Merging happens eagerly on every free and add, so
///    allocation never searches for merge opportunities.
/// 5. Free list k holds exactly the free heads of order k, doubly linked
///    through frame indices so that a buddy can be unlinked in O(1) when it
///    merges. `allocate` and `free` are therefore O(maxOrder).
///
/// The allocator does not own `metadata`: copies of this value share it, so
/// keep exactly one live copy and do not use the buffer elsewhere.
public struct BuddyAllocator {
    /// Bytes per frame.
    public static let frameSize: UInt64 = 4096
    /// The largest order: blocks of up to 2^10 frames = 4 MiB (a 2 MiB page
    /// is order 9).
    public static let maxOrder = 10

    /// Per-frame metadata: 12 bytes (stride) per 4 KiB frame, about 0.3% of
    /// the managed memory.
    public struct FrameRecord: Sendable {
        /// Next and previous free block of the same order (frame indices in
        /// the span, `noLink` at the ends). Meaningful only for a free head.
        var next: UInt32
        var prev: UInt32
        /// The block's order. Meaningful only for a head.
        var order: UInt8
        var state: State

        /// A record for a reserved frame (the state every frame starts in).
        public init() {
            self.init(state: .reserved)
        }

        /// A record that is not a free head (links and order unused).
        init(state: State) {
            self.init(next: BuddyAllocator.noLink, prev: BuddyAllocator.noLink, order: 0, state: state)
        }

        init(next: UInt32, prev: UInt32, order: UInt8, state: State) {
            self.next = next
            self.prev = prev
            self.order = order
            self.state = state
        }
    }

    /// What a frame's record says (invariant 3).
    enum State: UInt8, Sendable {
        /// In no block: never added, or reserved again.
        case reserved
        /// Managed, inside a block but not its first frame.
        case interior
        /// First frame of a free block (on the free list of its order).
        case freeHead
        /// First frame of an allocated block.
        case allocatedHead
    }

    /// A snapshot of the allocator's counters.
    public struct Statistics: Equatable, Sendable {
        /// Frames currently managed: added and not reserved again
        /// (`freeFrames + allocatedFrames`).
        public var totalFrames: Int
        /// Frames in free blocks.
        public var freeFrames: Int
        /// Free blocks per order; `freeBlocks[k]` counts blocks of 2^k frames
        /// (maxOrder+1 entries).
        public var freeBlocks: [Int]
        /// Frames in allocated blocks.
        public var allocatedFrames: Int
    }

    /// Where a frame stands: outside every block, or in a block whose head
    /// and order are given.
    enum Containment {
        case reserved
        case free(head: Int, order: Int)
        case allocated(head: Int, order: Int)
    }

    /// The end-of-list marker in `FrameRecord` links and `heads`; the span
    /// is limited to fewer frames than this.
    static let noLink = UInt32.max

    /// Physical frame number of the span's first frame: alignment and buddies
    /// are computed on physical frame numbers, not on span indices, so blocks
    /// are naturally aligned in physical memory whatever the base is.
    private let baseFrame: UInt64
    private let frameCount: Int
    private let records: UnsafeMutableBufferPointer<FrameRecord>
    /// Head of the free list of each order (maxOrder+1 = 11 entries).
    private var heads: InlineArray<11, UInt32>
    private var freeBlockCounts: InlineArray<11, Int>
    private var freeFrameCount = 0
    private var allocatedFrameCount = 0

    /// Records needed to manage `frameCount` frames: one per frame.
    public static func metadataCount(frameCount: Int) -> Int {
        frameCount
    }

    /// Manages physical [base, base + frameCount*4096); every frame starts
    /// reserved until `addFreeRange` makes it allocatable.
    ///
    /// Preconditions: `base` is 4 KiB aligned; the span does not wrap;
    /// `frameCount < 2^32 - 1` (links are 32-bit); `metadata` holds at least
    /// `metadataCount(frameCount:)` records. The first records are reset
    /// here, so the buffer's previous contents do not matter.
    public init(base: UInt64, frameCount: Int, metadata: UnsafeMutableBufferPointer<FrameRecord>) {
        precondition(Alignment.isAligned(base, to: Self.frameSize), "span base must be 4 KiB aligned")
        precondition(frameCount >= 0 && UInt64(frameCount) < UInt64(Self.noLink), "frame count out of range")
        precondition(base <= UInt64.max - UInt64(frameCount) * Self.frameSize, "span wraps the address space")
        precondition(metadata.count >= Self.metadataCount(frameCount: frameCount), "metadata buffer too small")
        self.baseFrame = base / Self.frameSize
        self.frameCount = frameCount
        self.records = metadata
        self.heads = InlineArray(repeating: Self.noLink)
        self.freeBlockCounts = InlineArray(repeating: 0)
        for index in 0..<frameCount {
            metadata[index] = FrameRecord()
        }
    }

    /// The physical addresses this allocator manages (free, allocated or reserved).
    @inline(__always)
    public var span: Range<UInt64> {
        baseFrame * Self.frameSize..<(baseFrame + UInt64(frameCount)) * Self.frameSize
    }

    // MARK: - Adding and reserving memory

    /// Makes physical [start, end) allocatable, both rounded inward to whole
    /// frames (a partial frame may be shared with something else), and merges
    /// the new frames with free neighbours.
    ///
    /// Frames that are already free stay free, so overlapping regions may be
    /// added. Throws, with nothing changed:
    /// - `.outOfRange` if the rounded range is not inside the span;
    /// - `.inUse` if a frame in it is allocated (adding it would hand it out twice).
    public mutating func addFreeRange(_ range: Range<UInt64>) throws(MemoryError) {
        guard let start = Alignment.alignUp(range.lowerBound, to: Self.frameSize) else {
            throw .outOfRange(range.lowerBound)
        }
        let end = Alignment.alignDown(range.upperBound, to: Self.frameSize)
        if start >= end { return }  // less than one whole frame
        let span = self.span
        guard start >= span.lowerBound else { throw .outOfRange(start) }
        guard end <= span.upperBound else { throw .outOfRange(max(start, span.upperBound)) }
        let first = index(of: start), last = index(of: end)
        try checkNothingAllocated(first..<last)

        // Point of no return: every run of reserved frames becomes free blocks.
        var index = first
        while index < last {
            switch block(containing: index) {
            case .free(let head, let order):
                index = head + (1 << order)
            case .allocated:
                fatalError("checked above: nothing in the range is allocated")
            case .reserved:
                var runEnd = index + 1
                while runEnd < last, records[runEnd].state == .reserved { runEnd += 1 }
                for frame in index..<runEnd { records[frame] = FrameRecord(state: .interior) }
                insertFreeBlocks(index..<runEnd)
                index = runEnd
            }
        }
    }

    /// Takes physical [start, end) out of use again, e.g. for the kernel image
    /// or a boot module found inside an added region: its frames leave the
    /// free lists, and free blocks that straddle the range are split so the
    /// frames outside it stay free.
    ///
    /// The range is rounded outward to whole frames (a frame holding any byte
    /// of it is reserved); parts outside the span are ignored, since those
    /// frames can never be allocated anyway. Frames already reserved stay so.
    /// Throws `.inUse` (nothing changed) if a frame in the range is allocated.
    public mutating func reserveRange(_ range: Range<UInt64>) throws(MemoryError) {
        let span = self.span
        let start = max(Alignment.alignDown(range.lowerBound, to: Self.frameSize), span.lowerBound)
        let end = min(Alignment.alignUp(range.upperBound, to: Self.frameSize) ?? span.upperBound, span.upperBound)
        if range.isEmpty || start >= end { return }
        let first = index(of: start), last = index(of: end)
        try checkNothingAllocated(first..<last)

        // Point of no return: unlink each free block overlapping the range and
        // give back its parts outside the range.
        var index = first
        while index < last {
            switch block(containing: index) {
            case .reserved:
                index += 1
            case .allocated:
                fatalError("checked above: nothing in the range is allocated")
            case .free(let head, let order):
                let blockEnd = head + (1 << order)
                unlinkFree(head)
                for frame in max(head, first)..<min(blockEnd, last) { records[frame] = FrameRecord(state: .reserved) }
                if head < first { insertFreeBlocks(head..<first) }
                if blockEnd > last { insertFreeBlocks(last..<blockEnd) }
                index = blockEnd
            }
        }
    }

    // MARK: - Allocating and freeing

    /// A block of 2^order frames, its physical address aligned to its size.
    ///
    /// Takes the smallest free block of at least `order` and splits it,
    /// returning the upper halves to the free lists. Throws, with nothing
    /// changed, `.invalidRequest` if `order` is not in 0...maxOrder and
    /// `.outOfMemory` if no free block is large enough.
    public mutating func allocate(order: Int) throws(MemoryError) -> UInt64 {
        guard order >= 0 && order <= Self.maxOrder else { throw .invalidRequest }
        var blockOrder = order
        while blockOrder <= Self.maxOrder && heads[blockOrder] == Self.noLink { blockOrder += 1 }
        guard blockOrder <= Self.maxOrder else { throw .outOfMemory }

        // Point of no return.
        let head = Int(heads[blockOrder])
        unlinkFree(head)
        while blockOrder > order {
            // The upper half's buddy is the lower half, which is being
            // allocated, so pushing it without merging keeps invariant 4.
            blockOrder -= 1
            pushFree(head + (1 << blockOrder), order: blockOrder)
        }
        records[head] = FrameRecord(next: Self.noLink, prev: Self.noLink, order: UInt8(order), state: .allocatedHead)
        allocatedFrameCount += 1 << order
        return address(of: head)
    }

    /// Turns an allocated block of 2^order frames into 2^order allocated
    /// single frames, each then freed on its own with order 0 (Linux's
    /// split_page): for memory that must be contiguous when allocated but is
    /// released page by page (a ring's pages, mapped and unmapped by
    /// processes one by one). Throws, changing nothing, unless `address`
    /// heads an allocated block of exactly `order`.
    public mutating func split(_ address: UInt64, order: Int) throws(MemoryError) {
        guard order >= 0 && order <= Self.maxOrder else { throw .invalidRequest }
        guard Alignment.isAligned(address, to: Self.frameSize << UInt64(order)) else { throw .misaligned(address) }
        guard span.contains(address) else { throw .outOfRange(address) }
        let index = self.index(of: address)
        guard index + (1 << order) <= frameCount, records[index].state == .allocatedHead,
              Int(records[index].order) == order else { throw .notAllocated(address) }
        for frame in index..<(index + (1 << order)) {
            records[frame] = FrameRecord(next: Self.noLink, prev: Self.noLink, order: 0, state: .allocatedHead)
        }
    }

    /// Returns a block from `allocate(order:)` with the same order, merging
    /// it with free buddies.
    ///
    /// Throws, with nothing changed:
    /// - `.invalidRequest` for an order outside 0...maxOrder;
    /// - `.misaligned` if `address` is not aligned to the block size;
    /// - `.outOfRange` if the block is not inside the span;
    /// - `.doubleFree` if `address` lies in a free block;
    /// - `.notAllocated` if `address` is not the start of an allocated block
    ///   of exactly this order (reserved, inside a block, or another order).
    public mutating func free(_ address: UInt64, order: Int) throws(MemoryError) {
        guard order >= 0 && order <= Self.maxOrder else { throw .invalidRequest }
        guard Alignment.isAligned(address, to: Self.frameSize << UInt64(order)) else { throw .misaligned(address) }
        let span = self.span
        guard span.contains(address) else { throw .outOfRange(address) }
        let index = self.index(of: address)
        guard index + (1 << order) <= frameCount else { throw .outOfRange(address) }
        let record = records[index]
        guard record.state == .allocatedHead else {
            if case .free = block(containing: index) { throw .doubleFree(address) }
            throw .notAllocated(address)
        }
        guard Int(record.order) == order else { throw .notAllocated(address) }

        // Point of no return.
        allocatedFrameCount -= 1 << order
        insertFreeBlock(index, order: order)
    }

    /// The current counters.
    public var statistics: Statistics {
        var blocks: [Int] = []
        blocks.reserveCapacity(Self.maxOrder + 1)
        for order in 0...Self.maxOrder { blocks.append(freeBlockCounts[order]) }
        return Statistics(
            totalFrames: freeFrameCount + allocatedFrameCount,
            freeFrames: freeFrameCount,
            freeBlocks: blocks,
            allocatedFrames: allocatedFrameCount)
    }

    // MARK: - Consistency check

    /// Checks invariants 1-5 and the counters, in O(frames). Returns nil if
    /// all hold, else a description of the first violation found.
    public func verify() -> String? {
        // The free lists: well-formed, each node a free head of the list's
        // order, aligned, inside the span, and not mergeable with its buddy.
        var listedBlocks = 0, listedFrames = 0
        for order in 0...Self.maxOrder {
            var count = 0
            var previous = Self.noLink
            var cursor = heads[order]
            while cursor != Self.noLink {
                let place = "free list \(order), block \(count)"
                guard Int(cursor) < frameCount else { return "\(place): link \(cursor) outside the span" }
                // A list longer than the span has a cycle (which is also how a
                // block listed twice shows up).
                guard count < frameCount else { return "free list \(order) has a cycle" }
                let index = Int(cursor)
                let record = records[index]
                let at = Hex.string(address(of: index))
                guard record.state == .freeHead else { return "\(place) at \(at) is not marked free" }
                guard Int(record.order) == order else { return "\(place) at \(at) has order \(record.order)" }
                guard record.prev == previous else { return "\(place) at \(at) has a broken back link" }
                guard isNaturallyAligned(index, order: order) else { return "\(place) at \(at) is misaligned" }
                guard index + (1 << order) <= frameCount else { return "\(place) at \(at) runs past the span" }
                if order < Self.maxOrder, let buddy = buddyIndex(of: index, order: order),
                    records[buddy].state == .freeHead, Int(records[buddy].order) == order
                {
                    return "\(place) at \(at) and its buddy are both free (not coalesced)"
                }
                count += 1
                previous = cursor
                cursor = record.next
            }
            guard count == freeBlockCounts[order] else {
                return "free list \(order) holds \(count) blocks, counter says \(freeBlockCounts[order])"
            }
            listedBlocks += count
            listedFrames += count << order
        }
        guard listedFrames == freeFrameCount else {
            return "free lists hold \(listedFrames) frames, counter says \(freeFrameCount)"
        }

        // Every record: blocks do not overlap, and every free head is listed.
        var index = 0, freeHeads = 0, allocatedFrames = 0
        while index < frameCount {
            let record = records[index]
            let at = Hex.string(address(of: index))
            if record.state == .reserved {
                index += 1
                continue
            }
            guard record.state != .interior else { return "frame at \(at) is marked interior but is in no block" }
            guard Int(record.order) <= Self.maxOrder else { return "block at \(at) has order \(record.order)" }
            let size = 1 << Int(record.order)
            guard index + size <= frameCount else { return "block at \(at) runs past the span" }
            guard isNaturallyAligned(index, order: Int(record.order)) else { return "block at \(at) is misaligned" }
            for inner in (index + 1)..<(index + size) where records[inner].state != .interior {
                let innerAt = Hex.string(address(of: inner))
                return records[inner].state == .reserved
                    ? "block at \(at) contains the reserved frame \(innerAt)"
                    : "block at \(at) overlaps the block at \(innerAt)"
            }
            if record.state == .freeHead { freeHeads += 1 } else { allocatedFrames += size }
            index += size
        }
        guard freeHeads == listedBlocks else {
            return "\(freeHeads) blocks are marked free but \(listedBlocks) are on free lists"
        }
        guard allocatedFrames == allocatedFrameCount else {
            return "\(allocatedFrames) frames are allocated, counter says \(allocatedFrameCount)"
        }
        return nil
    }

    // MARK: - Internals

    /// Span index of the frame holding `address` (which is inside the span).
    // The small helpers below are forced inline: at -Osize the embedded
    // compiler otherwise copies the whole allocator (184 bytes) to call a
    // non-mutating method from a mutating one, once per merge step.
    @inline(__always)
    private func index(of address: UInt64) -> Int {
        Int(address / Self.frameSize - baseFrame)
    }

    @inline(__always)
    private func address(of index: Int) -> UInt64 {
        (baseFrame + UInt64(index)) * Self.frameSize
    }

    @inline(__always)
    private func isNaturallyAligned(_ index: Int, order: Int) -> Bool {
        (baseFrame + UInt64(index)) & ((1 << UInt64(order)) - 1) == 0
    }

    /// Span index of the buddy of the order-`order` block at `index`, or nil
    /// if the buddy is not wholly inside the span (then it can never merge).
    @inline(__always)
    private func buddyIndex(of index: Int, order: Int) -> Int? {
        let buddyFrame = (baseFrame + UInt64(index)) ^ (1 << UInt64(order))
        guard buddyFrame >= baseFrame else { return nil }
        let buddy = Int(buddyFrame - baseFrame)
        return buddy + (1 << order) <= frameCount ? buddy : nil
    }

    /// The block holding frame `index`, found through invariant 3: walk the
    /// candidate heads (the frame aligned down to 1, 2, 4... frames) until
    /// one is a head.
    @inline(__always)
    func block(containing index: Int) -> Containment {
        if records[index].state == .reserved { return .reserved }
        let frame = baseFrame + UInt64(index)
        for order in 0...Self.maxOrder {
            let headFrame = frame & ~((1 << UInt64(order)) - 1)
            if headFrame < baseFrame { break }
            let head = Int(headFrame - baseFrame)
            let record = records[head]
            if record.state == .interior || record.state == .reserved { continue }
            // The first head at or below the frame either covers it or nothing
            // does: a bigger block covering the frame would also cover this
            // head, and blocks never overlap.
            let blockOrder = Int(record.order)
            guard frame - headFrame < 1 << UInt64(blockOrder) else { return .reserved }
            return record.state == .freeHead
                ? .free(head: head, order: blockOrder) : .allocated(head: head, order: blockOrder)
        }
        return .reserved
    }

    /// Throws `.inUse` for the first allocated frame in `indices`.
    private func checkNothingAllocated(_ indices: Range<Int>) throws(MemoryError) {
        var index = indices.lowerBound
        while index < indices.upperBound {
            switch block(containing: index) {
            case .reserved: index += 1  // one load: the frame's own record says so
            case .free(let head, let order): index = head + (1 << order)
            case .allocated(let head, _): throw .inUse(address(of: max(head, indices.lowerBound)))
            }
        }
    }

    /// Frees the frames `indices` (all marked `.interior`: just added, or
    /// split off a block being reserved) as the largest naturally aligned
    /// blocks that fit.
    private mutating func insertFreeBlocks(_ indices: Range<Int>) {
        var index = indices.lowerBound
        while index < indices.upperBound {
            var order = 0
            while order < Self.maxOrder, isNaturallyAligned(index, order: order + 1),
                index + (1 << (order + 1)) <= indices.upperBound
            {
                order += 1
            }
            insertFreeBlock(index, order: order)
            index += 1 << order
        }
    }

    /// Frees the block at `index`, merging with its buddy while the buddy is
    /// a free block of the same order (keeps invariant 4).
    private mutating func insertFreeBlock(_ index: Int, order: Int) {
        // The block's own head record stops being a head here; if it merges
        // into a lower buddy it must read `.interior` (invariant 3).
        records[index] = FrameRecord(state: .interior)
        var head = index, order = order
        while order < Self.maxOrder, let buddy = buddyIndex(of: head, order: order),
            records[buddy].state == .freeHead, Int(records[buddy].order) == order
        {
            unlinkFree(buddy)
            head = min(head, buddy)
            order += 1
        }
        pushFree(head, order: order)
    }

    /// Makes `index` a free head of `order` at the front of its list.
    private mutating func pushFree(_ index: Int, order: Int) {
        let oldHead = heads[order]
        records[index] = FrameRecord(next: oldHead, prev: Self.noLink, order: UInt8(order), state: .freeHead)
        if oldHead != Self.noLink { records[Int(oldHead)].prev = UInt32(index) }
        heads[order] = UInt32(index)
        freeBlockCounts[order] += 1
        freeFrameCount += 1 << order
    }

    /// Removes the free head at `index` from its list; its record becomes
    /// `.interior` (the caller re-marks it if it becomes a head again or is
    /// reserved).
    private mutating func unlinkFree(_ index: Int) {
        let record = records[index]
        let order = Int(record.order)
        if record.prev != Self.noLink {
            records[Int(record.prev)].next = record.next
        } else {
            heads[order] = record.next
        }
        if record.next != Self.noLink { records[Int(record.next)].prev = record.prev }
        records[index] = FrameRecord(state: .interior)
        freeBlockCounts[order] -= 1
        freeFrameCount -= 1 << order
    }
}
