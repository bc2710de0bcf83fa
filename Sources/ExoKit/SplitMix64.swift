/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, seeded generator.
///
/// Not cryptographic. For everything that must replay exactly: randomized
/// tests on the host and in the kernel, and benchmark workloads that give
/// every allocator the same sequence.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }
    public init(state: UInt64) { self.state = state }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z &>> 31)
    }

    /// A value in `0..<bound` (bound > 0), uniform enough for tests.
    public mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
    public mutating func below(_ bound: Int) -> Int { next(below: bound) }

    /// `count` random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}
