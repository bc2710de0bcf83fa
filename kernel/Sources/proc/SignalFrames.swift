import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// Moving user contexts in and out of signal frames on the user stack.
/// The layout and all checks are ExoABI's `SignalFrameBuilder`; this file
/// converts between the kernel's `TrapFrame` and the ABI's registers and
/// copies the bytes. The FPU state goes in the frame too: a handler may
/// use SSE freely.
enum SignalFrames {
    static let builder = SignalFrameBuilder(userCodeSelector: GDTLayout.userCode.rawValue,
                                            userDataSelector: GDTLayout.userData.rawValue,
                                            userAddressStart: UserMode.userBase, userAddressEnd: UserMode.userEnd)

    static func registers(from frame: TrapFrame) -> UserRegisters {
        var registers = UserRegisters()
        registers.rax = frame.rax; registers.rbx = frame.rbx; registers.rcx = frame.rcx; registers.rdx = frame.rdx
        registers.rsi = frame.rsi; registers.rdi = frame.rdi; registers.rbp = frame.rbp; registers.rsp = frame.rsp
        registers.r8 = frame.r8; registers.r9 = frame.r9; registers.r10 = frame.r10; registers.r11 = frame.r11
        registers.r12 = frame.r12; registers.r13 = frame.r13; registers.r14 = frame.r14; registers.r15 = frame.r15
        registers.rip = frame.rip; registers.rflags = frame.rflags; registers.cs = frame.cs; registers.ss = frame.ss
        registers.fsBase = Threads.table[Scheduler.current.index].userFSBase
        return registers
    }

    static func apply(_ registers: UserRegisters, to frame: inout TrapFrame) {
        frame.rax = registers.rax; frame.rbx = registers.rbx; frame.rcx = registers.rcx; frame.rdx = registers.rdx
        frame.rsi = registers.rsi; frame.rdi = registers.rdi; frame.rbp = registers.rbp; frame.rsp = registers.rsp
        frame.r8 = registers.r8; frame.r9 = registers.r9; frame.r10 = registers.r10; frame.r11 = registers.r11
        frame.r12 = registers.r12; frame.r13 = registers.r13; frame.r14 = registers.r14; frame.r15 = registers.r15
        frame.rip = registers.rip; frame.rflags = registers.rflags
        frame.cs = UInt64(GDTLayout.userCode.rawValue); frame.ss = UInt64(GDTLayout.userData.rawValue)
    }

    /// The calling thread's FPU state as the 512-byte FXSAVE image.
    private static func currentFPUState() -> [UInt8] {
        let area = Threads.table[Scheduler.current.index].fpuArea!
        CPU.withInterruptsDisabled { exo_fxsave(area) }
        return Array(UnsafeRawBufferPointer(start: area, count: FXSaveArea.size))
    }

    enum Failure: Error { case frame, copy }

    /// Delivers `signal` to `handler`: the interrupted context goes on the
    /// user stack, the handler starts with (signal, &info, &context).
    static func push(signal: Signal, info: SignalInfo, action: SigAction, thread: UserThread,
                     frame: UnsafeMutablePointer<TrapFrame>) throws(Failure) {
        // After sigsuspend, the handler returns to the caller's own mask.
        let savedMask = Scheduler.withLock { () -> SignalSet in
            let saved = thread.maskAfterSuspend ?? thread.blocked
            thread.maskAfterSuspend = nil
            return saved
        }
        let built: SignalFrame
        do {
            built = try builder.build(info: info, action: action, interrupted: registers(from: frame.pointee),
                                      blocked: savedMask, alternateStack: thread.alternateSignalStack,
                                      fpState: currentFPUState())
        } catch { throw .frame }
        do { try UserMode.writeBytes(built.bytes, to: built.frameAddress) } catch { throw .copy }
        Scheduler.withLock {
            thread.blocked = built.blockedDuringHandler.removingUnblockable
            if built.resetsDisposition { thread.process.setActionLocked(.default, for: signal) }
            if built.disarmsAlternateStack { thread.alternateSignalStack = .disabled }
        }
        apply(built.handlerRegisters, to: &frame.pointee)
    }

    /// rt_sigreturn: reinstalls the context saved by `push` (sanitized by
    /// the builder: a forged frame cannot gain privileges).
    static func pop(thread: UserThread, frame: UnsafeMutablePointer<TrapFrame>) throws(Failure) {
        let address = SignalFrameBuilder.frameAddress(atSignalReturnStackPointer: frame.pointee.rsp)
        let bytes: [UInt8]
        do { bytes = try UserMode.readBytes(at: address, count: SignalFrameLayout.frameSize) } catch { throw .copy }
        let restored: SignalReturn
        do { restored = try builder.restore(fromFrameBytes: bytes, current: registers(from: frame.pointee)) } catch { throw .frame }
        if let fpAddress = restored.fpStateAddress {
            guard var area = try? UserMode.readBytes(at: fpAddress, count: FXSaveArea.size) else { throw .copy }
            FXSaveArea.sanitize(&area, cpuMXCSRMask: UInt32(FXSaveArea.defaultMXCSRMask))
            let target = Threads.table[Scheduler.current.index].fpuArea!
            area.withUnsafeBytes { target.copyMemory(from: $0.baseAddress!, byteCount: FXSaveArea.size) }
            CPU.withInterruptsDisabled { exo_fxrstor(target) }
        }
        Scheduler.withLock { thread.blocked = restored.blocked.removingUnblockable }
        apply(restored.registers, to: &frame.pointee)
    }
}
