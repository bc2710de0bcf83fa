import ExoABI
import ExoKit

/// An in-memory file tree, tmpfs-like: what the initial ramdisk unpacks into
/// and the Linux file calls serve until there is a VFS, which will mount it
/// as one backend.
///
/// Operations take paths as bytes (a `[UInt8]` copied from user memory, or
/// `"…".utf8`) and a starting directory for relative ones, like the `*at`
/// calls, and throw Linux's errno values with Linux's precedence. There are
/// no permission checks: those belong to the caller, who knows the
/// credentials. File contents live in `[UInt8]` arrays (copied out of the
/// archive, so a boot module's frames can be freed after unpacking); files
/// are dense, so a write far past the end stores the zeros in between,
/// charged against `storageLimit` (ENOSPC beyond it).
///
/// Not thread-safe: the caller serializes access.
public final class RamTree {
    /// The root directory ("/", whose ".." is itself).
    public let root: RamNode
    /// `st_dev` of every node.
    public let device: LinuxDeviceNumber
    /// The time new nodes and changes are stamped with.
    public var clock: () -> LinuxTimespec
    private let storage: StorageAccount
    private var nextInode: UInt64 = 1

    /// An empty tree: a root directory (inode 1, rwxr-xr-x, owned by root).
    ///
    /// - Parameters:
    ///   - storageLimit: bytes of file contents and link targets the tree
    ///     may hold; beyond it writes fail with ENOSPC.
    ///   - fileSizeLimit: the largest regular file; a write or truncate
    ///     past it fails with EFBIG. A file's contents are one allocation,
    ///     never larger than this (the kernel's heap has a largest block).
    ///   - device: reported as `st_dev`.
    ///   - clock: the current time; the epoch if not given.
    public init(
        storageLimit: Int, fileSizeLimit: Int = .max,
        device: LinuxDeviceNumber = LinuxDeviceNumber(major: 0, minor: 1),
        clock: @escaping () -> LinuxTimespec = { .zero }
    ) {
        let storage = StorageAccount(limit: storageLimit, fileSizeLimit: fileSizeLimit)
        self.storage = storage
        self.device = device
        self.clock = clock
        root = RamNode(inode: 1, kind: .directory, permissions: 0o755, uid: 0, gid: 0,
                       rdev: .none, time: clock(), storage: storage)
        root.linkCount = 2
        nextInode = 2
    }

    /// Breaks the parent/child reference cycles so the nodes are freed, one
    /// directory at a time rather than by deep recursion.
    deinit {
        var pending = [root]
        while let directory = pending.popLast() {
            for entry in directory.entries.ordered where entry.node.isDirectory {
                pending.append(entry.node)
            }
            directory.entries.removeAll()
            directory.parent = nil
        }
    }

    /// Bytes of file contents and link targets held, by nodes in the tree and
    /// removed ones still referenced.
    public var storageUsed: Int { storage.used }
    /// The most `storageUsed` may reach.
    public var storageLimit: Int { storage.limit }
    /// The largest regular file.
    public var fileSizeLimit: Int { storage.fileSizeLimit }

    // MARK: Metadata

    /// The node's `struct stat`. Blocks are what dense storage uses, in
    /// 512-byte units: whole pages for a file's contents, none otherwise.
    public func stat(_ node: RamNode) -> LinuxStat {
        let size = node.size
        let blocks = node.kind == .regular ? (size + 4095) / 4096 * 8 : 0
        return LinuxStat(
            device: device, inode: node.inode, linkCount: UInt64(node.linkCount), mode: node.mode,
            uid: node.uid, gid: node.gid, rdev: node.rdev, size: Int64(size), blockSize: 4096,
            blocks: Int64(blocks), accessTime: node.accessTime,
            modificationTime: node.modificationTime, changeTime: node.changeTime)
    }

    /// chmod: sets the permission bits (`permissions & 0o7777`).
    public func setPermissions(_ node: RamNode, _ permissions: UInt32) {
        node.permissions = permissions & 0o7777
        node.changeTime = clock()
    }

    /// chown: sets the owner and/or group; `nil` leaves one as it is.
    public func setOwner(_ node: RamNode, uid: UInt32?, gid: UInt32?) {
        if let uid { node.uid = uid }
        if let gid { node.gid = gid }
        node.changeTime = clock()
    }

    /// utimensat: sets the access and/or modification time; `nil` leaves one
    /// as it is. The change time becomes now, as on Linux.
    public func setTimes(_ node: RamNode, access: LinuxTimespec?, modification: LinuxTimespec?) {
        if let access { node.accessTime = access }
        if let modification { node.modificationTime = modification }
        node.changeTime = clock()
    }

    // MARK: Building blocks for the operations

    /// A new node, not yet named anywhere (link count 0).
    func newNode(
        _ kind: FileKind, permissions: UInt32, uid: UInt32, gid: UInt32,
        rdev: LinuxDeviceNumber = .none
    ) -> RamNode {
        defer { nextInode += 1 }
        return RamNode(inode: nextInode, kind: kind, permissions: permissions, uid: uid, gid: gid,
                       rdev: rdev, time: clock(), storage: storage)
    }

    /// Names `node` `name` in `directory`, keeping link counts: a file
    /// gains a name; a directory gets its one name and parent, and its
    /// ".." adds to the parent's count.
    /// Preconditions: `directory` is a live directory without `name`; a
    /// directory `node` is not named anywhere else.
    func attach(_ node: RamNode, named name: [UInt8], in directory: RamNode) {
        directory.entries.insert(name, node)
        if node.isDirectory {
            node.parent = directory
            node.name = name
            directory.linkCount += 1
            if node.linkCount == 0 { node.linkCount = 2 }
        } else {
            node.linkCount += 1
        }
        node.changeTime = clock()
        touch(directory)
    }

    /// Removes the entry `name` from `directory` and returns its node, which
    /// loses that name. A directory keeps its own count (a rename re-attaches
    /// it); rmdir then marks it removed.
    /// Precondition: the entry exists.
    @discardableResult
    func detach(_ name: [UInt8], from directory: RamNode) -> RamNode {
        guard let node = directory.entries.remove(name) else {
            preconditionFailure("detaching a missing entry")
        }
        if node.isDirectory {
            directory.linkCount -= 1
        } else {
            node.linkCount -= 1
        }
        node.changeTime = clock()
        touch(directory)
        return node
    }

    /// Stamps a change to a directory's entries or a file's contents.
    func touch(_ node: RamNode) {
        let now = clock()
        node.modificationTime = now
        node.changeTime = now
    }
}
