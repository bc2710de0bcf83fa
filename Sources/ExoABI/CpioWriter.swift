/// Builds newc archives byte for byte as GNU `cpio -o -H newc` does.
///
/// For tests and tools that need archives without running `cpio`. It writes
/// whatever it is given (an empty name, a name with a NUL in it), so a test
/// can build exactly the archive a reader must refuse; only sizes that the
/// 8-digit fields cannot hold are a programming error.
public struct CpioWriter {
    /// The archive so far.
    public private(set) var bytes: [UInt8] = []
    /// Whether entries are written as "070702" with data checksums.
    public let checksummed: Bool
    /// The inode number the next convenience entry gets; cpio numbers from 1
    /// after the root in `--reproducible` mode too.
    private var nextInode: UInt32 = 1

    /// An empty archive, "070701" unless `checksummed`.
    public init(checksummed: Bool = false) { self.checksummed = checksummed }

    /// Appends `entry`'s header fields, its name and `data`. namesize and
    /// filesize come from the name and `data`; the check field is computed
    /// when `checksummed`, else `entry.checksum` is written as given.
    /// `headerOffset` and `dataRange` are ignored.
    public mutating func append(_ entry: CpioEntry, data: [UInt8] = []) {
        precondition(entry.name.count < Int(UInt32.max) && data.count <= Int(UInt32.max),
                     "cpio sizes are 32-bit")
        var check = entry.checksum
        if checksummed {
            check = 0
            for byte in data { check &+= UInt32(byte) }
        }
        bytes += checksummed ? CpioArchive.checksummedMagic : CpioArchive.magic
        for value in [
            entry.inode, entry.mode, entry.uid, entry.gid, entry.linkCount, entry.modificationTime,
            UInt32(data.count), entry.deviceMajor, entry.deviceMinor, entry.rdevMajor,
            entry.rdevMinor, UInt32(entry.name.count + 1), check,
        ] {
            appendHex(value)
        }
        bytes += entry.name
        bytes.append(0)
        padTo4()
        bytes += data
        padTo4()
    }

    /// Appends a directory (`mode` 040000 | permissions), nlink 2 as cpio
    /// records for a leaf directory.
    public mutating func appendDirectory(
        _ name: String, permissions: UInt32 = 0o755, uid: UInt32 = 0, gid: UInt32 = 0,
        modificationTime: UInt32 = 0
    ) {
        append(entry(name, 0o040000 | permissions, uid, gid, modificationTime, linkCount: 2))
    }

    /// Appends a regular file holding `contents`.
    public mutating func appendFile(
        _ name: String, contents: [UInt8], permissions: UInt32 = 0o644, uid: UInt32 = 0,
        gid: UInt32 = 0, modificationTime: UInt32 = 0
    ) {
        append(entry(name, 0o100000 | permissions, uid, gid, modificationTime), data: contents)
    }

    /// Appends a symbolic link whose data is `target`.
    public mutating func appendSymbolicLink(_ name: String, target: String, modificationTime: UInt32 = 0) {
        append(entry(name, 0o120777, 0, 0, modificationTime), data: Array(target.utf8))
    }

    /// Appends a character device node `major:minor`.
    public mutating func appendCharacterDevice(
        _ name: String, major: UInt32, minor: UInt32, permissions: UInt32 = 0o600
    ) {
        var device = entry(name, 0o020000 | permissions, 0, 0, 0)
        device.rdevMajor = major
        device.rdevMinor = minor
        append(device)
    }

    /// Appends `names` as hard links of one file: one inode, nlink =
    /// `names.count`, and the data on the last name only, as cpio writes them.
    public mutating func appendHardLinks(_ names: [String], contents: [UInt8], permissions: UInt32 = 0o644) {
        let inode = nextInode
        nextInode += 1
        for (index, name) in names.enumerated() {
            let link = CpioEntry(name: Array(name.utf8), mode: 0o100000 | permissions,
                                 linkCount: UInt32(names.count), inode: inode)
            append(link, data: index == names.count - 1 ? contents : [])
        }
    }

    /// Appends the "TRAILER!!!" entry and returns the archive.
    public mutating func finish() -> [UInt8] {
        append(CpioEntry(name: CpioArchive.trailerName, mode: 0, linkCount: 1))
        return bytes
    }

    private mutating func entry(
        _ name: String, _ mode: UInt32, _ uid: UInt32, _ gid: UInt32, _ modificationTime: UInt32,
        linkCount: UInt32 = 1
    ) -> CpioEntry {
        defer { nextInode += 1 }
        return CpioEntry(name: Array(name.utf8), mode: mode, uid: uid, gid: gid, linkCount: linkCount,
                         modificationTime: modificationTime, inode: nextInode)
    }

    /// Eight upper-case hex digits, as GNU cpio writes them.
    private mutating func appendHex(_ value: UInt32) {
        for shift in stride(from: 28, through: 0, by: -4) {
            let digit = UInt8((value >> UInt32(shift)) & 0xF)
            bytes.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "A") + digit - 10)
        }
    }

    private mutating func padTo4() {
        while bytes.count & 3 != 0 { bytes.append(0) }
    }
}
