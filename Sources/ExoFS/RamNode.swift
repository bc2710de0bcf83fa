import ExoABI
import ExoKit

/// A file, directory, symbolic link or special file in a `RamTree`.
///
/// A node lives as long as a name or a holder (an open file, a working
/// directory) refers to it, as an inode does in Linux: unlinking the last
/// name sets `linkCount` to 0 but an open file still reads and writes it.
/// Nodes are changed only through their tree, which keeps the link counts,
/// timestamps and storage accounting true.
public final class RamNode {
    /// The inode number, unique in the tree and never reused.
    public let inode: UInt64
    /// What the node is; fixed at creation.
    public let kind: FileKind
    /// The permission bits of `st_mode` (0o7777: rwx for owner, group and
    /// others, plus set-user-ID, set-group-ID and sticky).
    public internal(set) var permissions: UInt32
    /// Owner user ID.
    public internal(set) var uid: UInt32
    /// Owner group ID.
    public internal(set) var gid: UInt32
    /// Names referring to the node; for a directory 2 (its name and its
    /// ".") plus one per subdirectory (their ".."). 0 once removed.
    public internal(set) var linkCount: Int
    /// Last read; the tree does not update it on reads (like `noatime`),
    /// only when told to.
    public internal(set) var accessTime: LinuxTimespec
    /// Last change of contents (a directory's: of its entries).
    public internal(set) var modificationTime: LinuxTimespec
    /// Last change of contents or metadata.
    public internal(set) var changeTime: LinuxTimespec
    /// For character and block devices: which device (0:0 otherwise).
    public let rdev: LinuxDeviceNumber

    /// A regular file's contents or a symbolic link's target, charged to
    /// `storage`. Empty for other kinds.
    private(set) var data: [UInt8] = []
    /// A directory's entries. Empty for other kinds.
    var entries = DirectoryTable()
    /// For a directory: the one directory holding it (`nil` for the root),
    /// what ".." and getcwd follow. Kept after removal, because Linux still
    /// resolves ".." from a removed working directory. `nil` for other
    /// kinds: a file may have names in several directories.
    var parent: RamNode?
    /// For a directory: its name in `parent`, for getcwd.
    var name: [UInt8] = []
    /// Where the bytes of `data` are counted.
    private let storage: StorageAccount

    init(
        inode: UInt64, kind: FileKind, permissions: UInt32, uid: UInt32, gid: UInt32,
        rdev: LinuxDeviceNumber, time: LinuxTimespec, storage: StorageAccount
    ) {
        self.inode = inode
        self.kind = kind
        self.permissions = permissions & 0o7777
        self.uid = uid
        self.gid = gid
        self.linkCount = 0  // counted as names are attached
        self.accessTime = time
        self.modificationTime = time
        self.changeTime = time
        self.rdev = rdev
        self.storage = storage
    }

    deinit { storage.release(data.count) }

    /// `st_mode`: kind and permission bits.
    public var mode: UInt32 { kind.rawValue | permissions }

    /// `st_size`: bytes of a file, length of a link's target, and for a
    /// directory 20 bytes per entry counting "." and ".." (tmpfs's
    /// BOGO_DIRENT_SIZE), so it grows and shrinks as entries do.
    public var size: Int {
        switch kind {
        case .regular, .symbolicLink: data.count
        case .directory: 20 * (entries.count + 2)
        case .characterDevice, .blockDevice, .fifo, .socket: 0
        }
    }

    /// Whether the node is a directory.
    public var isDirectory: Bool { kind == .directory }

    /// Whether the last name is gone (rmdir'ed, or unlinked while open).
    public var isRemoved: Bool { linkCount == 0 }

    /// Replaces `data`, charging or refunding the difference first.
    /// Throws ENOSPC (and changes nothing) if the tree's limit would be passed.
    func replaceData(_ newData: [UInt8]) throws(Errno) {
        try storage.charge(newData.count - data.count)
        data = newData
    }

    /// Changes `data` in place after charging `growth` bytes (which the
    /// change must add); nothing happens if the charge fails. Storage grows
    /// as an array's would (doubling), but never past the tree's largest
    /// file, which callers check the new size against.
    func modifyData(growingBy growth: Int, _ change: (inout [UInt8]) -> Void) throws(Errno) {
        try storage.charge(growth)
        let size = data.count + growth
        if growth > 0 && size > data.capacity {
            data.reserveCapacity(max(size, min(2 * data.capacity, storage.fileSizeLimit)))
        }
        change(&data)
    }
}

/// Bytes of file contents and link targets held by one tree, against its
/// limit. Shared by the tree's nodes, so a node freed after its tree still
/// returns its bytes.
final class StorageAccount {
    let limit: Int
    /// The largest regular file (`RamTree.fileSizeLimit`).
    let fileSizeLimit: Int
    private(set) var used = 0

    init(limit: Int, fileSizeLimit: Int) {
        self.limit = limit
        self.fileSizeLimit = fileSizeLimit
    }

    /// Counts `bytes` more (or fewer, if negative). Throws ENOSPC beyond the limit.
    func charge(_ bytes: Int) throws(Errno) {
        if bytes > 0 && bytes > limit - used { throw .noSpace }
        used += bytes
    }

    /// Counts `bytes` fewer.
    func release(_ bytes: Int) { used -= bytes }
}

/// A directory's entries: found by name, listed by position.
///
/// Every entry gets a position (cookie) when added, above every earlier one,
/// and keeps it until removed, so a getdents64 offset stays valid while
/// other entries come and go: entries are never skipped or repeated because
/// of someone else's unlink. Positions 1 and 2 are "." and "..".
struct DirectoryTable {
    /// One listed entry.
    struct Entry {
        var position: Int64
        var name: [UInt8]
        var node: RamNode
    }

    /// The first position a named entry gets.
    static let firstPosition: Int64 = 3

    private var byName: [[UInt8]: (position: Int64, node: RamNode)] = [:]
    /// Sorted by position.
    private(set) var ordered: [Entry] = []
    private var nextPosition = firstPosition

    /// Entries, without "." and "..".
    var count: Int { ordered.count }
    var isEmpty: Bool { ordered.isEmpty }

    /// The node named `name`, if any.
    func node(named name: [UInt8]) -> RamNode? {
        byName[name]?.node
    }

    /// Adds `name`; the caller has checked it is absent.
    mutating func insert(_ name: [UInt8], _ node: RamNode) {
        precondition(byName[name] == nil, "directory entry added twice")
        byName[name] = (nextPosition, node)
        ordered.append(Entry(position: nextPosition, name: name, node: node))
        nextPosition += 1
    }

    /// Removes `name`, returning its node.
    @discardableResult
    mutating func remove(_ name: [UInt8]) -> RamNode? {
        guard let removed = byName.removeValue(forKey: name) else { return nil }
        let index = firstIndex(after: removed.position - 1)
        precondition(index < ordered.count && ordered[index].position == removed.position,
                     "directory index out of step")
        ordered.remove(at: index)
        return removed.node
    }

    /// Drops every entry (tree teardown).
    mutating func removeAll() {
        byName = [:]
        ordered = []
    }

    /// The index in `ordered` of the first entry after `position`.
    func firstIndex(after position: Int64) -> Int {
        var low = 0, high = ordered.count
        while low < high {
            let middle = (low + high) / 2
            if ordered[middle].position <= position { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
