import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoIPC
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// A user process (Linux's thread group): an address space, open files, a
/// working directory, signal dispositions, and its threads (`UserThread`s,
/// each run by a kernel thread that spends its life in ring 3 and enters
/// the kernel by SYSCALL or a trap).
///
/// Threads: `members` are the live threads; the first is the main thread,
/// whose TID is the PID. A thread that exits leaves `members`; the process
/// ends when the last one does. exit_group, a fatal signal and execve end
/// the other threads: each is marked `mustExit`, woken and, if it runs on
/// another CPU, interrupted, and it exits at its next return to user mode.
///
/// Lifetime: a process whose last thread exited is a zombie holding only
/// its exit status until its parent's wait4 reaps it (or, for init, the
/// kernel's boot thread). Its address space is released when every kernel
/// thread that ran it has left the CPU for good (`reap` joins them all),
/// never while a CPU could still run on its page tables.
///
/// Locking: the process table, parent/child links, members, exit statuses,
/// signal state and the wait queues are guarded by the scheduler lock (as
/// in xv6), which makes "no zombie child yet, sleep" atomic against a
/// child's exit. The file table has its own lock; the address space too.
final class Process {
    enum State { case running, zombie }

    let pid: Int32
    private(set) var parentPID: Int32
    var state = State.running
    var space: UserAddressSpace?
    let files: FileTable
    var workingDirectory: FileSystem.Node
    /// The wait4 status word once it exited (exited(code) or signaled(sig)).
    var exitStatus: Int32 = 0
    /// The live threads (main thread first until it exits).
    private(set) var members: [UserThread] = []
    /// Kernel threads that ran (or run) its threads and are not joined yet.
    private(set) var threads: [ThreadID] = []
    /// exit_group or a fatal signal is ending every thread; `exitStatus`
    /// holds the status the process will report.
    private(set) var groupExiting = false
    /// A thread in execve waiting for the others to exit.
    private var execingThread: UserThread? = nil
    /// Woken whenever one of its threads exits (execve waits here).
    private var threadExited = WaitQueue()
    var signals = SignalState()
    /// The parent sleeps here in wait4 until a child exits.
    var childExited = WaitQueue()
    /// The executable's path (for /proc-like reports and the trace).
    var name: [UInt8]
    var processGroup: Int32 = 0
    var session: Int32 = 0
    var fileCreationMask: UInt32 = 0o022
    /// ITIMER_REAL: when SIGALRM is due (0: disarmed) and its period.
    var alarmDeadline: UInt64 = 0
    var alarmInterval: UInt64 = 0
    var limits = ResourceLimitKind.allCases.map { ResourceLimit.initial(for: $0) }
    /// Capabilities: handles to Fusion Rings (scheduler lock). fork copies
    /// the table, numbers and rights included, like file descriptors.
    var rings = HandleTable<KernelRing>()
    /// The IPC fast paths' memory of the last pair of rings a call named
    /// (IPCFastCall.callRings), valid while `rings.version` is the one it
    /// holds (scheduler lock, as `rings`). Not inherited: a child starts
    /// without one.
    var ringPair = RingPairMemo()
    /// The ring memory this process created (and its rings still hold,
    /// wherever their handles went): bounded, so handles alone (1,024 per
    /// table) cannot pin gigabytes of kernel pages. Not inherited by fork.
    let ringQuota = RingQuota(limitPages: RingQuota.pagesPerProcess)

    nonisolated(unsafe) private static var table: [Int32: Process] = [:]
    /// The next PID or TID (one number space, as on Linux). Never reused.
    nonisolated(unsafe) private static var nextID: Int32 = 1
    nonisolated(unsafe) private(set) static var created: UInt64 = 0

    private init(pid: Int32, parentPID: Int32, files: FileTable, workingDirectory: FileSystem.Node, name: [UInt8]) {
        self.pid = pid
        self.parentPID = parentPID
        self.files = files
        self.workingDirectory = workingDirectory
        self.name = name
        self.processGroup = pid
        self.session = pid
    }

    /// The process of the calling thread (precondition: a user thread).
    static var current: Process {
        guard let process = Threads.table[Scheduler.current.index].process else {
            preconditionFailure("a process-only call from a kernel thread")
        }
        return process
    }

    static func find(_ pid: Int32) -> Process? { Scheduler.withLock { table[pid] } }

    /// A fresh PID or TID. Scheduler lock held.
    private static func allocateIDLocked() -> Int32 {
        precondition(Scheduler.lock.isHeldHere, "allocateIDLocked needs the scheduler lock")
        let id = nextID
        nextID += 1
        return id
    }

    /// Registers a new process (scheduler lock taken here).
    private static func register(parentPID: Int32, files: FileTable, workingDirectory: FileSystem.Node,
                                 name: [UInt8]) -> Process {
        Scheduler.withLock {
            let process = Process(pid: allocateIDLocked(), parentPID: parentPID, files: files,
                                  workingDirectory: workingDirectory, name: name)
            if let parent = table[parentPID] {
                process.processGroup = parent.processGroup
                process.session = parent.session
            }
            created &+= 1
            table[process.pid] = process
            return process
        }
    }

    // MARK: Creation

    /// Starts `path` as a new process with no parent (init): loads the
    /// image, opens the console as fds 0-2, and starts its main thread.
    static func spawnInitial(path: [UInt8], arguments: [[UInt8]], environment: [[UInt8]]) throws(Errno) -> Process {
        let console = FileDescription(console: ())
        let files = FileTable()
        for _ in 0..<3 { _ = try files.install(console, closeOnExec: false) }
        let process = register(parentPID: 0, files: files, workingDirectory: FileSystem.root, name: path)
        let image: LoadedImage
        do { image = try ProgramLoader.load(path: path, arguments: arguments, environment: environment,
                                            workingDirectory: FileSystem.root) } catch {
            Scheduler.withLock { table[process.pid] = nil }
            throw error
        }
        process.space = image.space
        try process.startThread(UserThread(id: process.pid, process: process),
                                frame: UserMode.initialFrame(entry: image.entry, stack: image.stackPointer))
        return process
    }

    /// Runs `thread` (of this process) on a new kernel thread that enters
    /// ring 3 with `frame`. The thread is a member from the moment it can run.
    func startThread(_ thread: UserThread, frame: TrapFrame, fsBase: UInt64 = 0,
                     forkedFrom parent: ThreadID? = nil) throws(Errno) {
        let root = space!.root
        do {
            _ = try Threads.spawnUser(name: "user", process: self, thread: thread, addressSpaceRoot: root,
                                      fsBase: fsBase, forkedFrom: parent) {
                let me = Scheduler.current
                // Created while the process was being ended: never run.
                if Scheduler.withLock({ thread.mustExit }) { thread.process.exitThread(code: 0) }
                UserMode.enter(frame, kernelStackTop: Threads.table[me.index].stack!.top)
            }
        } catch { throw .outOfMemory }
    }

    /// Joins a new thread (Threads.spawnUser, under the scheduler lock).
    func adoptLocked(_ thread: UserThread, running kernelThread: ThreadID) {
        precondition(Scheduler.lock.isHeldHere, "adoptLocked needs the scheduler lock")
        thread.kernelThread = kernelThread
        members.append(thread)
        threads.append(kernelThread)
        thread.registerLocked()
        if groupExiting || execingThread != nil { thread.mustExit = true }
        // The process may hold pending signals already: checked in full
        // at the new thread's first return to user, which clears the mark.
        SignalDelivery.markAttention(thread)
    }

    /// clone(CLONE_VM|CLONE_THREAD): a new thread of this process that
    /// resumes from `frame` with RAX = 0, on `stack` (0: the caller's) and
    /// with FS base `tls`. `beforeStart` runs with the new TID before the
    /// thread can run (CLONE_PARENT_SETTID). Returns the TID.
    func cloneThread(frame: TrapFrame, stack: UInt64, tls: UInt64, clearChildTID: UInt64,
                     beforeStart: (Int32) -> Void) throws(Errno) -> Int32 {
        joinExitedThreads()
        let caller = UserThread.current
        let thread = Scheduler.withLock { () -> UserThread in
            let thread = UserThread(id: Process.allocateIDLocked(), process: self)
            // A new thread inherits the caller's mask, not its pending
            // signals or alternate stack (Linux clears sigaltstack for
            // CLONE_VM children).
            thread.blocked = caller.blocked
            return thread
        }
        thread.clearChildTID = clearChildTID
        beforeStart(thread.id)
        var childFrame = frame
        childFrame.rax = 0
        if stack != 0 { childFrame.rsp = stack }
        try startThread(thread, frame: childFrame, fsBase: tls, forkedFrom: Scheduler.current)
        return thread.id
    }

    /// Frees the kernel stacks of threads that have exited (they cannot free
    /// their own). Called where the process makes new threads, so a program
    /// that creates and joins threads in a loop keeps only a few.
    private func joinExitedThreads() {
        let exited = Scheduler.withLock { () -> [ThreadID] in
            let done = threads.filter { Threads.table[$0.index].state == .exited }
            threads.removeAll { Threads.table[$0.index].state == .exited }
            return done
        }
        for thread in exited { Threads.join(thread) }
    }

    /// fork: a copy of the calling process whose only thread resumes from
    /// `frame` (the parent's syscall frame) with RAX = 0, with the caller's
    /// FS base unless `fsBase` is given (clone's CLONE_SETTLS).
    func fork(frame: TrapFrame, fsBase: UInt64? = nil) throws(Errno) -> Process {
        guard let parentSpace = space else { throw .noSuchProcess }
        let caller = UserThread.current
        let childSpace = try parentSpace.lock.withLock { () throws(Errno) in try parentSpace.duplicate() }
        let child = Process.register(parentPID: pid, files: files.duplicate(), workingDirectory: workingDirectory, name: name)
        child.space = childSpace
        let main = UserThread(id: child.pid, process: child)
        Scheduler.withLock {
            child.signals = signals.forkedCopy()
            main.blocked = caller.blocked
            child.rings = rings
            for (_, ring, rights) in rings.live { ring.openEnd(rights) }
        }
        main.alternateSignalStack = caller.alternateSignalStack
        var childFrame = frame
        childFrame.rax = 0
        let base = fsBase ?? Threads.table[Scheduler.current.index].userFSBase
        do { try child.startThread(main, frame: childFrame, fsBase: base, forkedFrom: Scheduler.current) } catch {
            Scheduler.withLock { Process.table[child.pid] = nil }
            throw error
        }
        return child
    }

    /// Replaces the image of the calling process (execve). On success the
    /// caller's frame is rewritten to start the new program. Other threads
    /// are ended first (Linux's de_thread); the caller becomes the main
    /// thread and takes the PID as its TID.
    func exec(path: [UInt8], arguments: [[UInt8]], environment: [[UInt8]], frame: inout TrapFrame) throws(Errno) {
        let me = UserThread.current
        // A program that cannot be loaded leaves the process as it was.
        let image = try ProgramLoader.load(path: path, arguments: arguments, environment: environment,
                                           workingDirectory: workingDirectory)
        try endOtherThreads(for: me)
        // Point of no return: the old image is gone from here on.
        let kernelThread = Scheduler.current
        let old = space
        space = image.space
        name = path
        CPU.withInterruptsDisabled {
            Threads.table[kernelThread.index].addressSpaceRoot = image.space.root
            Threads.table[kernelThread.index].userFSBase = 0
            Threads.loadFSBase(0)
            Threads.loadRoot(image.space.root)
        }
        _ = old                                     // released here, off every CPU's tables
        files.closeOnExec()
        Scheduler.withLock {
            signals.resetForExec()
            execingThread = nil
            if me.id != pid { me.becomeLeaderLocked() }
        }
        me.clearChildTID = 0
        me.alternateSignalStack = .disabled
        frame = UserMode.initialFrame(entry: image.entry, stack: image.stackPointer)
    }

    /// execve's first step: every other thread is told to exit and joined,
    /// so none runs on the old image any more. Throws (EAGAIN) if the
    /// process is being ended meanwhile; the caller then dies on its way out.
    private func endOtherThreads(for me: UserThread) throws(Errno) {
        try Scheduler.withLockThrowing { () throws(Errno) in
            guard !groupExiting, execingThread == nil, !me.mustExit else { throw .tryAgain }
            guard members.count > 1 else { return }
            execingThread = me
            for thread in members where thread !== me {
                thread.mustExit = true
                SignalDelivery.markAttention(thread)
                thread.interruptLocked()
            }
            while members.count > 1 {
                if me.mustExit {                     // exit_group won the race
                    execingThread = nil
                    throw .tryAgain
                }
                threadExited.wait()
            }
        }
        // Their kernel threads must be off every CPU before the old page
        // tables go: join them (the caller's own stays).
        let others = Scheduler.withLock { () -> [ThreadID] in
            let mine = Scheduler.current
            let others = threads.filter { $0 != mine }
            threads.removeAll { $0 != mine }
            return others
        }
        for thread in others { Threads.join(thread) }
    }

    // MARK: Exit and wait

    /// exit(2) of the calling thread. The process ends with it if it was
    /// the last thread (with `code`, unless exit_group or a fatal signal
    /// already fixed the status).
    func exitThread(code: Int32) -> Never {
        let me = UserThread.current
        // pthread_join's wakeup: the TID word is cleared and one waiter
        // woken (a bad address is the thread's problem, not the kernel's).
        if me.clearChildTID != 0, let root = space?.root,
           (try? UserMode.write(UInt32(0), to: me.clearChildTID)) != nil {
            _ = Futexes.wake(root: root, address: me.clearChildTID, count: 1)
        }
        let last = Scheduler.withLock { () -> Bool in
            members.removeAll { $0 === me }
            me.unregisterLocked()
            threadExited.wakeAll()
            if members.isEmpty && !groupExiting { exitStatus = WaitStatusWord.exited(code) }
            return members.isEmpty
        }
        if last { finishExit() }
        Threads.exit()
    }

    /// exit_group(2), and fatal signals: every thread of the process ends;
    /// the process reports `status` (the first exit_group's, if several).
    func exitGroup(status: Int32) -> Never {
        Scheduler.withLock {
            if !groupExiting {
                groupExiting = true
                exitStatus = status
            }
            let me = UserThread.current
            for thread in members where thread !== me && !thread.mustExit {
                thread.mustExit = true
                SignalDelivery.markAttention(thread)
                thread.interruptLocked()
            }
        }
        exitThread(code: 0)
    }

    /// The last thread is leaving: close the files, become a zombie, hand
    /// the children to init and tell the parent.
    private func finishExit() {
        files.closeAll()
        Scheduler.withLock {
            // Peers blocked on these rings wake and see EPIPE if this was
            // the last end of its kind.
            for (_, ring, rights) in rings.live { ring.closeEnd(rights) }
            _ = rings.removeAll()
            IPC.withdrawGrants(of: pid)
            state = .zombie
            let status = exitStatus
            for (_, other) in Process.table where other.parentPID == pid { other.parentPID = 1 }
            if let parent = Process.table[parentPID] {
                parent.childExited.wakeAll()
                let info = status & 0x7F == 0
                    ? SignalInfo.childExited(pid: pid, uid: 0, exitCode: (status >> 8) & 0xFF)
                    : SignalInfo(signal: .child, code: SignalCode(rawValue: 2),
                                 details: .child(pid: pid, uid: 0, status: status & 0x7F, userTime: 0, systemTime: 0))
                parent.postLocked(.child, info: info)
            } else {
                Process.orphanExited.wakeAll()
            }
        }
    }

    /// Exits of parentless processes (init) wake the kernel thread waiting
    /// for them here.
    nonisolated(unsafe) static var orphanExited = WaitQueue()

    /// wait4: waits for a child matching `pid` (-1 any, > 0 that one) to
    /// become a zombie, reaps it, returns (pid, status). `nonBlocking`:
    /// returns nil instead of sleeping. Threads are never children: only
    /// processes are in the table.
    func waitForChild(pid wanted: Int32, nonBlocking: Bool) throws(Errno) -> (Int32, Int32)? {
        let me = UserThread.current
        let found: Process? = try Scheduler.withLockThrowing { () throws(Errno) -> Process? in
            while true {
                let children = Process.table.values.filter {
                    $0.parentPID == pid && (wanted == -1 || wanted == 0 || $0.pid == wanted)
                }
                if children.isEmpty { throw .noChild }
                if let zombie = children.first(where: { $0.state == .zombie }) {
                    Process.table[zombie.pid] = nil
                    return zombie
                }
                if nonBlocking { return nil }
                if me.hasDeliverableSignal { throw .interrupted }
                childExited.wait()
            }
        }
        guard let child = found else { return nil }
        child.reap()
        return (child.pid, child.exitStatus)
    }

    /// The kernel's wait for a parentless process (init).
    func waitAsOrphan() -> Int32 {
        Scheduler.withLock {
            while state != .zombie { Process.orphanExited.wait() }
            Process.table[pid] = nil
        }
        reap()
        return exitStatus
    }

    /// Frees what a zombie still holds: its threads' stacks and its address
    /// space (after every thread has left the CPU).
    private func reap() {
        let all = Scheduler.withLock { () -> [ThreadID] in
            let all = threads
            threads.removeAll()
            return all
        }
        for thread in all { Threads.join(thread) }
        space = nil
    }

    /// Every live process (for kill(-1) and reports).
    static var all: [Process] { Scheduler.withLock { Array(table.values) } }

    /// The same, with the scheduler lock already held (interrupt handlers).
    static var allLocked: [Process] { Array(table.values) }

    // MARK: Signals

    /// Makes `signal` pending for the process (or, with `thread`, for that
    /// thread alone) and wakes the threads that could take it, so that
    /// blocking calls notice (they re-check and return EINTR) and threads
    /// running on other CPUs reach their return to user mode.
    func post(_ signal: Signal, info: SignalInfo? = nil, to thread: UserThread? = nil) {
        Scheduler.withLock { postLocked(signal, info: info, to: thread) }
    }

    /// `post` with the scheduler lock held.
    func postLocked(_ signal: Signal, info: SignalInfo? = nil, to thread: UserThread? = nil) {
        precondition(Scheduler.lock.isHeldHere, "postLocked needs the scheduler lock")
        if signals.discards(signal) { return }
        if let thread {
            thread.pending.add(signal, info: info)
            SignalDelivery.markAttention(thread)
            if thread.accepts(signal) { thread.interruptLocked() }
        } else {
            signals.pending.add(signal, info: info)
            for member in members {
                SignalDelivery.markAttention(member)
                if member.accepts(signal) { member.interruptLocked() }
            }
        }
    }

    /// rt_sigaction: sets a disposition; SIG_IGN discards the pending
    /// instances, the process's and every thread's.
    func setAction(_ action: SigAction, for signal: Signal) {
        Scheduler.withLock { setActionLocked(action, for: signal) }
    }

    func setActionLocked(_ action: SigAction, for signal: Signal) {
        signals.setAction(action, for: signal)
        if action.ignores(signal) {
            for member in members { member.pending.discard(signal) }
        }
    }

    /// A live thread of this process by TID.
    func member(_ tid: Int32) -> UserThread? {
        Scheduler.withLock { members.first { $0.id == tid } }
    }
}
