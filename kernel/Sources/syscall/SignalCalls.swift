import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// rt_sigaction, rt_sigprocmask, and delivery on the way back to ring 3.
extension Syscalls {
    static func registerSignalCalls() {
        register(.rtSigaction) { c throws(Errno) in
            guard c.a3 == 8 else { throw .invalidArgument }            // sizeof(sigset_t) in the kernel ABI
            guard let signal = Signal(argument: c.a0) else { throw .invalidArgument }
            let process = Process.current
            if c.a2 != 0 { try UserMode.writeBytes(process.signals.action(for: signal).encoded, to: c.a2) }
            if c.a1 != 0 {
                guard !signal.isUncatchable else { throw .invalidArgument }
                let action = try SigAction(decoding: try UserMode.readBytes(at: c.a1, count: SigAction.byteSize), at: 0)
                Scheduler.withLock { process.signals.setAction(action.storable, for: signal) }
            }
            return 0
        }
        register(.rtSigprocmask) { c throws(Errno) in
            guard c.a3 == 8 else { throw .invalidArgument }
            let process = Process.current
            let old = process.signals.blocked
            if c.a1 != 0 {
                let set = SignalSet(rawValue: try UserMode.read(UInt64.self, at: c.a1)).removingUnblockable
                switch c.a0 {
                case 0: process.signals.blocked = old.union(set)
                case 1: process.signals.blocked = old.subtracting(set)
                case 2: process.signals.blocked = set
                default: throw .invalidArgument
                }
            }
            if c.a2 != 0 { try UserMode.write(old.rawValue, to: c.a2) }
            return 0
        }
        register(.rtSigpending) { c throws(Errno) in
            let process = Process.current
            try UserMode.write(process.signals.pending.intersection(process.signals.blocked).rawValue, to: c.a0)
            return 0
        }
        register(.rtSigreturn) { c throws(Errno) in
            try SignalDelivery.returnFromHandler(c.frame)
            return Int64(bitPattern: c.frame.pointee.rax)                 // the interrupted RAX, restored
        }
        register(.sigaltstack) { c throws(Errno) in
            let process = Process.current
            let old = process.alternateSignalStack
            if c.a0 != 0 {
                let requested = try SignalStack(decoding: try UserMode.readBytes(at: c.a0, count: SignalStack.byteSize), at: 0)
                guard requested.flags.isSubset(of: [.disable, .autoDisarm]) else { throw .invalidArgument }
                if requested.flags.contains(.disable) {
                    process.alternateSignalStack = .disabled
                } else {
                    guard requested.size >= SignalStack.minimumSize else { throw .outOfMemory }
                    guard UserMode.isUserRange(requested.base, requested.size) else { throw .badAddress }
                    process.alternateSignalStack = requested
                }
            }
            if c.a1 != 0 { try UserMode.writeBytes(old.encoded, to: c.a1) }
            return 0
        }
        register(.futex) { c throws(Errno) in try Futexes.call(c) }
        register(.pause) { _ throws(Errno) in
            let process = Process.current
            Scheduler.withLock { while !process.signals.hasDeliverable { Scheduler.block() } }
            throw .interrupted
        }
        register(.rtSigsuspend) { c throws(Errno) in
            guard c.a1 == 8 else { throw .invalidArgument }
            let mask = SignalSet(rawValue: try UserMode.read(UInt64.self, at: c.a0)).removingUnblockable
            let process = Process.current
            Scheduler.withLock {
                process.signals.maskAfterSuspend = process.signals.blocked
                process.signals.blocked = mask
                while !process.signals.hasDeliverable { Scheduler.block() }
            }
            throw .interrupted
        }
    }
}

/// Signal delivery on the way back to ring 3, and the return from handlers.
enum SignalDelivery {
    /// Acts on the lowest pending unblocked signal of the calling thread's
    /// process, if any: default actions end the process (or do nothing),
    /// a handler gets a frame on the user stack. `frame` is the saved
    /// user context that the return to ring 3 will load.
    static func deliverPending(_ frame: UnsafeMutablePointer<TrapFrame>) {
        guard let process = Threads.table[Scheduler.current.index].process else { return }
        while true {
            let next: (Signal, SigAction, SignalInfo)? = Scheduler.withLock {
                guard let signal = process.signals.pending.nextDeliverable(blocked: process.signals.blocked) else { return nil }
                let info = process.signals.take(signal)
                return (signal, process.signals.action(for: signal), info)
            }
            guard let (signal, action, info) = next else {
                // A sigsuspend that no handler consumed gets its mask back.
                Scheduler.withLock {
                    if let mask = process.signals.maskAfterSuspend {
                        process.signals.blocked = mask
                        process.signals.maskAfterSuspend = nil
                    }
                }
                return
            }
            switch action.disposition {
            case .ignore:
                continue
            case .default:
                switch signal.defaultAction {
                case .ignore, .continue, .stop: continue
                case .terminate, .coreDump:
                    process.exit(status: WaitStatusWord.signaled(signal))
                }
            case .handler:
                do {
                    try SignalFrames.push(signal: signal, info: info, action: action, process: process, frame: frame)
                } catch {
                    // No room for the frame on the user stack: as Linux, SIGSEGV kills.
                    process.exit(status: WaitStatusWord.signaled(.segmentationViolation))
                }
                return
            }
        }
    }

    /// rt_sigreturn: restores the context saved by `push`.
    static func returnFromHandler(_ frame: UnsafeMutablePointer<TrapFrame>) throws(Errno) {
        guard let process = Threads.table[Scheduler.current.index].process else { throw .invalidArgument }
        do { try SignalFrames.pop(process: process, frame: frame) } catch {
            process.exit(status: WaitStatusWord.signaled(.segmentationViolation))
        }
    }
}
