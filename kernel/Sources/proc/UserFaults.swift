import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// Exceptions raised by user code: demand paging and copy-on-write are
/// resolved and the instruction retried; anything else becomes a signal
/// (SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS) for the faulting process,
/// which by default ends it — never the kernel.
enum UserFaults {
    /// One log line per user fault that raises a signal.
    nonisolated(unsafe) static var logFatal = true

    static func handle(_ frame: inout TrapFrame, vector: ExceptionVector) {
        guard let process = Threads.table[Scheduler.current.index].process else {
            panic("a ring-3 exception on a thread with no process")
        }
        let signal: Signal
        var info: SignalInfo
        switch vector {
        case .pageFault:
            let address = CPU.cr2
            let code = PageFaultErrorCode(rawValue: frame.errorCode)
            var mapped = false
            if let space = process.space {
                CPU.enableInterrupts()
                let resolved = space.lock.withLock { () -> Bool in
                    mapped = space.regionIndex(containing: address) != nil
                    return space.resolveFault(at: address, write: code.contains(.write), execute: code.contains(.instructionFetch))
                }
                CPU.disableInterrupts()
                if resolved { return }
            }
            signal = .segmentationViolation
            // SEGV_ACCERR: a mapping is there but forbids the access;
            // SEGV_MAPERR: nothing is mapped at the address.
            info = .fault(signal, code: mapped ? .segvAccessError : .segvMapError, address: address)
        case .invalidOpcode:
            signal = .illegalInstruction
            info = .fault(signal, code: .illegalOpcode, address: frame.rip)
        case .divideError:
            signal = .floatingPointException
            info = .fault(signal, code: .fpeIntegerDivide, address: frame.rip)
        case .x87FloatingPoint, .simdFloatingPoint:
            signal = .floatingPointException
            info = .fault(signal, code: .kernel, address: frame.rip)
        case .breakpoint, .debug:
            signal = .trap
            info = .fault(signal, code: .kernel, address: frame.rip)
        case .alignmentCheck:
            signal = .busError
            info = .fault(signal, code: .busAlignment, address: frame.rip)
        default:
            // #GP (non-canonical addresses, privileged instructions): SIGSEGV
            // with address 0, as Linux reports it.
            signal = .segmentationViolation
            info = SignalInfo(signal: signal, code: .kernel, details: .fault(address: 0))
        }
        report(process, frame, signal: signal, detail: vector == .pageFault ? " address \(Hex.string(CPU.cr2))" : "")
        // A fault's signal cannot be blocked or ignored away: the
        // instruction would fault forever. Linux then kills the process.
        // The signal goes to the faulting thread; unhandled, it ends the
        // whole process (every thread), as on Linux.
        let thread = UserThread.current
        let handled = Scheduler.withLock { () -> Bool in
            if case .handler = process.signals.action(for: signal).disposition, !thread.blocked.contains(signal) { return true }
            return false
        }
        if !handled {
            process.exitGroup(status: WaitStatusWord.signaled(signal))
        }
        process.post(signal, info: info, to: thread)
    }

    private static func report(_ process: Process, _ frame: TrapFrame, signal: Signal, detail: String) {
        guard logFatal else { return }
        Log.info("user fault: pid \(process.pid) \(String(decoding: process.name, as: UTF8.self)): \(signal.name) at RIP=\(Hex.string(frame.rip))\(detail)")
    }

    /// A kernel user-copy routine faulted on `address`: resolve it if the
    /// calling process's space allows the access.
    static func resolveForKernel(address: UInt64, errorCode: UInt64) -> Bool {
        guard let process = Threads.table[Scheduler.current.index].process, let space = process.space else { return false }
        let code = PageFaultErrorCode(rawValue: errorCode)
        return space.lock.withLock { space.resolveFault(at: address, write: code.contains(.write), execute: false) }
    }
}
