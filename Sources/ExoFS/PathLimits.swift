import ExoKit

/// Linux's limits on names and paths, and how a path splits into components.
public enum PathLimits {
    /// PATH_MAX: bytes in a path including its NUL, so a path has at most
    /// 4095 bytes; a symbolic link's target too.
    public static let maximumPathSize = 4096
    /// NAME_MAX: bytes in one component.
    public static let maximumNameLength = 255
    /// MAXSYMLINKS: symbolic links one resolution may follow before ELOOP.
    public static let maximumSymbolicLinks = 40
}

/// A path as lookup sees it: where it starts, its components ("." and ".."
/// included, empty ones from repeated slashes dropped), and whether it ended
/// in a slash, which demands a directory.
struct ParsedPath {
    var isAbsolute: Bool
    var components: [[UInt8]]
    var trailingSlash: Bool

    /// Splits `bytes`.
    ///
    /// Errors: ENOENT for an empty path (as Linux without AT_EMPTY_PATH);
    /// ENAMETOOLONG for 4096 bytes or more; EINVAL for a NUL inside, which a
    /// C string cannot carry and no name may contain.
    init(_ bytes: [UInt8]) throws(Errno) {
        if bytes.isEmpty { throw .noSuchFile }
        if bytes.count >= PathLimits.maximumPathSize { throw .nameTooLong }
        isAbsolute = bytes[0] == UInt8(ascii: "/")
        components = []
        var current: [UInt8] = []
        for byte in bytes {
            if byte == 0 { throw .invalidArgument }
            if byte == UInt8(ascii: "/") {
                if !current.isEmpty { components.append(current) }
                current = []
            } else {
                current.append(byte)
            }
        }
        trailingSlash = current.isEmpty && !components.isEmpty
        if !current.isEmpty { components.append(current) }
    }
}
