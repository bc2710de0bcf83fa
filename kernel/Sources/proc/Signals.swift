import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// A process's signal state: dispositions, pending and blocked sets.
///
/// Signals are checked on every return to ring 3 (after a system call or
/// a trap from user mode): the lowest pending unblocked signal is taken;
/// its default action ends the process (or is ignored), a handler gets a
/// signal frame on the user stack (`SignalDelivery`). Posting wakes nothing
/// by itself: blocking calls check `hasDeliverable` before they sleep and
/// the poster wakes the process's threads (`Process.post`).
struct SignalState {
    var actions = [SigAction](repeating: .default, count: 64)
    var pending = SignalSet.empty
    var blocked = SignalSet.empty
    /// What each pending signal carries (siginfo), by signal number - 1.
    var information = [SignalInfo?](repeating: nil, count: 64)
    /// rt_sigsuspend's caller mask, restored after the handler it waited
    /// for (saved in that handler's frame) or on return.
    var maskAfterSuspend: SignalSet? = nil

    /// Marks `signal` pending unless it is ignored (which discards it, as
    /// Linux does at generation time).
    mutating func post(_ signal: Signal, info: SignalInfo? = nil) {
        let action = actions[Int(signal.rawValue - 1)]
        if signal != .kill && action.ignores(signal) { return }
        // Standard signals do not queue: the first instance's info stays.
        if !pending.contains(signal) { information[Int(signal.rawValue - 1)] = info }
        pending.insert(signal)
    }

    /// Takes `signal` off the pending set with its info.
    mutating func take(_ signal: Signal) -> SignalInfo {
        pending.remove(signal)
        let info = information[Int(signal.rawValue - 1)] ?? SignalInfo(signal: signal, code: .kernel, details: .none)
        information[Int(signal.rawValue - 1)] = nil
        return info
    }

    /// Whether a signal is pending that is not blocked.
    var hasDeliverable: Bool { pending.nextDeliverable(blocked: blocked) != nil }

    /// fork: the child inherits dispositions and mask, not pending signals.
    func forkedCopy() -> SignalState {
        var copy = self
        copy.pending = .empty
        return copy
    }

    /// execve: handlers are reset to default (the code is gone); ignored
    /// stays ignored; the mask and pending set are kept.
    mutating func resetForExec() {
        for index in 0..<actions.count {
            if case .handler = actions[index].disposition { actions[index] = .default }
        }
    }

    func action(for signal: Signal) -> SigAction { actions[Int(signal.rawValue - 1)] }

    mutating func setAction(_ action: SigAction, for signal: Signal) {
        actions[Int(signal.rawValue - 1)] = action
        // Setting SIG_IGN discards a pending instance (POSIX).
        if action.ignores(signal) { pending.remove(signal) }
    }
}
