// `struct stat` as x86_64 Linux's stat/fstat/lstat/newfstatat write it
// (arch/x86/include/uapi/asm/stat.h), 144 bytes, little-endian:
//
//   offset  field        type
//        0  st_dev       u64
//        8  st_ino       u64
//       16  st_nlink     u64    (before st_mode: x86_64 only)
//       24  st_mode      u32
//       28  st_uid       u32
//       32  st_gid       u32
//       36  __pad0       u32
//       40  st_rdev      u64
//       48  st_size      i64
//       56  st_blksize   i64
//       64  st_blocks    i64    (512-byte units)
//       72  st_atime     i64, st_atime_nsec i64
//       88  st_mtime     i64, st_mtime_nsec i64
//      104  st_ctime     i64, st_ctime_nsec i64
//      120  __unused     3 x i64

/// A point in time as the Linux ABI carries it (`struct timespec`).
public struct LinuxTimespec: Equatable, Hashable, Sendable {
    /// Seconds since the epoch.
    public var seconds: Int64
    /// Nanoseconds within the second, 0..<1_000_000_000.
    public var nanoseconds: Int64

    /// `seconds` + `nanoseconds`.
    public init(seconds: Int64, nanoseconds: Int64 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The epoch.
    public static let zero = LinuxTimespec(seconds: 0)
}

/// A device number (`dev_t`): which driver (major) and which unit (minor).
public struct LinuxDeviceNumber: Equatable, Hashable, Sendable {
    /// The driver: 1 for memory devices (/dev/null is 1:3), 5 for /dev/console's 5:1.
    public var major: UInt32
    /// The unit within the driver.
    public var minor: UInt32

    /// `major:minor`.
    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }

    /// No device (0:0).
    public static let none = LinuxDeviceNumber(major: 0, minor: 0)

    /// The 64-bit encoding glibc's `makedev` writes and `major()`/`minor()`
    /// read: `(minor & 0xff) | (major & 0xfff) << 8 | (minor & ~0xff) << 12
    /// | (major & ~0xfff) << 32`. For majors below 4096 and minors below 2^20
    /// it equals the kernel's `new_encode_dev`, which `st_dev` and `st_rdev` carry.
    public var encoded: UInt64 {
        let major = UInt64(major), minor = UInt64(minor)
        return (minor & 0xFF) | (major & 0xFFF) << 8 | (minor & ~0xFF) << 12 | (major & ~0xFFF) << 32
    }

    /// Decodes `encoded`.
    public init(encoded value: UInt64) {
        major = UInt32(truncatingIfNeeded: (value >> 8) & 0xFFF | (value >> 32) & ~0xFFF)
        minor = UInt32(truncatingIfNeeded: value & 0xFF | (value >> 12) & ~0xFF)
    }
}

/// x86_64 Linux's `struct stat`, encoded by `bytes` in the kernel's layout.
public struct LinuxStat: Equatable, Sendable {
    /// Bytes in the encoded structure.
    public static let size = 144

    /// Byte offsets of the fields, for tests and for code that patches one field.
    public enum Offset {
        public static let device = 0
        public static let inode = 8
        public static let linkCount = 16
        public static let mode = 24
        public static let uid = 28
        public static let gid = 32
        public static let rdev = 40
        public static let size = 48
        public static let blockSize = 56
        public static let blocks = 64
        public static let accessTime = 72
        public static let modificationTime = 88
        public static let changeTime = 104
        public static let reserved = 120
    }

    /// `st_dev`: the file system's device.
    public var device: LinuxDeviceNumber
    /// `st_ino`.
    public var inode: UInt64
    /// `st_nlink`: names of the file (2 + subdirectories for a directory).
    public var linkCount: UInt64
    /// `st_mode`: S_IF* kind bits and permission bits.
    public var mode: UInt32
    /// `st_uid`.
    public var uid: UInt32
    /// `st_gid`.
    public var gid: UInt32
    /// `st_rdev`: the device a character or block special file stands for.
    public var rdev: LinuxDeviceNumber
    /// `st_size`: bytes of a file, a symbolic link's target length.
    public var size: Int64
    /// `st_blksize`: the I/O size programs should use.
    public var blockSize: Int64
    /// `st_blocks`: storage used, in 512-byte units.
    public var blocks: Int64
    /// `st_atim`.
    public var accessTime: LinuxTimespec
    /// `st_mtim`.
    public var modificationTime: LinuxTimespec
    /// `st_ctim`.
    public var changeTime: LinuxTimespec

    /// A stat with every field given; unnamed ones are zero.
    public init(
        device: LinuxDeviceNumber = .none, inode: UInt64 = 0, linkCount: UInt64 = 0,
        mode: UInt32 = 0, uid: UInt32 = 0, gid: UInt32 = 0, rdev: LinuxDeviceNumber = .none,
        size: Int64 = 0, blockSize: Int64 = 0, blocks: Int64 = 0,
        accessTime: LinuxTimespec = .zero, modificationTime: LinuxTimespec = .zero,
        changeTime: LinuxTimespec = .zero
    ) {
        self.device = device
        self.inode = inode
        self.linkCount = linkCount
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.rdev = rdev
        self.size = size
        self.blockSize = blockSize
        self.blocks = blocks
        self.accessTime = accessTime
        self.modificationTime = modificationTime
        self.changeTime = changeTime
    }

    /// Appends the 144 encoded bytes to `buffer`.
    public func encode(into buffer: inout [UInt8]) {
        buffer.reserveCapacity(buffer.count + Self.size)
        buffer.appendLittleEndian(device.encoded, width: 8)
        buffer.appendLittleEndian(inode, width: 8)
        buffer.appendLittleEndian(linkCount, width: 8)
        buffer.appendLittleEndian(UInt64(mode), width: 4)
        buffer.appendLittleEndian(UInt64(uid), width: 4)
        buffer.appendLittleEndian(UInt64(gid), width: 4)
        buffer.appendLittleEndian(0, width: 4)  // __pad0
        buffer.appendLittleEndian(rdev.encoded, width: 8)
        buffer.appendLittleEndian(UInt64(bitPattern: size), width: 8)
        buffer.appendLittleEndian(UInt64(bitPattern: blockSize), width: 8)
        buffer.appendLittleEndian(UInt64(bitPattern: blocks), width: 8)
        buffer.appendLittleEndian(accessTime)
        buffer.appendLittleEndian(modificationTime)
        buffer.appendLittleEndian(changeTime)
        buffer.appendLittleEndian(0, width: 24)  // __unused[3]
    }

    /// The 144 encoded bytes.
    public var bytes: [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer)
        return buffer
    }

    /// Decodes the first 144 bytes of `bytes`, or `nil` if there are fewer.
    /// For tests, and for a kernel reading back what it wrote.
    public init?(decoding bytes: [UInt8]) {
        guard bytes.count >= Self.size else { return nil }
        func u64(_ at: Int) -> UInt64 { bytes.readLittleEndian(at: at, width: 8) }
        func i64(_ at: Int) -> Int64 { Int64(bitPattern: u64(at)) }
        func u32(_ at: Int) -> UInt32 { UInt32(truncatingIfNeeded: bytes.readLittleEndian(at: at, width: 4)) }
        func time(_ at: Int) -> LinuxTimespec { LinuxTimespec(seconds: i64(at), nanoseconds: i64(at + 8)) }
        self.init(
            device: LinuxDeviceNumber(encoded: u64(Offset.device)), inode: u64(Offset.inode),
            linkCount: u64(Offset.linkCount), mode: u32(Offset.mode), uid: u32(Offset.uid),
            gid: u32(Offset.gid), rdev: LinuxDeviceNumber(encoded: u64(Offset.rdev)),
            size: i64(Offset.size), blockSize: i64(Offset.blockSize), blocks: i64(Offset.blocks),
            accessTime: time(Offset.accessTime), modificationTime: time(Offset.modificationTime),
            changeTime: time(Offset.changeTime))
    }
}

extension [UInt8] {
    /// Appends the low `width` bytes of `value`, least significant first;
    /// widths above 8 append zeros after the value's 8 bytes.
    fileprivate mutating func appendLittleEndian(_ value: UInt64, width: Int) {
        for index in 0..<width {
            append(index < 8 ? UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) : 0)
        }
    }

    /// A timespec's two 64-bit fields.
    fileprivate mutating func appendLittleEndian(_ time: LinuxTimespec) {
        appendLittleEndian(UInt64(bitPattern: time.seconds), width: 8)
        appendLittleEndian(UInt64(bitPattern: time.nanoseconds), width: 8)
    }

    /// The `width`-byte little-endian value at `offset`.
    fileprivate func readLittleEndian(at offset: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in (0..<width).reversed() { value = value << 8 | UInt64(self[offset + index]) }
        return value
    }
}
