import ExoKit

/// A Linux flag word whose every meaningful bit has a named member.
///
/// Linux rejects flag bits it does not know with EINVAL (for most calls:
/// `openat` is the notable exception and ignores them), so that a program
/// asking for a feature the kernel lacks finds out instead of silently
/// getting something else. Each conforming set lists `known`, the bits Exo
/// understands; `validated()` is the one-line check a system call makes on
/// entry.
public protocol KnownFlagSet: OptionSet, Sendable where RawValue: FixedWidthInteger {
    /// Every bit this set gives a meaning to.
    static var known: Self { get }
}

extension KnownFlagSet {
    /// The flag word from a system-call argument register. Linux declares
    /// these parameters `int` or `unsigned int` (or `unsigned long` for
    /// 64-bit sets), so it reads only the low bits of the register and so
    /// do we: a program's stale upper half must not change the meaning.
    @inlinable
    public init(argument: UInt64) {
        self.init(rawValue: RawValue(truncatingIfNeeded: argument))
    }

    /// The bits set here that no member names (zero when all are known).
    @inlinable
    public var unknownBits: RawValue { rawValue & ~Self.known.rawValue }

    /// Whether every set bit is a known one.
    @inlinable
    public var isFullyKnown: Bool { unknownBits == 0 }

    /// `self`, or EINVAL when any bit is unknown.
    @inlinable
    public func validated() throws(Errno) -> Self {
        guard isFullyKnown else { throw .invalidArgument }
        return self
    }
}
