/// A Linux error number, as the kernel returns it (negated) in RAX.
///
/// The values are Linux x86_64's, so that unmodified static binaries read the
/// same errors they would on Linux. Kernel code throws these with typed throws
/// (`throws(Errno)`); no `-1` sentinels.
public struct Errno: Error, RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// EPERM: operation not permitted.
    public static let notPermitted = Errno(rawValue: 1)
    /// ENOENT: no such file or directory.
    public static let noSuchFile = Errno(rawValue: 2)
    /// ESRCH: no such process.
    public static let noSuchProcess = Errno(rawValue: 3)
    /// EINTR: interrupted system call.
    public static let interrupted = Errno(rawValue: 4)
    /// EIO: input/output error.
    public static let ioError = Errno(rawValue: 5)
    /// E2BIG: argument list too long.
    public static let argumentListTooLong = Errno(rawValue: 7)
    /// ENOEXEC: exec format error.
    public static let execFormat = Errno(rawValue: 8)
    /// EBADF: bad file descriptor.
    public static let badFileDescriptor = Errno(rawValue: 9)
    /// ECHILD: no child processes.
    public static let noChild = Errno(rawValue: 10)
    /// EAGAIN: resource temporarily unavailable.
    public static let tryAgain = Errno(rawValue: 11)
    /// ENOMEM: cannot allocate memory.
    public static let outOfMemory = Errno(rawValue: 12)
    /// EACCES: permission denied.
    public static let accessDenied = Errno(rawValue: 13)
    /// EFAULT: bad address.
    public static let badAddress = Errno(rawValue: 14)
    /// EBUSY: device or resource busy.
    public static let busy = Errno(rawValue: 16)
    /// EEXIST: file exists.
    public static let exists = Errno(rawValue: 17)
    /// ENODEV: no such device (mmap of a file that cannot be mapped so).
    public static let noDevice = Errno(rawValue: 19)
    /// ENOTDIR: not a directory.
    public static let notDirectory = Errno(rawValue: 20)
    /// EISDIR: is a directory.
    public static let isDirectory = Errno(rawValue: 21)
    /// EINVAL: invalid argument.
    public static let invalidArgument = Errno(rawValue: 22)
    /// EMFILE: too many open files.
    public static let tooManyOpenFiles = Errno(rawValue: 24)
    /// ENOTTY: inappropriate ioctl for device.
    public static let notTerminal = Errno(rawValue: 25)
    /// ENOSPC: no space left on device.
    public static let noSpace = Errno(rawValue: 28)
    /// ESPIPE: illegal seek.
    public static let illegalSeek = Errno(rawValue: 29)
    /// EPIPE: broken pipe.
    public static let brokenPipe = Errno(rawValue: 32)
    /// ERANGE: result out of range.
    public static let outOfRange = Errno(rawValue: 34)
    /// ENAMETOOLONG: file name too long.
    public static let nameTooLong = Errno(rawValue: 36)
    /// ENOSYS: function not implemented.
    public static let notImplemented = Errno(rawValue: 38)
    /// ENOTEMPTY: directory not empty.
    public static let notEmpty = Errno(rawValue: 39)
    /// EOVERFLOW: value too large for defined data type.
    public static let overflow = Errno(rawValue: 75)
    /// EBADMSG: not a data message (a malformed message in an IPC ring).
    public static let badMessage = Errno(rawValue: 74)
    /// EMSGSIZE: message too long.
    public static let messageTooLong = Errno(rawValue: 90)
    /// ETIMEDOUT: connection timed out.
    public static let timedOut = Errno(rawValue: 110)

    /// The value a system call returns in RAX for this error: `-errno`.
    public var syscallReturnValue: Int64 { -Int64(rawValue) }

    /// The C constant's name (`"EFAULT"`), for logs and traces.
    public var name: StaticString {
        switch rawValue {
        case 1: "EPERM"
        case 2: "ENOENT"
        case 3: "ESRCH"
        case 4: "EINTR"
        case 5: "EIO"
        case 7: "E2BIG"
        case 8: "ENOEXEC"
        case 9: "EBADF"
        case 10: "ECHILD"
        case 11: "EAGAIN"
        case 12: "ENOMEM"
        case 13: "EACCES"
        case 14: "EFAULT"
        case 16: "EBUSY"
        case 17: "EEXIST"
        case 19: "ENODEV"
        case 20: "ENOTDIR"
        case 21: "EISDIR"
        case 22: "EINVAL"
        case 24: "EMFILE"
        case 25: "ENOTTY"
        case 28: "ENOSPC"
        case 29: "ESPIPE"
        case 32: "EPIPE"
        case 34: "ERANGE"
        case 36: "ENAMETOOLONG"
        case 38: "ENOSYS"
        case 39: "ENOTEMPTY"
        case 27: "EFBIG"
        case 40: "ELOOP"
        case 74: "EBADMSG"
        case 75: "EOVERFLOW"
        case 90: "EMSGSIZE"
        case 110: "ETIMEDOUT"
        default: "E?"
        }
    }
}
