import ExoKit

/// A thread's user-mode register state, as the kernel saved it on entry
/// (system call, interrupt or fault) and will restore it on return.
///
/// Plain values, independent of the kernel's trap-frame layout: the kernel
/// copies its trap frame into one of these and back.
public struct UserRegisters: Equatable, Sendable {
    public var rax: UInt64 = 0
    public var rbx: UInt64 = 0
    public var rcx: UInt64 = 0
    public var rdx: UInt64 = 0
    public var rsi: UInt64 = 0
    public var rdi: UInt64 = 0
    public var rbp: UInt64 = 0
    public var rsp: UInt64 = 0
    public var r8: UInt64 = 0
    public var r9: UInt64 = 0
    public var r10: UInt64 = 0
    public var r11: UInt64 = 0
    public var r12: UInt64 = 0
    public var r13: UInt64 = 0
    public var r14: UInt64 = 0
    public var r15: UInt64 = 0
    /// The instruction to resume at.
    public var rip: UInt64 = 0
    /// RFLAGS.
    public var rflags: UInt64 = 0
    /// The code segment selector (the user code selector for user threads).
    public var cs: UInt64 = 0
    /// The stack segment selector.
    public var ss: UInt64 = 0
    /// The FS base (`arch_prctl(ARCH_SET_FS)`: the TLS pointer). Not part of
    /// a signal frame: Linux leaves it alone across handlers.
    public var fsBase: UInt64 = 0
    /// The user GS base (`arch_prctl(ARCH_SET_GS)`). Also not in the frame.
    public var gsBase: UInt64 = 0

    /// All registers zero.
    public init() {}
}

/// The CPU exception behind a signal, for `sigcontext`'s `trapno`, `err`
/// and `cr2` (all zero for signals not caused by a fault).
public struct FaultContext: Equatable, Sendable {
    /// The exception vector (14 for #PF, 13 for #GP, ...).
    public var trapNumber: UInt64
    /// The error code the CPU pushed (page-fault bits for #PF).
    public var errorCode: UInt64
    /// CR2: the faulting linear address, for page faults.
    public var address: UInt64

    /// A fault with the given fields.
    public init(trapNumber: UInt64, errorCode: UInt64, address: UInt64) {
        self.trapNumber = trapNumber
        self.errorCode = errorCode
        self.address = address
    }

    /// No fault: a signal sent by `kill`, a timer, a child, ...
    public static let none = FaultContext(trapNumber: 0, errorCode: 0, address: 0)
}

/// The x86_64 signal frame Linux builds on the user stack, and that
/// `rt_sigreturn` reads back (arch/x86/include/asm/sigframe.h,
/// uapi/asm/sigcontext.h, uapi/asm-generic/ucontext.h).
///
/// ```
///   higher addresses
///   interrupted rsp ─►  ... the interrupted code's stack ...
///                       red zone: 128 bytes the ABI lets leaf code use
///                       below rsp; skipped, never written
///                       (padding to 64)
///   fpStateAddress  ─►  FXSAVE area, 512 bytes, 64-aligned
///                       (padding, 8...23 bytes)
///   frame + 312     ─►  siginfo_t, 128 bytes             ◄─ rsi
///   frame + 8       ─►  ucontext, 304 bytes              ◄─ rdx
///                         +0   uc_flags    +8 uc_link
///                         +16  uc_stack (stack_t, 24 bytes)
///                         +40  uc_mcontext (sigcontext, 256 bytes)
///                         +296 uc_sigmask (8 bytes)
///   frame           ─►  pretcode = sa_restorer           ◄─ rsp at handler entry
///   lower addresses
/// ```
/// The FP area sits above the frame because it is carved from the stack
/// first, exactly as Linux's `get_sigframe` does; `sigcontext.fpstate`
/// points at it. The frame is placed so that `(rsp + 8) % 16 == 0` at the
/// handler's first instruction: the state right after a `call`, with
/// `pretcode` as the return address, which is what the C ABI promises a
/// function.
public enum SignalFrameLayout {
    /// Bytes below the interrupted rsp left alone (System V ABI red zone).
    public static let redZoneSize: UInt64 = 128
    /// `pretcode`: where the handler's `ret` goes.
    public static let returnAddressOffset = 0
    /// `struct ucontext` in the frame.
    public static let ucontextOffset = 8
    /// `uc_flags` within the ucontext.
    public static let ucontextFlagsOffset = 0
    /// `uc_link` within the ucontext.
    public static let ucontextLinkOffset = 8
    /// `uc_stack` (a `stack_t`) within the ucontext.
    public static let ucontextStackOffset = 16
    /// `uc_mcontext` (`struct sigcontext`) within the ucontext.
    public static let ucontextSigcontextOffset = 40
    /// `uc_sigmask` within the ucontext.
    public static let ucontextSigmaskOffset = 296
    /// `sizeof(struct ucontext)` on x86_64.
    public static let ucontextSize = 304
    /// `struct siginfo` in the frame.
    public static let siginfoOffset = 8 + 304
    /// `sizeof(struct rt_sigframe)`: 440.
    public static let frameSize = 8 + 304 + 128
    /// `struct sigcontext` in the frame.
    public static let sigcontextOffset = ucontextOffset + ucontextSigcontextOffset
    /// `sizeof(struct sigcontext)` on x86_64.
    public static let sigcontextSize = 256
    /// `uc_sigmask` in the frame.
    public static let sigmaskOffset = ucontextOffset + ucontextSigmaskOffset
    /// Alignment of the FP area: 64, as XSAVE needs (FXSAVE needs 16).
    public static let fpStateAlignment: UInt64 = 64
    /// The most stack one delivery can use below the interrupted rsp (red
    /// zone, FP area and frame, with worst-case padding).
    public static let maximumFootprint: UInt64 = redZoneSize + 63 + 512 + 23 + UInt64(frameSize)

    /// `uc_flags` Exo writes: `UC_SIGCONTEXT_SS` (2) | `UC_STRICT_RESTORE_SS`
    /// (4): sigcontext's `ss` field is valid. `UC_FP_XSTATE` (1) stays
    /// clear: the FP area is plain FXSAVE, with no XSAVE extension.
    public static let ucontextFlags: UInt64 = 0x2 | 0x4

    /// Offsets within `struct sigcontext`, in declaration order.
    public enum Sigcontext {
        /// r8 ... r15 at 0, 8, ..., 56.
        public static let r8 = 0
        /// `rdi`.
        public static let rdi = 64
        /// `rsi`.
        public static let rsi = 72
        /// `rbp`.
        public static let rbp = 80
        /// `rbx`.
        public static let rbx = 88
        /// `rdx`.
        public static let rdx = 96
        /// `rax`.
        public static let rax = 104
        /// `rcx`.
        public static let rcx = 112
        /// `rsp`.
        public static let rsp = 120
        /// `rip`.
        public static let rip = 128
        /// `eflags` (the whole RFLAGS).
        public static let rflags = 136
        /// `cs`, then `gs`, `fs`, `ss`: four 16-bit selectors.
        public static let cs = 144
        /// `gs` selector (always 0 in 64-bit user mode).
        public static let gs = 146
        /// `fs` selector (always 0 in 64-bit user mode).
        public static let fs = 148
        /// `ss`.
        public static let ss = 150
        /// `err`: the exception's error code.
        public static let errorCode = 152
        /// `trapno`: the exception vector.
        public static let trapNumber = 160
        /// `oldmask`: the first word of the blocked mask (all of it on x86_64).
        public static let oldMask = 168
        /// `cr2`: the faulting address.
        public static let cr2 = 176
        /// `fpstate`: pointer to the FP area, or 0 for "no FP state".
        public static let fpState = 184
        /// `reserved1[8]`, zero.
        public static let reserved = 192
    }
}

/// The 512-byte FXSAVE image (Intel SDM vol. 1, 10.5.1) as it appears in a
/// signal frame.
public enum FXSaveArea {
    /// 512 bytes.
    public static let size = 512
    /// FXRSTOR faults (#GP) on a pointer that is not 16-aligned.
    public static let alignment: UInt64 = 16
    /// FCW (x87 control word).
    public static let controlWordOffset = 0
    /// MXCSR (SSE control/status).
    public static let mxcsrOffset = 24
    /// MXCSR_MASK: which MXCSR bits the CPU supports.
    public static let mxcsrMaskOffset = 28
    /// Bytes 464...511 are "available to software"; Linux keeps its XSAVE
    /// magic (`fpx_sw_bytes`) there, so Exo zeroes them: no XSAVE data.
    public static let softwareAvailableOffset = 464
    /// The MXCSR mask to assume when the CPU reports 0 (SDM 11.6.6).
    public static let defaultMXCSRMask: UInt32 = 0xffbf
    /// MXCSR after reset/`execve`: all exceptions masked, round to nearest.
    public static let initialMXCSR: UInt32 = 0x1f80
    /// FCW after FNINIT: all x87 exceptions masked, 64-bit precision.
    public static let initialControlWord: UInt16 = 0x037f

    /// A clean FP state (what a new process starts with).
    public static var initial: [UInt8] {
        var area = [UInt8](repeating: 0, count: size)
        LinuxLayout.store(initialControlWord, into: &area, at: controlWordOffset)
        LinuxLayout.store(initialMXCSR, into: &area, at: mxcsrOffset)
        LinuxLayout.store(defaultMXCSRMask, into: &area, at: mxcsrMaskOffset)
        return area
    }

    /// Makes a user-supplied area safe for FXRSTOR in the kernel: MXCSR
    /// bits the CPU does not support would raise #GP in ring 0, so they are
    /// cleared (Linux does the same with `mxcsr_feature_mask`); the
    /// MXCSR_MASK field (ignored by FXRSTOR) and the software bytes are
    /// reset. `cpuMXCSRMask` is the mask the CPU reported, or 0 for the
    /// default. Precondition: `area.count == size`.
    public static func sanitize(_ area: inout [UInt8], cpuMXCSRMask: UInt32) {
        precondition(area.count == size, "an FXSAVE area is 512 bytes")
        let mask = cpuMXCSRMask == 0 ? defaultMXCSRMask : cpuMXCSRMask
        let mxcsr = LinuxLayout.load(UInt32.self, from: area, at: mxcsrOffset)
        LinuxLayout.store(mxcsr & mask, into: &area, at: mxcsrOffset)
        LinuxLayout.store(mask, into: &area, at: mxcsrMaskOffset)
        for index in softwareAvailableOffset..<size { area[index] = 0 }
    }
}

/// Why a signal frame could not be built or restored. The kernel answers
/// every one the way Linux does: the thread gets SIGSEGV (forced, with
/// the default action if SIGSEGV's own delivery fails).
public enum SignalFrameError: Error, Equatable, Sendable {
    /// The action has no `SA_RESTORER`: on x86_64 the handler would have
    /// nowhere to return to (Linux refuses too).
    case noRestorer
    /// The handler address is not a user address.
    case handlerOutsideUserSpace(UInt64)
    /// The frame would not lie inside user space (stack pointer too low,
    /// wrapping, or not a user address).
    case stackOutsideUserSpace(UInt64)
    /// A handler on the alternate stack would overflow it.
    case alternateStackOverflow
    /// Fewer bytes than `SignalFrameLayout.frameSize` were supplied.
    case truncatedFrame
    /// The saved `rip` is not a user address.
    case instructionPointerOutsideUserSpace(UInt64)
    /// The saved `fpstate` pointer is not 16-byte aligned.
    case misalignedFPState(UInt64)
    /// The saved `fpstate` area is not inside user space.
    case fpStateOutsideUserSpace(UInt64)
}

/// A frame ready to be copied to the user stack, and what the kernel does
/// once it is there.
public struct SignalFrame: Equatable, Sendable {
    /// Where `bytes` go (the lowest address); also the handler's rsp.
    public var frameAddress: UInt64
    /// Where the FP area starts (inside `bytes`, at
    /// `fpStateAddress - frameAddress`).
    public var fpStateAddress: UInt64
    /// The frame, padding and FP area: copy to `frameAddress` in one go.
    /// A failed copy (EFAULT) means the stack is bad: force SIGSEGV.
    public var bytes: [UInt8]
    /// The registers to return to user space with: the handler's.
    public var handlerRegisters: UserRegisters
    /// The blocked mask to install while the handler runs.
    public var blockedDuringHandler: SignalSet
    /// `SA_RESETHAND`: set the signal's action back to SIG_DFL now.
    public var resetsDisposition: Bool
    /// The alternate stack has `SS_AUTODISARM` and the frame is on it:
    /// disable the alternate stack now (`rt_sigreturn` restores it).
    public var disarmsAlternateStack: Bool
}

/// What `rt_sigreturn` restores.
///
/// The kernel must return to user space with exactly these registers via
/// IRET (SYSRET would clobber rcx and r11), must not write the system
/// call's result into rax (rax is the interrupted code's), and must not
/// treat the interrupted call as restartable afterwards.
public struct SignalReturn: Equatable, Sendable {
    /// The interrupted registers, sanitized.
    public var registers: UserRegisters
    /// The blocked mask to reinstall, without SIGKILL/SIGSTOP.
    public var blocked: SignalSet
    /// The FP area to copy in (512 bytes, then `FXSaveArea.sanitize`), or
    /// nil when `fpstate` was 0: reset the FP state to `FXSaveArea.initial`.
    public var fpStateAddress: UInt64?
    /// The saved `uc_stack`: reinstall it as the alternate stack the way
    /// `sigaltstack` would (ignoring failure, as Linux does).
    public var alternateStack: SignalStack
}

/// Builds signal frames on the user stack and takes them apart again, for
/// signal delivery and `rt_sigreturn` (Linux arch/x86/kernel/signal.c,
/// `get_sigframe`, `x64_setup_rt_frame`, `restore_sigcontext`).
///
/// The frame is user memory: on return everything in it is hostile, so
/// `restore` lets the program change only what user code could change
/// anyway — general registers, arithmetic flags, the mask — and forces
/// privilege-relevant state (segments, IOPL, IF, the instruction pointer's
/// range) back to safe values.
public struct SignalFrameBuilder: Sendable {
    /// The user code segment selector (with RPL 3) every user thread runs with.
    public var userCodeSelector: UInt16
    /// The user data/stack segment selector (with RPL 3).
    public var userDataSelector: UInt16
    /// The lowest user address (the null page below it is never mapped).
    public var userAddressStart: UInt64
    /// One past the highest user address.
    public var userAddressEnd: UInt64

    /// RFLAGS bits user code can change itself (POPF in ring 3) and so
    /// may restore: CF, PF, AF, ZF, SF, TF, DF, OF, RF, AC (Linux
    /// `FIX_EFLAGS`). IF, IOPL, NT, VM, VIF, VIP and ID are not among them.
    public static let userModifiableFlags: UInt64 = 0x5_0DD5
    /// RFLAGS bits always set in user mode: IF (interrupts on) and bit 1
    /// (reserved, reads as 1).
    public static let requiredUserFlags: UInt64 = 0x202
    /// Cleared at handler entry: TF (no single-step into the handler), DF
    /// (the ABI requires it clear at calls), RF.
    public static let handlerEntryClearedFlags: UInt64 = 0x1_0500

    /// A builder for the given user selectors and user address range
    /// (Exo: `[0x1000, 0x0000_4000_0000_0000)`).
    public init(userCodeSelector: UInt16, userDataSelector: UInt16,
                userAddressStart: UInt64 = UserSpace.start, userAddressEnd: UInt64 = UserSpace.end) {
        self.userCodeSelector = userCodeSelector
        self.userDataSelector = userDataSelector
        self.userAddressStart = userAddressStart
        self.userAddressEnd = userAddressEnd
    }

    /// The frame `rt_sigreturn` must read: the handler's `ret` popped
    /// `pretcode`, so the frame starts 8 bytes below the current rsp.
    public static func frameAddress(atSignalReturnStackPointer rsp: UInt64) -> UInt64 {
        rsp &- 8
    }

    /// Builds the frame for delivering `info.signal` with `action` to a
    /// thread interrupted in state `interrupted`.
    ///
    /// - Parameters:
    ///   - info: the siginfo the handler receives.
    ///   - action: the signal's action; must be a handler with SA_RESTORER.
    ///   - interrupted: the registers to resume after the handler.
    ///   - blocked: the thread's blocked mask now (saved in the frame).
    ///   - alternateStack: the thread's `sigaltstack` setting.
    ///   - fault: the exception behind the signal, if any.
    ///   - fpState: the thread's FXSAVE image, 512 bytes.
    /// - Returns: the bytes, where they go, and the handler's state.
    /// - Throws: `SignalFrameError` when the frame cannot be placed; the
    ///   kernel then forces SIGSEGV.
    public func build(info: SignalInfo, action: SigAction, interrupted: UserRegisters,
                      blocked: SignalSet, alternateStack: SignalStack,
                      fault: FaultContext = .none,
                      fpState: [UInt8]) throws(SignalFrameError) -> SignalFrame {
        precondition(fpState.count == FXSaveArea.size, "the FP state is a 512-byte FXSAVE image")
        guard action.flags.contains(.restorer) else { throw .noRestorer }
        guard isUserRange(action.handler, length: 1) else {
            throw .handlerOutsideUserSpace(action.handler)
        }

        // Choose the stack. SS_AUTODISARM means "never consider yourself
        // on the alternate stack", so a handler can leave it by longjmp.
        let autoDisarm = alternateStack.flags.contains(.autoDisarm)
        let onAlternate = { (sp: UInt64) in !autoDisarm && alternateStack.contains(stackPointer: sp) }
        let nested = onAlternate(interrupted.rsp)
        guard interrupted.rsp >= SignalFrameLayout.redZoneSize else {
            throw .stackOutsideUserSpace(interrupted.rsp)
        }
        var top = interrupted.rsp - SignalFrameLayout.redZoneSize
        var entering = false
        if action.flags.contains(.onStack) && alternateStack.isEnabled && !onAlternate(top) {
            let (end, overflow) = alternateStack.base.addingReportingOverflow(alternateStack.size)
            guard !overflow else { throw .stackOutsideUserSpace(alternateStack.base) }
            top = end
            entering = true
        }

        // Carve the FP area, then the frame below it.
        // The padding is at most 63 + 23 bytes, so `worstCase` below `top`
        // is enough room for the arithmetic not to wrap.
        let worstCase = UInt64(FXSaveArea.size) + UInt64(SignalFrameLayout.frameSize) + 128
        guard top <= userAddressEnd, top >= worstCase else { throw .stackOutsideUserSpace(top) }
        let fpAddress = (top - UInt64(FXSaveArea.size)) & ~(SignalFrameLayout.fpStateAlignment - 1)
        let frameAddress = ((fpAddress - UInt64(SignalFrameLayout.frameSize)) & ~15) - 8
        guard frameAddress >= userAddressStart else { throw .stackOutsideUserSpace(frameAddress) }
        if (entering || nested) && !alternateStack.contains(stackPointer: frameAddress) {
            throw .alternateStackOverflow
        }

        // ---- The frame is placed; from here on nothing can fail. ----
        var bytes = [UInt8](repeating: 0, count: Int(fpAddress + UInt64(FXSaveArea.size) - frameAddress))
        LinuxLayout.store(action.restorer, into: &bytes, at: SignalFrameLayout.returnAddressOffset)
        let uc = SignalFrameLayout.ucontextOffset
        LinuxLayout.store(SignalFrameLayout.ucontextFlags, into: &bytes, at: uc + SignalFrameLayout.ucontextFlagsOffset)
        var savedStackFlags: SignalStackFlags = alternateStack.isEnabled
            ? (nested ? .onStack : []) : .disable
        if autoDisarm { savedStackFlags.insert(.autoDisarm) }
        SignalStack(base: alternateStack.base, flags: savedStackFlags, size: alternateStack.size)
            .encode(into: &bytes, at: uc + SignalFrameLayout.ucontextStackOffset)
        encodeSigcontext(interrupted, fault: fault, blocked: blocked, fpStateAddress: fpAddress,
                         into: &bytes, at: SignalFrameLayout.sigcontextOffset)
        LinuxLayout.store(blocked.rawValue, into: &bytes, at: SignalFrameLayout.sigmaskOffset)
        info.encode(into: &bytes, at: SignalFrameLayout.siginfoOffset)
        let fpOffset = Int(fpAddress - frameAddress)
        for index in 0..<FXSaveArea.softwareAvailableOffset { bytes[fpOffset + index] = fpState[index] }

        var handler = interrupted
        handler.rdi = UInt64(info.signal.rawValue)
        handler.rsi = frameAddress + UInt64(SignalFrameLayout.siginfoOffset)
        handler.rdx = frameAddress + UInt64(SignalFrameLayout.ucontextOffset)
        handler.rax = 0  // for handlers declared without a prototype (varargs convention)
        handler.rip = action.handler
        handler.rsp = frameAddress
        handler.rflags = (interrupted.rflags & ~Self.handlerEntryClearedFlags & Self.userModifiableFlags)
            | Self.requiredUserFlags
        handler.cs = UInt64(userCodeSelector)
        handler.ss = UInt64(userDataSelector)

        return SignalFrame(
            frameAddress: frameAddress, fpStateAddress: fpAddress, bytes: bytes,
            handlerRegisters: handler,
            blockedDuringHandler: action.blockedDuringHandler(of: info.signal, interruptedMask: blocked),
            resetsDisposition: action.flags.contains(.resetHandler),
            disarmsAlternateStack: autoDisarm && (entering || nested))
    }

    /// Reads back a frame for `rt_sigreturn`.
    ///
    /// - Parameters:
    ///   - bytes: at least `SignalFrameLayout.frameSize` bytes copied from
    ///     `frameAddress(atSignalReturnStackPointer:)`; untrusted.
    ///   - current: the registers at the `rt_sigreturn` system call; only
    ///     the FS and GS bases are kept from them.
    /// - Returns: the registers, mask, FP area and alternate stack to reinstall.
    /// - Throws: `SignalFrameError` for a frame that would leave user mode
    ///   unsafe; the kernel then forces SIGSEGV.
    public func restore(fromFrameBytes bytes: [UInt8],
                        current: UserRegisters) throws(SignalFrameError) -> SignalReturn {
        guard bytes.count >= SignalFrameLayout.frameSize else { throw .truncatedFrame }
        let sc = SignalFrameLayout.sigcontextOffset
        func word(_ field: Int) -> UInt64 { LinuxLayout.load(UInt64.self, from: bytes, at: sc + field) }

        // Only addresses at or above the end of user space are refused: they
        // are kernel or non-canonical, and returning there would fault in
        // ring 0 (SYSRET) or run with kernel addresses in rip. A low address
        // such as 0 just faults in user mode, which is the program's business.
        let rip = word(SignalFrameLayout.Sigcontext.rip)
        guard rip < userAddressEnd else {
            throw .instructionPointerOutsideUserSpace(rip)
        }
        let fpAddress = word(SignalFrameLayout.Sigcontext.fpState)
        if fpAddress != 0 {
            guard fpAddress % FXSaveArea.alignment == 0 else { throw .misalignedFPState(fpAddress) }
            guard isUserRange(fpAddress, length: UInt64(FXSaveArea.size)) else {
                throw .fpStateOutsideUserSpace(fpAddress)
            }
        }

        var registers = UserRegisters()
        registers.r8 = word(SignalFrameLayout.Sigcontext.r8)
        registers.r9 = word(SignalFrameLayout.Sigcontext.r8 + 8)
        registers.r10 = word(SignalFrameLayout.Sigcontext.r8 + 16)
        registers.r11 = word(SignalFrameLayout.Sigcontext.r8 + 24)
        registers.r12 = word(SignalFrameLayout.Sigcontext.r8 + 32)
        registers.r13 = word(SignalFrameLayout.Sigcontext.r8 + 40)
        registers.r14 = word(SignalFrameLayout.Sigcontext.r8 + 48)
        registers.r15 = word(SignalFrameLayout.Sigcontext.r8 + 56)
        registers.rdi = word(SignalFrameLayout.Sigcontext.rdi)
        registers.rsi = word(SignalFrameLayout.Sigcontext.rsi)
        registers.rbp = word(SignalFrameLayout.Sigcontext.rbp)
        registers.rbx = word(SignalFrameLayout.Sigcontext.rbx)
        registers.rdx = word(SignalFrameLayout.Sigcontext.rdx)
        registers.rax = word(SignalFrameLayout.Sigcontext.rax)
        registers.rcx = word(SignalFrameLayout.Sigcontext.rcx)
        registers.rsp = word(SignalFrameLayout.Sigcontext.rsp)
        registers.rip = rip
        registers.rflags = (word(SignalFrameLayout.Sigcontext.rflags) & Self.userModifiableFlags)
            | Self.requiredUserFlags
        registers.cs = UInt64(userCodeSelector)
        registers.ss = UInt64(userDataSelector)
        registers.fsBase = current.fsBase
        registers.gsBase = current.gsBase

        let mask = SignalSet(rawValue: LinuxLayout.load(UInt64.self, from: bytes,
                                                        at: SignalFrameLayout.sigmaskOffset))
        let stack: SignalStack
        do {
            stack = try SignalStack(decoding: bytes,
                                    at: SignalFrameLayout.ucontextOffset + SignalFrameLayout.ucontextStackOffset)
        } catch {
            throw .truncatedFrame  // unreachable: the length was checked above
        }
        return SignalReturn(registers: registers, blocked: mask.removingUnblockable,
                            fpStateAddress: fpAddress == 0 ? nil : fpAddress, alternateStack: stack)
    }

    /// Whether `[address, address + length)` lies inside user space.
    private func isUserRange(_ address: UInt64, length: UInt64) -> Bool {
        let (end, overflow) = address.addingReportingOverflow(length)
        return !overflow && address >= userAddressStart && end <= userAddressEnd
    }

    /// Writes `struct sigcontext` for `registers` at `bytes[offset...]`.
    private func encodeSigcontext(_ registers: UserRegisters, fault: FaultContext, blocked: SignalSet,
                                  fpStateAddress: UInt64, into bytes: inout [UInt8], at offset: Int) {
        typealias Field = SignalFrameLayout.Sigcontext
        let words: [(Int, UInt64)] = [
            (Field.r8, registers.r8), (Field.r8 + 8, registers.r9), (Field.r8 + 16, registers.r10),
            (Field.r8 + 24, registers.r11), (Field.r8 + 32, registers.r12),
            (Field.r8 + 40, registers.r13), (Field.r8 + 48, registers.r14),
            (Field.r8 + 56, registers.r15), (Field.rdi, registers.rdi), (Field.rsi, registers.rsi),
            (Field.rbp, registers.rbp), (Field.rbx, registers.rbx), (Field.rdx, registers.rdx),
            (Field.rax, registers.rax), (Field.rcx, registers.rcx), (Field.rsp, registers.rsp),
            (Field.rip, registers.rip), (Field.rflags, registers.rflags),
            (Field.errorCode, fault.errorCode), (Field.trapNumber, fault.trapNumber),
            (Field.oldMask, blocked.rawValue), (Field.cr2, fault.address),
            (Field.fpState, fpStateAddress),
        ]
        for (field, value) in words { LinuxLayout.store(value, into: &bytes, at: offset + field) }
        // 64-bit user mode uses null FS/GS selectors; the bases live in MSRs.
        LinuxLayout.store(UInt16(truncatingIfNeeded: registers.cs), into: &bytes, at: offset + Field.cs)
        LinuxLayout.store(UInt16(0), into: &bytes, at: offset + Field.gs)
        LinuxLayout.store(UInt16(0), into: &bytes, at: offset + Field.fs)
        LinuxLayout.store(UInt16(truncatingIfNeeded: registers.ss), into: &bytes, at: offset + Field.ss)
    }
}
