import ExoKit

// The initial ramdisk format: cpio "newc" (magic "070701") and its
// checksummed variant "070702", as `cpio -o -H newc` and Linux's initramfs
// tools write them. Each entry is
//
//   header   110 ASCII bytes: the 6-byte magic, then 13 fields of 8 hex
//            digits: ino mode uid gid nlink mtime filesize devmajor
//            devminor rdevmajor rdevminor namesize check
//   name     namesize bytes including the terminating NUL, then NULs up to
//            a multiple of 4 (counted from the header's first byte)
//   data     filesize bytes (a symbolic link's target, a file's contents),
//            then NULs up to a multiple of 4
//
// and the archive ends with an entry named "TRAILER!!!". Like Linux
// (init/initramfs.c), the reader accepts NUL padding after a trailer and
// another archive after it: boot loaders concatenate an early microcode
// archive with the main one.

/// Every way a cpio archive can be refused.
///
/// Offsets count bytes from the start of the archive; most name the header
/// of the entry at fault, so a report can be matched against `xxd` output.
public enum CpioError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The header does not start with "070701" or "070702".
    case badMagic(offset: Int)
    /// The header starts with "070707": the old portable format, which
    /// Linux refuses too ("use -H newc").
    case unsupportedFormat(offset: Int)
    /// The archive starts with a compressor's magic (gzip, bzip2, xz, lz4,
    /// lzo, zstd); the kernel takes uncompressed archives only.
    case compressedArchive(offset: Int)
    /// A header field holds a byte that is not a hex digit; the offset is
    /// that byte's.
    case badHexDigit(offset: Int)
    /// Fewer than 110 bytes remain where a header starts.
    case truncatedHeader(offset: Int)
    /// The name, or the padding after it, runs past the end of the archive.
    case truncatedName(offset: Int)
    /// The data runs past the end of the archive.
    case truncatedData(offset: Int)
    /// The name's last byte (by namesize) is not its only NUL, or namesize
    /// is 0 and leaves no room for one.
    case nameNotTerminated(offset: Int)
    /// The name is empty (namesize 1: just the NUL).
    case emptyName(offset: Int)
    /// namesize is above `CpioArchive.maximumNameSize` (Linux's PATH_MAX).
    case nameTooLong(offset: Int)
    /// A "070702" entry's data does not sum to its check field.
    case checksumMismatch(offset: Int)
    /// The archive ends without a "TRAILER!!!" entry, so it may have been
    /// cut short at an entry boundary.
    case missingTrailer(offset: Int)

    /// One line for the kernel's log.
    public var description: String {
        switch self {
        case .badMagic(let offset): return "cpio: no newc magic at " + at(offset)
        case .unsupportedFormat(let offset):
            return "cpio: old portable format at " + at(offset) + " (use -H newc)"
        case .compressedArchive(let offset): return "cpio: compressed archive at " + at(offset)
        case .badHexDigit(let offset): return "cpio: bad hex digit at " + at(offset)
        case .truncatedHeader(let offset): return "cpio: truncated header at " + at(offset)
        case .truncatedName(let offset): return "cpio: truncated name in entry at " + at(offset)
        case .truncatedData(let offset): return "cpio: truncated data in entry at " + at(offset)
        case .nameNotTerminated(let offset):
            return "cpio: name without its NUL in entry at " + at(offset)
        case .emptyName(let offset): return "cpio: empty name in entry at " + at(offset)
        case .nameTooLong(let offset): return "cpio: name too long in entry at " + at(offset)
        case .checksumMismatch(let offset): return "cpio: checksum mismatch in entry at " + at(offset)
        case .missingTrailer(let offset): return "cpio: no TRAILER!!! before end at " + at(offset)
        }
    }

    private func at(_ offset: Int) -> String { Hex.string(UInt64(offset), digits: 8) }
}

/// The newc format's constants and a whole-archive convenience.
public enum CpioArchive {
    /// Bytes in a header, magic included.
    public static let headerSize = 110
    /// The largest namesize accepted, NUL included: Linux's PATH_MAX. Linux
    /// skips longer names; refusing them keeps a corrupt size from reading
    /// far past the header.
    public static let maximumNameSize = 4096
    /// The name of the entry that ends an archive.
    public static let trailerName: [UInt8] = Array("TRAILER!!!".utf8)
    /// "070701": newc without checksums.
    public static let magic: [UInt8] = Array("070701".utf8)
    /// "070702": newc whose check field is the sum of the data bytes.
    public static let checksummedMagic: [UInt8] = Array("070702".utf8)

    /// The first bytes of the compressed formats Linux's initramfs accepts.
    static let compressorSignatures: [[UInt8]] = [
        [0x1F, 0x8B],  // gzip
        [0x42, 0x5A, 0x68],  // bzip2 "BZh"
        [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00],  // xz
        [0x02, 0x21, 0x4C, 0x18],  // lz4 legacy
        [0x89, 0x4C, 0x5A, 0x4F],  // lzop
        [0x28, 0xB5, 0x2F, 0xFD],  // zstd
    ]

    /// Every entry of `bytes`, or the first error. An archive with a bad
    /// entry yields nothing, so a caller cannot act on half of it by mistake;
    /// `CpioReader` gives the entries before an error to callers that want them.
    public static func entries<Bytes: RandomAccessCollection>(
        in bytes: Bytes
    ) throws(CpioError) -> [CpioEntry] where Bytes.Element == UInt8, Bytes.Index == Int {
        var reader = CpioReader(bytes)
        var entries: [CpioEntry] = []
        while let entry = try reader.next() { entries.append(entry) }
        return entries
    }
}

/// One archived file, directory, link or device.
///
/// Numbers are the archive's, unchecked: what they mean (a mode's kind, an
/// nlink above 1 marking hard links) is the unpacker's business.
public struct CpioEntry: Equatable, Sendable {
    /// The name as stored, without its NUL; usually relative ("bin/sh",
    /// "./bin/sh" or "." from `find . | cpio`).
    public var name: [UInt8]
    /// `st_mode`: the S_IF* kind bits and the permission bits.
    public var mode: UInt32
    /// Owner user ID.
    public var uid: UInt32
    /// Owner group ID.
    public var gid: UInt32
    /// Link count at archiving time; above 1, entries sharing `inode` and
    /// device are hard links, the data riding on the last of them.
    public var linkCount: UInt32
    /// Modification time, seconds since the epoch.
    public var modificationTime: UInt32
    /// Inode number at archiving time (`--reproducible` renumbers them).
    public var inode: UInt32
    /// Major number of the device the file was on.
    public var deviceMajor: UInt32
    /// Minor number of the device the file was on.
    public var deviceMinor: UInt32
    /// For character and block devices: the device's major number.
    public var rdevMajor: UInt32
    /// For character and block devices: the device's minor number.
    public var rdevMinor: UInt32
    /// The check field: the sum of the data bytes in a "070702" archive, 0
    /// in "070701".
    public var checksum: UInt32
    /// Where the header starts, from the archive's first byte.
    public var headerOffset: Int
    /// Where the data lies, from the archive's first byte.
    public var dataRange: Range<Int>

    /// The S_IF* bits of `mode`.
    public var kindBits: UInt32 { mode & 0o170000 }
    /// Bytes of data.
    public var dataSize: Int { dataRange.count }

    /// An entry with the given fields; the writer's input.
    public init(
        name: [UInt8], mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, linkCount: UInt32 = 1,
        modificationTime: UInt32 = 0, inode: UInt32 = 0, deviceMajor: UInt32 = 0,
        deviceMinor: UInt32 = 0, rdevMajor: UInt32 = 0, rdevMinor: UInt32 = 0,
        checksum: UInt32 = 0, headerOffset: Int = 0, dataRange: Range<Int> = 0..<0
    ) {
        self.name = name
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.linkCount = linkCount
        self.modificationTime = modificationTime
        self.inode = inode
        self.deviceMajor = deviceMajor
        self.deviceMinor = deviceMinor
        self.rdevMajor = rdevMajor
        self.rdevMinor = rdevMinor
        self.checksum = checksum
        self.headerOffset = headerOffset
        self.dataRange = dataRange
    }
}

/// Reads a newc archive entry by entry without copying its data.
///
/// Works over any random-access bytes with integer indices: an `[UInt8]` on
/// the host, a buffer over the boot module in the kernel. Offsets are
/// relative to `bytes.startIndex`. After an error, `next()` throws the same
/// error again; the entries returned before it are sound.
///
/// Sizes are compared against the bytes remaining, never added to an offset
/// first, so no header value can overflow the arithmetic.
public struct CpioReader<Bytes: RandomAccessCollection> where Bytes.Element == UInt8, Bytes.Index == Int {
    /// The archive.
    public let bytes: Bytes
    /// Where the next header is expected, from the archive's first byte.
    public private(set) var offset = 0
    private var failure: CpioError?
    private var atEnd = false
    /// Whether the last entry read was a trailer (then the input may end).
    private var afterTrailer = false

    /// A reader positioned at the first header of `bytes`.
    public init(_ bytes: Bytes) { self.bytes = bytes }

    /// The next entry, `nil` after the last trailer, or why the archive is
    /// refused. Trailer entries are consumed, not returned.
    public mutating func next() throws(CpioError) -> CpioEntry? {
        if let failure { throw failure }
        do {
            return try readEntry()
        } catch {
            failure = error
            throw error
        }
    }

    /// The data of an entry this reader returned.
    public func data(of entry: CpioEntry) -> Bytes.SubSequence {
        let base = bytes.startIndex
        return bytes[(base + entry.dataRange.lowerBound)..<(base + entry.dataRange.upperBound)]
    }

    private var count: Int { bytes.count }

    private func byte(_ at: Int) -> UInt8 { bytes[bytes.startIndex + at] }

    private mutating func readEntry() throws(CpioError) -> CpioEntry? {
        while !atEnd {
            if afterTrailer {
                // Between archives: NUL padding, then end or another archive.
                while offset < count && byte(offset) == 0 { offset += 1 }
                if offset == count {
                    atEnd = true
                    return nil
                }
                // Linux starts another archive only at a 4-byte boundary.
                if offset & 3 != 0 { throw .badMagic(offset: offset) }
            } else if offset == count {
                throw .missingTrailer(offset: offset)
            }
            let entry = try readHeaderNameAndData()
            if entry.name == CpioArchive.trailerName {
                afterTrailer = true
                continue
            }
            afterTrailer = false
            return entry
        }
        return nil
    }

    /// Parses the entry at `offset` and moves past it and its padding.
    private mutating func readHeaderNameAndData() throws(CpioError) -> CpioEntry {
        let start = offset
        let remaining = count - start
        try checkMagic(at: start, remaining: remaining)
        if remaining < CpioArchive.headerSize { throw .truncatedHeader(offset: start) }
        let checksummed = byte(start + 5) == UInt8(ascii: "2")

        // Field order after the magic; every field is parsed, so a bad digit
        // anywhere in the header is reported.
        let inode = try field(0, start), mode = try field(1, start), uid = try field(2, start)
        let gid = try field(3, start), linkCount = try field(4, start), mtime = try field(5, start)
        let fileSize = Int(try field(6, start))
        let deviceMajor = try field(7, start), deviceMinor = try field(8, start)
        let rdevMajor = try field(9, start), rdevMinor = try field(10, start)
        let nameSize = Int(try field(11, start)), check = try field(12, start)

        if nameSize == 0 { throw .nameNotTerminated(offset: start) }
        if nameSize > CpioArchive.maximumNameSize { throw .nameTooLong(offset: start) }
        let nameStart = start + CpioArchive.headerSize
        if nameSize > count - nameStart { throw .truncatedName(offset: start) }
        let nameEnd = nameStart + nameSize - 1  // the NUL's offset
        if byte(nameEnd) != 0 { throw .nameNotTerminated(offset: start) }
        var name: [UInt8] = []
        name.reserveCapacity(nameSize - 1)
        for at in nameStart..<nameEnd {
            let character = byte(at)
            if character == 0 { throw .nameNotTerminated(offset: start) }
            name.append(character)
        }
        if name.isEmpty { throw .emptyName(offset: start) }

        // The name's padding must be there, except after the trailer's name
        // at the very end: some tools stop right after its NUL.
        let paddedNameEnd = start + Self.paddedTo4(CpioArchive.headerSize + nameSize)
        if paddedNameEnd > count && !(name == CpioArchive.trailerName && fileSize == 0) {
            throw .truncatedName(offset: start)
        }
        let dataStart = min(paddedNameEnd, count)
        if fileSize > count - dataStart { throw .truncatedData(offset: start) }
        let dataEnd = dataStart + fileSize
        if checksummed {
            var sum: UInt32 = 0
            for at in dataStart..<dataEnd { sum &+= UInt32(byte(at)) }
            if sum != check { throw .checksumMismatch(offset: start) }
        }
        // The data's padding may be missing at the end: the entry is whole,
        // and the missing trailer is reported next.
        offset = min(count, dataStart + Self.paddedTo4(fileSize))

        return CpioEntry(
            name: name, mode: mode, uid: uid, gid: gid, linkCount: linkCount,
            modificationTime: mtime, inode: inode, deviceMajor: deviceMajor,
            deviceMinor: deviceMinor, rdevMajor: rdevMajor, rdevMinor: rdevMinor,
            checksum: check, headerOffset: start, dataRange: dataStart..<dataEnd)
    }

    /// Refuses anything but "070701"/"070702" at `at`, naming the old
    /// format and compressed archives, which are the usual mistakes.
    private func checkMagic(at start: Int, remaining: Int) throws(CpioError) {
        func matches(_ pattern: [UInt8]) -> Bool {
            guard pattern.count <= remaining else { return false }
            for (index, expected) in pattern.enumerated() where byte(start + index) != expected {
                return false
            }
            return true
        }
        if matches(CpioArchive.magic) || matches(CpioArchive.checksummedMagic) { return }
        if matches(Array("070707".utf8)) { throw .unsupportedFormat(offset: start) }
        for signature in CpioArchive.compressorSignatures where matches(signature) {
            throw .compressedArchive(offset: start)
        }
        // A short tail that is still a prefix of the magic is a cut header.
        if remaining < 6 && matches(Array(CpioArchive.magic[0..<remaining])) {
            throw .truncatedHeader(offset: start)
        }
        throw .badMagic(offset: start)
    }


    /// Header field `index` (0 = ino) of the header at `header`.
    private func field(_ index: Int, _ header: Int) throws(CpioError) -> UInt32 {
        try hexField(at: header + 6 + 8 * index)
    }

    /// The 8-hex-digit field at `start`; either letter case, as Linux accepts.
    private func hexField(at start: Int) throws(CpioError) -> UInt32 {
        var value: UInt32 = 0
        for at in start..<(start + 8) {
            let character = byte(at)
            let digit: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = character - UInt8(ascii: "A") + 10
            default: throw .badHexDigit(offset: at)
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    private static func paddedTo4(_ value: Int) -> Int { (value + 3) & ~3 }
}
