import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// A system call's registers, as the Linux x86_64 ABI passes them: number
/// in RAX, arguments in RDI, RSI, RDX, R10, R8, R9. Handlers that rewrite
/// the whole user context (execve, rt_sigreturn) or copy it (fork) reach
/// the saved frame through `frame`.
struct SyscallContext {
    let frame: UnsafeMutablePointer<TrapFrame>
    var number: UInt64 { frame.pointee.rax }
    var a0: UInt64 { frame.pointee.rdi }
    var a1: UInt64 { frame.pointee.rsi }
    var a2: UInt64 { frame.pointee.rdx }
    var a3: UInt64 { frame.pointee.r10 }
    var a4: UInt64 { frame.pointee.r8 }
    var a5: UInt64 { frame.pointee.r9 }
    /// A file descriptor argument (C int: the low 32 bits, sign-extended).
    func descriptor(_ raw: UInt64) -> Int64 { Int64(Int32(truncatingIfNeeded: raw)) }
    func int32(_ raw: UInt64) -> Int32 { Int32(truncatingIfNeeded: raw) }
}

/// The system-call table: Linux x86_64 numbers to handlers, results as
/// RAX (a value, or -errno from the handler's typed `Errno`).
///
/// Unknown and unimplemented numbers return ENOSYS and are logged once per
/// number. `exo.trace=syscalls` prints every call strace-style.
enum Syscalls {
    typealias Handler = (SyscallContext) throws(Errno) -> Int64

    /// A handler in a concrete field: stored in the array directly, a
    /// closure takes the array's generic (maximally abstract) form, and
    /// every call went through a reabstraction thunk (~20 instructions).
    struct Entry {
        let handler: Handler
    }

    nonisolated(unsafe) private static var table = [Entry?](repeating: nil, count: SyscallNumber.tableSize)
    nonisolated(unsafe) private static var reportedUnknown = [Bool](repeating: false, count: SyscallNumber.tableSize + 1)
    nonisolated(unsafe) static var tracing = false
    /// Whether the fast paths answer (off with `exo.trace=syscalls` or
    /// `exo.syscall_fast_path=off`): syscall.S's, through
    /// `exo_fast_syscall_numbers`, and the hot calls' (SyscallFastPath).
    nonisolated(unsafe) private(set) static var fastPaths = false
    nonisolated(unsafe) private(set) static var calls: UInt64 = 0

    static func register(_ number: SyscallNumber, _ handler: @escaping Handler) {
        table[Int(number.rawValue)] = Entry(handler: handler)
    }

    /// Fills the table and turns on SYSCALL on the boot CPU.
    static func initialize() {
        tracing = BootState.commandLine.value(of: "exo.trace")?.split(separator: ",").contains("syscalls") == true
        // The entry's fast path (getpid, gettid) bypasses tracing, so it is
        // off when tracing; `exo.syscall_fast_path=off` compares the two.
        let fastPathWanted = BootState.commandLine.value(of: "exo.syscall_fast_path") != "off"
        fastPaths = fastPathWanted && !tracing
        if fastPaths {
            // syscall.S's order: getpid, gettid, fring_wake_wait, fring_call,
            // fring_grant_call, fring_grant_wake_wait.
            exo_fast_syscall_numbers = (Int64(SyscallNumber.getpid.rawValue), Int64(SyscallNumber.gettid.rawValue),
                                        Int64(SyscallNumber.fringWakeWait.rawValue),
                                        Int64(SyscallNumber.fringCall.rawValue),
                                        Int64(SyscallNumber.fringGrantCall.rawValue),
                                        Int64(SyscallNumber.fringGrantWakeWait.rawValue))
        }
        if !fastPathWanted { Log.info("syscall: fast path off (exo.syscall_fast_path=off)") }
        registerProcessCalls()
        registerMemoryCalls()
        registerFileCalls()
        registerInformationCalls()
        registerSignalCalls()
        registerIPCCalls()
    }

    /// Runs the call in `frame` and stores its result in RAX.
    static func dispatch(_ frame: UnsafeMutablePointer<TrapFrame>) {
        let arguments = SyscallContext(frame: frame)
        let number = arguments.number
        calls &+= 1
        let result: Int64
        if number < UInt64(table.count), let entry = table[Int(number)] {
            do { result = try entry.handler(arguments) } catch { result = Int64(error.syscallReturnValue) }
        } else {
            reportUnknown(number)
            result = Int64(Errno.notImplemented.syscallReturnValue)
        }
        if tracing { trace(arguments, result: result) }
        frame.pointee.rax = UInt64(bitPattern: result)
    }

    private static func reportUnknown(_ number: UInt64) {
        let index = Int(min(number, UInt64(SyscallNumber.tableSize)))
        guard !reportedUnknown[index] else { return }
        reportedUnknown[index] = true
        Log.info("syscall: \(SyscallNumber(rawValue: number).displayName) (\(number)) not implemented: ENOSYS")
    }

    /// One strace-style line; runs before RAX is overwritten by the result.
    private static func trace(_ context: SyscallContext, result: Int64) {
        let frame = context.frame.pointee
        let pid = Threads.table[Scheduler.current.index].process?.pid ?? 0
        let line = SyscallTrace.format(
            number: SyscallNumber(rawValue: frame.rax),
            arguments: SyscallArguments(frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9),
            result: result,
            readString: { address in
                guard let bytes = try? UserMode.readString(at: address, limit: 64) else { return nil }
                return String(decoding: bytes, as: UTF8.self)
            })
        Console.exclusive { Console.write("[pid \(pid)] \(line)\n") }
    }
}

/// Entry from syscall.S on the thread's kernel stack, interrupts off.
/// Returns whether the frame may leave by SYSRET (else IRETQ).
@_cdecl("exo_syscall")
func exoSyscall(_ rawFrame: UnsafeMutableRawPointer) -> Bool {
    let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
    CPU.enableInterrupts()
    if let result = SyscallFastPath.answer(frame) {
        frame.pointee.rax = UInt64(bitPattern: result)
    } else {
        Syscalls.dispatch(frame)
        // The common case inline: nothing to deliver, no call.
        if !SignalDelivery.nothingPending() { SignalDelivery.deliverPending(frame) }
    }
    CPU.disableInterrupts()
    return UserMode.canReturnBySysret(frame.pointee)
}

/// The end of a system call whose work is done (the result is in the
/// frame's RAX) but which must leave the general way: signals to deliver.
/// From the Fusion Ring fast paths' lean frame, interrupts off. Returns
/// whether SYSRET may return, as `exo_syscall`.
@_cdecl("exo_syscall_finish")
func exoSyscallFinish(_ rawFrame: UnsafeMutableRawPointer) -> Bool {
    let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
    CPU.enableInterrupts()
    if !SignalDelivery.nothingPending() { SignalDelivery.deliverPending(frame) }
    CPU.disableInterrupts()
    return UserMode.canReturnBySysret(frame.pointee)
}

/// The Fusion Ring fast paths from syscall.S's lean frame (see there):
/// the system call's arguments as the C ABI passes them, except that the
/// fourth (R10) is read from the frame, whose address comes in its place.
/// Each answers an `exo_fast_answer` (result and `IPCFastCall.Outcome`).
/// Interrupts off.
@_cdecl("exo_fring_call_fast")
func exoFringCallFast(_ a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ rawFrame: UnsafeMutableRawPointer,
                      _ a4: UInt64, _ a5: UInt64) -> exo_fast_answer {
    IPCFastCall.call(send: a0, buffer: a1, length: a2, replyBuffer: a4, replyCapacity: a5,
                     frame: rawFrame.assumingMemoryBound(to: TrapFrame.self))
}

@_cdecl("exo_fring_grant_call_fast")
func exoFringGrantCallFast(_ a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ rawFrame: UnsafeMutableRawPointer,
                           _ a4: UInt64, _ a5: UInt64) -> exo_fast_answer {
    IPCFastCall.grantCall(send: a0, address: a1, length: a2, replyBuffer: a4, replyCapacity: a5,
                          frame: rawFrame.assumingMemoryBound(to: TrapFrame.self))
}

@_cdecl("exo_fring_grant_wake_wait_fast")
func exoFringGrantWakeWaitFast(_ a0: UInt64, _ a1: UInt64, _ a2: UInt64,
                               _ rawFrame: UnsafeMutableRawPointer) -> exo_fast_answer {
    IPCFastCall.grantWakeWait(wake: a0, address: a1, length: a2,
                              frame: rawFrame.assumingMemoryBound(to: TrapFrame.self))
}

@_cdecl("exo_fring_wake_wait_fast")
func exoFringWakeWaitFast(_ a0: UInt64, _ a1: UInt64) -> exo_fast_answer {
    IPCFastCall.wakeWait(wake: a0, wait: a1)
}

/// The hot calls answered before the table, as checks then commit (getpid
/// and gettid are answered earlier still, in syscall.S): no dispatch
/// closure, no lock, no reference counting. A failed check sends the call
/// down the general path, which handles every case (errors, tracing,
/// signals); so the checks include that nothing waits for delivery at the
/// call's end, and that the fast paths are on (`Syscalls.fastPaths`).
enum SyscallFastPath {
    @inline(__always)
    static func answer(_ frame: UnsafeMutablePointer<TrapFrame>) -> Int64? {
        guard Syscalls.fastPaths else { return nil }
        switch frame.pointee.rax {
        case SyscallNumber.clockGettime.rawValue:
            // Checks: a clock the slow path answers the same way, a
            // destination in user space, nothing pending. Commit: the copy
            // (a fault there goes the slow way, which reports EFAULT).
            let clock = ClockID(argument: frame.pointee.rdi)
            let destination = frame.pointee.rsi
            guard clock.isKnownStaticClock, UserMode.isUserRange(destination, 16),
                  SignalDelivery.nothingPending() else { return nil }
            return (try? Syscalls.writeTime(clock, to: destination)) != nil ? 0 : nil
        case SyscallNumber.schedYield.rawValue:
            // Checks: no other thread is queued on this CPU (a yield would
            // pick the caller again) and nothing pending. Commit: nothing;
            // the caller keeps its slice, as after a yield that found no one.
            guard Scheduler.nothingQueuedHere, SignalDelivery.nothingPending() else { return nil }
            return 0
        default:
            return nil
        }
    }
}
