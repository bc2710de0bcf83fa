import ExoKit

/// `struct iovec` (16 bytes): `iov_base` at 0, `iov_len` at 8. For
/// `readv`/`writev` and friends.
public struct IOVector: LinuxABIStruct, Equatable, Sendable {
    /// The user address of the buffer.
    public var base: UInt64
    /// Its length in bytes.
    public var length: UInt64

    /// 16 bytes.
    public static let byteSize = 16
    /// `UIO_MAXIOV` (1024): more vectors than this are EINVAL.
    public static let maximumCount = 1024

    /// A buffer descriptor.
    public init(base: UInt64, length: UInt64) {
        self.base = base
        self.length = length
    }

    public func encode(into bytes: inout [UInt8], at offset: Int) {
        LinuxLayout.store(base, into: &bytes, at: offset)
        LinuxLayout.store(length, into: &bytes, at: offset + 8)
    }

    public init(decoding bytes: [UInt8], at offset: Int) throws(Errno) {
        try Self.checkBounds(bytes, at: offset)
        base = LinuxLayout.load(UInt64.self, from: bytes, at: offset)
        length = LinuxLayout.load(UInt64.self, from: bytes, at: offset + 8)
    }

    /// Decodes `count` vectors from the array `readv`/`writev` point at,
    /// with Linux's checks: EINVAL when `count` exceeds `maximumCount` or
    /// the total length overflows `Int64` (`ssize_t`), EFAULT when `bytes`
    /// holds fewer than `count` vectors.
    public static func decodeArray(_ bytes: [UInt8], count: Int) throws(Errno) -> [IOVector] {
        guard count >= 0, count <= maximumCount else { throw .invalidArgument }
        guard bytes.count >= count * byteSize else { throw .badAddress }
        var vectors: [IOVector] = []
        vectors.reserveCapacity(count)
        var total: UInt64 = 0
        for index in 0..<count {
            let vector = try IOVector(decoding: bytes, at: index * byteSize)
            let (sum, overflow) = total.addingReportingOverflow(vector.length)
            guard !overflow, sum <= UInt64(Int64.max) else { throw .invalidArgument }
            total = sum
            vectors.append(vector)
        }
        return vectors
    }
}

/// `poll` event bits (`POLL*`, Linux `asm-generic/poll.h`).
public struct PollEvents: KnownFlagSet {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// `POLLIN` (0x1): data to read.
    public static let input = PollEvents(rawValue: 0x1)
    /// `POLLPRI` (0x2): urgent data.
    public static let priority = PollEvents(rawValue: 0x2)
    /// `POLLOUT` (0x4): writing will not block.
    public static let output = PollEvents(rawValue: 0x4)
    /// `POLLERR` (0x8): error condition (always reported, never requested).
    public static let error = PollEvents(rawValue: 0x8)
    /// `POLLHUP` (0x10): hang-up (always reported).
    public static let hangup = PollEvents(rawValue: 0x10)
    /// `POLLNVAL` (0x20): the descriptor is not open (always reported).
    public static let invalid = PollEvents(rawValue: 0x20)
    /// `POLLRDNORM` (0x40).
    public static let readNormal = PollEvents(rawValue: 0x40)
    /// `POLLRDBAND` (0x80).
    public static let readBand = PollEvents(rawValue: 0x80)
    /// `POLLWRNORM` (0x100).
    public static let writeNormal = PollEvents(rawValue: 0x100)
    /// `POLLWRBAND` (0x200).
    public static let writeBand = PollEvents(rawValue: 0x200)
    /// `POLLMSG` (0x400).
    public static let message = PollEvents(rawValue: 0x400)
    /// `POLLRDHUP` (0x2000): the peer closed its writing end.
    public static let readHangup = PollEvents(rawValue: 0x2000)

    /// Every defined bit (`poll` ignores unknown requested bits rather
    /// than failing; `known` is for checking what a driver reports).
    public static let known: PollEvents = [
        .input, .priority, .output, .error, .hangup, .invalid, .readNormal, .readBand,
        .writeNormal, .writeBand, .message, .readHangup,
    ]
    /// Reported whether requested or not.
    public static let alwaysReported: PollEvents = [.error, .hangup, .invalid]
}

/// `struct pollfd` (8 bytes): `fd` at 0, `events` at 4, `revents` at 6.
public struct PollDescriptor: LinuxABIStruct, Equatable, Sendable {
    /// The descriptor; negative entries are skipped (revents 0).
    public var fd: Int32
    /// What the caller waits for.
    public var events: PollEvents
    /// What happened: filled in by the kernel.
    public var returnedEvents: PollEvents

    /// 8 bytes.
    public static let byteSize = 8

    /// An entry.
    public init(fd: Int32, events: PollEvents, returnedEvents: PollEvents = []) {
        self.fd = fd
        self.events = events
        self.returnedEvents = returnedEvents
    }

    public func encode(into bytes: inout [UInt8], at offset: Int) {
        LinuxLayout.store(fd, into: &bytes, at: offset)
        LinuxLayout.store(events.rawValue, into: &bytes, at: offset + 4)
        LinuxLayout.store(returnedEvents.rawValue, into: &bytes, at: offset + 6)
    }

    public init(decoding bytes: [UInt8], at offset: Int) throws(Errno) {
        try Self.checkBounds(bytes, at: offset)
        fd = LinuxLayout.load(Int32.self, from: bytes, at: offset)
        events = PollEvents(rawValue: LinuxLayout.load(UInt16.self, from: bytes, at: offset + 4))
        returnedEvents = PollEvents(rawValue: LinuxLayout.load(UInt16.self, from: bytes, at: offset + 6))
    }
}
