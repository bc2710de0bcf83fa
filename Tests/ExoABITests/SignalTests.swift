import ExoKit
import Testing
@testable import ExoABI

@Suite("Signals")
struct SignalTests {
    @Test func numbersAreLinuxX86_64() {
        let expected: [(Signal, Int32, String)] = [
            (.hangup, 1, "SIGHUP"), (.interrupt, 2, "SIGINT"), (.quit, 3, "SIGQUIT"),
            (.illegalInstruction, 4, "SIGILL"), (.trap, 5, "SIGTRAP"), (.abort, 6, "SIGABRT"),
            (.busError, 7, "SIGBUS"), (.floatingPointException, 8, "SIGFPE"), (.kill, 9, "SIGKILL"),
            (.user1, 10, "SIGUSR1"), (.segmentationViolation, 11, "SIGSEGV"), (.user2, 12, "SIGUSR2"),
            (.brokenPipe, 13, "SIGPIPE"), (.alarm, 14, "SIGALRM"), (.terminate, 15, "SIGTERM"),
            (.stackFault, 16, "SIGSTKFLT"), (.child, 17, "SIGCHLD"), (.continue, 18, "SIGCONT"),
            (.stop, 19, "SIGSTOP"), (.terminalStop, 20, "SIGTSTP"), (.terminalInput, 21, "SIGTTIN"),
            (.terminalOutput, 22, "SIGTTOU"), (.urgent, 23, "SIGURG"), (.cpuTimeLimit, 24, "SIGXCPU"),
            (.fileSizeLimit, 25, "SIGXFSZ"), (.virtualAlarm, 26, "SIGVTALRM"),
            (.profilingAlarm, 27, "SIGPROF"), (.windowChange, 28, "SIGWINCH"), (.io, 29, "SIGIO"),
            (.power, 30, "SIGPWR"), (.badSystemCall, 31, "SIGSYS"), (.realtimeMin, 32, "SIGRTMIN"),
            (.realtimeMax, 64, "SIGRTMAX"),
        ]
        for (signal, number, name) in expected {
            #expect(signal.rawValue == number)
            #expect(signal.name == name)
        }
        #expect(Signal.realtime(3)?.name == "SIGRTMIN+3")
        #expect(Signal.realtime(33) == nil)
        #expect(Signal.realtime(-1) == nil)
    }

    @Test func outOfRangeNumbersAreRefused() {
        #expect(Signal(rawValue: 0) == nil)
        #expect(Signal(rawValue: 65) == nil)
        #expect(Signal(rawValue: -9) == nil)
        #expect(Signal(argument: 0x1_0000_0009) == .kill)  // int: low 32 bits
        #expect(Signal(argument: UInt64(bitPattern: -1)) == nil)
    }

    @Test func defaultActionsFollowSignal7() {
        let core: [Int32] = [3, 4, 5, 6, 7, 8, 11, 24, 25, 31]
        let ignore: [Int32] = [17, 23, 28]
        let stop: [Int32] = [19, 20, 21, 22]
        for number in Int32(1)...64 {
            let action = Signal(rawValue: number)!.defaultAction
            if core.contains(number) { #expect(action == .coreDump, "\(number)") }
            else if ignore.contains(number) { #expect(action == .ignore, "\(number)") }
            else if stop.contains(number) { #expect(action == .stop, "\(number)") }
            else if number == 18 { #expect(action == .continue) }
            else { #expect(action == .terminate, "\(number)") }
        }
        #expect(SignalDefaultAction.coreDump.terminatesProcess)
        #expect(!SignalDefaultAction.stop.terminatesProcess)
    }

    @Test func setsUseBitNumberMinusOne() {
        var set = SignalSet([.hangup, .realtimeMax])
        #expect(set.rawValue == UInt64(1) | 1 << 63)
        #expect(set.contains(.hangup) && !set.contains(.interrupt))
        set.insert(.child)
        set.remove(.hangup)
        #expect(set.rawValue == UInt64(1) << 16 | 1 << 63)
        #expect(SignalSet.full.removingUnblockable.rawValue == ~UInt64(0x100 | 0x4_0000))
        #expect(SignalSet.empty.lowest == nil)
        #expect(SignalSet([.terminate, .user1]).lowest == .user1)
    }

    @Test func synchronousFaultsAreDeliveredFirstAndKillIgnoresTheMask() {
        let pending = SignalSet([.hangup, .segmentationViolation, .child])
        #expect(pending.nextDeliverable(blocked: .empty) == .segmentationViolation)
        #expect(pending.nextDeliverable(blocked: SignalSet([.segmentationViolation])) == .hangup)
        #expect(SignalSet([.kill]).nextDeliverable(blocked: .full) == .kill)
        #expect(SignalSet([.user1]).nextDeliverable(blocked: .full) == nil)
    }

    @Test func sigactionIsThirtyTwoBytesInKernelOrder() throws {
        let action = SigAction(handler: 0x40_1000, flags: [.signalInfo, .restorer, .restart],
                               restorer: 0x40_2000, mask: SignalSet([.user1]))
        let bytes = action.encoded
        #expect(bytes.count == 32 && SigAction.byteSize == 32)
        #expect(bytes[0..<8].elementsEqual([0x00, 0x10, 0x40, 0, 0, 0, 0, 0]))
        #expect(bytes[8..<16].elementsEqual([0x04, 0, 0, 0x14, 0, 0, 0, 0]))
        #expect(bytes[16..<24].elementsEqual([0x00, 0x20, 0x40, 0, 0, 0, 0, 0]))
        #expect(bytes[24..<32].elementsEqual([0x00, 0x02, 0, 0, 0, 0, 0, 0]))
        #expect(try SigAction(decoding: bytes) == action)
        #expect(throws: Errno.badAddress) { try SigAction(decoding: Array(bytes[0..<31])) }
        #expect(throws: Errno.badAddress) { try SigAction(decoding: bytes, at: 1) }
        #expect(throws: Errno.badAddress) { try SigAction(decoding: bytes, at: -1) }
    }

    @Test func sigactionFlagValues() {
        #expect(SigActionFlags.noChildStop.rawValue == 1)
        #expect(SigActionFlags.noChildWait.rawValue == 2)
        #expect(SigActionFlags.signalInfo.rawValue == 4)
        #expect(SigActionFlags.onStack.rawValue == 0x0800_0000)
        #expect(SigActionFlags.restart.rawValue == 0x1000_0000)
        #expect(SigActionFlags.noDefer.rawValue == 0x4000_0000)
        #expect(SigActionFlags.resetHandler.rawValue == 0x8000_0000)
        #expect(SigActionFlags.restorer.rawValue == 0x0400_0000)
    }

    @Test func storedActionsDropUnknownFlagsAndUnblockableSignals() {
        let request = SigAction(handler: 1, flags: SigActionFlags(rawValue: 0x400 | 0x20 | 0x4),
                                restorer: 0, mask: SignalSet([.kill, .stop, .user2]))
        let stored = request.storable
        #expect(stored.flags == .signalInfo)
        #expect(stored.mask == SignalSet([.user2]))
        #expect(stored.disposition == .ignore)
        #expect(SigAction.default.disposition == .default)
        #expect(SigAction(handler: 0x401000, flags: [], restorer: 0, mask: .empty).disposition == .handler(0x401000))
    }

    @Test func ignoringFollowsDispositionAndDefault() {
        #expect(SigAction.default.ignores(.child))
        #expect(SigAction.default.ignores(.windowChange))
        #expect(!SigAction.default.ignores(.terminate))
        #expect(SigAction(handler: 1, flags: [], restorer: 0, mask: .empty).ignores(.terminate))
        #expect(!SigAction(handler: 0x1000, flags: [], restorer: 0, mask: .empty).ignores(.child))
    }

    @Test func handlerMaskAddsTheSignalUnlessNoDefer() {
        let action = SigAction(handler: 0x1000, flags: [.restorer], restorer: 0x2000, mask: SignalSet([.user2]))
        let during = action.blockedDuringHandler(of: .user1, interruptedMask: SignalSet([.hangup]))
        #expect(during == SignalSet([.hangup, .user1, .user2]))
        var noDefer = action
        noDefer.flags.insert(.noDefer)
        #expect(noDefer.blockedDuringHandler(of: .user1, interruptedMask: .empty) == SignalSet([.user2]))
        var greedy = action
        greedy.mask = .full
        #expect(!greedy.blockedDuringHandler(of: .user1, interruptedMask: .empty).contains(.kill))
    }

    @Test func rtSigactionArgumentChecks() throws {
        #expect(try SigAction.checkRequest(signalNumber: 2, sigsetSize: 8, changing: true) == .interrupt)
        #expect(try SigAction.checkRequest(signalNumber: 9, sigsetSize: 8, changing: false) == .kill)
        #expect(throws: Errno.invalidArgument) { try SigAction.checkRequest(signalNumber: 9, sigsetSize: 8, changing: true) }
        #expect(throws: Errno.invalidArgument) { try SigAction.checkRequest(signalNumber: 19, sigsetSize: 8, changing: true) }
        #expect(throws: Errno.invalidArgument) { try SigAction.checkRequest(signalNumber: 0, sigsetSize: 8, changing: false) }
        #expect(throws: Errno.invalidArgument) { try SigAction.checkRequest(signalNumber: 65, sigsetSize: 8, changing: false) }
        #expect(throws: Errno.invalidArgument) { try SigAction.checkRequest(signalNumber: 2, sigsetSize: 16, changing: false) }
    }

    @Test func sigprocmaskHow() {
        #expect(SignalMaskHow(argument: 0) == .block)
        #expect(SignalMaskHow(argument: 1) == .unblock)
        #expect(SignalMaskHow(argument: 2) == .setMask)
        #expect(SignalMaskHow(argument: 3) == nil)
        let current = SignalSet([.hangup, .user1])
        #expect(SignalMaskHow.block.apply(SignalSet([.kill, .user2]), to: current) == SignalSet([.hangup, .user1, .user2]))
        #expect(SignalMaskHow.unblock.apply(SignalSet([.user1]), to: current) == SignalSet([.hangup]))
        #expect(SignalMaskHow.setMask.apply(.full, to: current) == SignalSet.full.removingUnblockable)
    }

    @Test func signalStackLayoutAndMembership() throws {
        let stack = SignalStack(base: 0x10_0000, flags: .autoDisarm, size: 0x4000)
        let bytes = stack.encoded
        #expect(bytes.count == 24)
        #expect(bytes[8..<12].elementsEqual([0, 0, 0, 0x80]))
        #expect(bytes[16..<24].elementsEqual([0x00, 0x40, 0, 0, 0, 0, 0, 0]))
        #expect(try SignalStack(decoding: bytes) == stack)
        #expect(stack.contains(stackPointer: 0x10_4000))
        #expect(stack.contains(stackPointer: 0x10_0001))
        #expect(!stack.contains(stackPointer: 0x10_0000))
        #expect(!stack.contains(stackPointer: 0x10_4001))
        #expect(!SignalStack.disabled.isEnabled)
        #expect(!SignalStack.disabled.contains(stackPointer: 0))
    }

    @Test func siginfoLayoutForFaultsAndChildren() {
        let fault = SignalInfo.fault(.segmentationViolation, code: .segvMapError, address: 0xdead_beef).encoded
        #expect(fault.count == 128)
        #expect(fault[0..<4].elementsEqual([11, 0, 0, 0]))
        #expect(fault[8..<12].elementsEqual([1, 0, 0, 0]))
        #expect(fault[16..<24].elementsEqual([0xef, 0xbe, 0xad, 0xde, 0, 0, 0, 0]))
        #expect(fault[24...].allSatisfy { $0 == 0 })

        let child = SignalInfo.childExited(pid: 42, uid: 1000, exitCode: 3, userTime: 5, systemTime: 6).encoded
        #expect(child[0] == 17 && child[8] == 1)
        #expect(child[16..<20].elementsEqual([42, 0, 0, 0]))
        #expect(child[20..<24].elementsEqual([0xe8, 0x03, 0, 0]))
        #expect(child[24..<28].elementsEqual([3, 0, 0, 0]))
        #expect(child[32] == 5 && child[40] == 6)

        let kill = SignalInfo.killed(by: 7, uid: 0, signal: .terminate).encoded
        #expect(kill[0] == 15 && kill[8] == 0 && kill[16] == 7)
        let queued = SignalInfo(signal: .realtimeMin, code: .queue,
                                details: .queued(pid: 1, uid: 2, value: 0x1122_3344_5566_7788)).encoded
        #expect(queued[8..<12].elementsEqual([0xff, 0xff, 0xff, 0xff]))
        #expect(queued[24..<32].elementsEqual([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]))
        let sys = SignalInfo(signal: .badSystemCall, code: .sysSeccomp,
                             details: .system(callAddress: 0x401000, syscall: 59, architecture: 0xc000_003e)).encoded
        #expect(sys[24] == 59 && sys[28..<32].elementsEqual([0x3e, 0, 0, 0xc0]))
        #expect(SignalCode.threadKill.isFromUser && !SignalCode.kernel.isFromUser)
    }
}
