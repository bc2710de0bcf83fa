import ExoKit

/// A Linux signal number, 1...64 (x86_64 values, Linux
/// `arch/x86/include/uapi/asm/signal.h`).
///
/// 1...31 are the classic signals, each with its own meaning and default
/// action; 32...64 are the real-time signals (`SIGRTMIN`...`SIGRTMAX`),
/// which queue instead of merging. glibc and musl reserve 32...34 for
/// thread cancellation and `setxid`, so their user-visible `SIGRTMIN` is
/// higher, but the kernel's range starts at 32.
public struct Signal: RawRepresentable, Hashable, Sendable {
    /// The signal number, always in 1...64.
    public let rawValue: Int32

    /// The signal numbered `rawValue`, or nil outside 1...64 (Linux answers
    /// EINVAL for such numbers; 0 is "no signal" to `kill`, a probe, which
    /// callers handle before asking for a `Signal`).
    public init?(rawValue: Int32) {
        guard rawValue >= 1 && rawValue <= Signal.count else { return nil }
        self.rawValue = rawValue
    }

    /// The signal from a system-call argument register (`int sig`: the low
    /// 32 bits), or nil when out of range.
    public init?(argument: UInt64) {
        self.init(rawValue: Int32(truncatingIfNeeded: argument))
    }

    private init(_ number: Int32) { rawValue = number }

    /// `_NSIG`: the number of signals, and the highest one.
    public static let count: Int32 = 64

    /// `SIGHUP` (1): the controlling terminal hung up.
    public static let hangup = Signal(1)
    /// `SIGINT` (2): interrupt from the keyboard (^C).
    public static let interrupt = Signal(2)
    /// `SIGQUIT` (3): quit from the keyboard (^\).
    public static let quit = Signal(3)
    /// `SIGILL` (4): illegal instruction (#UD).
    public static let illegalInstruction = Signal(4)
    /// `SIGTRAP` (5): breakpoint or trace trap (#BP, #DB).
    public static let trap = Signal(5)
    /// `SIGABRT` (6): `abort()`.
    public static let abort = Signal(6)
    /// `SIGBUS` (7): bus error (access past the end of a mapped file,
    /// #AC alignment check).
    public static let busError = Signal(7)
    /// `SIGFPE` (8): arithmetic fault (#DE, #MF, #XM).
    public static let floatingPointException = Signal(8)
    /// `SIGKILL` (9): kill; cannot be caught, blocked or ignored.
    public static let kill = Signal(9)
    /// `SIGUSR1` (10): user-defined.
    public static let user1 = Signal(10)
    /// `SIGSEGV` (11): invalid memory reference (#PF, #GP from user mode).
    public static let segmentationViolation = Signal(11)
    /// `SIGUSR2` (12): user-defined.
    public static let user2 = Signal(12)
    /// `SIGPIPE` (13): write to a pipe with no readers.
    public static let brokenPipe = Signal(13)
    /// `SIGALRM` (14): `alarm` / ITIMER_REAL expired.
    public static let alarm = Signal(14)
    /// `SIGTERM` (15): polite termination request.
    public static let terminate = Signal(15)
    /// `SIGSTKFLT` (16): coprocessor stack fault; unused on x86.
    public static let stackFault = Signal(16)
    /// `SIGCHLD` (17): a child stopped, continued or exited.
    public static let child = Signal(17)
    /// `SIGCONT` (18): continue if stopped.
    public static let `continue` = Signal(18)
    /// `SIGSTOP` (19): stop; cannot be caught, blocked or ignored.
    public static let stop = Signal(19)
    /// `SIGTSTP` (20): stop from the terminal (^Z).
    public static let terminalStop = Signal(20)
    /// `SIGTTIN` (21): background process read from the terminal.
    public static let terminalInput = Signal(21)
    /// `SIGTTOU` (22): background process wrote to the terminal.
    public static let terminalOutput = Signal(22)
    /// `SIGURG` (23): urgent data on a socket.
    public static let urgent = Signal(23)
    /// `SIGXCPU` (24): CPU time limit (RLIMIT_CPU) exceeded.
    public static let cpuTimeLimit = Signal(24)
    /// `SIGXFSZ` (25): file size limit (RLIMIT_FSIZE) exceeded.
    public static let fileSizeLimit = Signal(25)
    /// `SIGVTALRM` (26): ITIMER_VIRTUAL expired.
    public static let virtualAlarm = Signal(26)
    /// `SIGPROF` (27): ITIMER_PROF expired.
    public static let profilingAlarm = Signal(27)
    /// `SIGWINCH` (28): the terminal's window size changed.
    public static let windowChange = Signal(28)
    /// `SIGIO` (29, also `SIGPOLL`): I/O is possible on a descriptor.
    public static let io = Signal(29)
    /// `SIGPWR` (30): power failure.
    public static let power = Signal(30)
    /// `SIGSYS` (31): bad system call (seccomp).
    public static let badSystemCall = Signal(31)
    /// `SIGRTMIN` (32): the first real-time signal.
    public static let realtimeMin = Signal(32)
    /// `SIGRTMAX` (64): the last real-time signal.
    public static let realtimeMax = Signal(64)

    /// The real-time signal `SIGRTMIN + offset`, or nil past SIGRTMAX.
    public static func realtime(_ offset: Int32) -> Signal? {
        offset >= 0 ? Signal(rawValue: 32 + offset) : nil
    }

    /// Whether this is a real-time signal (32...64): queued, not merged.
    public var isRealtime: Bool { rawValue >= 32 }

    /// Whether handlers, blocking and ignoring are refused (SIGKILL, SIGSTOP).
    public var isUncatchable: Bool { rawValue == 9 || rawValue == 19 }

    /// Whether the CPU raises it for the faulting instruction (SIGSEGV,
    /// SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS). Linux delivers these before
    /// any other pending signal, so the handler sees the fault that happened.
    public var isSynchronous: Bool {
        switch rawValue {
        case 4, 5, 7, 8, 11, 31: true
        default: false
        }
    }

    /// This signal's bit in a `SignalSet` (bit `rawValue - 1`).
    public var maskBit: UInt64 { 1 << UInt64(rawValue - 1) }

    /// What happens when the disposition is SIG_DFL (signal(7)).
    public var defaultAction: SignalDefaultAction {
        switch rawValue {
        case 3, 4, 5, 6, 7, 8, 11, 24, 25, 31: .coreDump
        case 17, 23, 28: .ignore
        case 18: .continue
        case 19, 20, 21, 22: .stop
        default: .terminate
        }
    }

    /// The C name without offsets (`"SIGSEGV"`), or `"SIGRT"` for 33...63.
    public var shortName: StaticString {
        switch rawValue {
        case 1: "SIGHUP"
        case 2: "SIGINT"
        case 3: "SIGQUIT"
        case 4: "SIGILL"
        case 5: "SIGTRAP"
        case 6: "SIGABRT"
        case 7: "SIGBUS"
        case 8: "SIGFPE"
        case 9: "SIGKILL"
        case 10: "SIGUSR1"
        case 11: "SIGSEGV"
        case 12: "SIGUSR2"
        case 13: "SIGPIPE"
        case 14: "SIGALRM"
        case 15: "SIGTERM"
        case 16: "SIGSTKFLT"
        case 17: "SIGCHLD"
        case 18: "SIGCONT"
        case 19: "SIGSTOP"
        case 20: "SIGTSTP"
        case 21: "SIGTTIN"
        case 22: "SIGTTOU"
        case 23: "SIGURG"
        case 24: "SIGXCPU"
        case 25: "SIGXFSZ"
        case 26: "SIGVTALRM"
        case 27: "SIGPROF"
        case 28: "SIGWINCH"
        case 29: "SIGIO"
        case 30: "SIGPWR"
        case 31: "SIGSYS"
        case 32: "SIGRTMIN"
        case 64: "SIGRTMAX"
        default: "SIGRT"
        }
    }

    /// The name for logs and traces: `"SIGSEGV"`, `"SIGRTMIN+3"` for the
    /// real-time signals between the two ends.
    public var name: String {
        if rawValue > 32 && rawValue < 64 { return "SIGRTMIN+" + String(rawValue - 32) }
        return shortName.description
    }
}

/// What the kernel does with a signal whose disposition is SIG_DFL.
public enum SignalDefaultAction: Sendable {
    /// End the process.
    case terminate
    /// End the process and (on Linux) dump core; the wait status has
    /// `WCOREFLAG` set even when no core file is written.
    case coreDump
    /// Discard the signal.
    case ignore
    /// Stop the process (job control).
    case stop
    /// Continue the process if stopped; otherwise ignore.
    case `continue`

    /// Whether the action ends the process.
    public var terminatesProcess: Bool { self == .terminate || self == .coreDump }
}

/// A set of signals, in the kernel's `sigset_t` layout: one `UInt64`, bit
/// `n - 1` for signal `n` (x86_64's `_NSIG_WORDS` is 1, so the mask is the
/// whole set and `rt_sigprocmask`'s `sigsetsize` must be 8).
public struct SignalSet: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The kernel `sigset_t` size in bytes; the only `sigsetsize` the
    /// `rt_sig*` calls accept (others are EINVAL).
    public static let byteSize = 8

    /// No signals.
    public static let empty = SignalSet(rawValue: 0)
    /// All 64 signals.
    public static let full = SignalSet(rawValue: ~0)
    /// SIGKILL and SIGSTOP: never blocked, whatever a mask asks.
    public static let unblockable = SignalSet([.kill, .stop])
    /// The synchronous fault signals, delivered first (see `Signal.isSynchronous`).
    public static let synchronous = SignalSet([
        .segmentationViolation, .busError, .illegalInstruction, .trap,
        .floatingPointException, .badSystemCall,
    ])

    /// The set holding exactly `signals`.
    public init(_ signals: [Signal]) {
        rawValue = 0
        for signal in signals { rawValue |= signal.maskBit }
    }

    /// Whether `signal` is in the set.
    public func contains(_ signal: Signal) -> Bool { rawValue & signal.maskBit != 0 }
    /// Adds `signal`.
    public mutating func insert(_ signal: Signal) { rawValue |= signal.maskBit }
    /// Removes `signal`.
    public mutating func remove(_ signal: Signal) { rawValue &= ~signal.maskBit }
    /// The signals in either set.
    public func union(_ other: SignalSet) -> SignalSet { SignalSet(rawValue: rawValue | other.rawValue) }
    /// The signals in both sets.
    public func intersection(_ other: SignalSet) -> SignalSet { SignalSet(rawValue: rawValue & other.rawValue) }
    /// The signals here and not in `other`.
    public func subtracting(_ other: SignalSet) -> SignalSet { SignalSet(rawValue: rawValue & ~other.rawValue) }
    /// Whether the set is empty.
    public var isEmpty: Bool { rawValue == 0 }

    /// The set as a blocked mask may hold it: without SIGKILL and SIGSTOP.
    /// Every path that stores a mask (`rt_sigprocmask`, `rt_sigreturn`,
    /// `rt_sigsuspend`, handler entry) goes through this.
    public var removingUnblockable: SignalSet { subtracting(.unblockable) }

    /// The lowest-numbered signal in the set, if any.
    public var lowest: Signal? {
        guard rawValue != 0 else { return nil }
        return Signal(rawValue: Int32(rawValue.trailingZeroBitCount) + 1)
    }

    /// The pending signal Linux delivers next when `self` is the pending
    /// set: the lowest synchronous fault signal not blocked, else the lowest
    /// unblocked signal (`next_signal` in kernel/signal.c). SIGKILL and
    /// SIGSTOP ignore `blocked`.
    public func nextDeliverable(blocked: SignalSet) -> Signal? {
        let deliverable = subtracting(blocked.removingUnblockable)
        return deliverable.intersection(.synchronous).lowest ?? deliverable.lowest
    }
}
