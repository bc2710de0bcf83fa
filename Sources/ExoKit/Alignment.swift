/// Power-of-two alignment arithmetic on addresses and sizes.
///
/// Preconditions for every function here: `alignment` is a power of two.
/// Results that would overflow return `nil` instead of wrapping, because a
/// wrapped address is a silent memory-corruption bug.
public enum Alignment {
    /// Whether `value` is a non-zero power of two.
    @inlinable
    public static func isPowerOfTwo(_ value: UInt64) -> Bool {
        value != 0 && value & (value &- 1) == 0
    }

    /// `value` rounded down to a multiple of `alignment`.
    @inlinable
    public static func alignDown(_ value: UInt64, to alignment: UInt64) -> UInt64 {
        precondition(isPowerOfTwo(alignment), "alignment must be a power of two")
        return value & ~(alignment &- 1)
    }

    /// `value` rounded up to a multiple of `alignment`, or `nil` on overflow.
    @inlinable
    public static func alignUp(_ value: UInt64, to alignment: UInt64) -> UInt64? {
        precondition(isPowerOfTwo(alignment), "alignment must be a power of two")
        let (sum, overflow) = value.addingReportingOverflow(alignment &- 1)
        if overflow { return nil }
        return sum & ~(alignment &- 1)
    }

    /// Whether `value` is a multiple of `alignment`.
    @inlinable
    public static func isAligned(_ value: UInt64, to alignment: UInt64) -> Bool {
        precondition(isPowerOfTwo(alignment), "alignment must be a power of two")
        return value & (alignment &- 1) == 0
    }
}
