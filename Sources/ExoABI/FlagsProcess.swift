import ExoKit

/// `clone` flags (`CLONE_*`, Linux `uapi/linux/sched.h`) and the exit signal
/// carried in their low byte.
///
/// For `clone` the low byte (`CSIGNAL`) is the signal the parent gets when
/// the child exits (SIGCHLD for `fork`-like clones, 0 for threads); `clone3`
/// passes it in its own field and requires the low byte to be zero. The
/// option members never include the low byte.
public struct CloneFlags: KnownFlagSet {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// `CSIGNAL` (0xff): the exit-signal field.
    public static let exitSignalMask: UInt64 = 0xff
    /// `CLONE_VM` (0x100): share the address space.
    public static let virtualMemory = CloneFlags(rawValue: 0x100)
    /// `CLONE_FS` (0x200): share root, working directory and umask.
    public static let fileSystem = CloneFlags(rawValue: 0x200)
    /// `CLONE_FILES` (0x400): share the descriptor table.
    public static let files = CloneFlags(rawValue: 0x400)
    /// `CLONE_SIGHAND` (0x800): share signal dispositions (needs `virtualMemory`).
    public static let signalHandlers = CloneFlags(rawValue: 0x800)
    /// `CLONE_PIDFD` (0x1000): return a pidfd for the child.
    public static let pidFD = CloneFlags(rawValue: 0x1000)
    /// `CLONE_PTRACE` (0x2000): a traced parent traces the child too.
    public static let ptrace = CloneFlags(rawValue: 0x2000)
    /// `CLONE_VFORK` (0x4000): the parent sleeps until the child execs or exits.
    public static let vfork = CloneFlags(rawValue: 0x4000)
    /// `CLONE_PARENT` (0x8000): the child's parent is the caller's parent.
    public static let parent = CloneFlags(rawValue: 0x8000)
    /// `CLONE_THREAD` (0x10000): same thread group (needs `signalHandlers`).
    public static let thread = CloneFlags(rawValue: 0x10000)
    /// `CLONE_NEWNS` (0x20000): new mount namespace.
    public static let newMountNamespace = CloneFlags(rawValue: 0x20000)
    /// `CLONE_SYSVSEM` (0x40000): share System V semaphore undo lists.
    public static let sysVSemaphores = CloneFlags(rawValue: 0x40000)
    /// `CLONE_SETTLS` (0x80000): set the child's FS base to the `tls` argument.
    public static let setTLS = CloneFlags(rawValue: 0x80000)
    /// `CLONE_PARENT_SETTID` (0x100000): store the child's TID at `parent_tid`.
    public static let parentSetTID = CloneFlags(rawValue: 0x100000)
    /// `CLONE_CHILD_CLEARTID` (0x200000): on child exit, zero `child_tid`
    /// and futex-wake it (how `pthread_join` waits).
    public static let childClearTID = CloneFlags(rawValue: 0x200000)
    /// `CLONE_DETACHED` (0x400000): ignored by Linux; accepted.
    public static let detached = CloneFlags(rawValue: 0x400000)
    /// `CLONE_UNTRACED` (0x800000): a tracer cannot force `ptrace` on it.
    public static let untraced = CloneFlags(rawValue: 0x800000)
    /// `CLONE_CHILD_SETTID` (0x1000000): store the child's TID at
    /// `child_tid` in the child's memory.
    public static let childSetTID = CloneFlags(rawValue: 0x100_0000)
    /// `CLONE_NEWCGROUP` (0x2000000).
    public static let newCgroupNamespace = CloneFlags(rawValue: 0x200_0000)
    /// `CLONE_NEWUTS` (0x4000000).
    public static let newUTSNamespace = CloneFlags(rawValue: 0x400_0000)
    /// `CLONE_NEWIPC` (0x8000000).
    public static let newIPCNamespace = CloneFlags(rawValue: 0x800_0000)
    /// `CLONE_NEWUSER` (0x10000000).
    public static let newUserNamespace = CloneFlags(rawValue: 0x1000_0000)
    /// `CLONE_NEWPID` (0x20000000).
    public static let newPIDNamespace = CloneFlags(rawValue: 0x2000_0000)
    /// `CLONE_NEWNET` (0x40000000).
    public static let newNetworkNamespace = CloneFlags(rawValue: 0x4000_0000)
    /// `CLONE_IO` (0x80000000): share the I/O context.
    public static let io = CloneFlags(rawValue: 0x8000_0000)
    /// `CLONE_CLEAR_SIGHAND` (1 << 32, `clone3` only): reset handled
    /// signals to their default in the child.
    public static let clearSignalHandlers = CloneFlags(rawValue: 1 << 32)
    /// `CLONE_INTO_CGROUP` (1 << 33, `clone3` only).
    public static let intoCgroup = CloneFlags(rawValue: 1 << 33)

    /// Every option bit plus the exit-signal field.
    public static let known: CloneFlags = [
        CloneFlags(rawValue: exitSignalMask),
        .virtualMemory, .fileSystem, .files, .signalHandlers, .pidFD, .ptrace, .vfork, .parent,
        .thread, .newMountNamespace, .sysVSemaphores, .setTLS, .parentSetTID, .childClearTID,
        .detached, .untraced, .childSetTID, .newCgroupNamespace, .newUTSNamespace,
        .newIPCNamespace, .newUserNamespace, .newPIDNamespace, .newNetworkNamespace, .io,
        .clearSignalHandlers, .intoCgroup,
    ]

    /// The exit signal in the low byte (0: none; the parent is not told).
    public var exitSignal: UInt8 { UInt8(truncatingIfNeeded: rawValue & Self.exitSignalMask) }

    /// The option bits alone, without the exit signal.
    public var options: CloneFlags { CloneFlags(rawValue: rawValue & ~Self.exitSignalMask) }

    /// The flags with `exitSignal` in the low byte.
    public init(options: CloneFlags, exitSignal: UInt8) {
        rawValue = (options.rawValue & ~Self.exitSignalMask) | UInt64(exitSignal)
    }

    /// Linux's consistency rules for legacy `clone` (kernel/fork.c
    /// `copy_process` and `kernel_clone`), as EINVAL:
    /// - unknown bits, or the `clone3`-only bits;
    /// - an exit signal above 64;
    /// - `thread` without `signalHandlers`, `signalHandlers` without
    ///   `virtualMemory` (a shared handler table needs shared handlers' code);
    /// - a new mount or user namespace while sharing `fileSystem`;
    /// - `pidFD` with `parentSetTID` (both would write `parent_tid`).
    public func validatedForClone() throws(Errno) -> CloneFlags {
        let flags = try validated()
        if !flags.isDisjoint(with: [.clearSignalHandlers, .intoCgroup]) { throw .invalidArgument }
        if flags.exitSignal > 64 { throw .invalidArgument }
        if flags.contains(.thread) && !flags.contains(.signalHandlers) { throw .invalidArgument }
        if flags.contains(.signalHandlers) && !flags.contains(.virtualMemory) { throw .invalidArgument }
        if flags.contains(.fileSystem) && !flags.isDisjoint(with: [.newMountNamespace, .newUserNamespace]) {
            throw .invalidArgument
        }
        if flags.contains(.pidFD) && flags.contains(.parentSetTID) { throw .invalidArgument }
        return flags
    }
}

/// `wait4`/`waitid` options (`W*`, Linux `uapi/linux/wait.h`).
public struct WaitOptions: KnownFlagSet {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `WNOHANG` (1): return 0 at once if no child has changed state.
    public static let noHang = WaitOptions(rawValue: 1)
    /// `WUNTRACED` (2, also `WSTOPPED`): report stopped children too.
    public static let untraced = WaitOptions(rawValue: 2)
    /// `WEXITED` (4, `waitid` only): report exited children.
    public static let exited = WaitOptions(rawValue: 4)
    /// `WCONTINUED` (8): report children resumed by SIGCONT.
    public static let continued = WaitOptions(rawValue: 8)
    /// `WNOWAIT` (0x1000000, `waitid` only): leave the child waitable.
    public static let noWait = WaitOptions(rawValue: 0x100_0000)
    /// `__WNOTHREAD` (0x20000000): only the caller's own children, not
    /// other threads' in its group.
    public static let noThread = WaitOptions(rawValue: 0x2000_0000)
    /// `__WALL` (0x40000000): wait for all children, whatever their exit
    /// signal.
    public static let all = WaitOptions(rawValue: 0x4000_0000)
    /// `__WCLONE` (0x80000000): wait only for "clone" children (exit signal
    /// other than SIGCHLD).
    public static let clone = WaitOptions(rawValue: 0x8000_0000)

    /// What `wait4` accepts.
    public static let known: WaitOptions = [.noHang, .untraced, .continued, .noThread, .all, .clone]
    /// What `waitid` accepts.
    public static let knownForWaitid: WaitOptions = [
        .noHang, .untraced, .exited, .continued, .noWait, .noThread, .all, .clone,
    ]
}

/// The status word `wait4` stores (the `W*` macros of `<sys/wait.h>`
/// decode it): bits 7:0 say how the child changed state, bits 15:8 carry
/// the exit code or stop signal.
public struct WaitStatus: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The child called `exit(code)`: `(code & 0xff) << 8`.
    public static func exited(code: Int32) -> WaitStatus {
        WaitStatus(rawValue: (code & 0xff) << 8)
    }

    /// The child was killed by `signal`; bit 7 (`WCOREFLAG`, 0x80) when it
    /// dumped core.
    public static func signaled(_ signal: Signal, coreDumped: Bool = false) -> WaitStatus {
        WaitStatus(rawValue: signal.rawValue | (coreDumped ? 0x80 : 0))
    }

    /// The child stopped on `signal`: `(signal << 8) | 0x7f`.
    public static func stopped(_ signal: Signal) -> WaitStatus {
        WaitStatus(rawValue: (signal.rawValue << 8) | 0x7f)
    }

    /// The child was resumed by SIGCONT: 0xffff.
    public static let continued = WaitStatus(rawValue: 0xffff)

    /// `WIFEXITED`.
    public var isExited: Bool { rawValue & 0x7f == 0 }
    /// `WEXITSTATUS`, when exited.
    public var exitCode: Int32? { isExited ? (rawValue >> 8) & 0xff : nil }
    /// `WIFSIGNALED`: the low seven bits are a signal (not 0, not 0x7f).
    public var isSignaled: Bool {
        let low = rawValue & 0x7f
        return low != 0 && low != 0x7f
    }
    /// `WTERMSIG`, when signaled.
    public var terminatingSignal: Int32? { isSignaled ? rawValue & 0x7f : nil }
    /// `WCOREDUMP`.
    public var coreDumped: Bool { isSignaled && rawValue & 0x80 != 0 }
    /// `WIFSTOPPED`.
    public var isStopped: Bool { rawValue & 0xff == 0x7f }
    /// `WSTOPSIG`, when stopped.
    public var stopSignal: Int32? { isStopped ? (rawValue >> 8) & 0xff : nil }
    /// `WIFCONTINUED`.
    public var isContinued: Bool { rawValue == 0xffff }
}

/// `arch_prctl` codes (Linux `asm/prctl.h`).
public struct ArchPrctlCode: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// The code from the first argument register (`int option`).
    public init(argument: UInt64) { rawValue = Int32(truncatingIfNeeded: argument) }

    /// `ARCH_SET_GS` (0x1001): set the user GS base.
    public static let setGSBase = ArchPrctlCode(rawValue: 0x1001)
    /// `ARCH_SET_FS` (0x1002): set the FS base (the TLS pointer every libc
    /// sets before `main`).
    public static let setFSBase = ArchPrctlCode(rawValue: 0x1002)
    /// `ARCH_GET_FS` (0x1003): store the FS base at the given address.
    public static let getFSBase = ArchPrctlCode(rawValue: 0x1003)
    /// `ARCH_GET_GS` (0x1004): store the GS base at the given address.
    public static let getGSBase = ArchPrctlCode(rawValue: 0x1004)
    /// `ARCH_GET_CPUID` (0x1011): whether CPUID is enabled for the thread.
    public static let getCPUID = ArchPrctlCode(rawValue: 0x1011)
    /// `ARCH_SET_CPUID` (0x1012): enable or fault CPUID.
    public static let setCPUID = ArchPrctlCode(rawValue: 0x1012)
}

/// The `op` word of `futex`: a command in the low bits plus two modifier
/// bits (Linux `uapi/linux/futex.h`).
public struct FutexOperation: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// The op from its argument register (`int op`).
    public init(argument: UInt64) { rawValue = Int32(truncatingIfNeeded: argument) }

    /// `FUTEX_PRIVATE_FLAG` (128): the futex is not shared between
    /// processes, so it can be keyed by virtual address.
    public static let privateFlag: Int32 = 128
    /// `FUTEX_CLOCK_REALTIME` (256): an absolute timeout is on
    /// CLOCK_REALTIME instead of CLOCK_MONOTONIC.
    public static let clockRealtimeFlag: Int32 = 256
    /// `FUTEX_BITSET_MATCH_ANY`: the bitset `wait`/`wake` imply.
    public static let matchAnyBitset: UInt32 = 0xffff_ffff

    /// `command` with the modifiers.
    public init(_ command: FutexCommand, isPrivate: Bool = true, realtimeClock: Bool = false) {
        rawValue = command.rawValue | (isPrivate ? Self.privateFlag : 0)
            | (realtimeClock ? Self.clockRealtimeFlag : 0)
    }

    /// The command (`op & FUTEX_CMD_MASK`), or nil when unknown.
    public var command: FutexCommand? {
        FutexCommand(rawValue: rawValue & ~(Self.privateFlag | Self.clockRealtimeFlag))
    }
    /// Whether `FUTEX_PRIVATE_FLAG` is set.
    public var isPrivate: Bool { rawValue & Self.privateFlag != 0 }
    /// Whether `FUTEX_CLOCK_REALTIME` is set.
    public var usesRealtimeClock: Bool { rawValue & Self.clockRealtimeFlag != 0 }

    /// The command, or ENOSYS the way Linux answers: for an unknown command,
    /// and for `FUTEX_CLOCK_REALTIME` on a command that takes no absolute
    /// timeout.
    public func validatedCommand() throws(Errno) -> FutexCommand {
        guard let command else { throw .notImplemented }
        if usesRealtimeClock {
            switch command {
            case .waitBitset, .waitRequeuePI, .lockPI2: break
            default: throw .notImplemented
            }
        }
        return command
    }
}

/// The `futex` commands.
public enum FutexCommand: Int32, Sendable {
    /// `FUTEX_WAIT` (0): sleep if `*uaddr == val` (relative timeout).
    case wait = 0
    /// `FUTEX_WAKE` (1): wake up to `val` waiters.
    case wake = 1
    /// `FUTEX_FD` (2): removed in Linux 2.6.26.
    case fd = 2
    /// `FUTEX_REQUEUE` (3).
    case requeue = 3
    /// `FUTEX_CMP_REQUEUE` (4): requeue if `*uaddr == val3`.
    case compareRequeue = 4
    /// `FUTEX_WAKE_OP` (5).
    case wakeOp = 5
    /// `FUTEX_LOCK_PI` (6).
    case lockPI = 6
    /// `FUTEX_UNLOCK_PI` (7).
    case unlockPI = 7
    /// `FUTEX_TRYLOCK_PI` (8).
    case tryLockPI = 8
    /// `FUTEX_WAIT_BITSET` (9): `wait` with a bitset and an absolute timeout.
    case waitBitset = 9
    /// `FUTEX_WAKE_BITSET` (10).
    case wakeBitset = 10
    /// `FUTEX_WAIT_REQUEUE_PI` (11).
    case waitRequeuePI = 11
    /// `FUTEX_CMP_REQUEUE_PI` (12).
    case compareRequeuePI = 12
    /// `FUTEX_LOCK_PI2` (13).
    case lockPI2 = 13
}

/// `getrandom` flags (`GRND_*`).
public struct GetRandomFlags: KnownFlagSet {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `GRND_NONBLOCK` (1): EAGAIN instead of waiting for entropy.
    public static let nonBlocking = GetRandomFlags(rawValue: 1)
    /// `GRND_RANDOM` (2): historically the blocking pool; now the same.
    public static let random = GetRandomFlags(rawValue: 2)
    /// `GRND_INSECURE` (4): never block, even before the pool is seeded.
    public static let insecure = GetRandomFlags(rawValue: 4)
    /// All three (`insecure` with `random` is EINVAL; `validatedForGetRandom` checks).
    public static let known: GetRandomFlags = [.nonBlocking, .random, .insecure]

    /// EINVAL for unknown bits and for `insecure` with `random` (Linux).
    public func validatedForGetRandom() throws(Errno) -> GetRandomFlags {
        let flags = try validated()
        if flags.isSuperset(of: [.insecure, .random]) { throw .invalidArgument }
        return flags
    }
}
