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
            let old = Scheduler.withLock { process.signals.action(for: signal) }
            if c.a1 != 0 {
                guard !signal.isUncatchable else { throw .invalidArgument }
                let action = try SigAction(decoding: try UserMode.readBytes(at: c.a1, count: SigAction.byteSize), at: 0)
                process.setAction(action.storable, for: signal)
            }
            if c.a2 != 0 { try UserMode.writeBytes(old.encoded, to: c.a2) }
            return 0
        }
        register(.rtSigprocmask) { c throws(Errno) in
            guard c.a3 == 8 else { throw .invalidArgument }
            let thread = UserThread.current
            let old = thread.blocked
            if c.a1 != 0 {
                let set = SignalSet(rawValue: try UserMode.read(UInt64.self, at: c.a1)).removingUnblockable
                guard c.a0 <= 2 else { throw .invalidArgument }
                Scheduler.withLock {
                    switch c.a0 {
                    case 0: thread.blocked = old.union(set)
                    case 1: thread.blocked = old.subtracting(set)
                    default: thread.blocked = set
                    }
                }
            } else if c.a0 > 2 {
                throw .invalidArgument
            }
            if c.a2 != 0 { try UserMode.write(old.rawValue, to: c.a2) }
            return 0
        }
        register(.rtSigpending) { c throws(Errno) in
            let thread = UserThread.current
            let pending = Scheduler.withLock { thread.pending.set.union(thread.process.signals.pending.set) }
            try UserMode.write(pending.intersection(thread.blocked).rawValue, to: c.a0)
            return 0
        }
        register(.rtSigreturn) { c throws(Errno) in
            try SignalDelivery.returnFromHandler(c.frame)
            return Int64(bitPattern: c.frame.pointee.rax)                 // the interrupted RAX, restored
        }
        register(.sigaltstack) { c throws(Errno) in
            let thread = UserThread.current
            let old = thread.alternateSignalStack
            if c.a0 != 0 {
                let requested = try SignalStack(decoding: try UserMode.readBytes(at: c.a0, count: SignalStack.byteSize), at: 0)
                guard requested.flags.isSubset(of: [.disable, .autoDisarm]) else { throw .invalidArgument }
                if requested.flags.contains(.disable) {
                    thread.alternateSignalStack = .disabled
                } else {
                    guard requested.size >= SignalStack.minimumSize else { throw .outOfMemory }
                    guard UserMode.isUserRange(requested.base, requested.size) else { throw .badAddress }
                    thread.alternateSignalStack = requested
                }
            }
            if c.a1 != 0 { try UserMode.writeBytes(old.encoded, to: c.a1) }
            return 0
        }
        register(.futex) { c throws(Errno) in try Futexes.call(c) }
        register(.pause) { _ throws(Errno) in
            let thread = UserThread.current
            Scheduler.withLock { while !thread.hasDeliverableSignal { Scheduler.block() } }
            throw .interrupted
        }
        register(.rtSigsuspend) { c throws(Errno) in
            guard c.a1 == 8 else { throw .invalidArgument }
            let mask = SignalSet(rawValue: try UserMode.read(UInt64.self, at: c.a0)).removingUnblockable
            let thread = UserThread.current
            Scheduler.withLock {
                thread.maskAfterSuspend = thread.blocked
                SignalDelivery.markAttention(thread)
                thread.blocked = mask
                while !thread.hasDeliverableSignal { Scheduler.block() }
            }
            throw .interrupted
        }
    }
}

/// Signal delivery on the way back to ring 3, and the return from handlers.
enum SignalDelivery {
    /// Acts on what waits for the calling thread: first an order to exit
    /// (exit_group or a fatal signal in another thread, execve), then the
    /// lowest pending unblocked signal, the thread's own before the
    /// process's: default actions end the process (or do nothing), a handler
    /// gets a frame on the user stack. `frame` is the saved user context
    /// that the return to ring 3 will load.
    /// Whether the calling thread has nothing for `deliverPending` to act
    /// on: no order to exit, no signal pending (its own or its process's),
    /// no mask to restore. Read without the lock (see deliverPending).
    @inline(__always)
    static func nothingPending() -> Bool {
        nothingPending(for: Scheduler.current)
    }

    /// `nothingPending` for the calling thread, named by a caller that
    /// already has it at hand.
    @inline(__always)
    static func nothingPending(for me: ThreadID) -> Bool {
        // One load in the common case: nothing was marked (kernel threads
        // never are).
        guard Threads.table[me.index].signalAttention, let borrowed = Threads.borrowedUser(of: me) else { return true }
        return isQuiet(borrowed)
    }

    /// Marks `thread` for `nothingPending` after a write to its pending
    /// signals, its process's, `mustExit` or `maskAfterSuspend`. Every such
    /// writer calls it, under the scheduler lock.
    @inline(__always)
    static func markAttention(_ thread: UserThread) {
        assert(Scheduler.lock.isHeldHere, "markAttention needs the scheduler lock")
        Threads.table[thread.kernelThread.index].signalAttention = true
    }

    /// Clears the mark once there is nothing left for `deliverPending`;
    /// under the scheduler lock, as every `markAttention`, so no mark can
    /// be lost between the check and the clear.
    @inline(__always)
    private static func clearAttentionIfQuietLocked(_ borrowed: Unmanaged<UserThread>, _ me: ThreadID) {
        if isQuiet(borrowed) { Threads.table[me.index].signalAttention = false }
    }

    @inline(__always)
    private static func isQuiet(_ borrowed: Unmanaged<UserThread>) -> Bool {
        borrowed._withUnsafeGuaranteedRef { thread in
            !thread.mustExit && thread.pending.set.rawValue | thread.process.signals.pending.set.rawValue == 0
                && thread.maskAfterSuspend == nil
        }
    }

    static func deliverPending(_ frame: UnsafeMutablePointer<TrapFrame>) {
        // The common case, read without the lock: nothing pending, nothing
        // to restore. A signal posted right after this check interrupts the
        // thread (IPI or wakeup), and that return to ring 3 delivers it.
        // Borrowed, not retained: this runs at the end of every system call,
        // and the running thread's record keeps its UserThread alive.
        let me = Scheduler.current
        guard Threads.table[me.index].signalAttention, let borrowed = Threads.borrowedUser(of: me) else { return }
        guard !isQuiet(borrowed) else {
            // Marked, but another thread took the process's signal.
            Scheduler.withLock { clearAttentionIfQuietLocked(borrowed, me) }
            return
        }
        let thread = borrowed.takeUnretainedValue()
        let process = thread.process
        while true {
            let next: (Signal, SigAction, SignalInfo)?? = Scheduler.withLock {
                if thread.mustExit { return .some(nil) }
                if let signal = thread.pending.set.nextDeliverable(blocked: thread.blocked) {
                    return (signal, process.signals.action(for: signal), thread.pending.take(signal))
                }
                if let signal = process.signals.pending.set.nextDeliverable(blocked: thread.blocked) {
                    return (signal, process.signals.action(for: signal), process.signals.pending.take(signal))
                }
                // A sigsuspend that no handler consumed gets its mask back.
                if let mask = thread.maskAfterSuspend {
                    thread.blocked = mask
                    thread.maskAfterSuspend = nil
                }
                clearAttentionIfQuietLocked(borrowed, me)
                return nil
            }
            guard let taken = next else { return }
            guard let (signal, action, info) = taken else { process.exitThread(code: 0) }
            switch action.disposition {
            case .ignore:
                continue
            case .default:
                switch signal.defaultAction {
                case .ignore, .continue, .stop: continue
                case .terminate, .coreDump:
                    process.exitGroup(status: WaitStatusWord.signaled(signal))
                }
            case .handler:
                do {
                    try SignalFrames.push(signal: signal, info: info, action: action, thread: thread, frame: frame)
                } catch {
                    // No room for the frame on the user stack: as Linux, SIGSEGV kills.
                    process.exitGroup(status: WaitStatusWord.signaled(.segmentationViolation))
                }
                return
            }
        }
    }

    /// rt_sigreturn: restores the context saved by `push`.
    static func returnFromHandler(_ frame: UnsafeMutablePointer<TrapFrame>) throws(Errno) {
        guard let thread = Threads.table[Scheduler.current.index].user else { throw .invalidArgument }
        do { try SignalFrames.pop(thread: thread, frame: frame) } catch {
            thread.process.exitGroup(status: WaitStatusWord.signaled(.segmentationViolation))
        }
    }
}
