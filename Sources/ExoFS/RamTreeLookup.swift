import ExoKit

// Path resolution, following Linux's namei: every component but the last is
// walked (following symbolic links), then the last is handled by what the
// call wants: the node itself, or a parent directory and a name to create
// or remove. Symbolic links followed anywhere in one resolution, nested
// ones included, count against one budget of 40 (ELOOP beyond it).

/// How a path ends, once all but its last component are walked.
enum LastComponent: Equatable {
    /// An ordinary name.
    case name([UInt8])
    /// ".": the walked directory itself.
    case dot
    /// "..": its parent.
    case dotDot
    /// No components: the path was "/" (or "//…").
    case root
}

/// The walked directory and the last component in it.
struct ParentWalk {
    var directory: RamNode
    var last: LastComponent
    var trailingSlash: Bool
}

extension RamTree {
    /// The node `path` names.
    ///
    /// - Parameters:
    ///   - path: absolute, or relative to `directory`; "." and "..", repeated
    ///     slashes and symbolic links anywhere are resolved.
    ///   - directory: where relative paths start (the working directory, or
    ///     an `*at` call's directory); the root if `nil`.
    ///   - followFinalSymlink: whether a symbolic link as the last component
    ///     is followed (stat, open) or returned itself (lstat, readlink,
    ///     O_NOFOLLOW). A trailing slash always follows it.
    /// - Throws: ENOENT (a component or a link target missing, an empty path
    ///   or link), ENOTDIR (a non-directory where a directory is needed,
    ///   including before a trailing slash), ELOOP (more than 40 links),
    ///   ENAMETOOLONG (a path of 4096 bytes or more, a component over 255),
    ///   EINVAL (a NUL byte in the path).
    public func lookup(
        _ path: some Collection<UInt8>, from directory: RamNode? = nil,
        followFinalSymlink: Bool = true
    ) throws(Errno) -> RamNode {
        var linksFollowed = 0
        return try resolve(Array(path), from: directory ?? root,
                           followFinalSymlink: followFinalSymlink, linksFollowed: &linksFollowed)
    }

    /// `lookup` with a link budget shared by nested resolutions.
    func resolve(
        _ path: [UInt8], from start: RamNode, followFinalSymlink: Bool, linksFollowed: inout Int
    ) throws(Errno) -> RamNode {
        let walk = try walkToParent(path, from: start, linksFollowed: &linksFollowed)
        var node: RamNode
        switch walk.last {
        case .root: node = root
        case .dot: node = walk.directory
        case .dotDot: node = walk.directory.parent ?? walk.directory
        case .name(let name):
            node = try child(name, of: walk.directory)
            if node.kind == .symbolicLink && (followFinalSymlink || walk.trailingSlash) {
                node = try follow(node, from: walk.directory, linksFollowed: &linksFollowed)
            }
        }
        if walk.trailingSlash && !node.isDirectory { throw .notDirectory }
        return node
    }

    /// Walks all components of `path` but the last, following symbolic links.
    /// The returned directory is a directory (ENOTDIR otherwise); the last
    /// component is not looked up.
    func walkToParent(
        _ path: [UInt8], from start: RamNode, linksFollowed: inout Int
    ) throws(Errno) -> ParentWalk {
        let parsed = try ParsedPath(path)
        var current = parsed.isAbsolute ? root : start
        guard let lastName = parsed.components.last else {
            // "/" only: a relative path always has a component.
            return ParentWalk(directory: root, last: .root, trailingSlash: false)
        }
        for component in parsed.components.dropLast() {
            if !current.isDirectory { throw .notDirectory }
            switch component {
            case Self.dot: continue
            case Self.dotDot: current = current.parent ?? current
            default:
                var next = try child(component, of: current)
                if next.kind == .symbolicLink {
                    next = try follow(next, from: current, linksFollowed: &linksFollowed)
                }
                current = next
            }
        }
        if !current.isDirectory { throw .notDirectory }
        let last: LastComponent =
            switch lastName {
            case Self.dot: .dot
            case Self.dotDot: .dotDot
            default: .name(lastName)
            }
        return ParentWalk(directory: current, last: last, trailingSlash: parsed.trailingSlash)
    }

    /// The entry `name` of `directory`.
    /// ENAMETOOLONG over 255 bytes; ENOENT if absent or if `directory` was
    /// removed (Linux finds nothing in a dead directory).
    func child(_ name: [UInt8], of directory: RamNode) throws(Errno) -> RamNode {
        if name.count > PathLimits.maximumNameLength { throw .nameTooLong }
        if directory.isRemoved { throw .noSuchFile }
        guard let node = directory.entries.node(named: name) else { throw .noSuchFile }
        return node
    }

    /// What the symbolic link `link`, found in `directory`, leads to: its
    /// target resolved from `directory` (or the root, for an absolute one),
    /// its own last component followed too.
    func follow(_ link: RamNode, from directory: RamNode, linksFollowed: inout Int) throws(Errno) -> RamNode {
        linksFollowed += 1
        if linksFollowed > PathLimits.maximumSymbolicLinks { throw .tooManySymbolicLinks }
        return try resolve(link.data, from: directory, followFinalSymlink: true,
                           linksFollowed: &linksFollowed)
    }

    static let dot: [UInt8] = [UInt8(ascii: ".")]
    static let dotDot: [UInt8] = [UInt8(ascii: "."), UInt8(ascii: ".")]
}
