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
    /// Reports of user faults (exo.debug-free: one line per fatal fault).
    nonisolated(unsafe) static var logFatal = true

    static func handle(_ frame: inout TrapFrame, vector: ExceptionVector) {
        guard let process = Threads.table[Scheduler.current.index].process else {
            panic("a ring-3 exception on a thread with no process")
        }
        let signal: Signal
        switch vector {
        case .pageFault:
            let address = CPU.cr2
            let code = PageFaultErrorCode(rawValue: frame.errorCode)
            if let space = process.space {
                CPU.enableInterrupts()
                let resolved = space.lock.withLock {
                    space.resolveFault(at: address, write: code.contains(.write), execute: code.contains(.instructionFetch))
                }
                CPU.disableInterrupts()
                if resolved { return }
            }
            signal = .segmentationViolation
            report(process, frame, signal: signal, detail: " address \(Hex.string(address))")
        case .invalidOpcode: signal = .illegalInstruction
        case .divideError, .x87FloatingPoint, .simdFloatingPoint: signal = .floatingPointException
        case .breakpoint, .debug: signal = .trap
        case .alignmentCheck: signal = .busError
        default: signal = .segmentationViolation
        }
        if vector != .pageFault { report(process, frame, signal: signal, detail: "") }
        // A fault's signal cannot be blocked or ignored away: the
        // instruction would fault forever. Linux then kills the process.
        let action = process.signals.action(for: signal)
        let handled: Bool
        if case .handler = action.disposition, !process.signals.blocked.contains(signal) { handled = true } else { handled = false }
        if !handled {
            process.exit(status: WaitStatusWord.signaled(signal))
        }
        process.post(signal)
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
