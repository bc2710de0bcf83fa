/// The 64-bit Task State Segment (Intel SDM vol. 3, 8.7).
///
/// The hardware layout is 104 bytes with 64-bit fields at 4-byte offsets
/// (RSP0 at offset 4), which a Swift struct of UInt64s would pad. So the
/// storage is 26 UInt32 words in hardware order and the 64-bit fields are
/// computed: `MemoryLayout<TaskStateSegment>.size == 104` holds, and the
/// value can be copied byte-for-byte to where the TSS descriptor points.
public struct TaskStateSegment: Sendable {
    // Words in hardware order:
    // 0 reserved | 1-2 RSP0 | 3-4 RSP1 | 5-6 RSP2 | 7-8 reserved |
    // 9-22 IST1..IST7 | 23-24 reserved | 25: reserved (low 16) + I/O map base (high 16)
    private var words: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                        UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                        UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                        UInt32, UInt32)

    /// The byte size the TSS descriptor's limit must cover.
    public static let size = 104

    /// Byte offsets of the fields, for tests and for assembly that reads them.
    public static let rsp0Offset = 4
    public static let istOffset = 36
    public static let ioMapBaseOffset = 102

    /// An empty TSS whose I/O permission bitmap lies beyond the limit, so
    /// every user-mode port access faults (#GP).
    public init() {
        words = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        ioMapBase = UInt16(Self.size)
    }

    /// The stack the CPU switches to on an interrupt from ring 3.
    public var rsp0: UInt64 {
        get { read64(word: 1) }
        set { write64(newValue, word: 1) }
    }

    /// Interrupt Stack Table entry `index` (1...7): a known-good stack for
    /// vectors whose gate names it (double fault, NMI, machine check).
    public func interruptStack(_ index: Int) -> UInt64 {
        precondition((1...7).contains(index), "IST entries are 1...7")
        return read64(word: 9 + 2 * (index - 1))
    }

    public mutating func setInterruptStack(_ index: Int, to top: UInt64) {
        precondition((1...7).contains(index), "IST entries are 1...7")
        write64(top, word: 9 + 2 * (index - 1))
    }

    /// Offset from the TSS base of the I/O permission bitmap.
    public var ioMapBase: UInt16 {
        get { UInt16(truncatingIfNeeded: word(25) >> 16) }
        set { setWord(25, (word(25) & 0xFFFF) | (UInt32(newValue) << 16)) }
    }

    private func read64(word index: Int) -> UInt64 {
        UInt64(word(index)) | (UInt64(word(index + 1)) << 32)
    }

    private mutating func write64(_ value: UInt64, word index: Int) {
        setWord(index, UInt32(truncatingIfNeeded: value))
        setWord(index + 1, UInt32(truncatingIfNeeded: value >> 32))
    }

    private func word(_ index: Int) -> UInt32 {
        withUnsafeBytes(of: words) { $0.load(fromByteOffset: index * 4, as: UInt32.self) }
    }

    private mutating func setWord(_ index: Int, _ value: UInt32) {
        withUnsafeMutableBytes(of: &words) { $0.storeBytes(of: value, toByteOffset: index * 4, as: UInt32.self) }
    }
}
