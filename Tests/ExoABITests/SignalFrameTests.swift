import ExoKit
import Testing
@testable import ExoABI

@Suite("Signal frames")
struct SignalFrameTests {
    static let userCode: UInt16 = 0x23
    static let userData: UInt16 = 0x1b
    static let builder = SignalFrameBuilder(userCodeSelector: userCode, userDataSelector: userData)
    static let handler: UInt64 = 0x40_1000
    static let restorer: UInt64 = 0x40_2000
    static let action = SigAction(handler: handler, flags: [.signalInfo, .restorer], restorer: restorer,
                                  mask: SignalSet([.user2]))

    /// Registers with a distinct value in every field and only flags a
    /// program can have (so restore must give them back unchanged).
    static func interrupted(rsp: UInt64 = 0x3fff_f000_0e58) -> UserRegisters {
        var registers = UserRegisters()
        registers.rax = 0x1111; registers.rbx = 0x2222; registers.rcx = 0x3333; registers.rdx = 0x4444
        registers.rsi = 0x5555; registers.rdi = 0x6666; registers.rbp = 0x7777; registers.rsp = rsp
        registers.r8 = 8; registers.r9 = 9; registers.r10 = 10; registers.r11 = 11
        registers.r12 = 12; registers.r13 = 13; registers.r14 = 14; registers.r15 = 15
        registers.rip = 0x40_3456
        registers.rflags = 0x202 | 0x1 | 0x40 | 0x400  // IF, CF, ZF, DF
        registers.cs = UInt64(userCode); registers.ss = UInt64(userData)
        registers.fsBase = 0x3fff_f7ff_8000
        return registers
    }

    static var fpState: [UInt8] { (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) } }

    static func deliver(_ registers: UserRegisters = interrupted(), action: SigAction = action,
                        stack: SignalStack = .disabled,
                        blocked: SignalSet = SignalSet([.hangup])) throws(SignalFrameError) -> SignalFrame {
        try builder.build(info: .fault(.segmentationViolation, code: .segvAccessError, address: 0xbad),
                          action: action, interrupted: registers, blocked: blocked,
                          alternateStack: stack,
                          fault: FaultContext(trapNumber: 14, errorCode: 7, address: 0xbad),
                          fpState: fpState)
    }

    static func word(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }

    @Test func layoutMatchesLinuxStructures() {
        #expect(SignalFrameLayout.ucontextSigcontextOffset == 40)
        #expect(SignalFrameLayout.ucontextSigmaskOffset == 296)
        #expect(SignalFrameLayout.ucontextSize == 304)
        #expect(SignalFrameLayout.sigcontextSize == 256)
        #expect(SignalFrameLayout.siginfoOffset == 312)
        #expect(SignalFrameLayout.frameSize == 440)
        #expect(SignalFrameLayout.sigcontextOffset == 48)
        #expect(SignalFrameLayout.Sigcontext.rip == 128)
        #expect(SignalFrameLayout.Sigcontext.rflags == 136)
        #expect(SignalFrameLayout.Sigcontext.fpState == 184)
        #expect(SignalFrameLayout.Sigcontext.reserved + 64 == SignalFrameLayout.sigcontextSize)
        #expect(SignalFrameLayout.maximumFootprint < SignalStack.minimumSize)
    }

    @Test func handlerStartsWithLinuxRegisterConvention() throws {
        let registers = Self.interrupted()
        let frame = try Self.deliver(registers)
        let handler = frame.handlerRegisters
        #expect(handler.rdi == 11)
        #expect(handler.rsi == frame.frameAddress + 312)
        #expect(handler.rdx == frame.frameAddress + 8)
        #expect(handler.rax == 0)
        #expect(handler.rip == Self.handler)
        #expect(handler.rsp == frame.frameAddress)
        #expect((handler.rsp + 8) % 16 == 0)
        #expect(handler.rflags & 0x400 == 0)  // DF cleared for the C ABI
        #expect(handler.rflags & 0x200 != 0)
        #expect(handler.rflags & 0x1 != 0)    // arithmetic flags kept
        #expect(handler.cs == 0x23 && handler.ss == 0x1b)
        #expect(handler.fsBase == registers.fsBase)
        #expect(handler.rbx == registers.rbx && handler.r15 == registers.r15)
        #expect(frame.blockedDuringHandler == SignalSet([.hangup, .segmentationViolation, .user2]))
        #expect(!frame.resetsDisposition && !frame.disarmsAlternateStack)
    }

    @Test func frameSitsBelowTheRedZoneWithTheFPAreaAboveIt() throws {
        let rsp: UInt64 = 0x3fff_f000_0e58
        let frame = try Self.deliver(Self.interrupted(rsp: rsp))
        #expect(frame.fpStateAddress % 64 == 0)
        #expect(frame.fpStateAddress + 512 <= rsp - 128)
        #expect(frame.frameAddress + 440 <= frame.fpStateAddress)
        #expect(rsp - frame.frameAddress <= SignalFrameLayout.maximumFootprint)
        #expect(UInt64(frame.bytes.count) == frame.fpStateAddress + 512 - frame.frameAddress)
    }

    @Test func frameBytesHoldTheSavedState() throws {
        let registers = Self.interrupted()
        let frame = try Self.deliver(registers)
        let bytes = frame.bytes
        let sc = 48
        #expect(Self.word(bytes, 0) == Self.restorer)
        #expect(Self.word(bytes, 8) == 6)                     // uc_flags
        #expect(Self.word(bytes, 16) == 0)                    // uc_link
        #expect(Self.word(bytes, 24) == 0)                    // uc_stack.ss_sp
        #expect(bytes[32] == 2)                               // SS_DISABLE
        #expect(Self.word(bytes, sc + 0) == 8)                // r8
        #expect(Self.word(bytes, sc + 56) == 15)              // r15
        #expect(Self.word(bytes, sc + 64) == registers.rdi)
        #expect(Self.word(bytes, sc + 104) == registers.rax)
        #expect(Self.word(bytes, sc + 120) == registers.rsp)
        #expect(Self.word(bytes, sc + 128) == registers.rip)
        #expect(Self.word(bytes, sc + 136) == registers.rflags)
        #expect(bytes[sc + 144] == 0x23 && bytes[sc + 150] == 0x1b)
        #expect(Self.word(bytes, sc + 152) == 7)              // err
        #expect(Self.word(bytes, sc + 160) == 14)             // trapno
        #expect(Self.word(bytes, sc + 168) == 1)              // oldmask: SIGHUP
        #expect(Self.word(bytes, sc + 176) == 0xbad)          // cr2
        #expect(Self.word(bytes, sc + 184) == frame.fpStateAddress)
        #expect(Self.word(bytes, 304) == 1)                   // uc_sigmask
        #expect(bytes[312] == 11 && Self.word(bytes, 312 + 16) == 0xbad)
        let fp = Int(frame.fpStateAddress - frame.frameAddress)
        #expect(bytes[fp..<(fp + 464)].elementsEqual(Self.fpState[0..<464]))
        #expect(bytes[(fp + 464)..<(fp + 512)].allSatisfy { $0 == 0 })
    }

    @Test func restoreGivesBackRegistersAndMask() throws {
        let registers = Self.interrupted()
        let frame = try Self.deliver(registers, blocked: SignalSet([.hangup, .alarm]))
        // rt_sigreturn runs after the handler's `ret` popped pretcode.
        let sigreturnRSP = frame.frameAddress + 8
        #expect(SignalFrameBuilder.frameAddress(atSignalReturnStackPointer: sigreturnRSP) == frame.frameAddress)
        var atSigreturn = frame.handlerRegisters
        atSigreturn.rsp = sigreturnRSP
        let restored = try Self.builder.restore(fromFrameBytes: frame.bytes, current: atSigreturn)
        #expect(restored.registers == registers)
        #expect(restored.blocked == SignalSet([.hangup, .alarm]))
        #expect(restored.fpStateAddress == frame.fpStateAddress)
        #expect(restored.alternateStack == SignalStack.disabled)
        // Only the frame proper is needed.
        let short = try Self.builder.restore(fromFrameBytes: Array(frame.bytes[0..<440]), current: atSigreturn)
        #expect(short == restored)
    }

    @Test func handlerEntryIsAlignedForAnyStackPointer() throws {
        var random = SplitMix64(seed: 0x5151)
        for _ in 0..<2000 {
            let rsp = 0x10_0000 + random.next() % 0x3fff_0000_0000
            let frame = try Self.deliver(Self.interrupted(rsp: rsp))
            #expect((frame.frameAddress + 8) % 16 == 0)
            #expect(frame.fpStateAddress % 64 == 0)
            #expect(frame.fpStateAddress + 512 <= rsp - 128)
            #expect(frame.frameAddress + 440 <= frame.fpStateAddress)
            let restored = try Self.builder.restore(fromFrameBytes: frame.bytes, current: frame.handlerRegisters)
            #expect(restored.registers.rsp == rsp)
        }
    }

    @Test func deliveryRefusesWhatLinuxRefuses() {
        var noRestorer = Self.action
        noRestorer.flags.remove(.restorer)
        #expect(throws: SignalFrameError.noRestorer) { try Self.deliver(action: noRestorer) }
        var kernelHandler = Self.action
        kernelHandler.handler = 0x0000_4000_0000_1000
        #expect(throws: SignalFrameError.handlerOutsideUserSpace(0x0000_4000_0000_1000)) {
            try Self.deliver(action: kernelHandler)
        }
        // Stacks that would put the frame below user space or wrap around.
        for rsp: UInt64 in [0, 8, 0x100, 0x1200] {
            #expect(throws: SignalFrameError.self) { try Self.deliver(Self.interrupted(rsp: rsp)) }
        }
        // A stack pointer in the kernel half.
        #expect(throws: SignalFrameError.self) {
            try Self.deliver(Self.interrupted(rsp: 0x0000_4000_0010_0000))
        }
        #expect(throws: SignalFrameError.self) {
            try Self.deliver(Self.interrupted(rsp: 0xffff_8000_0000_0000))
        }
    }

    @Test func onStackHandlersUseTheAlternateStack() throws {
        var onStack = Self.action
        onStack.flags.insert(.onStack)
        let stack = SignalStack(base: 0x60_0000, flags: [], size: 0x4000)
        let frame = try Self.deliver(action: onStack, stack: stack)
        #expect(stack.contains(stackPointer: frame.frameAddress))
        #expect(frame.fpStateAddress + 512 <= 0x60_4000)
        #expect(frame.bytes[32] == 0)  // saved ss_flags: was not on the stack
        // Without SA_ONSTACK the normal stack is used.
        let plain = try Self.deliver(stack: stack)
        #expect(!stack.contains(stackPointer: plain.frameAddress))
        // Already on the alternate stack: nest below the current rsp.
        let nested = try Self.deliver(Self.interrupted(rsp: 0x60_3000), action: onStack, stack: stack)
        #expect(nested.frameAddress < 0x60_3000 - 128)
        #expect(nested.bytes[32] == 1)  // SS_ONSTACK
        let restored = try Self.builder.restore(fromFrameBytes: nested.bytes, current: nested.handlerRegisters)
        #expect(restored.alternateStack.base == 0x60_0000 && restored.alternateStack.size == 0x4000)
    }

    @Test func alternateStackOverflowIsRefused() {
        var onStack = Self.action
        onStack.flags.insert(.onStack)
        let tiny = SignalStack(base: 0x60_0000, flags: [], size: 512)
        #expect(throws: SignalFrameError.alternateStackOverflow) { try Self.deliver(action: onStack, stack: tiny) }
        let stack = SignalStack(base: 0x60_0000, flags: [], size: 0x4000)
        #expect(throws: SignalFrameError.alternateStackOverflow) {
            try Self.deliver(Self.interrupted(rsp: 0x60_0400), action: onStack, stack: stack)
        }
    }

    @Test func autoDisarmedStacksAreReportedAndDisarmed() throws {
        var onStack = Self.action
        onStack.flags.formUnion([.onStack, .resetHandler, .noDefer])
        let stack = SignalStack(base: 0x60_0000, flags: .autoDisarm, size: 0x4000)
        // Even from inside the stack, an auto-disarmed stack starts afresh at its top.
        let frame = try Self.deliver(Self.interrupted(rsp: 0x60_1000), action: onStack, stack: stack)
        #expect(frame.fpStateAddress + 512 > 0x60_1000)
        #expect(frame.disarmsAlternateStack)
        #expect(frame.resetsDisposition)
        #expect(!frame.blockedDuringHandler.contains(.segmentationViolation))
        #expect(frame.bytes[32..<36].elementsEqual([0, 0, 0, 0x80]))
    }

    /// The frame from a normal delivery, then `edit` applied to its bytes
    /// as a hostile handler might before `rt_sigreturn`.
    static func tampered(_ edit: (inout [UInt8]) -> Void) throws -> [UInt8] {
        var bytes = try deliver().bytes
        edit(&bytes)
        return bytes
    }

    static func store(_ value: UInt64, _ bytes: inout [UInt8], _ offset: Int) {
        for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
    }

    @Test func sigreturnRefusesKernelAndNonCanonicalInstructionPointers() throws {
        for rip: UInt64 in [0x0000_4000_0000_0000, 0x0000_7fff_ffff_ffff, 0x0000_8000_0000_0000,
                            0xffff_8000_0000_0000, 0xffff_ffff_ffff_f000] {
            let bytes = try Self.tampered { Self.store(rip, &$0, 48 + 128) }
            #expect(throws: SignalFrameError.instructionPointerOutsideUserSpace(rip)) {
                try Self.builder.restore(fromFrameBytes: bytes, current: UserRegisters())
            }
        }
        // The top user page and even page 0 are fine: they can only fault in user mode.
        for rip: UInt64 in [0x0000_3fff_ffff_f000, 0] {
            let bytes = try Self.tampered { Self.store(rip, &$0, 48 + 128) }
            #expect(try Self.builder.restore(fromFrameBytes: bytes, current: UserRegisters()).registers.rip == rip)
        }
    }

    @Test func sigreturnSanitizesFlagsSelectorsAndMask() throws {
        let bytes = try Self.tampered { bytes in
            // IOPL 3, NT, VM, VIF, VIP, ID, IF clear, plus CF and TF.
            Self.store(0x3000 | 0x4000 | 0x2_0000 | 0x8_0000 | 0x10_0000 | 0x20_0000 | 0x1 | 0x100, &bytes, 48 + 136)
            bytes[48 + 144] = 0x08; bytes[48 + 145] = 0  // kernel CS
            bytes[48 + 150] = 0x10; bytes[48 + 151] = 0  // kernel SS
            Self.store(~0, &bytes, 304)                   // mask everything, KILL/STOP too
        }
        var current = UserRegisters()
        current.fsBase = 0x1234_5000
        current.gsBase = 0x6789_0000
        let restored = try Self.builder.restore(fromFrameBytes: bytes, current: current)
        #expect(restored.registers.rflags == 0x202 | 0x1 | 0x100)
        #expect(restored.registers.rflags & 0x3000 == 0)
        #expect(restored.registers.cs == 0x23 && restored.registers.ss == 0x1b)
        #expect(restored.registers.fsBase == 0x1234_5000 && restored.registers.gsBase == 0x6789_0000)
        #expect(restored.blocked == SignalSet.full.removingUnblockable)
    }

    @Test func sigreturnChecksTheFPStatePointer() throws {
        let misaligned = try Self.tampered { Self.store(0x50_0008, &$0, 48 + 184) }
        #expect(throws: SignalFrameError.misalignedFPState(0x50_0008)) {
            try Self.builder.restore(fromFrameBytes: misaligned, current: UserRegisters())
        }
        for address: UInt64 in [0x0000_4000_0000_0000, 0x0000_3fff_ffff_ff00, 0xffff_ffff_ffff_fff0, 0x10] {
            let bytes = try Self.tampered { Self.store(address, &$0, 48 + 184) }
            #expect(throws: SignalFrameError.fpStateOutsideUserSpace(address)) {
                try Self.builder.restore(fromFrameBytes: bytes, current: UserRegisters())
            }
        }
        let none = try Self.tampered { Self.store(0, &$0, 48 + 184) }
        #expect(try Self.builder.restore(fromFrameBytes: none, current: UserRegisters()).fpStateAddress == nil)
    }

    @Test func truncatedFramesAreRefused() throws {
        let bytes = try Self.deliver().bytes
        for length in [0, 1, 200, 439] {
            #expect(throws: SignalFrameError.truncatedFrame) {
                try Self.builder.restore(fromFrameBytes: Array(bytes[0..<length]), current: UserRegisters())
            }
        }
    }

    @Test func fxsaveAreaSanitizing() {
        let initial = FXSaveArea.initial
        #expect(initial.count == 512)
        #expect(initial[0] == 0x7f && initial[1] == 0x03)
        #expect(initial[24] == 0x80 && initial[25] == 0x1f)
        var hostile = [UInt8](repeating: 0xff, count: 512)
        FXSaveArea.sanitize(&hostile, cpuMXCSRMask: 0)
        // MXCSR bit 6 (DAZ) and bits 16-31 are not in the default mask.
        #expect(hostile[24..<28].elementsEqual([0xbf, 0xff, 0, 0]))
        #expect(hostile[28..<32].elementsEqual([0xbf, 0xff, 0, 0]))
        #expect(hostile[464...].allSatisfy { $0 == 0 })
        #expect(hostile[0] == 0xff)  // x87/SSE data untouched
        var withDAZ = [UInt8](repeating: 0xff, count: 512)
        FXSaveArea.sanitize(&withDAZ, cpuMXCSRMask: 0xffff)
        #expect(withDAZ[24..<28].elementsEqual([0xff, 0xff, 0, 0]))
    }
}
