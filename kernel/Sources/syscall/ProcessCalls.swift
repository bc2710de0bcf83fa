import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// Processes and threads: identity, fork/exec/exit/wait, the thread
/// pointer, scheduling, sleeping, credentials and limits.
extension Syscalls {
    static func registerProcessCalls() {
        register(.getpid) { _ throws(Errno) in Int64(Process.current.pid) }
        register(.gettid) { _ throws(Errno) in Int64(UserThread.current.id) }
        register(.getppid) { _ throws(Errno) in Int64(Process.current.parentPID) }
        register(.getpgrp) { _ throws(Errno) in Int64(Process.current.processGroup) }
        register(.getpgid) { c throws(Errno) in
            let pid = c.int32(c.a0)
            guard let process = pid == 0 ? Process.current : Process.find(pid) else { throw .noSuchProcess }
            return Int64(process.processGroup)
        }
        register(.setpgid) { c throws(Errno) in
            let pid = c.int32(c.a0), group = c.int32(c.a1)
            guard pid >= 0, group >= 0 else { throw .invalidArgument }
            guard let process = pid == 0 ? Process.current : Process.find(pid) else { throw .noSuchProcess }
            process.processGroup = group == 0 ? process.pid : group
            return 0
        }
        register(.getsid) { _ throws(Errno) in Int64(Process.current.session) }
        register(.setsid) { _ throws(Errno) in
            let process = Process.current
            process.session = process.pid
            process.processGroup = process.pid
            return Int64(process.pid)
        }
        register(.exit) { c throws(Errno) in Process.current.exitThread(code: c.int32(c.a0)) }
        register(.exitGroup) { c throws(Errno) in Process.current.exitGroup(status: WaitStatusWord.exited(c.int32(c.a0))) }
        register(.fork) { c throws(Errno) in Int64(try Process.current.fork(frame: c.frame.pointee).pid) }
        register(.vfork) { c throws(Errno) in Int64(try Process.current.fork(frame: c.frame.pointee).pid) }
        register(.clone, clone)
        register(.execve) { c throws(Errno) in try execve(c, directory: nil, path: c.a0, argv: c.a1, envp: c.a2) }
        register(.execveat) { c throws(Errno) in
            try execve(c, directory: c.descriptor(c.a0), path: c.a1, argv: c.a2, envp: c.a3)
        }
        register(.wait4, wait4)
        register(.setTidAddress) { c throws(Errno) in
            let thread = UserThread.current
            thread.clearChildTID = c.a0
            return Int64(thread.id)
        }
        register(.archPrctl, archPrctl)
        register(.schedYield) { _ throws(Errno) in
            Scheduler.yield()
            return 0
        }
        register(.nanosleep) { c throws(Errno) in try sleep(request: c.a0, remaining: c.a1) }
        register(.clockNanosleep) { c throws(Errno) in
            guard c.a1 & ~1 == 0 else { throw .invalidArgument }
            guard c.a1 == 0 else { throw .notImplemented }      // TIMER_ABSTIME
            return try sleep(request: c.a2, remaining: c.a3)
        }
        for number in [SyscallNumber.getuid, .geteuid, .getgid, .getegid] {
            register(number) { _ throws(Errno) in 0 }
        }
        register(.getresuid) { c throws(Errno) in try writeIDs(c); return 0 }
        register(.getresgid) { c throws(Errno) in try writeIDs(c); return 0 }
        for number in [SyscallNumber.setuid, .setgid, .setreuid, .setregid, .setresuid, .setresgid] {
            register(number) { _ throws(Errno) in 0 }               // root may become root
        }
        register(.getgroups) { _ throws(Errno) in 0 }
        register(.umask) { c throws(Errno) in
            let process = Process.current
            let old = process.fileCreationMask
            process.fileCreationMask = UInt32(truncatingIfNeeded: c.a0) & 0o777
            return Int64(old)
        }
        register(.prlimit64) { c throws(Errno) in try resourceLimit(pid: c.int32(c.a0), resource: c.a1, new: c.a2, old: c.a3) }
        register(.getrlimit) { c throws(Errno) in
            guard c.a1 != 0 else { throw .badAddress }
            return try resourceLimit(pid: 0, resource: c.a0, new: 0, old: c.a1)
        }
        register(.setrlimit) { c throws(Errno) in try resourceLimit(pid: 0, resource: c.a0, new: c.a1, old: 0) }
        register(.setRobustList) { c throws(Errno) in
            guard c.a1 == 24 else { throw .invalidArgument }       // sizeof(struct robust_list_head)
            UserThread.current.robustList = c.a0
            return 0
        }
        register(.alarm) { c throws(Errno) in
            let seconds = UInt64(UInt32(truncatingIfNeeded: c.a0))
            let (left, _) = AlarmClock.set(Process.current, after: seconds * 1_000_000_000, interval: 0)
            return Int64((left + 999_999_999) / 1_000_000_000)
        }
        register(.setitimer) { c throws(Errno) in
            guard c.a0 == 0 else { throw c.a0 <= 2 ? .notImplemented : .invalidArgument }   // ITIMER_REAL only
            var delay: UInt64 = 0, interval: UInt64 = 0
            if c.a1 != 0 {
                let words = try UserMode.readBytes(at: c.a1, count: 32)
                let intervalValue = try LinuxTimeval(decoding: words, at: 0).validatedInterval()
                let value = try LinuxTimeval(decoding: words, at: 16).validatedInterval()
                func nanoseconds(_ time: LinuxTimeval) -> UInt64 {
                    let seconds = UInt64(min(time.seconds, 1 << 32))
                    return seconds * 1_000_000_000 + UInt64(time.microseconds) * 1000
                }
                interval = nanoseconds(intervalValue)
                delay = nanoseconds(value)
            }
            let process = Process.current
            let (left, oldInterval) = c.a1 != 0 ? AlarmClock.set(process, after: delay, interval: interval)
                                                 : AlarmClock.remaining(process)
            if c.a2 != 0 { try writeInterval(left: left, interval: oldInterval, to: c.a2) }
            return 0
        }
        register(.getitimer) { c throws(Errno) in
            guard c.a0 <= 2 else { throw .invalidArgument }
            let (left, interval) = c.a0 == 0 ? AlarmClock.remaining(Process.current) : (0, 0)
            try writeInterval(left: left, interval: interval, to: c.a1)
            return 0
        }
        register(.kill, kill)
        register(.tgkill) { c throws(Errno) in
            let group = c.int32(c.a0)
            guard group > 0, c.int32(c.a1) > 0 else { throw .invalidArgument }
            return try sendSignal(c.a2, toThread: c.int32(c.a1), inGroup: group)
        }
        register(.tkill) { c throws(Errno) in
            guard c.int32(c.a0) > 0 else { throw .invalidArgument }
            return try sendSignal(c.a1, toThread: c.int32(c.a0), inGroup: nil)
        }
    }

    private static func writeInterval(left: UInt64, interval: UInt64, to address: UInt64) throws(Errno) {
        func timeval(_ ns: UInt64) -> (Int64, Int64) { (Int64(ns / 1_000_000_000), Int64(ns % 1_000_000_000 / 1000)) }
        let i = timeval(interval), v = timeval(left)
        try UserMode.write((i.0, i.1, v.0, v.1), to: address)
    }

    private static func writeIDs(_ c: SyscallContext) throws(Errno) {
        for address in [c.a0, c.a1, c.a2] { try UserMode.write(UInt32(0), to: address) }
    }

    /// clone: threads (CLONE_VM|CLONE_SIGHAND|CLONE_THREAD with CLONE_FS and
    /// CLONE_FILES, as musl's and glibc's pthread_create ask) and fork-like
    /// clones (no CLONE_VM, or vfork's CLONE_VM|CLONE_VFORK, served as a
    /// copy). Flag checks in Linux's order (copy_process); combinations Exo
    /// does not implement (CLONE_VM without a thread or vfork, a thread with
    /// its own files or fs) are EINVAL.
    ///
    /// Arguments (x86_64): flags, stack, parent_tid, child_tid, tls.
    private static func clone(_ c: SyscallContext) throws(Errno) -> Int64 {
        let flags = CloneFlags(rawValue: c.a0 & ~CloneFlags.exitSignalMask)
        let stack = c.a1, parentTID = c.a2, childTID = c.a3, tls = c.a4
        guard flags.isSubset(of: CloneFlags.known) else { throw .invalidArgument }
        if flags.contains(.newMountNamespace) && flags.contains(.fileSystem) { throw .invalidArgument }
        if flags.contains(.thread) && !flags.contains(.signalHandlers) { throw .invalidArgument }
        if flags.contains(.signalHandlers) && !flags.contains(.virtualMemory) { throw .invalidArgument }
        // CLONE_SETTLS takes an FS base, checked as ARCH_SET_FS checks it.
        if flags.contains(.setTLS) && tls >= UserMode.userEnd { throw .notPermitted }
        if flags.contains(.thread) {
            guard flags.contains(.files) && flags.contains(.fileSystem) && !flags.contains(.vfork) else { throw .invalidArgument }
            let process = Process.current
            let fsBase = flags.contains(.setTLS) ? tls : Threads.table[Scheduler.current.index].userFSBase
            let tid = try process.cloneThread(frame: c.frame.pointee, stack: stack, tls: fsBase,
                                              clearChildTID: flags.contains(.childClearTID) ? childTID : 0) { tid in
                // Before the thread runs, as Linux: both words are in the
                // shared memory; a bad pointer is ignored, as Linux does.
                if flags.contains(.parentSetTID) { try? UserMode.write(UInt32(bitPattern: tid), to: parentTID) }
                if flags.contains(.childSetTID) { try? UserMode.write(UInt32(bitPattern: tid), to: childTID) }
            }
            return Int64(tid)
        }
        if flags.contains(.virtualMemory) && !flags.contains(.vfork) { throw .invalidArgument }
        var frame = c.frame.pointee
        if stack != 0 { frame.rsp = stack }                      // a new stack for the child
        let child = try Process.current.fork(frame: frame, fsBase: flags.contains(.setTLS) ? tls : nil)
        if flags.contains(.parentSetTID) { try? UserMode.write(UInt32(bitPattern: child.pid), to: parentTID) }
        if flags.contains(.childClearTID) { child.member(child.pid)?.clearChildTID = childTID }
        return Int64(child.pid)
    }

    private static func execve(_ c: SyscallContext, directory: Int64?, path: UInt64, argv: UInt64, envp: UInt64) throws(Errno) -> Int64 {
        let file = try UserMode.readString(at: path)
        if file.isEmpty { throw .noSuchFile }
        let arguments = try readStringArray(argv)
        let environment = try readStringArray(envp)
        try Process.current.exec(path: file, arguments: arguments, environment: environment, frame: &c.frame.pointee)
        return 0                                                  // RAX of the new image's first instruction
    }

    /// A NULL-terminated user array of string pointers (argv, envp); at
    /// most 128 KiB of strings in all (E2BIG beyond).
    static func readStringArray(_ address: UInt64) throws(Errno) -> [[UInt8]] {
        var strings: [[UInt8]] = []
        guard address != 0 else { return strings }
        var total = 0
        var cursor = address
        while true {
            let pointer = try UserMode.read(UInt64.self, at: cursor)
            if pointer == 0 { return strings }
            let string = try UserMode.readString(at: pointer, limit: 128 * 1024)
            total += string.count + 1 + 8
            if total > 128 * 1024 || strings.count >= 65536 { throw .argumentListTooLong }
            strings.append(string)
            cursor += 8
        }
    }

    private static func wait4(_ c: SyscallContext) throws(Errno) -> Int64 {
        let options = WaitOptions(rawValue: UInt32(truncatingIfNeeded: c.a2))
        guard options.isSubset(of: WaitOptions.known) else { throw .invalidArgument }
        let pid = c.int32(c.a0)
        guard pid != Int32.min else { throw .noSuchProcess }
        let wanted: Int32 = pid < -1 ? -1 : pid                   // process groups: any child
        guard let (child, status) = try Process.current.waitForChild(pid: wanted, nonBlocking: options.contains(.noHang)) else {
            return 0
        }
        if c.a1 != 0 { try UserMode.write(status, to: c.a1) }
        if c.a3 != 0 { try UserMode.writeBytes([UInt8](repeating: 0, count: 144), to: c.a3) }   // struct rusage
        return Int64(child)
    }

    private static func archPrctl(_ c: SyscallContext) throws(Errno) -> Int64 {
        let me = Scheduler.current
        switch c.a0 {
        case 0x1002:                                              // ARCH_SET_FS
            guard c.a1 < UserMode.userEnd else { throw .notPermitted }
            CPU.withInterruptsDisabled {
                Threads.table[me.index].userFSBase = c.a1
                Threads.loadFSBase(c.a1)
            }
            return 0
        case 0x1003:                                              // ARCH_GET_FS
            try UserMode.write(Threads.table[me.index].userFSBase, to: c.a1)
            return 0
        case 0x1001, 0x1004:                                      // GS: unused by the C libraries
            throw .invalidArgument
        default:
            throw .invalidArgument
        }
    }

    /// nanosleep: sleeps the interval on the monotonic clock; a signal
    /// cuts it short with EINTR and the time left in `remaining`.
    private static func sleep(request: UInt64, remaining: UInt64) throws(Errno) -> Int64 {
        let bytes = try UserMode.readBytes(at: request, count: LinuxTimespec.byteSize)
        let duration = try LinuxTimespec(decoding: bytes, at: 0).validatedInterval()
        guard let nanoseconds = duration.totalNanoseconds else { throw .invalidArgument }
        let thread = UserThread.current
        let deadline = Clock.nanosecondsSinceBoot() &+ UInt64(nanoseconds)
        while true {
            let now = Clock.nanosecondsSinceBoot()
            if now >= deadline { return 0 }
            // Check and sleep in one hold of the lock: a signal (or an exit
            // order) posted in between would otherwise not wake us.
            let interrupted = Scheduler.withLock { () -> Bool in
                if thread.hasDeliverableSignal { return true }
                Scheduler.sleepLocked(nanoseconds: deadline - now)
                return false
            }
            if interrupted {
                if remaining != 0 {
                    try UserMode.writeBytes(LinuxTimespec(totalNanoseconds: Int64(deadline - now)).encoded, to: remaining)
                }
                throw .interrupted
            }
        }
    }

    private static func resourceLimit(pid: Int32, resource: UInt64, new: UInt64, old: UInt64) throws(Errno) -> Int64 {
        guard pid == 0 || pid == Process.current.pid else {
            guard Process.find(pid) != nil else { throw .noSuchProcess }
            throw .notPermitted
        }
        guard let kind = ResourceLimitKind(rawValue: UInt32(truncatingIfNeeded: resource)), resource < 16 else {
            throw .invalidArgument
        }
        let process = Process.current
        if old != 0 { try UserMode.writeBytes(process.limits[Int(kind.rawValue)].encoded, to: old) }
        if new != 0 {
            let bytes = try UserMode.readBytes(at: new, count: ResourceLimit.byteSize)
            let limit = try ResourceLimit(decoding: bytes, at: 0)
            guard limit.current <= limit.maximum else { throw .invalidArgument }
            process.limits[Int(kind.rawValue)] = limit
        }
        return 0
    }

    private static func kill(_ c: SyscallContext) throws(Errno) -> Int64 {
        let pid = c.int32(c.a0)
        if pid > 0 { return try sendSignal(c.a1, to: pid) }
        // 0: the caller's group; -1: everyone but init; < -1: group -pid.
        let me = Process.current
        let group = pid == 0 ? me.processGroup : -pid
        var sent = 0
        for process in Process.all where process.state == .running {
            if pid == -1 ? (process.pid != 1 && process.pid != me.pid) : process.processGroup == group {
                _ = try sendSignal(c.a1, to: process.pid)
                sent += 1
            }
        }
        if sent == 0 && pid != -1 { throw .noSuchProcess }
        return 0
    }

    /// kill(pid, sig) for one process; signal 0 only checks it exists. A
    /// TID names its process, as on Linux.
    static func sendSignal(_ raw: UInt64, to pid: Int32) throws(Errno) -> Int64 {
        guard raw <= 64 else { throw .invalidArgument }
        guard let target = Process.find(pid) ?? UserThread.find(pid)?.process, target.state == .running else {
            throw .noSuchProcess
        }
        guard raw != 0, let signal = Signal(rawValue: Int32(raw)) else { return 0 }
        target.post(signal, info: SignalInfo.killed(by: Process.current.pid, uid: 0, signal: signal))
        return 0
    }

    /// tgkill (with `group`) and tkill: `signal` for one thread only.
    static func sendSignal(_ raw: UInt64, toThread tid: Int32, inGroup group: Int32?) throws(Errno) -> Int64 {
        guard raw <= 64 else { throw .invalidArgument }
        guard let thread = UserThread.find(tid), group == nil || thread.process.pid == group,
              thread.process.state == .running else { throw .noSuchProcess }
        guard raw != 0, let signal = Signal(rawValue: Int32(raw)) else { return 0 }
        let info = SignalInfo(signal: signal, code: .threadKill, details: .sender(pid: Process.current.pid, uid: 0))
        thread.process.post(signal, info: info, to: thread)
        return 0
    }
}

/// wait4 status words (`<sys/wait.h>`'s encoding).
enum WaitStatusWord {
    static func exited(_ code: Int32) -> Int32 { (code & 0xFF) << 8 }
    static func signaled(_ signal: Signal) -> Int32 { signal.rawValue & 0x7F }
}
