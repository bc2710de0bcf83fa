import ExoKit

// Linux errors that only file systems raise, kept here until ExoKit's Errno
// lists them (then delete these: two definitions would be ambiguous).
extension Errno {
    /// ELOOP (40): more than `PathLimits.maximumSymbolicLinks` symbolic links
    /// in one resolution, or O_NOFOLLOW met a symbolic link.
    public static var tooManySymbolicLinks: Errno { Errno(rawValue: 40) }
    /// EFBIG (27): a size or offset beyond the largest file.
    public static var fileTooLarge: Errno { Errno(rawValue: 27) }
}
