import ExoABI
import ExoKit

/// A directory's entries from a position on, as getdents64 records: ".",
/// "..", then the named entries in the order they were added.
///
/// It reads a snapshot: changes to the directory after the listing was made
/// do not show, and the next call resumes from the last record's
/// `nextOffset`, which stays valid whatever is added or removed meanwhile.
public struct RamDirectoryListing: Sequence, IteratorProtocol {
    private let inode: UInt64
    private let parentInode: UInt64
    private let entries: [DirectoryTable.Entry]
    private var position: Int64
    private var index: Int

    init(_ directory: RamNode, parent: RamNode, from position: Int64) {
        inode = directory.inode
        parentInode = parent.inode
        entries = directory.entries.ordered
        self.position = position
        index = directory.entries.firstIndex(after: position)
    }

    /// The next record, or `nil` after the last entry.
    public mutating func next() -> LinuxDirent64? {
        if position < 1 {
            position = 1
            return LinuxDirent64(inode: inode, nextOffset: 1, type: .directory, name: RamTree.dot)
        }
        if position < 2 {
            position = 2
            return LinuxDirent64(inode: parentInode, nextOffset: 2, type: .directory, name: RamTree.dotDot)
        }
        guard index < entries.count else { return nil }
        let entry = entries[index]
        index += 1
        position = entry.position
        return LinuxDirent64(inode: entry.node.inode, nextOffset: entry.position,
                             type: entry.node.kind.direntType, name: entry.name)
    }
}

extension RamTree {
    /// The entries of `directory` after `position` (0: from the start; else
    /// a `nextOffset` an earlier record gave).
    /// - Throws: ENOTDIR for a non-directory; ENOENT for a removed directory
    ///   (as Linux's getdents64); EINVAL for a negative position.
    public func listing(of directory: RamNode, from position: Int64 = 0) throws(Errno) -> RamDirectoryListing {
        if !directory.isDirectory { throw .notDirectory }
        if directory.isRemoved { throw .noSuchFile }
        if position < 0 { throw .invalidArgument }
        return RamDirectoryListing(directory, parent: directory.parent ?? directory, from: position)
    }

    /// getdents64: as many records from `position` as fit in `capacity`
    /// bytes. The caller stores `resumeOffset` as the descriptor's position;
    /// an empty batch means the end.
    /// - Throws: `listing`'s errors; EINVAL if the next record does not fit.
    public func readDirectory(
        _ directory: RamNode, from position: Int64, capacity: Int
    ) throws(Errno) -> LinuxDirent64.Batch {
        try LinuxDirent64.pack(listing(of: directory, from: position), capacity: capacity)
    }

    /// getcwd: the absolute path of `directory` ("/" for the root), through
    /// the names it has now.
    /// - Throws: ENOTDIR for a non-directory, ENOENT for a removed directory
    ///   (Linux's getcwd of a deleted working directory).
    public func path(of directory: RamNode) throws(Errno) -> [UInt8] {
        if !directory.isDirectory { throw .notDirectory }
        var names: [[UInt8]] = []
        var current = directory
        while let parent = current.parent {
            if current.isRemoved { throw .noSuchFile }
            names.append(current.name)
            current = parent
        }
        if current !== root { throw .noSuchFile }
        if names.isEmpty { return [UInt8(ascii: "/")] }
        var path: [UInt8] = []
        for name in names.reversed() {
            path.append(UInt8(ascii: "/"))
            path += name
        }
        return path
    }
}
