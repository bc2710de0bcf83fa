import ExoKit

/// The access mode in the low two bits of `open`'s flags (`O_ACCMODE`).
public enum FileAccessMode: UInt32, Sendable {
    /// `O_RDONLY` (0).
    case readOnly = 0
    /// `O_WRONLY` (1).
    case writeOnly = 1
    /// `O_RDWR` (2).
    case readWrite = 2

    /// Whether `read` is allowed through a descriptor opened this way.
    public var allowsReading: Bool { self != .writeOnly }
    /// Whether `write` is allowed through a descriptor opened this way.
    public var allowsWriting: Bool { self != .readOnly }
}

/// `open`/`openat` flags (x86_64 values, Linux `asm-generic/fcntl.h`;
/// they are octal there, and written so here to be checked at a glance).
///
/// The access mode is a 2-bit field, not a flag: read it with `accessMode`.
/// Note that Linux's `openat` ignores unknown bits (for historic reasons)
/// while `openat2` rejects them; `validated()` gives the strict answer and
/// the call decides which behaviour it wants.
public struct OpenFlags: KnownFlagSet {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `O_ACCMODE` (0o3): the access-mode field.
    public static let accessModeMask: UInt32 = 0o3
    /// `O_WRONLY` (0o1).
    public static let writeOnly = OpenFlags(rawValue: 0o1)
    /// `O_RDWR` (0o2).
    public static let readWrite = OpenFlags(rawValue: 0o2)
    /// `O_CREAT` (0o100): create the file if it does not exist.
    public static let create = OpenFlags(rawValue: 0o100)
    /// `O_EXCL` (0o200): with `create`, fail with EEXIST if it exists.
    public static let exclusive = OpenFlags(rawValue: 0o200)
    /// `O_NOCTTY` (0o400): opening a terminal does not make it the
    /// controlling terminal.
    public static let noControllingTerminal = OpenFlags(rawValue: 0o400)
    /// `O_TRUNC` (0o1000): truncate a regular file to length 0.
    public static let truncate = OpenFlags(rawValue: 0o1000)
    /// `O_APPEND` (0o2000): every write goes to the end of the file.
    public static let append = OpenFlags(rawValue: 0o2000)
    /// `O_NONBLOCK` (0o4000, also `O_NDELAY`): I/O that would block fails
    /// with EAGAIN instead.
    public static let nonBlocking = OpenFlags(rawValue: 0o4000)
    /// `O_DSYNC` (0o10000): writes wait for the data to reach storage.
    public static let dataSync = OpenFlags(rawValue: 0o10000)
    /// `FASYNC` (0o20000): signal-driven I/O (SIGIO).
    public static let async = OpenFlags(rawValue: 0o20000)
    /// `O_DIRECT` (0o40000): bypass the page cache.
    public static let direct = OpenFlags(rawValue: 0o40000)
    /// `O_LARGEFILE` (0o100000): meaningless on 64-bit, but musl passes it
    /// on every open, so it must be accepted.
    public static let largeFile = OpenFlags(rawValue: 0o100000)
    /// `O_DIRECTORY` (0o200000): fail with ENOTDIR unless a directory.
    public static let directory = OpenFlags(rawValue: 0o200000)
    /// `O_NOFOLLOW` (0o400000): fail with ELOOP if the last component is a
    /// symbolic link.
    public static let noFollow = OpenFlags(rawValue: 0o400000)
    /// `O_NOATIME` (0o1000000): do not update the access time.
    public static let noAccessTime = OpenFlags(rawValue: 0o1000000)
    /// `O_CLOEXEC` (0o2000000): the new descriptor gets FD_CLOEXEC.
    public static let closeOnExec = OpenFlags(rawValue: 0o2000000)
    /// `__O_SYNC` (0o4000000); `O_SYNC` is this plus `dataSync`.
    public static let fileSync = OpenFlags(rawValue: 0o4000000)
    /// `O_SYNC`: data and metadata reach storage before a write returns.
    public static let sync: OpenFlags = [.fileSync, .dataSync]
    /// `O_PATH` (0o10000000): a descriptor that only names a location
    /// (for the `*at` calls and `fstat`); no I/O through it.
    public static let path = OpenFlags(rawValue: 0o10000000)
    /// `__O_TMPFILE` (0o20000000); `O_TMPFILE` is this plus `directory`.
    public static let temporaryFileBit = OpenFlags(rawValue: 0o20000000)
    /// `O_TMPFILE`: an unnamed file in the given directory.
    public static let temporaryFile: OpenFlags = [.temporaryFileBit, .directory]

    /// Every bit Linux defines for `open` on x86_64.
    public static let known: OpenFlags = [
        .writeOnly, .readWrite, .create, .exclusive, .noControllingTerminal, .truncate,
        .append, .nonBlocking, .dataSync, .async, .direct, .largeFile, .directory,
        .noFollow, .noAccessTime, .closeOnExec, .fileSync, .path, .temporaryFileBit,
    ]

    /// The bits `fcntl(F_SETFL)` may change (Linux `SETFL_MASK`); the
    /// others it silently leaves alone.
    public static let settableByFcntl: OpenFlags = [.append, .nonBlocking, .async, .direct, .noAccessTime]

    /// The access mode, or nil for the value 3, which Linux accepts as
    /// "neither read nor write" (ioctl-only) and Exo refuses with EINVAL.
    public var accessMode: FileAccessMode? { FileAccessMode(rawValue: rawValue & Self.accessModeMask) }

    /// The flags with the access-mode field cleared (for printing and for
    /// comparing the rest).
    public var withoutAccessMode: OpenFlags { OpenFlags(rawValue: rawValue & ~Self.accessModeMask) }
}

/// The directory argument of the `*at` calls.
public enum DirectoryDescriptor {
    /// `AT_FDCWD` (-100): resolve relative paths against the working
    /// directory instead of a descriptor.
    public static let currentWorkingDirectory: Int32 = -100

    /// The descriptor number from an argument register (`int dfd`: the low
    /// 32 bits, sign-extended so that AT_FDCWD compares equal).
    @inlinable
    public static func number(fromArgument argument: UInt64) -> Int32 {
        Int32(truncatingIfNeeded: argument)
    }
}

/// The `flags` argument of the `*at` calls (`AT_*`, Linux `fcntl.h`).
///
/// The same bit means different things to different calls (0x200 is
/// `AT_REMOVEDIR` for `unlinkat` and `AT_EACCESS` for `faccessat`), so each
/// call validates against its own subset rather than `known`.
public struct AtFlags: KnownFlagSet {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `AT_SYMLINK_NOFOLLOW` (0x100): act on a final symbolic link itself.
    public static let symlinkNoFollow = AtFlags(rawValue: 0x100)
    /// `AT_REMOVEDIR` (0x200): `unlinkat` removes a directory (`rmdir`).
    public static let removeDirectory = AtFlags(rawValue: 0x200)
    /// `AT_EACCESS` (0x200): `faccessat` checks with the effective IDs.
    public static let effectiveAccess = AtFlags(rawValue: 0x200)
    /// `AT_SYMLINK_FOLLOW` (0x400): `linkat` follows a final symbolic link.
    public static let symlinkFollow = AtFlags(rawValue: 0x400)
    /// `AT_NO_AUTOMOUNT` (0x800): do not trigger automounts.
    public static let noAutomount = AtFlags(rawValue: 0x800)
    /// `AT_EMPTY_PATH` (0x1000): an empty path means the descriptor itself.
    public static let emptyPath = AtFlags(rawValue: 0x1000)
    /// `AT_STATX_FORCE_SYNC` (0x2000): `statx` synchronizes with the server.
    public static let statxForceSync = AtFlags(rawValue: 0x2000)
    /// `AT_STATX_DONT_SYNC` (0x4000): `statx` may return cached attributes.
    public static let statxDontSync = AtFlags(rawValue: 0x4000)
    /// `AT_RECURSIVE` (0x8000): apply to a whole mount subtree.
    public static let recursive = AtFlags(rawValue: 0x8000)

    /// Every `AT_*` bit Linux defines.
    public static let known: AtFlags = [
        .symlinkNoFollow, .removeDirectory, .symlinkFollow, .noAutomount, .emptyPath,
        .statxForceSync, .statxDontSync, .recursive,
    ]
    /// What `newfstatat`/`fstatat` accept.
    public static let forStat: AtFlags = [.symlinkNoFollow, .noAutomount, .emptyPath]
    /// What `unlinkat` accepts.
    public static let forUnlink: AtFlags = [.removeDirectory]
    /// What `faccessat2` accepts.
    public static let forAccess: AtFlags = [.effectiveAccess, .symlinkNoFollow, .emptyPath]

    /// EINVAL unless every set bit is in `allowed` (the call's subset).
    public func validated(allowing allowed: AtFlags) throws(Errno) -> AtFlags {
        guard rawValue & ~allowed.rawValue == 0 else { throw .invalidArgument }
        return self
    }
}

/// Descriptor flags (`F_GETFD`/`F_SETFD`): only one exists.
public struct FileDescriptorFlags: KnownFlagSet {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `FD_CLOEXEC` (1): close the descriptor on a successful `execve`.
    public static let closeOnExec = FileDescriptorFlags(rawValue: 1)
    /// The only defined bit.
    public static let known: FileDescriptorFlags = [.closeOnExec]
}

/// `fcntl` commands (Linux `asm-generic/fcntl.h`, `linux/fcntl.h`).
public struct FcntlCommand: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// The command from `fcntl`'s second argument register (`unsigned int cmd`).
    public init(argument: UInt64) { rawValue = Int32(truncatingIfNeeded: argument) }

    /// `F_DUPFD` (0): duplicate to the lowest free descriptor ≥ argument.
    public static let duplicate = FcntlCommand(rawValue: 0)
    /// `F_GETFD` (1): read the descriptor flags (`FD_CLOEXEC`).
    public static let getDescriptorFlags = FcntlCommand(rawValue: 1)
    /// `F_SETFD` (2): set the descriptor flags.
    public static let setDescriptorFlags = FcntlCommand(rawValue: 2)
    /// `F_GETFL` (3): read the status flags and access mode.
    public static let getStatusFlags = FcntlCommand(rawValue: 3)
    /// `F_SETFL` (4): set the status flags in `OpenFlags.settableByFcntl`.
    public static let setStatusFlags = FcntlCommand(rawValue: 4)
    /// `F_GETLK` (5): test for a conflicting record lock.
    public static let getLock = FcntlCommand(rawValue: 5)
    /// `F_SETLK` (6): take or release a record lock without waiting.
    public static let setLock = FcntlCommand(rawValue: 6)
    /// `F_SETLKW` (7): take a record lock, waiting for it.
    public static let setLockWait = FcntlCommand(rawValue: 7)
    /// `F_SETOWN` (8): the process or group that gets SIGIO.
    public static let setOwner = FcntlCommand(rawValue: 8)
    /// `F_GETOWN` (9).
    public static let getOwner = FcntlCommand(rawValue: 9)
    /// `F_SETSIG` (10): the signal sent instead of SIGIO.
    public static let setSignal = FcntlCommand(rawValue: 10)
    /// `F_GETSIG` (11).
    public static let getSignal = FcntlCommand(rawValue: 11)
    /// `F_OFD_GETLK` (36): `getLock` for open-file-description locks.
    public static let getDescriptionLock = FcntlCommand(rawValue: 36)
    /// `F_OFD_SETLK` (37).
    public static let setDescriptionLock = FcntlCommand(rawValue: 37)
    /// `F_OFD_SETLKW` (38).
    public static let setDescriptionLockWait = FcntlCommand(rawValue: 38)
    /// `F_DUPFD_CLOEXEC` (1030): `duplicate` with FD_CLOEXEC on the copy.
    public static let duplicateCloseOnExec = FcntlCommand(rawValue: 1030)
    /// `F_SETPIPE_SZ` (1031): resize a pipe's buffer.
    public static let setPipeSize = FcntlCommand(rawValue: 1031)
    /// `F_GETPIPE_SZ` (1032).
    public static let getPipeSize = FcntlCommand(rawValue: 1032)
    /// `F_ADD_SEALS` (1033): seal a memfd.
    public static let addSeals = FcntlCommand(rawValue: 1033)
    /// `F_GET_SEALS` (1034).
    public static let getSeals = FcntlCommand(rawValue: 1034)
}

/// `lseek`'s `whence`.
public enum SeekWhence: UInt32, Sendable {
    /// `SEEK_SET` (0): from the start of the file.
    case start = 0
    /// `SEEK_CUR` (1): from the current offset.
    case current = 1
    /// `SEEK_END` (2): from the end of the file.
    case end = 2
    /// `SEEK_DATA` (3): the next offset holding data.
    case data = 3
    /// `SEEK_HOLE` (4): the next hole.
    case hole = 4

    /// `whence` from its argument register (`unsigned int`: the low 32
    /// bits), or nil (EINVAL) for an unknown value.
    public init?(argument: UInt64) {
        self.init(rawValue: UInt32(truncatingIfNeeded: argument))
    }
}

/// `access`/`faccessat`'s `mode`: which permissions to check.
public struct AccessCheck: KnownFlagSet {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `F_OK` (0): only whether the file exists.
    public static let exists: AccessCheck = []
    /// `X_OK` (1).
    public static let execute = AccessCheck(rawValue: 1)
    /// `W_OK` (2).
    public static let write = AccessCheck(rawValue: 2)
    /// `R_OK` (4).
    public static let read = AccessCheck(rawValue: 4)
    /// All three; anything else is EINVAL.
    public static let known: AccessCheck = [.execute, .write, .read]
}
