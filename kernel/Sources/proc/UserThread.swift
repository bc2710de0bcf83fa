import ExoABI
import ExoKit
import ExoSched

/// One thread of a user process (Linux's task in a thread group): what a
/// thread has of its own while it shares the process's address space,
/// files and signal dispositions.
///
/// Identity: `id` is the thread's TID, from the same number space as PIDs
/// (`Process.allocateID`), so a TID never equals another process's PID. The
/// main thread's TID is the PID.
///
/// Lifetime: created by `Process.startThread` (spawn, fork, clone), listed in
/// `process.members` until it exits; the kernel thread that ran it stays in
/// `process.threads` until it is joined (by a later clone, exec or the
/// parent's reap), which frees its kernel stack.
///
/// Locking: everything here is guarded by the scheduler lock, except what
/// only the thread itself touches (`clearChildTID`, `alternateSignalStack`,
/// `robustList`).
final class UserThread {
    /// The TID (gettid). Becomes the PID when a non-main thread execs.
    private(set) var id: Int32
    let process: Process
    /// The kernel thread that runs it (set when it is spawned).
    var kernelThread = ThreadID(0)
    /// set_tid_address / CLONE_CHILD_CLEARTID: at exit, 0 is stored here and
    /// one futex waiter woken (how pthread_join waits).
    var clearChildTID: UInt64 = 0
    /// set_robust_list's head and length (kept for get_robust_list; the
    /// robust-futex walk at exit is not implemented).
    var robustList: UInt64 = 0
    /// The signal mask (rt_sigprocmask is per thread).
    var blocked = SignalSet.empty
    /// Signals sent to this thread alone (tgkill, tkill, its own faults).
    var pending = PendingSignals()
    /// rt_sigsuspend's caller mask, restored after the handler it waited
    /// for (saved in that handler's frame) or on return.
    var maskAfterSuspend: SignalSet? = nil
    /// sigaltstack's setting.
    var alternateSignalStack = SignalStack.disabled
    /// Set when the thread must end at its next return to user mode (or
    /// next interruptible wait): exit_group, a fatal signal or an execve
    /// in another thread of its process.
    var mustExit = false

    /// Every live user thread by TID (tgkill, tkill). Scheduler lock.
    nonisolated(unsafe) private static var byID: [Int32: UserThread] = [:]

    init(id: Int32, process: Process) {
        self.id = id
        self.process = process
    }

    /// The calling thread (precondition: a user thread).
    static var current: UserThread {
        guard let thread = Threads.table[Scheduler.current.index].user else {
            preconditionFailure("a thread-only call from a kernel thread")
        }
        return thread
    }

    /// The calling thread, or nil on a kernel thread.
    static var currentIfUser: UserThread? { Threads.table[Scheduler.current.index].user }

    static func find(_ tid: Int32) -> UserThread? { Scheduler.withLock { byID[tid] } }

    /// Lists it by TID. Scheduler lock held.
    func registerLocked() {
        precondition(Scheduler.lock.isHeldHere, "registerLocked needs the scheduler lock")
        UserThread.byID[id] = self
    }

    /// Takes it off the TID list (at exit). Scheduler lock held.
    func unregisterLocked() {
        precondition(Scheduler.lock.isHeldHere, "unregisterLocked needs the scheduler lock")
        if UserThread.byID[id] === self { UserThread.byID[id] = nil }
    }

    /// execve from a non-main thread: it takes over the process's PID as
    /// its TID (Linux's de_thread). Scheduler lock held.
    func becomeLeaderLocked() {
        unregisterLocked()
        id = process.pid
        registerLocked()
        // The fast path's copy (see Threads.Record.userThreadID).
        Threads.setUserThreadID(of: kernelThread, to: id)
    }

    /// Whether a blocking call should stop now: a signal this thread may
    /// take is pending (its own or the process's), or it must exit.
    var hasDeliverableSignal: Bool {
        if mustExit { return true }
        let pendingHere = pending.set.union(process.signals.pending.set)
        // The common case first: nothing pending at all.
        return pendingHere.rawValue != 0 && pendingHere.nextDeliverable(blocked: blocked) != nil
    }

    /// Whether `signal` would be delivered to this thread now.
    func accepts(_ signal: Signal) -> Bool { !blocked.removingUnblockable.contains(signal) }

    /// Wakes it if it sleeps in an interruptible wait, and interrupts the
    /// CPU running it, if another, so that it reaches its return to user
    /// mode (where signals and `mustExit` are acted on). Scheduler lock held.
    func interruptLocked() {
        Scheduler.wake(kernelThread)
        Scheduler.interruptIfRunningElsewhere(kernelThread)
    }
}
