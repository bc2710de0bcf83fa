import ExoKit

/// The six argument registers of a system call, in ABI order: rdi, rsi,
/// rdx, r10, r8, r9 (r10 instead of rcx, which `syscall` overwrites).
public struct SyscallArguments: Equatable, Sendable {
    /// Argument 0 (rdi).
    public var first: UInt64
    /// Argument 1 (rsi).
    public var second: UInt64
    /// Argument 2 (rdx).
    public var third: UInt64
    /// Argument 3 (r10).
    public var fourth: UInt64
    /// Argument 4 (r8).
    public var fifth: UInt64
    /// Argument 5 (r9).
    public var sixth: UInt64

    /// The arguments in order; unused ones default to 0.
    public init(_ first: UInt64 = 0, _ second: UInt64 = 0, _ third: UInt64 = 0,
                _ fourth: UInt64 = 0, _ fifth: UInt64 = 0, _ sixth: UInt64 = 0) {
        self.first = first
        self.second = second
        self.third = third
        self.fourth = fourth
        self.fifth = fifth
        self.sixth = sixth
    }

    /// Argument `index` (0...5).
    public subscript(index: Int) -> UInt64 {
        switch index {
        case 0: first
        case 1: second
        case 2: third
        case 3: fourth
        case 4: fifth
        case 5: sixth
        default: preconditionFailure("system calls take six arguments")
        }
    }
}

/// How the trace prints one argument.
public enum SyscallArgumentKind: Sendable {
    /// A descriptor (`int`): decimal, `AT_FDCWD` by name.
    case fileDescriptor
    /// An address: hex, `NULL` for 0.
    case pointer
    /// A C string pointer: the string quoted when the reader can fetch it,
    /// else like `pointer`.
    case string
    /// A size or count: unsigned decimal.
    case unsigned
    /// An `int`: the low 32 bits, signed decimal.
    case int
    /// A `long`/`off_t`: signed decimal.
    case long
    /// A flag word or command without a symbolic printer: hex.
    case hex
    /// A file mode: octal with a leading 0.
    case mode
    /// A signal number: `SIGTERM`.
    case signal
    /// `open` flags: `O_WRONLY|O_CREAT|O_TRUNC`.
    case openFlags
    /// `mmap` protection: `PROT_READ|PROT_WRITE`.
    case protection
    /// `mmap` flags: `MAP_PRIVATE|MAP_ANONYMOUS`.
    case mapFlags

    /// The kind for one letter of a signature code (see `SyscallSignature`).
    init?(code: UInt8) {
        switch code {
        case UInt8(ascii: "f"): self = .fileDescriptor
        case UInt8(ascii: "p"): self = .pointer
        case UInt8(ascii: "S"): self = .string
        case UInt8(ascii: "u"): self = .unsigned
        case UInt8(ascii: "i"): self = .int
        case UInt8(ascii: "l"): self = .long
        case UInt8(ascii: "x"): self = .hex
        case UInt8(ascii: "o"): self = .mode
        case UInt8(ascii: "s"): self = .signal
        case UInt8(ascii: "O"): self = .openFlags
        case UInt8(ascii: "P"): self = .protection
        case UInt8(ascii: "M"): self = .mapFlags
        default: return nil
        }
    }
}

/// How many arguments a call takes and how to print each.
///
/// Stored as a short code, one letter per argument (`f` descriptor, `p`
/// pointer, `S` string, `u` unsigned, `i` int, `l` long, `x` hex, `o` mode,
/// `s` signal, `O` open flags, `P` protection, `M` map flags), so the table
/// is one static string per call and looking it up allocates nothing.
public struct SyscallSignature: Sendable {
    /// The code, e.g. `"fpu"` for `write(int fd, const void *buf, size_t count)`.
    public let code: StaticString

    /// A signature from its code. Precondition: at most six known letters.
    public init(code: StaticString) {
        precondition(code.utf8CodeUnitCount <= 6, "system calls take at most six arguments")
        self.code = code
    }

    /// The number of arguments.
    public var argumentCount: Int { code.utf8CodeUnitCount }

    /// The kind of argument `index`.
    public func kind(of index: Int) -> SyscallArgumentKind {
        precondition(index >= 0 && index < argumentCount)
        return code.withUTF8Buffer { SyscallArgumentKind(code: $0[index]) } ?? .hex
    }

    /// What an unknown call gets: six hex arguments.
    public static let unknown = SyscallSignature(code: "xxxxxx")
}

extension SyscallNumber {
    /// The argument signature of the common calls (about 150: the ones
    /// static musl and glibc programs make), or nil for the rest.
    public var signature: SyscallSignature? {
        let code: StaticString? = switch rawValue {
        case 0: "fpu"  // read
        case 1: "fpu"  // write
        case 2: "SOo"  // open
        case 3: "f"  // close
        case 4: "Sp"  // stat
        case 5: "fp"  // fstat
        case 6: "Sp"  // lstat
        case 7: "pui"  // poll
        case 8: "fli"  // lseek
        case 9: "puPMfx"  // mmap
        case 10: "puP"  // mprotect
        case 11: "pu"  // munmap
        case 12: "p"  // brk
        case 13: "sppu"  // rt_sigaction
        case 14: "ippu"  // rt_sigprocmask
        case 15: ""  // rt_sigreturn
        case 16: "fxx"  // ioctl
        case 17: "fpul"  // pread64
        case 18: "fpul"  // pwrite64
        case 19: "fpi"  // readv
        case 20: "fpi"  // writev
        case 21: "So"  // access
        case 22: "p"  // pipe
        case 23: "ipppp"  // select
        case 24: ""  // sched_yield
        case 25: "puuxp"  // mremap
        case 28: "pui"  // madvise
        case 32: "f"  // dup
        case 33: "ff"  // dup2
        case 34: ""  // pause
        case 35: "pp"  // nanosleep
        case 36: "ip"  // getitimer
        case 37: "u"  // alarm
        case 38: "ipp"  // setitimer
        case 39: ""  // getpid
        case 40: "ffpu"  // sendfile
        case 41: "iii"  // socket
        case 42: "fpu"  // connect
        case 43: "fpp"  // accept
        case 44: "fpuxpu"  // sendto
        case 45: "fpuxpp"  // recvfrom
        case 48: "fi"  // shutdown
        case 49: "fpu"  // bind
        case 50: "fi"  // listen
        case 56: "xpppp"  // clone
        case 57: ""  // fork
        case 58: ""  // vfork
        case 59: "Spp"  // execve
        case 60: "i"  // exit
        case 61: "ipxp"  // wait4
        case 62: "is"  // kill
        case 63: "p"  // uname
        case 72: "fix"  // fcntl
        case 73: "fi"  // flock
        case 74: "f"  // fsync
        case 75: "f"  // fdatasync
        case 76: "Sl"  // truncate
        case 77: "fl"  // ftruncate
        case 78: "fpu"  // getdents
        case 79: "pu"  // getcwd
        case 80: "S"  // chdir
        case 81: "f"  // fchdir
        case 82: "SS"  // rename
        case 83: "So"  // mkdir
        case 84: "S"  // rmdir
        case 85: "So"  // creat
        case 86: "SS"  // link
        case 87: "S"  // unlink
        case 88: "SS"  // symlink
        case 89: "Spu"  // readlink
        case 90: "So"  // chmod
        case 91: "fo"  // fchmod
        case 92: "Sii"  // chown
        case 93: "fii"  // fchown
        case 95: "o"  // umask
        case 96: "pp"  // gettimeofday
        case 97: "ip"  // getrlimit
        case 98: "ip"  // getrusage
        case 99: "p"  // sysinfo
        case 100: "p"  // times
        case 102: ""  // getuid
        case 104: ""  // getgid
        case 105: "i"  // setuid
        case 106: "i"  // setgid
        case 107: ""  // geteuid
        case 108: ""  // getegid
        case 109: "ii"  // setpgid
        case 110: ""  // getppid
        case 111: ""  // getpgrp
        case 112: ""  // setsid
        case 121: "i"  // getpgid
        case 124: "i"  // getsid
        case 127: "pu"  // rt_sigpending
        case 128: "pppu"  // rt_sigtimedwait
        case 129: "isp"  // rt_sigqueueinfo
        case 130: "pu"  // rt_sigsuspend
        case 131: "pp"  // sigaltstack
        case 137: "Sp"  // statfs
        case 138: "fp"  // fstatfs
        case 157: "ixxxx"  // prctl
        case 158: "xp"  // arch_prctl
        case 160: "ip"  // setrlimit
        case 161: "S"  // chroot
        case 162: ""  // sync
        case 186: ""  // gettid
        case 200: "is"  // tkill
        case 201: "p"  // time
        case 202: "pxippx"  // futex
        case 203: "iup"  // sched_setaffinity
        case 204: "iup"  // sched_getaffinity
        case 217: "fpu"  // getdents64
        case 218: "p"  // set_tid_address
        case 228: "ip"  // clock_gettime
        case 229: "ip"  // clock_getres
        case 230: "ixpp"  // clock_nanosleep
        case 231: "i"  // exit_group
        case 232: "fpii"  // epoll_wait
        case 233: "fifp"  // epoll_ctl
        case 234: "iis"  // tgkill
        case 257: "fSOo"  // openat
        case 258: "fSo"  // mkdirat
        case 260: "fSiix"  // fchownat
        case 262: "fSpx"  // newfstatat
        case 263: "fSx"  // unlinkat
        case 264: "fSfS"  // renameat
        case 265: "fSfSx"  // linkat
        case 266: "SfS"  // symlinkat
        case 267: "fSpu"  // readlinkat
        case 268: "fSo"  // fchmodat
        case 269: "fSo"  // faccessat
        case 270: "ipppp"  // pselect6
        case 271: "pupu"  // ppoll
        case 273: "pu"  // set_robust_list
        case 274: "ipp"  // get_robust_list
        case 280: "fSpx"  // utimensat
        case 281: "fpiipu"  // epoll_pwait
        case 284: "u"  // eventfd
        case 290: "ux"  // eventfd2
        case 291: "x"  // epoll_create1
        case 292: "ffx"  // dup3
        case 293: "px"  // pipe2
        case 302: "iipp"  // prlimit64
        case 309: "ppp"  // getcpu
        case 318: "pux"  // getrandom
        case 319: "Sx"  // memfd_create
        case 332: "fSxxp"  // statx
        case 334: "puxx"  // rseq
        case 435: "pu"  // clone3
        case 436: "uux"  // close_range
        case 437: "fSpu"  // openat2
        case 439: "fSox"  // faccessat2
        default: nil
        }
        return code.map { SyscallSignature(code: $0) }
    }

    /// Whether the call returns an address rather than a number (so the
    /// trace prints it in hex): `mmap`, `brk`, `mremap`, `shmat`.
    public var returnsAddress: Bool {
        switch rawValue {
        case 9, 12, 25, 30: true
        default: false
        }
    }
}

/// strace-style one-line descriptions of system calls, for the kernel's
/// system-call trace: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`,
/// `write(1, 0x7ffd1000, 12) = 12`, `open("/nope", O_RDONLY) = -2 ENOENT`.
public enum SyscallTrace {
    /// The longest string argument printed before `...`.
    public static let maximumStringLength = 32

    /// The line for call `number` with `arguments`, returning `result`
    /// (nil for calls that did not return, printed `= ?`).
    ///
    /// `readString` fetches a C string argument from user memory (nil when
    /// it cannot: the pointer is then printed). Results in -4095...-1 are
    /// errors and print as `-errno NAME`.
    public static func format(number: SyscallNumber, arguments: SyscallArguments, result: Int64?,
                              readString: (UInt64) -> String? = { _ in nil }) -> String {
        var line = number.displayName
        line += "("
        let signature = number.signature ?? .unknown
        for index in 0..<signature.argumentCount {
            if index > 0 { line += ", " }
            line += formatArgument(arguments[index], as: signature.kind(of: index), readString: readString)
        }
        line += ") = "
        guard let result else { return line + "?" }
        if result < 0 && result >= -4095 {
            let errno = Errno(rawValue: Int32(-result))
            line += String(result)
            let name = errno.name.description
            if name != "E?" { line += " " + name }
            return line
        }
        line += number.returnsAddress ? hex(UInt64(bitPattern: result)) : String(result)
        return line
    }

    /// One argument printed as `kind`.
    public static func formatArgument(_ value: UInt64, as kind: SyscallArgumentKind,
                                      readString: (UInt64) -> String? = { _ in nil }) -> String {
        switch kind {
        case .fileDescriptor:
            let fd = Int32(truncatingIfNeeded: value)
            return fd == DirectoryDescriptor.currentWorkingDirectory ? "AT_FDCWD" : String(fd)
        case .pointer:
            return value == 0 ? "NULL" : hex(value)
        case .string:
            if value == 0 { return "NULL" }
            guard let text = readString(value) else { return hex(value) }
            return quoted(text)
        case .unsigned:
            return String(value)
        case .int:
            return String(Int32(truncatingIfNeeded: value))
        case .long:
            return String(Int64(bitPattern: value))
        case .hex:
            return hex(value)
        case .mode:
            return value == 0 ? "0" : "0" + String(value, radix: 8)
        case .signal:
            if let signal = Signal(argument: value) { return signal.name }
            return String(Int32(truncatingIfNeeded: value))
        case .openFlags:
            return openFlagNames(OpenFlags(argument: value))
        case .protection:
            return protectionNames(MemoryProtection(argument: value))
        case .mapFlags:
            return mapFlagNames(MapFlags(argument: value))
        }
    }

    /// `0x` and lowercase hex digits without leading zeros.
    static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

    /// `text` in double quotes with C escapes, cut at `maximumStringLength`
    /// bytes with `...` after the closing quote (strace's style).
    static func quoted(_ text: String) -> String {
        var out = "\""
        var count = 0
        for byte in text.utf8 {
            if count == maximumStringLength { return out + "\"..." }
            count += 1
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\n"): out += "\\n"
            case UInt8(ascii: "\t"): out += "\\t"
            case 0x20..<0x7f: out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "\\x"
                if byte < 0x10 { out += "0" }
                out += String(byte, radix: 16)
            }
        }
        return out + "\""
    }

    /// `names` of the bits set in `value`, joined with `|`, with leftover
    /// unknown bits in hex; `empty` when nothing is set.
    static func flagNames(_ value: UInt32, _ names: [(UInt32, StaticString)], empty: String) -> String {
        var out = ""
        var remaining = value
        for (bit, name) in names where remaining & bit == bit && bit != 0 {
            if !out.isEmpty { out += "|" }
            out += name.description
            remaining &= ~bit
        }
        if remaining != 0 {
            if !out.isEmpty { out += "|" }
            out += hex(UInt64(remaining))
        }
        return out.isEmpty ? empty : out
    }

    static func openFlagNames(_ flags: OpenFlags) -> String {
        let mode: String
        switch flags.accessMode {
        case .readOnly: mode = "O_RDONLY"
        case .writeOnly: mode = "O_WRONLY"
        case .readWrite: mode = "O_RDWR"
        case nil: mode = "O_ACCMODE"
        }
        let rest = flagNames(flags.withoutAccessMode.rawValue, [
            (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
            (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o4010000, "O_SYNC"),
            (0o10000, "O_DSYNC"), (0o20000, "O_ASYNC"), (0o40000, "O_DIRECT"),
            (0o100000, "O_LARGEFILE"), (0o20200000, "O_TMPFILE"), (0o200000, "O_DIRECTORY"),
            (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"), (0o2000000, "O_CLOEXEC"),
            (0o10000000, "O_PATH"),
        ], empty: "")
        return rest.isEmpty ? mode : mode + "|" + rest
    }

    static func protectionNames(_ protection: MemoryProtection) -> String {
        flagNames(protection.rawValue, [
            (0x1, "PROT_READ"), (0x2, "PROT_WRITE"), (0x4, "PROT_EXEC"),
            (0x0100_0000, "PROT_GROWSDOWN"), (0x0200_0000, "PROT_GROWSUP"),
        ], empty: "PROT_NONE")
    }

    static func mapFlagNames(_ flags: MapFlags) -> String {
        let sharing: String
        switch flags.sharing {
        case .shared: sharing = "MAP_SHARED"
        case .private: sharing = "MAP_PRIVATE"
        case .sharedValidate: sharing = "MAP_SHARED_VALIDATE"
        case nil: sharing = hex(UInt64(flags.rawValue & MapFlags.sharingMask))
        }
        let rest = flagNames(flags.rawValue & ~MapFlags.sharingMask, [
            (0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"), (0x40, "MAP_32BIT"),
            (0x100, "MAP_GROWSDOWN"), (0x800, "MAP_DENYWRITE"), (0x1000, "MAP_EXECUTABLE"),
            (0x2000, "MAP_LOCKED"), (0x4000, "MAP_NORESERVE"), (0x8000, "MAP_POPULATE"),
            (0x10000, "MAP_NONBLOCK"), (0x20000, "MAP_STACK"), (0x40000, "MAP_HUGETLB"),
            (0x80000, "MAP_SYNC"), (0x100000, "MAP_FIXED_NOREPLACE"),
            (0x400_0000, "MAP_UNINITIALIZED"),
        ], empty: "")
        return rest.isEmpty ? sharing : sharing + "|" + rest
    }
}
