import ExoABI
import ExoKit

// Creating, linking, renaming and removing names, with Linux's errors in
// Linux's order (fs/namei.c): the path is walked first, then the last
// component is judged, and only when every check has passed does the tree
// change.

extension RamTree {
    /// open(O_CREAT): the regular file `path` names, created empty if absent.
    ///
    /// A symbolic link as the last component is followed, and a missing
    /// target created, unless `exclusive` (O_EXCL: EEXIST for any existing
    /// name, links included) or `!followFinalSymlink` (O_NOFOLLOW: ELOOP).
    ///
    /// - Returns: the node, and whether it was created (so the caller applies
    ///   O_TRUNC only to an existing file).
    /// - Throws: lookup's errors; EISDIR for a directory, for "/", "." or "..",
    ///   and for a trailing slash; EEXIST; ELOOP; ENOENT in a removed directory.
    public func createFile(
        _ path: some Collection<UInt8>, from directory: RamNode? = nil, permissions: UInt32,
        uid: UInt32 = 0, gid: UInt32 = 0, exclusive: Bool = false, followFinalSymlink: Bool = true
    ) throws(Errno) -> (node: RamNode, created: Bool) {
        var linksFollowed = 0
        return try openOrCreate(
            Array(path), from: directory ?? root, permissions: permissions, uid: uid, gid: gid,
            exclusive: exclusive, followFinalSymlink: followFinalSymlink, linksFollowed: &linksFollowed)
    }

    private func openOrCreate(
        _ path: [UInt8], from start: RamNode, permissions: UInt32, uid: UInt32, gid: UInt32,
        exclusive: Bool, followFinalSymlink: Bool, linksFollowed: inout Int
    ) throws(Errno) -> (node: RamNode, created: Bool) {
        let walk = try walkToParent(path, from: start, linksFollowed: &linksFollowed)
        guard case .name(let name) = walk.last, !walk.trailingSlash else { throw .isDirectory }
        if name.count > PathLimits.maximumNameLength { throw .nameTooLong }
        let directory = walk.directory
        if !directory.isRemoved, let existing = directory.entries.node(named: name) {
            if exclusive { throw .exists }
            if existing.kind == .symbolicLink {
                if !followFinalSymlink { throw .tooManySymbolicLinks }
                linksFollowed += 1
                if linksFollowed > PathLimits.maximumSymbolicLinks { throw .tooManySymbolicLinks }
                return try openOrCreate(
                    existing.data, from: directory, permissions: permissions, uid: uid, gid: gid,
                    exclusive: false, followFinalSymlink: true, linksFollowed: &linksFollowed)
            }
            if existing.isDirectory { throw .isDirectory }
            return (existing, false)
        }
        if directory.isRemoved { throw .noSuchFile }
        let file = newNode(.regular, permissions: permissions, uid: uid, gid: gid)
        attach(file, named: name, in: directory)
        return (file, true)
    }

    /// mkdir: a new empty directory.
    /// - Throws: lookup's errors for the walk; EEXIST if the name exists in
    ///   any form (a dangling link too) or is "/", "." or ".."; ENOENT in a
    ///   removed directory. A trailing slash is allowed.
    @discardableResult
    public func makeDirectory(
        _ path: some Collection<UInt8>, from directory: RamNode? = nil, permissions: UInt32,
        uid: UInt32 = 0, gid: UInt32 = 0
    ) throws(Errno) -> RamNode {
        let (parent, name) = try placeForNewName(Array(path), from: directory, creatingDirectory: true)
        let node = newNode(.directory, permissions: permissions, uid: uid, gid: gid)
        attach(node, named: name, in: parent)
        return node
    }

    /// mknod: a device node, named pipe, socket name or empty regular file.
    /// - Throws: as `makeDirectory`, plus EPERM for a directory kind (mkdir's
    ///   job), EINVAL for a symbolic link kind, and ENOENT for a new name
    ///   with a trailing slash.
    @discardableResult
    public func makeSpecialFile(
        _ path: some Collection<UInt8>, from directory: RamNode? = nil, kind: FileKind,
        permissions: UInt32, rdev: LinuxDeviceNumber = .none, uid: UInt32 = 0, gid: UInt32 = 0
    ) throws(Errno) -> RamNode {
        switch kind {
        case .directory: throw .notPermitted
        case .symbolicLink: throw .invalidArgument
        case .regular, .characterDevice, .blockDevice, .fifo, .socket: break
        }
        let (parent, name) = try placeForNewName(Array(path), from: directory, creatingDirectory: false)
        let node = newNode(kind, permissions: permissions, uid: uid, gid: gid,
                           rdev: kind.isDevice ? rdev : .none)
        attach(node, named: name, in: parent)
        return node
    }

    /// symlink: a symbolic link at `path` whose target is `target`, stored
    /// as given and resolved only when followed.
    /// - Throws: ENOENT for an empty target, ENAMETOOLONG for a target of
    ///   4096 bytes or more, EINVAL for a NUL in it; otherwise as `makeSpecialFile`.
    @discardableResult
    public func createSymbolicLink(
        _ path: some Collection<UInt8>, from directory: RamNode? = nil,
        target: some Collection<UInt8>, uid: UInt32 = 0, gid: UInt32 = 0
    ) throws(Errno) -> RamNode {
        let targetBytes = Array(target)
        try Self.checkLinkTarget(targetBytes)
        let (parent, name) = try placeForNewName(Array(path), from: directory, creatingDirectory: false)
        let link = newNode(.symbolicLink, permissions: 0o777, uid: uid, gid: gid)
        try link.replaceData(targetBytes)
        attach(link, named: name, in: parent)
        return link
    }

    /// link: another name for an existing non-directory.
    ///
    /// - Parameters:
    ///   - followFinalSymlink: whether a link as `existingPath`'s last
    ///     component is followed (linkat's AT_SYMLINK_FOLLOW) or linked itself.
    /// - Throws: lookup's errors for `existingPath`, then `makeSpecialFile`'s
    ///   for `newPath`, then EPERM for a directory and ENOENT for a file whose
    ///   last name is gone.
    @discardableResult
    public func link(
        _ existingPath: some Collection<UInt8>, from existingDirectory: RamNode? = nil,
        to newPath: some Collection<UInt8>, from newDirectory: RamNode? = nil,
        followFinalSymlink: Bool = false
    ) throws(Errno) -> RamNode {
        let node = try lookup(existingPath, from: existingDirectory, followFinalSymlink: followFinalSymlink)
        let (parent, name) = try placeForNewName(Array(newPath), from: newDirectory, creatingDirectory: false)
        if node.isDirectory { throw .notPermitted }
        if node.isRemoved { throw .noSuchFile }
        attach(node, named: name, in: parent)
        return node
    }

    /// unlink: removes a non-directory's name. The node lives on while held.
    /// - Throws: lookup's errors; EISDIR for a directory (and for "/", "."
    ///   and ".."); ENOTDIR for a non-directory named with a trailing slash.
    public func unlink(_ path: some Collection<UInt8>, from directory: RamNode? = nil) throws(Errno) {
        var linksFollowed = 0
        let walk = try walkToParent(Array(path), from: directory ?? root, linksFollowed: &linksFollowed)
        guard case .name(let name) = walk.last else { throw .isDirectory }
        let node = try child(name, of: walk.directory)
        if node.isDirectory { throw .isDirectory }
        if walk.trailingSlash { throw .notDirectory }
        detach(name, from: walk.directory)
    }

    /// rmdir: removes an empty directory. A holder (a working directory)
    /// keeps the node, with no entries and link count 0.
    /// - Throws: lookup's errors; EINVAL for ".", ENOTEMPTY for ".." and for
    ///   a directory with entries, EBUSY for "/", ENOTDIR for a non-directory
    ///   (a link to a directory included: it is not followed).
    public func removeDirectory(_ path: some Collection<UInt8>, from directory: RamNode? = nil) throws(Errno) {
        var linksFollowed = 0
        let walk = try walkToParent(Array(path), from: directory ?? root, linksFollowed: &linksFollowed)
        let name: [UInt8]
        switch walk.last {
        case .dot: throw .invalidArgument
        case .dotDot: throw .notEmpty
        case .root: throw .busy
        case .name(let last): name = last
        }
        let node = try child(name, of: walk.directory)
        if !node.isDirectory { throw .notDirectory }
        if !node.entries.isEmpty { throw .notEmpty }
        detach(name, from: walk.directory)
        node.linkCount = 0
    }

    /// rename: moves `oldPath`'s entry to `newPath`, replacing what is
    /// there if `replace` (renameat2 without RENAME_NOREPLACE). Renaming a
    /// name onto another name of the same node does nothing, as on Linux.
    ///
    /// - Throws, in Linux's order: lookup's errors for either path; EBUSY
    ///   if either last component is "/", "." or ".." (EEXIST for the new
    ///   one if `!replace`); ENOENT if the old name is missing; EEXIST if
    ///   `!replace` and the new name exists; ENOTDIR for a non-directory
    ///   with a trailing slash on either path; EINVAL for moving a directory
    ///   into itself; ENOTEMPTY for replacing an ancestor of the source;
    ///   ENOTDIR/EISDIR for replacing a non-directory by a directory or the
    ///   reverse; ENOTEMPTY for replacing a directory with entries.
    public func rename(
        _ oldPath: some Collection<UInt8>, from oldDirectory: RamNode? = nil,
        to newPath: some Collection<UInt8>, from newDirectory: RamNode? = nil, replace: Bool = true
    ) throws(Errno) {
        var oldLinks = 0, newLinks = 0
        let oldWalk = try walkToParent(Array(oldPath), from: oldDirectory ?? root, linksFollowed: &oldLinks)
        let newWalk = try walkToParent(Array(newPath), from: newDirectory ?? root, linksFollowed: &newLinks)
        guard case .name(let oldName) = oldWalk.last else { throw .busy }
        guard case .name(let newName) = newWalk.last else { throw replace ? .busy : .exists }
        let source = oldWalk.directory, destination = newWalk.directory

        let node = try child(oldName, of: source)
        if newName.count > PathLimits.maximumNameLength { throw .nameTooLong }
        if destination.isRemoved { throw .noSuchFile }
        let target = destination.entries.node(named: newName)
        if !replace && target != nil { throw .exists }
        if !node.isDirectory && (oldWalk.trailingSlash || newWalk.trailingSlash) { throw .notDirectory }
        if node.isDirectory && Self.isAncestor(node, of: destination) { throw .invalidArgument }
        if let target, target.isDirectory && Self.isAncestor(target, of: source) { throw .notEmpty }
        if let target {
            if target === node { return }
            if node.isDirectory && !target.isDirectory { throw .notDirectory }
            if !node.isDirectory && target.isDirectory { throw .isDirectory }
            if target.isDirectory && !target.entries.isEmpty { throw .notEmpty }
        }

        // Every check passed: change the tree.
        if let target {
            detach(newName, from: destination)
            if target.isDirectory { target.linkCount = 0 }
        }
        detach(oldName, from: source)
        attach(node, named: newName, in: destination)
    }

    /// readlink: the target of the symbolic link `path` names (its last
    /// component not followed).
    /// - Throws: lookup's errors; EINVAL if it is not a symbolic link.
    public func readLink(_ path: some Collection<UInt8>, from directory: RamNode? = nil) throws(Errno) -> [UInt8] {
        try readLink(lookup(path, from: directory, followFinalSymlink: false))
    }

    /// The target of the symbolic link `node`; EINVAL for other kinds.
    public func readLink(_ node: RamNode) throws(Errno) -> [UInt8] {
        if node.kind != .symbolicLink { throw .invalidArgument }
        return node.data
    }

    // MARK: Helpers

    /// The directory and name a new node would take, after Linux's
    /// filename_create checks.
    func placeForNewName(
        _ path: [UInt8], from directory: RamNode?, creatingDirectory: Bool
    ) throws(Errno) -> (RamNode, [UInt8]) {
        var linksFollowed = 0
        let walk = try walkToParent(path, from: directory ?? root, linksFollowed: &linksFollowed)
        guard case .name(let name) = walk.last else { throw .exists }
        if name.count > PathLimits.maximumNameLength { throw .nameTooLong }
        if walk.directory.isRemoved { throw .noSuchFile }
        if walk.directory.entries.node(named: name) != nil { throw .exists }
        // "new/" names a directory: only mkdir may create it.
        if walk.trailingSlash && !creatingDirectory { throw .noSuchFile }
        return (walk.directory, name)
    }

    /// Refuses a symbolic link target Linux would refuse.
    static func checkLinkTarget(_ target: [UInt8]) throws(Errno) {
        if target.isEmpty { throw .noSuchFile }
        if target.count >= PathLimits.maximumPathSize { throw .nameTooLong }
        if target.contains(0) { throw .invalidArgument }
    }

    /// Whether `ancestor` is `node` or one of the directories above it.
    static func isAncestor(_ ancestor: RamNode, of node: RamNode) -> Bool {
        var current: RamNode? = node
        while let directory = current {
            if directory === ancestor { return true }
            current = directory.parent
        }
        return false
    }
}
