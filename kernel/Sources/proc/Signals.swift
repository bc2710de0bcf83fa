import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// Signals waiting for delivery, with what each carries (siginfo). A
/// process has one set (kill, alarm, the terminal) and each thread its own
/// (tgkill, tkill, its faults). Standard signals do not queue: a second
/// instance while one is pending is merged into it, keeping the first info.
struct PendingSignals {
    private(set) var set = SignalSet.empty
    /// What each pending signal carries, by signal number - 1.
    private var information = [SignalInfo?](repeating: nil, count: 64)

    mutating func add(_ signal: Signal, info: SignalInfo?) {
        if !set.contains(signal) { information[Int(signal.rawValue - 1)] = info }
        set.insert(signal)
    }

    /// Takes `signal` off the set with its info.
    mutating func take(_ signal: Signal) -> SignalInfo {
        set.remove(signal)
        let info = information[Int(signal.rawValue - 1)] ?? SignalInfo(signal: signal, code: .kernel, details: .none)
        information[Int(signal.rawValue - 1)] = nil
        return info
    }

    mutating func discard(_ signal: Signal) {
        set.remove(signal)
        information[Int(signal.rawValue - 1)] = nil
    }
}

/// A process's signal state, shared by its threads: dispositions and the
/// process-directed pending set. Masks, thread-directed pending signals and
/// the alternate stack are per thread (`UserThread`).
///
/// Signals are checked on every return to ring 3 (after a system call or
/// a trap from user mode): the thread takes the lowest pending signal it
/// does not block, its own first; a default action ends the process (or is
/// ignored), a handler gets a signal frame on the user stack
/// (`SignalDelivery`). Posting wakes the threads that could take the signal
/// (`Process.postLocked`); blocking calls check `hasDeliverableSignal`
/// before they sleep, under the scheduler lock.
struct SignalState {
    var actions = [SigAction](repeating: .default, count: 64)
    var pending = PendingSignals()

    /// Whether `signal` is discarded at generation time (ignored; SIGKILL
    /// never is).
    func discards(_ signal: Signal) -> Bool {
        signal != .kill && actions[Int(signal.rawValue - 1)].ignores(signal)
    }

    /// fork: the child inherits dispositions, not pending signals.
    func forkedCopy() -> SignalState {
        var copy = self
        copy.pending = PendingSignals()
        return copy
    }

    /// execve: handlers are reset to default (the code is gone); ignored
    /// stays ignored; pending signals are kept.
    mutating func resetForExec() {
        for index in 0..<actions.count {
            if case .handler = actions[index].disposition { actions[index] = .default }
        }
    }

    func action(for signal: Signal) -> SigAction { actions[Int(signal.rawValue - 1)] }

    /// Sets the disposition; SIG_IGN discards a pending process-directed
    /// instance (the caller discards the threads' ones).
    mutating func setAction(_ action: SigAction, for signal: Signal) {
        actions[Int(signal.rawValue - 1)] = action
        if action.ignores(signal) { pending.discard(signal) }
    }
}
