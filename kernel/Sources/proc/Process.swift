import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// A user process: an address space, open files, a working directory,
/// signal dispositions, and its threads (kernel threads that spend their
/// lives in ring 3 and enter the kernel by SYSCALL or a trap).
///
/// Lifetime: a process that exits becomes a zombie holding only its exit
/// status until its parent's wait4 reaps it (or, for init, the kernel's
/// boot thread). Its address space is released when its last thread has
/// left the CPU for good (in `reap`), never while a CPU could still run on
/// its page tables.
///
/// Locking: the process table, parent/child links, exit statuses and the
/// wait queues are guarded by the scheduler lock (as in xv6), which makes
/// "no zombie child yet, sleep" atomic against a child's exit.
final class Process {
    enum State { case running, zombie }

    let pid: Int32
    private(set) var parentPID: Int32
    var state = State.running
    var space: UserAddressSpace?
    var files: FileTable
    var workingDirectory: FileSystem.Node
    /// The wait4 status word once it exited (exited(code) or signaled(sig)).
    var exitStatus: Int32 = 0
    var threads: [ThreadID] = []
    /// Where set_tid_address asked for the thread id to be cleared at exit.
    var clearChildTID: UInt64 = 0
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
    /// sigaltstack's setting (one thread per process for now).
    var alternateSignalStack = SignalStack.disabled
    var limits = ResourceLimitKind.allCases.map { ResourceLimit.initial(for: $0) }

    nonisolated(unsafe) private static var table: [Int32: Process] = [:]
    nonisolated(unsafe) private static var nextPID: Int32 = 1
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

    /// Registers a new process (scheduler lock taken here).
    private static func register(parentPID: Int32, files: FileTable, workingDirectory: FileSystem.Node,
                                 name: [UInt8]) -> Process {
        Scheduler.withLock {
            let process = Process(pid: nextPID, parentPID: parentPID, files: files,
                                  workingDirectory: workingDirectory, name: name)
            if let parent = table[parentPID] {
                process.processGroup = parent.processGroup
                process.session = parent.session
            }
            nextPID += 1
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
        var files = FileTable()
        for _ in 0..<3 { _ = try files.install(console, closeOnExec: false) }
        let process = register(parentPID: 0, files: files, workingDirectory: FileSystem.root, name: path)
        let image: LoadedImage
        do { image = try ProgramLoader.load(path: path, arguments: arguments, environment: environment,
                                            workingDirectory: FileSystem.root) } catch {
            Scheduler.withLock { table[process.pid] = nil }
            throw error
        }
        process.space = image.space
        try process.startThread(frame: UserMode.initialFrame(entry: image.entry, stack: image.stackPointer))
        return process
    }

    /// A thread of this process that enters ring 3 with `frame`.
    func startThread(frame: TrapFrame, fsBase: UInt64 = 0, forkedFrom parent: ThreadID? = nil) throws(Errno) {
        let root = space!.root
        let thread: ThreadID
        do {
            thread = try Threads.spawnUser(name: "user", process: self, addressSpaceRoot: root, fsBase: fsBase,
                                           forkedFrom: parent) {
                let me = Scheduler.current
                UserMode.enter(frame, kernelStackTop: Threads.table[me.index].stack!.top)
            }
        } catch { throw .outOfMemory }
        Scheduler.withLock { threads.append(thread) }
    }

    /// fork: a copy of the calling process whose only thread resumes from
    /// `frame` (the parent's syscall frame) with RAX = 0.
    func fork(frame: TrapFrame) throws(Errno) -> Process {
        guard let parentSpace = space else { throw .noSuchProcess }
        let childSpace = try parentSpace.lock.withLock { () throws(Errno) in try parentSpace.duplicate() }
        let child = Process.register(parentPID: pid, files: files.duplicate(), workingDirectory: workingDirectory, name: name)
        child.space = childSpace
        child.signals = signals.forkedCopy()
        var childFrame = frame
        childFrame.rax = 0
        let fsBase = Threads.table[Scheduler.current.index].userFSBase
        do { try child.startThread(frame: childFrame, fsBase: fsBase, forkedFrom: Scheduler.current) } catch {
            Scheduler.withLock { Process.table[child.pid] = nil }
            throw error
        }
        return child
    }

    /// Replaces the image of the calling process (execve). On success the
    /// caller's frame is rewritten to start the new program.
    func exec(path: [UInt8], arguments: [[UInt8]], environment: [[UInt8]], frame: inout TrapFrame) throws(Errno) {
        let image = try ProgramLoader.load(path: path, arguments: arguments, environment: environment,
                                           workingDirectory: workingDirectory)
        // Point of no return: the old image is gone from here on.
        let me = Scheduler.current
        let old = space
        space = image.space
        name = path
        CPU.withInterruptsDisabled {
            Threads.table[me.index].addressSpaceRoot = image.space.root
            Threads.table[me.index].userFSBase = 0
            CPU.write(UserMode.fsBaseMSR, 0)
            CPU.cr3 = image.space.root
        }
        _ = old                                     // released here, off the CPU's tables
        files.closeOnExec()
        signals.resetForExec()
        clearChildTID = 0
        frame = UserMode.initialFrame(entry: image.entry, stack: image.stackPointer)
    }

    // MARK: Exit and wait

    /// Ends the process with wait status `status`: closes its files, hands
    /// its children to init, wakes the parent, and ends the calling thread.
    func exit(status: Int32) -> Never {
        if clearChildTID != 0 { try? UserMode.write(UInt32(0), to: clearChildTID) }
        files.closeAll()
        Scheduler.withLock {
            state = .zombie
            exitStatus = status
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
        Threads.exit()
    }

    /// Exits of parentless processes (init) wake the kernel thread waiting
    /// for them here.
    nonisolated(unsafe) static var orphanExited = WaitQueue()

    /// wait4: waits for a child matching `pid` (-1 any, > 0 that one) to
    /// become a zombie, reaps it, returns (pid, status). `nonBlocking`:
    /// returns nil instead of sleeping.
    func waitForChild(pid wanted: Int32, nonBlocking: Bool) throws(Errno) -> (Int32, Int32)? {
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
                if signals.hasDeliverable { throw .interrupted }
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
        for thread in threads { Threads.join(thread) }
        threads.removeAll()
        space = nil
    }

    /// Every live process (for kill(-1) and reports).
    static var all: [Process] { Scheduler.withLock { Array(table.values) } }

    /// The same, with the scheduler lock already held (interrupt handlers).
    static var allLocked: [Process] { Array(table.values) }

    /// Makes `signal` pending and wakes the process's sleeping threads so
    /// that blocking calls notice it (they re-check and return EINTR).
    func post(_ signal: Signal, info: SignalInfo? = nil) {
        Scheduler.withLock { postLocked(signal, info: info) }
    }

    /// `post` with the scheduler lock held.
    func postLocked(_ signal: Signal, info: SignalInfo? = nil) {
        signals.post(signal, info: info)
        guard signals.hasDeliverable else { return }
        for thread in threads {
            Scheduler.wake(thread)
            // A thread busy in user mode elsewhere may not enter the kernel
            // for a long time (no timer runs when it is alone on its CPU).
            Scheduler.interruptIfRunningElsewhere(thread)
        }
    }
}
