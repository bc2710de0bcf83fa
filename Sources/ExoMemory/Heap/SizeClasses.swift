/// The heap's object size classes and how requests map onto them.
///
/// Every class above 8 bytes is a multiple of 16, so every object is at
/// least 16-byte aligned, and power-of-two classes are aligned to their size
/// (a span places its first object at a multiple of the object size, and
/// spans are 64 KiB aligned). A request for alignment A > 16 therefore takes
/// the first class whose size is a multiple of A.
public enum HeapSizeClasses {
    /// Object sizes in bytes, smallest first.
    public static let sizes: [Int] = [
        8, 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256,
        320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048,
    ]
    public static let count = 25
    /// Requests above this go to whole pages from the page source.
    public static let largestSmallSize = 2048
    /// The fast path serves sizes up to this through its lookup table.
    public static let fastTableLimit = 1024

    /// The class for `size` bytes aligned to `alignment` (a power of two),
    /// or nil when the request needs whole pages.
    public static func classIndex(size: Int, alignment: Int) -> Int? {
        let neededAlignment = size <= 8 ? max(alignment, 8) : max(alignment, 16)
        for (index, classSize) in sizes.enumerated()
        where classSize >= max(size, 1) && classSize % neededAlignment == 0 {
            return index
        }
        return nil
    }

    /// Index into the fast lookup table for `size` <= 1024 and
    /// `alignment` <= 16: two halves, for alignment <= 8 and for 16.
    @inline(__always) @usableFromInline
    static func fastTableIndex(size: Int, alignment: Int) -> Int {
        ((size &+ 7) &>> 3) &+ (alignment &>> 4) &* fastTableHalf
    }
    @usableFromInline static let fastTableHalf = fastTableLimit / 8 + 1
    static var fastTableCount: Int { 2 * fastTableHalf }
}

/// Per-class constants the free fast path uses to check that a pointer is
/// the start of an object, without a division: for d = odd * 2^k,
/// x is a multiple of d iff rotateRight(x * inverse(odd), k) <= (2^64-1)/d
/// (Granlund and Montgomery; the same test compilers emit for x % c == 0).
@usableFromInline
struct SizeClassInfo {
    @usableFromInline var objectSize: UInt
    /// Offset of the first object in its 64 KiB span (a multiple of objectSize).
    @usableFromInline var firstObjectOffset: UInt
    @usableFromInline var objectCount: UInt
    @usableFromInline var inverse: UInt64
    @usableFromInline var limit: UInt64
    @usableFromInline var shift: UInt64

    init(objectSize size: Int) {
        objectSize = UInt(size)
        let maximumObjects = HybridHeapLayout.spanSize / size
        let headerBytes = HybridHeapLayout.spanHeaderSize + ((maximumObjects + 63) / 64) * 8
        let first = (headerBytes + size - 1) / size * size
        firstObjectOffset = UInt(first)
        objectCount = UInt((HybridHeapLayout.spanSize - first) / size)
        var odd = UInt64(size)
        var twos: UInt64 = 0
        while odd & 1 == 0 { odd >>= 1; twos += 1 }
        // Newton's iteration for the inverse of an odd number modulo 2^64.
        var inverse = odd
        for _ in 0..<5 { inverse = inverse &* (2 &- odd &* inverse) }
        self.inverse = inverse
        self.shift = twos
        self.limit = UInt64.max / UInt64(size)
    }

    /// Whether `offset` (from the span base) is the start of an object.
    @inline(__always) @usableFromInline
    func isObjectStart(_ offset: UInt) -> Bool {
        let product = UInt64(offset) &* inverse
        let rotated = (product &>> shift) | (product &<< ((64 &- shift) & 63))
        return offset >= firstObjectOffset && rotated <= limit
    }
}

/// Fixed geometry of the heap.
public enum HybridHeapLayout {
    /// Small objects live in spans of this many bytes, aligned to it.
    public static let spanSize = 64 * 1024
    public static let spanOrder = 4                   // 16 pages of 4 KiB
    public static let pageSize = 4096
    /// Span header fields before the free-object bitmap.
    static let spanHeaderSize = 64
    /// Objects per CPU-cache magazine, per class.
    public static let magazineCapacity = 64
    /// How many objects a refill takes from, or a flush returns to, the spans.
    public static let transferBatch = 32
}
