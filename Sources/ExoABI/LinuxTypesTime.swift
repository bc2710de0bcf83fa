import ExoKit

/// `struct timespec` (16 bytes): `tv_sec` at 0, `tv_nsec` at 8, both 64-bit.
extension LinuxTimespec: LinuxABIStruct {
    /// 16 bytes.
    public static let byteSize = 16
    /// Nanoseconds in a second: `tv_nsec` must be below this.
    public static let nanosecondsPerSecond: Int64 = 1_000_000_000
    /// `UTIME_NOW` (`(1 << 30) - 1`): `utimensat` sets the time to now.
    public static let utimeNow: Int64 = (1 << 30) - 1
    /// `UTIME_OMIT` (`(1 << 30) - 2`): `utimensat` leaves the time alone.
    public static let utimeOmit: Int64 = (1 << 30) - 2

    public func encode(into bytes: inout [UInt8], at offset: Int) {
        LinuxLayout.store(seconds, into: &bytes, at: offset)
        LinuxLayout.store(nanoseconds, into: &bytes, at: offset + 8)
    }

    public init(decoding bytes: [UInt8], at offset: Int) throws(Errno) {
        try Self.checkBounds(bytes, at: offset)
        self.init(seconds: LinuxLayout.load(Int64.self, from: bytes, at: offset),
                  nanoseconds: LinuxLayout.load(Int64.self, from: bytes, at: offset + 8))
    }

    /// The time as nanoseconds, or nil if it does not fit in 64 bits.
    public var totalNanoseconds: Int64? {
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: Self.nanosecondsPerSecond)
        if overflow { return nil }
        let (total, overflow2) = scaled.addingReportingOverflow(nanoseconds)
        return overflow2 ? nil : total
    }

    /// `nanoseconds` since the epoch split into seconds and nanoseconds
    /// (nanoseconds always 0..<1e9, seconds negative before the epoch).
    public init(totalNanoseconds: Int64) {
        var seconds = totalNanoseconds / Self.nanosecondsPerSecond
        var remainder = totalNanoseconds % Self.nanosecondsPerSecond
        if remainder < 0 {
            seconds -= 1
            remainder += Self.nanosecondsPerSecond
        }
        self.init(seconds: seconds, nanoseconds: remainder)
    }

    /// `self`, or EINVAL for what `nanosleep`, `clock_nanosleep`, `ppoll`
    /// and timers refuse: nanoseconds outside 0..<1e9 or negative seconds.
    public func validatedInterval() throws(Errno) -> LinuxTimespec {
        guard seconds >= 0, nanoseconds >= 0, nanoseconds < Self.nanosecondsPerSecond else {
            throw .invalidArgument
        }
        return self
    }
}

/// `struct timeval` (16 bytes): `tv_sec` at 0, `tv_usec` at 8, both 64-bit.
/// For `gettimeofday`, `select`, `setitimer`, `getrusage`.
public struct LinuxTimeval: LinuxABIStruct, Equatable, Hashable, Sendable {
    /// Seconds.
    public var seconds: Int64
    /// Microseconds within the second, 0..<1_000_000.
    public var microseconds: Int64

    /// 16 bytes.
    public static let byteSize = 16

    /// `seconds` + `microseconds`.
    public init(seconds: Int64, microseconds: Int64 = 0) {
        self.seconds = seconds
        self.microseconds = microseconds
    }

    /// A timespec truncated to microseconds.
    public init(_ time: LinuxTimespec) {
        self.init(seconds: time.seconds, microseconds: time.nanoseconds / 1000)
    }

    public func encode(into bytes: inout [UInt8], at offset: Int) {
        LinuxLayout.store(seconds, into: &bytes, at: offset)
        LinuxLayout.store(microseconds, into: &bytes, at: offset + 8)
    }

    public init(decoding bytes: [UInt8], at offset: Int) throws(Errno) {
        try Self.checkBounds(bytes, at: offset)
        seconds = LinuxLayout.load(Int64.self, from: bytes, at: offset)
        microseconds = LinuxLayout.load(Int64.self, from: bytes, at: offset + 8)
    }

    /// `self`, or EINVAL for microseconds outside 0..<1e6 or negative seconds.
    public func validatedInterval() throws(Errno) -> LinuxTimeval {
        guard seconds >= 0, microseconds >= 0, microseconds < 1_000_000 else { throw .invalidArgument }
        return self
    }
}
