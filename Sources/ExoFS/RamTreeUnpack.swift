import ExoABI
import ExoKit

/// What `RamTree.unpack` did.
public struct UnpackReport: Equatable, Sendable {
    /// An archive entry that was not applied, and why.
    public struct Skipped: Equatable, Sendable {
        /// The name as archived.
        public var name: [UInt8]
        /// EINVAL: a name climbing above the root, or a mode of no known
        /// kind; ENAMETOOLONG: a component over 255 bytes or a link target
        /// over 4095; ENOTDIR: a parent that is not a directory; ENOTEMPTY:
        /// replacing a directory that has entries; ENOENT: an empty link
        /// target; ENOSPC: the storage limit.
        public var reason: Errno
    }

    /// Entries applied (the trailer is not an entry).
    public var applied = 0
    /// Entries refused, in archive order.
    public var skipped: [Skipped] = []
}

extension RamTree {
    /// Unpacks a newc archive (or several concatenated) into the tree, as
    /// Linux populates its rootfs from the initramfs.
    ///
    /// The whole archive is parsed before anything changes, so a corrupt one
    /// leaves the tree untouched. Then, per entry in order:
    /// - names are made relative to the root: leading "/" and "./", repeated
    ///   slashes and "." components go, ".." is applied, and a name climbing
    ///   above the root is skipped (Linux would clamp it at "/");
    /// - missing parent directories are created (rwxr-xr-x, root-owned);
    ///   Linux would skip the entry. Symbolic links on the way are followed,
    ///   as Linux's open does;
    /// - a later entry replaces an earlier one of the same name (a directory
    ///   only if empty; directory over directory just takes the new
    ///   owner, permissions and time);
    /// - non-directories with nlink ≥ 2 and the same (device, inode, kind)
    ///   become one node with several names; the data comes with whichever
    ///   entry carries it (the last, from GNU cpio);
    /// - files get their archived modification time (also as access time);
    ///   directories get theirs after all entries, since adding entries
    ///   changes it.
    ///
    /// Entries that cannot be applied are skipped and listed in the report.
    /// - Throws: the archive's `CpioError`, with the tree unchanged.
    @discardableResult
    public func unpack<Bytes: RandomAccessCollection>(
        _ archive: Bytes
    ) throws(CpioError) -> UnpackReport where Bytes.Element == UInt8, Bytes.Index == Int {
        var reader = CpioReader(archive)
        var entries: [CpioEntry] = []
        while let entry = try reader.next() { entries.append(entry) }

        var report = UnpackReport()
        var unpacker = Unpacker()
        for entry in entries {
            do {
                try apply(entry, data: reader.data(of: entry), unpacker: &unpacker)
                report.applied += 1
            } catch {
                report.skipped.append(UnpackReport.Skipped(name: entry.name, reason: error))
            }
        }
        for (directory, time) in unpacker.directoryTimes {
            directory.modificationTime = time
            directory.accessTime = time
        }
        return report
    }

    private func apply<Data: Collection>(
        _ entry: CpioEntry, data: Data, unpacker: inout Unpacker
    ) throws(Errno) where Data.Element == UInt8 {
        guard let kind = FileKind(mode: entry.mode) else { throw .invalidArgument }
        let components = try Self.normalizedComponents(entry.name)
        let time = LinuxTimespec(seconds: Int64(entry.modificationTime))
        let permissions = entry.mode & 0o7777

        guard let name = components.last else {
            // The root itself ("." or "/"): only a directory entry applies.
            if kind != .directory { throw .exists }
            retake(root, permissions: permissions, entry: entry)
            unpacker.directoryTimes.append((root, time))
            return
        }
        let parent = try makeParents(components.dropLast())
        let existing = parent.entries.node(named: name)

        if kind == .directory, let existing, existing.isDirectory {
            retake(existing, permissions: permissions, entry: entry)
            unpacker.directoryTimes.append((existing, time))
            return
        }

        // A further name for a hard-linked file seen earlier.
        let linkKey = Unpacker.LinkKey(entry)
        if kind != .directory && kind != .symbolicLink && entry.linkCount >= 2,
           let node = unpacker.hardLinks[linkKey], !node.isRemoved {
            if existing !== node {
                if let existing { try remove(existing, named: name, from: parent) }
                attach(node, named: name, in: parent)
            }
            if !data.isEmpty {
                try node.replaceData(Array(data))
                node.modificationTime = time
                node.accessTime = time
            }
            return
        }

        // Build the new node fully before touching the old one, so a refusal
        // (ENOSPC, a bad target) leaves the earlier entry in place.
        let rdev = kind.isDevice ? LinuxDeviceNumber(major: entry.rdevMajor, minor: entry.rdevMinor) : .none
        let node = newNode(kind, permissions: permissions, uid: entry.uid, gid: entry.gid, rdev: rdev)
        switch kind {
        case .regular:
            try node.replaceData(Array(data))
        case .symbolicLink:
            let target = Array(data)
            try Self.checkLinkTarget(target)
            try node.replaceData(target)
        case .directory, .characterDevice, .blockDevice, .fifo, .socket:
            break  // their archived data, if any, means nothing
        }
        if let existing { try remove(existing, named: name, from: parent) }
        attach(node, named: name, in: parent)
        node.modificationTime = time
        node.accessTime = time
        if kind == .directory {
            unpacker.directoryTimes.append((node, time))
        } else if kind != .symbolicLink && entry.linkCount >= 2 {
            unpacker.hardLinks[linkKey] = node
        }
    }

    /// Gives an existing directory an entry's owner and permissions.
    private func retake(_ directory: RamNode, permissions: UInt32, entry: CpioEntry) {
        directory.permissions = permissions
        directory.uid = entry.uid
        directory.gid = entry.gid
        directory.changeTime = clock()
    }

    /// Removes `node` (named `name` in `parent`) for a replacement; a
    /// directory only if empty.
    private func remove(_ node: RamNode, named name: [UInt8], from parent: RamNode) throws(Errno) {
        if node.isDirectory {
            if !node.entries.isEmpty { throw .notEmpty }
            detach(name, from: parent)
            node.linkCount = 0
        } else {
            detach(name, from: parent)
        }
    }

    /// The directory `components` name from the root, creating missing ones
    /// and following symbolic links.
    private func makeParents(_ components: ArraySlice<[UInt8]>) throws(Errno) -> RamNode {
        var current = root
        for component in components {
            if let next = current.entries.node(named: component) {
                if next.kind == .symbolicLink {
                    var linksFollowed = 0
                    current = try follow(next, from: current, linksFollowed: &linksFollowed)
                } else {
                    current = next
                }
                if !current.isDirectory { throw .notDirectory }
            } else {
                let directory = newNode(.directory, permissions: 0o755, uid: 0, gid: 0)
                attach(directory, named: component, in: current)
                current = directory
            }
        }
        return current
    }

    /// An archived name as components below the root ("./bin//sh" →
    /// ["bin", "sh"]; "." → []).
    /// - Throws: EINVAL if ".." climbs above the root; ENAMETOOLONG for a
    ///   component over 255 bytes.
    static func normalizedComponents(_ name: [UInt8]) throws(Errno) -> [[UInt8]] {
        var components: [[UInt8]] = []
        for piece in name.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            let component = Array(piece)
            if component == dot { continue }
            if component == dotDot {
                if components.popLast() == nil { throw .invalidArgument }
                continue
            }
            if component.count > PathLimits.maximumNameLength { throw .nameTooLong }
            components.append(component)
        }
        return components
    }
}

/// State carried across the entries of one unpack.
private struct Unpacker {
    /// What identifies hard links in newc: the archived device and inode,
    /// and the kind (Linux's initramfs keys them the same way).
    struct LinkKey: Hashable {
        var deviceMajor: UInt32
        var deviceMinor: UInt32
        var inode: UInt32
        var kindBits: UInt32

        init(_ entry: CpioEntry) {
            deviceMajor = entry.deviceMajor
            deviceMinor = entry.deviceMinor
            inode = entry.inode
            kindBits = entry.kindBits
        }
    }

    var hardLinks: [LinkKey: RamNode] = [:]
    /// Directories and their archived times, applied at the end.
    var directoryTimes: [(RamNode, LinuxTimespec)] = []
}
