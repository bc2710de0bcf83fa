import ExoKit

// `struct linux_dirent64` as getdents64 writes it (include/linux/dirent.h):
//
//   offset  field      type
//        0  d_ino      u64
//        8  d_off      i64   the directory position just after this entry
//       16  d_reclen   u16   bytes in this record, a multiple of 8
//       18  d_type     u8    DT_* kind
//       19  d_name     the name, NUL, then NULs up to d_reclen
//
// A program passes d_off of any record back to lseek to resume there; a
// directory's positions are its own (cookies), not byte offsets.

/// A directory entry's kind (`d_type`): the S_IF* bits of `st_mode` shifted
/// right by 12, as Linux's `fs_umode_to_dtype` computes it.
public struct DirentType: RawRepresentable, Equatable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// DT_UNKNOWN: the file system does not say; the program must stat.
    public static let unknown = DirentType(rawValue: 0)
    /// DT_FIFO.
    public static let fifo = DirentType(rawValue: 1)
    /// DT_CHR.
    public static let characterDevice = DirentType(rawValue: 2)
    /// DT_DIR.
    public static let directory = DirentType(rawValue: 4)
    /// DT_BLK.
    public static let blockDevice = DirentType(rawValue: 6)
    /// DT_REG.
    public static let regular = DirentType(rawValue: 8)
    /// DT_LNK.
    public static let symbolicLink = DirentType(rawValue: 10)
    /// DT_SOCK.
    public static let socket = DirentType(rawValue: 12)

    /// The type for an `st_mode` value.
    public init(mode: UInt32) { rawValue = UInt8(truncatingIfNeeded: (mode & 0o170000) >> 12) }
}

/// One getdents64 record before encoding.
public struct LinuxDirent64: Equatable, Sendable {
    /// Bytes before `d_name`.
    public static let headerSize = 19

    /// `d_ino`.
    public var inode: UInt64
    /// `d_off`: the position a later getdents64 (or lseek) resumes from to
    /// read the entries after this one.
    public var nextOffset: Int64
    /// `d_type`.
    public var type: DirentType
    /// The name without its NUL; at most 255 bytes on Linux.
    public var name: [UInt8]

    /// A record for `name`.
    public init(inode: UInt64, nextOffset: Int64, type: DirentType, name: [UInt8]) {
        self.inode = inode
        self.nextOffset = nextOffset
        self.type = type
        self.name = name
    }

    /// `d_reclen`: header, name, NUL, rounded up to 8.
    public var recordLength: Int { (Self.headerSize + name.count + 1 + 7) & ~7 }

    /// Appends the encoded record (`recordLength` bytes) to `buffer`.
    public func encode(into buffer: inout [UInt8]) {
        let length = recordLength
        for index in 0..<8 { buffer.append(UInt8(truncatingIfNeeded: inode >> (8 * UInt64(index)))) }
        let offset = UInt64(bitPattern: nextOffset)
        for index in 0..<8 { buffer.append(UInt8(truncatingIfNeeded: offset >> (8 * UInt64(index)))) }
        buffer.append(UInt8(truncatingIfNeeded: length))
        buffer.append(UInt8(truncatingIfNeeded: length >> 8))
        buffer.append(type.rawValue)
        buffer += name
        for _ in 0..<(length - Self.headerSize - name.count) { buffer.append(0) }
    }

    /// What one getdents64 call returns.
    public struct Batch: Equatable, Sendable {
        /// The packed records; empty at the end of the directory.
        public var bytes: [UInt8]
        /// Records in `bytes`.
        public var count: Int
        /// `nextOffset` of the last record packed: the directory position to
        /// store for the next call. `nil` when nothing was packed.
        public var resumeOffset: Int64?
    }

    /// Packs `entries` in order into at most `capacity` bytes, stopping at the
    /// first that does not fit, as getdents64 fills the caller's buffer.
    ///
    /// Throws EINVAL if there is an entry and even the first does not fit
    /// (Linux's "result buffer is too small"). No entries give an empty
    /// batch: the end of the directory.
    public static func pack<Entries: Sequence>(
        _ entries: Entries, capacity: Int
    ) throws(Errno) -> Batch where Entries.Element == LinuxDirent64 {
        var batch = Batch(bytes: [], count: 0, resumeOffset: nil)
        for entry in entries {
            if entry.recordLength > capacity - batch.bytes.count {
                if batch.count == 0 { throw .invalidArgument }
                break
            }
            entry.encode(into: &batch.bytes)
            batch.count += 1
            batch.resumeOffset = entry.nextOffset
        }
        return batch
    }
}
