/// `si_code`: why a signal was sent. Values overlap between signals (1 is
/// SEGV_MAPERR for SIGSEGV and CLD_EXITED for SIGCHLD), so the members are
/// named with their signal; values ≤ 0 mean "sent by a process".
public struct SignalCode: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `SI_USER` (0): `kill`.
    public static let user = SignalCode(rawValue: 0)
    /// `SI_KERNEL` (0x80): the kernel.
    public static let kernel = SignalCode(rawValue: 0x80)
    /// `SI_QUEUE` (-1): `sigqueue`.
    public static let queue = SignalCode(rawValue: -1)
    /// `SI_TIMER` (-2): a POSIX timer expired.
    public static let timer = SignalCode(rawValue: -2)
    /// `SI_MESGQ` (-3): a message arrived on an empty queue.
    public static let messageQueue = SignalCode(rawValue: -3)
    /// `SI_ASYNCIO` (-4): asynchronous I/O completed.
    public static let asyncIO = SignalCode(rawValue: -4)
    /// `SI_SIGIO` (-5): queued SIGIO.
    public static let sigIO = SignalCode(rawValue: -5)
    /// `SI_TKILL` (-6): `tkill`/`tgkill`.
    public static let threadKill = SignalCode(rawValue: -6)

    /// `SEGV_MAPERR` (1): no mapping at the address.
    public static let segvMapError = SignalCode(rawValue: 1)
    /// `SEGV_ACCERR` (2): mapped, but the access is not permitted.
    public static let segvAccessError = SignalCode(rawValue: 2)
    /// `BUS_ADRALN` (1): misaligned address.
    public static let busAlignment = SignalCode(rawValue: 1)
    /// `BUS_ADRERR` (2): nonexistent physical address (past a file's end).
    public static let busAddressError = SignalCode(rawValue: 2)
    /// `ILL_ILLOPC` (1): illegal opcode.
    public static let illegalOpcode = SignalCode(rawValue: 1)
    /// `ILL_PRVOPC` (5): privileged opcode.
    public static let privilegedOpcode = SignalCode(rawValue: 5)
    /// `FPE_INTDIV` (1): integer divide by zero.
    public static let fpeIntegerDivide = SignalCode(rawValue: 1)
    /// `FPE_INTOVF` (2): integer overflow.
    public static let fpeIntegerOverflow = SignalCode(rawValue: 2)
    /// `FPE_FLTDIV` (3): floating-point divide by zero.
    public static let fpeFloatDivide = SignalCode(rawValue: 3)
    /// `FPE_FLTINV` (7): invalid floating-point operation.
    public static let fpeFloatInvalid = SignalCode(rawValue: 7)
    /// `TRAP_BRKPT` (1): breakpoint.
    public static let trapBreakpoint = SignalCode(rawValue: 1)
    /// `TRAP_TRACE` (2): single-step trap.
    public static let trapTrace = SignalCode(rawValue: 2)
    /// `CLD_EXITED` (1): the child exited.
    public static let childExited = SignalCode(rawValue: 1)
    /// `CLD_KILLED` (2): the child was killed.
    public static let childKilled = SignalCode(rawValue: 2)
    /// `CLD_DUMPED` (3): the child was killed and dumped core.
    public static let childDumped = SignalCode(rawValue: 3)
    /// `CLD_TRAPPED` (4): a traced child trapped.
    public static let childTrapped = SignalCode(rawValue: 4)
    /// `CLD_STOPPED` (5): the child stopped.
    public static let childStopped = SignalCode(rawValue: 5)
    /// `CLD_CONTINUED` (6): the child continued.
    public static let childContinued = SignalCode(rawValue: 6)
    /// `SYS_SECCOMP` (1): a seccomp filter refused a system call.
    public static let sysSeccomp = SignalCode(rawValue: 1)

    /// Whether a process (not the kernel) sent it; Linux refuses to let
    /// `rt_sigqueueinfo` forge codes ≥ 0 for another process.
    public var isFromUser: Bool { rawValue <= 0 }
}

/// The union part of `siginfo_t`, by kind of signal. Offsets are from the
/// start of the 128-byte `siginfo_t` (the union starts at 16 on x86_64).
public enum SignalInfoDetails: Equatable, Sendable {
    /// Nothing beyond signo/errno/code.
    case none
    /// `kill`/`tkill`: sender pid (16), uid (20).
    case sender(pid: Int32, uid: UInt32)
    /// `sigqueue` and real-time signals: pid (16), uid (20), sigval (24).
    case queued(pid: Int32, uid: UInt32, value: UInt64)
    /// POSIX timers: timer id (16), overrun (20), sigval (24).
    case timer(id: Int32, overrun: Int32, value: UInt64)
    /// SIGCHLD: pid (16), uid (20), status (24), utime (32), stime (40).
    /// `status` is the exit code for CLD_EXITED, else the signal number.
    case child(pid: Int32, uid: UInt32, status: Int32, userTime: Int64, systemTime: Int64)
    /// SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP: the faulting address (16)
    /// (CR2 for page faults, the instruction for the others).
    case fault(address: UInt64)
    /// SIGIO/SIGPOLL: band (16), fd (24).
    case poll(band: Int64, fd: Int32)
    /// SIGSYS: call address (16), system call number (24), audit arch (28).
    case system(callAddress: UInt64, syscall: Int32, architecture: UInt32)
}

/// `siginfo_t` as the kernel writes it into a signal frame or
/// `rt_sigtimedwait`'s buffer: 128 bytes, `si_signo` at 0, `si_errno` at 4,
/// `si_code` at 8, 4 bytes of padding, then the union at 16.
public struct SignalInfo: Equatable, Sendable {
    /// `si_signo`.
    public var signal: Signal
    /// `si_errno`: almost always 0.
    public var errno: Int32
    /// `si_code`.
    public var code: SignalCode
    /// The union.
    public var details: SignalInfoDetails

    /// `sizeof(siginfo_t)`: 128 on every Linux architecture.
    public static let byteSize = 128
    /// Where the union starts.
    public static let unionOffset = 16

    /// A siginfo with the given fields.
    public init(signal: Signal, errno: Int32 = 0, code: SignalCode, details: SignalInfoDetails) {
        self.signal = signal
        self.errno = errno
        self.code = code
        self.details = details
    }

    /// What `kill(pid, signal)` from `pid`/`uid` delivers.
    public static func killed(by pid: Int32, uid: UInt32, signal: Signal) -> SignalInfo {
        SignalInfo(signal: signal, code: .user, details: .sender(pid: pid, uid: uid))
    }

    /// What a CPU fault at `address` delivers.
    public static func fault(_ signal: Signal, code: SignalCode, address: UInt64) -> SignalInfo {
        SignalInfo(signal: signal, code: code, details: .fault(address: address))
    }

    /// SIGCHLD for a child that exited with `exitCode`.
    public static func childExited(pid: Int32, uid: UInt32, exitCode: Int32,
                                   userTime: Int64 = 0, systemTime: Int64 = 0) -> SignalInfo {
        SignalInfo(signal: .child, code: .childExited,
                   details: .child(pid: pid, uid: uid, status: exitCode,
                                   userTime: userTime, systemTime: systemTime))
    }

    /// Writes the 128 bytes at `bytes[offset...]` (unused bytes zeroed).
    public func encode(into bytes: inout [UInt8], at offset: Int) {
        for index in offset..<(offset + Self.byteSize) { bytes[index] = 0 }
        LinuxLayout.store(signal.rawValue, into: &bytes, at: offset)
        LinuxLayout.store(errno, into: &bytes, at: offset + 4)
        LinuxLayout.store(code.rawValue, into: &bytes, at: offset + 8)
        let union = offset + Self.unionOffset
        switch details {
        case .none:
            break
        case let .sender(pid, uid):
            LinuxLayout.store(pid, into: &bytes, at: union)
            LinuxLayout.store(uid, into: &bytes, at: union + 4)
        case let .queued(pid, uid, value):
            LinuxLayout.store(pid, into: &bytes, at: union)
            LinuxLayout.store(uid, into: &bytes, at: union + 4)
            LinuxLayout.store(value, into: &bytes, at: union + 8)
        case let .timer(id, overrun, value):
            LinuxLayout.store(id, into: &bytes, at: union)
            LinuxLayout.store(overrun, into: &bytes, at: union + 4)
            LinuxLayout.store(value, into: &bytes, at: union + 8)
        case let .child(pid, uid, status, userTime, systemTime):
            LinuxLayout.store(pid, into: &bytes, at: union)
            LinuxLayout.store(uid, into: &bytes, at: union + 4)
            LinuxLayout.store(status, into: &bytes, at: union + 8)
            LinuxLayout.store(userTime, into: &bytes, at: union + 16)
            LinuxLayout.store(systemTime, into: &bytes, at: union + 24)
        case let .fault(address):
            LinuxLayout.store(address, into: &bytes, at: union)
        case let .poll(band, fd):
            LinuxLayout.store(band, into: &bytes, at: union)
            LinuxLayout.store(fd, into: &bytes, at: union + 8)
        case let .system(callAddress, syscall, architecture):
            LinuxLayout.store(callAddress, into: &bytes, at: union)
            LinuxLayout.store(syscall, into: &bytes, at: union + 8)
            LinuxLayout.store(architecture, into: &bytes, at: union + 12)
        }
    }

    /// The 128 bytes.
    public var encoded: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.byteSize)
        encode(into: &bytes, at: 0)
        return bytes
    }
}
