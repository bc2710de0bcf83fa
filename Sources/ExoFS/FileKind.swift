import ExoABI

/// What a node in a file tree is, with the S_IF* bits Linux's `st_mode` uses.
public enum FileKind: UInt32, Sendable {
    /// S_IFREG.
    case regular = 0o100000
    /// S_IFDIR.
    case directory = 0o040000
    /// S_IFLNK.
    case symbolicLink = 0o120000
    /// S_IFCHR: served by the driver its device number names.
    case characterDevice = 0o020000
    /// S_IFBLK.
    case blockDevice = 0o060000
    /// S_IFIFO: a named pipe.
    case fifo = 0o010000
    /// S_IFSOCK: a Unix socket's name.
    case socket = 0o140000

    /// S_IFMT: the kind bits of a mode.
    public static let mask: UInt32 = 0o170000

    /// The kind a mode's S_IF* bits name, or `nil` for a value no file has.
    public init?(mode: UInt32) { self.init(rawValue: mode & Self.mask) }

    /// The getdents64 `d_type` for this kind.
    public var direntType: DirentType { DirentType(mode: rawValue) }

    /// Whether nodes of this kind stand for a device and carry its number.
    public var isDevice: Bool { self == .characterDevice || self == .blockDevice }
}
