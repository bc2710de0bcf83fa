import ExoKit

/// `sa_flags` of `rt_sigaction` (`SA_*`, x86_64 values).
///
/// Linux does not reject unknown bits here: since 5.11 it clears them
/// before storing the action, so a program can probe support by reading
/// the action back (`SA_UNSUPPORTED`). `storable` does the same.
public struct SigActionFlags: KnownFlagSet {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// `SA_NOCLDSTOP` (1): no SIGCHLD when a child stops or continues.
    public static let noChildStop = SigActionFlags(rawValue: 0x1)
    /// `SA_NOCLDWAIT` (2): children do not become zombies.
    public static let noChildWait = SigActionFlags(rawValue: 0x2)
    /// `SA_SIGINFO` (4): the handler takes `(sig, siginfo_t *, ucontext_t *)`.
    /// Exo passes all three registers either way, as Linux does.
    public static let signalInfo = SigActionFlags(rawValue: 0x4)
    /// `SA_UNSUPPORTED` (0x400): always cleared; lets user space detect
    /// that unknown flags are cleared.
    public static let unsupported = SigActionFlags(rawValue: 0x400)
    /// `SA_EXPOSE_TAGBITS` (0x800): arm64 tag bits; meaningless on x86_64
    /// but accepted.
    public static let exposeTagBits = SigActionFlags(rawValue: 0x800)
    /// `SA_RESTORER` (0x04000000): `sa_restorer` is valid. x86_64 has no
    /// vDSO-provided return trampoline in Exo, so a handler without one
    /// cannot be delivered (the process gets SIGSEGV, as on Linux).
    public static let restorer = SigActionFlags(rawValue: 0x0400_0000)
    /// `SA_ONSTACK` (0x08000000): run on the alternate signal stack.
    public static let onStack = SigActionFlags(rawValue: 0x0800_0000)
    /// `SA_RESTART` (0x10000000): restart interrupted system calls.
    public static let restart = SigActionFlags(rawValue: 0x1000_0000)
    /// `SA_NODEFER` (0x40000000): do not block the signal in its own handler.
    public static let noDefer = SigActionFlags(rawValue: 0x4000_0000)
    /// `SA_RESETHAND` (0x80000000): reset to SIG_DFL on delivery.
    public static let resetHandler = SigActionFlags(rawValue: 0x8000_0000)

    /// The bits Linux stores (`UAPI_SA_FLAGS` without `SA_UNSUPPORTED`).
    public static let known: SigActionFlags = [
        .noChildStop, .noChildWait, .signalInfo, .exposeTagBits, .restorer, .onStack,
        .restart, .noDefer, .resetHandler,
    ]

    /// The flags as `rt_sigaction` stores them: unknown bits cleared.
    public var storable: SigActionFlags { intersection(Self.known) }
}

/// What a process asked to happen on a signal: `sa_handler`'s meaning.
public enum SignalDisposition: Equatable, Sendable {
    /// `SIG_DFL` (0): the signal's `defaultAction`.
    case `default`
    /// `SIG_IGN` (1): discard it.
    case ignore
    /// Run the user function at this address.
    case handler(UInt64)
}

/// The kernel's `struct sigaction` for `rt_sigaction` on x86_64 (32 bytes):
/// `handler` at 0, `flags` at 8, `restorer` at 16, `mask` at 24.
///
/// This is not the C library's `struct sigaction` (glibc's has a 128-byte
/// mask and a different order); libc converts before the system call.
public struct SigAction: LinuxABIStruct, Equatable, Sendable {
    /// `sa_handler`/`sa_sigaction`: 0 (SIG_DFL), 1 (SIG_IGN) or a function.
    public var handler: UInt64
    /// `sa_flags`.
    public var flags: SigActionFlags
    /// `sa_restorer`: where the handler returns to; it must call
    /// `rt_sigreturn`. libc points it at its `__restore_rt`.
    public var restorer: UInt64
    /// `sa_mask`: signals blocked while the handler runs (in addition to
    /// the signal itself unless `noDefer`).
    public var mask: SignalSet

    /// 32 bytes.
    public static let byteSize = 32

    /// The action a new process starts with for every signal: SIG_DFL,
    /// no flags, empty mask.
    public static let `default` = SigAction(handler: 0, flags: [], restorer: 0, mask: .empty)

    /// An action with the given fields.
    public init(handler: UInt64, flags: SigActionFlags, restorer: UInt64, mask: SignalSet) {
        self.handler = handler
        self.flags = flags
        self.restorer = restorer
        self.mask = mask
    }

    /// `handler` interpreted.
    public var disposition: SignalDisposition {
        switch handler {
        case 0: .default
        case 1: .ignore
        default: .handler(handler)
        }
    }

    /// The action as Linux stores it from user input: unknown flags
    /// cleared, SIGKILL and SIGSTOP removed from the mask.
    public var storable: SigAction {
        SigAction(handler: handler, flags: flags.storable, restorer: restorer,
                  mask: mask.removingUnblockable)
    }

    /// Whether `signal` with this action is discarded at generation time:
    /// SIG_IGN, or SIG_DFL for a signal whose default is to ignore.
    public func ignores(_ signal: Signal) -> Bool {
        switch disposition {
        case .ignore: true
        case .default: signal.defaultAction == .ignore
        case .handler: false
        }
    }

    /// The blocked mask while the handler for `signal` runs: the
    /// interrupted mask plus `mask`, plus `signal` itself unless `noDefer`.
    public func blockedDuringHandler(of signal: Signal, interruptedMask blocked: SignalSet) -> SignalSet {
        var during = blocked.union(mask)
        if !flags.contains(.noDefer) { during.insert(signal) }
        return during.removingUnblockable
    }

    /// `rt_sigaction`'s argument checks, in Linux's order: `sigsetsize`
    /// must be 8, the signal 1...64, and SIGKILL/SIGSTOP may be read but
    /// not changed (all EINVAL). Returns the signal.
    public static func checkRequest(signalNumber: UInt64, sigsetSize: UInt64,
                                    changing: Bool) throws(Errno) -> Signal {
        guard sigsetSize == UInt64(SignalSet.byteSize) else { throw .invalidArgument }
        guard let signal = Signal(argument: signalNumber) else { throw .invalidArgument }
        if changing && signal.isUncatchable { throw .invalidArgument }
        return signal
    }

    public func encode(into bytes: inout [UInt8], at offset: Int) {
        LinuxLayout.store(handler, into: &bytes, at: offset)
        LinuxLayout.store(flags.rawValue, into: &bytes, at: offset + 8)
        LinuxLayout.store(restorer, into: &bytes, at: offset + 16)
        LinuxLayout.store(mask.rawValue, into: &bytes, at: offset + 24)
    }

    public init(decoding bytes: [UInt8], at offset: Int) throws(Errno) {
        try Self.checkBounds(bytes, at: offset)
        handler = LinuxLayout.load(UInt64.self, from: bytes, at: offset)
        flags = SigActionFlags(rawValue: LinuxLayout.load(UInt64.self, from: bytes, at: offset + 8))
        restorer = LinuxLayout.load(UInt64.self, from: bytes, at: offset + 16)
        mask = SignalSet(rawValue: LinuxLayout.load(UInt64.self, from: bytes, at: offset + 24))
    }
}

/// `rt_sigprocmask`'s `how`.
public enum SignalMaskHow: UInt32, Sendable {
    /// `SIG_BLOCK` (0): add the set to the mask.
    case block = 0
    /// `SIG_UNBLOCK` (1): remove the set from the mask.
    case unblock = 1
    /// `SIG_SETMASK` (2): replace the mask.
    case setMask = 2

    /// `how` from its argument register (`int`: the low 32 bits), or nil
    /// (EINVAL).
    public init?(argument: UInt64) {
        self.init(rawValue: UInt32(truncatingIfNeeded: argument))
    }

    /// The new blocked mask from `current` and the caller's `set`; SIGKILL
    /// and SIGSTOP are never blocked.
    public func apply(_ set: SignalSet, to current: SignalSet) -> SignalSet {
        switch self {
        case .block: current.union(set).removingUnblockable
        case .unblock: current.subtracting(set)
        case .setMask: set.removingUnblockable
        }
    }
}

/// `ss_flags` of the alternate signal stack (`SS_*`).
public struct SignalStackFlags: KnownFlagSet {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `SS_ONSTACK` (1): reported when the thread is running on the stack.
    public static let onStack = SignalStackFlags(rawValue: 1)
    /// `SS_DISABLE` (2): no alternate stack.
    public static let disable = SignalStackFlags(rawValue: 2)
    /// `SS_AUTODISARM` (1 << 31): disable the stack while a handler runs
    /// on it (so a handler may swapcontext away safely).
    public static let autoDisarm = SignalStackFlags(rawValue: 1 << 31)
    /// What `sigaltstack` accepts (SS_ONSTACK is accepted and ignored, for
    /// old programs).
    public static let known: SignalStackFlags = [.onStack, .disable, .autoDisarm]
}

/// `stack_t` (24 bytes): `ss_sp` at 0, `ss_flags` at 8, `ss_size` at 16.
/// Used by `sigaltstack` and saved in every signal frame's `uc_stack`.
public struct SignalStack: LinuxABIStruct, Equatable, Sendable {
    /// The lowest address of the stack.
    public var base: UInt64
    /// `ss_flags`.
    public var flags: SignalStackFlags
    /// The size in bytes (0 when disabled).
    public var size: UInt64

    /// 24 bytes (4 bytes of padding after `ss_flags`).
    public static let byteSize = 24
    /// `MINSIGSTKSZ` on x86_64 (2048): smaller stacks are ENOMEM. Exo's
    /// frame (`SignalFrameLayout.maximumFootprint`) fits well inside it.
    public static let minimumSize: UInt64 = 2048

    /// No alternate stack (the state after `execve`).
    public static let disabled = SignalStack(base: 0, flags: .disable, size: 0)

    /// A stack with the given fields.
    public init(base: UInt64, flags: SignalStackFlags, size: UInt64) {
        self.base = base
        self.flags = flags
        self.size = size
    }

    /// Whether signals with SA_ONSTACK can use it.
    public var isEnabled: Bool { !flags.contains(.disable) && size != 0 }

    /// Whether `stackPointer` is inside the stack (Linux's
    /// `__on_sig_stack`: above the base, at most `size` above it, since
    /// the stack grows down from `base + size`).
    public func contains(stackPointer: UInt64) -> Bool {
        isEnabled && stackPointer > base && stackPointer - base <= size
    }

    public func encode(into bytes: inout [UInt8], at offset: Int) {
        LinuxLayout.store(base, into: &bytes, at: offset)
        LinuxLayout.store(flags.rawValue, into: &bytes, at: offset + 8)
        LinuxLayout.store(UInt32(0), into: &bytes, at: offset + 12)
        LinuxLayout.store(size, into: &bytes, at: offset + 16)
    }

    public init(decoding bytes: [UInt8], at offset: Int) throws(Errno) {
        try Self.checkBounds(bytes, at: offset)
        base = LinuxLayout.load(UInt64.self, from: bytes, at: offset)
        flags = SignalStackFlags(rawValue: LinuxLayout.load(UInt32.self, from: bytes, at: offset + 8))
        size = LinuxLayout.load(UInt64.self, from: bytes, at: offset + 16)
    }
}
