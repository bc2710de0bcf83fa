import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// Files and descriptors: open/close/read/write and friends over the file
/// tree, the console and pipes.
extension Syscalls {
    /// The most bytes one read or write moves (Linux's MAX_RW_COUNT).
    static let transferLimit = 0x7FFF_F000
    /// Kernel buffers for a read or write are at most this big (larger
    /// transfers are short, which every caller handles): no user-chosen size
    /// ever becomes a kernel allocation.
    static let readChunk = 64 << 10

    static func registerFileCalls() {
        register(.read) { c throws(Errno) in try read(c.descriptor(c.a0), into: c.a1, count: c.a2) }
        register(.write) { c throws(Errno) in try write(c.descriptor(c.a0), from: c.a1, count: c.a2) }
        register(.pread64) { c throws(Errno) in try positioned(c, write: false) }
        register(.pwrite64) { c throws(Errno) in try positioned(c, write: true) }
        register(.readv) { c throws(Errno) in try vectored(c, write: false) }
        register(.writev) { c throws(Errno) in try vectored(c, write: true) }
        register(.open) { c throws(Errno) in try open(directory: nil, path: c.a0, flags: c.a1, mode: c.a2) }
        register(.openat) { c throws(Errno) in try open(directory: c.descriptor(c.a0), path: c.a1, flags: c.a2, mode: c.a3) }
        register(.creat) { c throws(Errno) in try open(directory: nil, path: c.a0, flags: 0o1101, mode: c.a1) }
        register(.close) { c throws(Errno) in
            try Process.current.files.close(c.descriptor(c.a0))
            return 0
        }
        register(.fstat) { c throws(Errno) in
            try UserMode.writeBytes(try Process.current.files.file(c.descriptor(c.a0)).stat().bytes, to: c.a1)
            return 0
        }
        register(.stat) { c throws(Errno) in try statPath(directory: nil, path: c.a0, buffer: c.a1, flags: 0) }
        register(.lstat) { c throws(Errno) in try statPath(directory: nil, path: c.a0, buffer: c.a1, flags: 0x100) }
        register(.newfstatat) { c throws(Errno) in
            try statPath(directory: c.descriptor(c.a0), path: c.a1, buffer: c.a2, flags: c.a3)
        }
        register(.lseek) { c throws(Errno) in
            try Process.current.files.file(c.descriptor(c.a0)).seek(offset: Int64(bitPattern: c.a1), whence: c.a2)
        }
        register(.getdents64, getdents64)
        register(.ioctl, ioctl)
        register(.pipe) { c throws(Errno) in try pipe(c.a0, flags: 0) }
        register(.pipe2) { c throws(Errno) in try pipe(c.a0, flags: c.a1) }
        register(.dup) { c throws(Errno) in
            let file = try Process.current.files.file(c.descriptor(c.a0))
            return Int64(try Process.current.files.install(file, closeOnExec: false))
        }
        register(.dup2) { c throws(Errno) in try duplicate(c.descriptor(c.a0), to: c.descriptor(c.a1), flags: 0, isDup2: true) }
        register(.dup3) { c throws(Errno) in try duplicate(c.descriptor(c.a0), to: c.descriptor(c.a1), flags: c.a2, isDup2: false) }
        register(.fcntl, fcntl)
        register(.getcwd) { c throws(Errno) in
            let process = Process.current
            var path = try FileSystem.withTree { (tree) throws(Errno) in try tree.path(of: process.workingDirectory) }
            path.append(0)
            guard UInt64(path.count) <= c.a1 else { throw .outOfRange }
            try UserMode.writeBytes(path, to: c.a0)
            return Int64(path.count)
        }
        register(.chdir) { c throws(Errno) in
            let path = try UserMode.readString(at: c.a0)
            let process = Process.current
            let node = try FileSystem.withTree { (tree) throws(Errno) in try tree.lookup(path, from: process.workingDirectory) }
            guard node.isDirectory else { throw .notDirectory }
            process.workingDirectory = node
            return 0
        }
        register(.fchdir) { c throws(Errno) in
            let file = try Process.current.files.file(c.descriptor(c.a0))
            guard case .node(let node) = file.kind, node.isDirectory else { throw .notDirectory }
            Process.current.workingDirectory = node
            return 0
        }
        register(.access) { c throws(Errno) in try access(directory: nil, path: c.a0, mode: c.a1) }
        register(.faccessat) { c throws(Errno) in try access(directory: c.descriptor(c.a0), path: c.a1, mode: c.a2) }
        register(.faccessat2) { c throws(Errno) in try access(directory: c.descriptor(c.a0), path: c.a1, mode: c.a2) }
        register(.readlink) { c throws(Errno) in try readlink(directory: nil, path: c.a0, buffer: c.a1, size: c.a2) }
        register(.readlinkat) { c throws(Errno) in
            try readlink(directory: c.descriptor(c.a0), path: c.a1, buffer: c.a2, size: c.a3)
        }
        register(.mkdir) { c throws(Errno) in try makeDirectory(directory: nil, path: c.a0, mode: c.a1) }
        register(.mkdirat) { c throws(Errno) in try makeDirectory(directory: c.descriptor(c.a0), path: c.a1, mode: c.a2) }
        register(.unlink) { c throws(Errno) in try unlink(directory: nil, path: c.a0, flags: 0) }
        register(.unlinkat) { c throws(Errno) in try unlink(directory: c.descriptor(c.a0), path: c.a1, flags: c.a2) }
        register(.rmdir) { c throws(Errno) in try unlink(directory: nil, path: c.a0, flags: 0x200) }
        register(.rename) { c throws(Errno) in
            let from = try UserMode.readString(at: c.a0), to = try UserMode.readString(at: c.a1)
            let cwd = Process.current.workingDirectory
            try FileSystem.withTree { (tree) throws(Errno) in try tree.rename(from, from: cwd, to: to, from: cwd) }
            return 0
        }
        register(.symlink) { c throws(Errno) in
            let target = try UserMode.readString(at: c.a0), path = try UserMode.readString(at: c.a1)
            let cwd = Process.current.workingDirectory
            _ = try FileSystem.withTree { (tree) throws(Errno) in try tree.createSymbolicLink(path, from: cwd, target: target) }
            return 0
        }
        register(.fsync) { c throws(Errno) in _ = try Process.current.files.file(c.descriptor(c.a0)); return 0 }
        register(.ftruncate) { c throws(Errno) in
            let file = try Process.current.files.file(c.descriptor(c.a0))
            guard case .node(let node) = file.kind, file.canWrite else { throw .invalidArgument }
            let length = Int64(bitPattern: c.a1)
            try FileSystem.withTree { (tree) throws(Errno) in try tree.truncate(node, to: length) }
            return 0
        }
        register(.poll, poll)
        register(.statx, statx)
    }

    /// The directory an *at call starts from: the working directory for
    /// AT_FDCWD, else an open directory.
    private static func startDirectory(_ descriptor: Int64?) throws(Errno) -> FileSystem.Node {
        let process = Process.current
        guard let descriptor, descriptor != -100 else { return process.workingDirectory }
        let file = try process.files.file(descriptor)
        guard case .node(let node) = file.kind else { throw .notDirectory }
        guard node.isDirectory else { throw .notDirectory }
        return node
    }

    private static func read(_ descriptor: Int64, into buffer: UInt64, count: UInt64) throws(Errno) -> Int64 {
        let file = try Process.current.files.file(descriptor)
        guard count > 0 else { return 0 }
        guard UserMode.isUserRange(buffer, count) else { throw .badAddress }
        let bytes = try file.read(count: Int(min(count, UInt64(readChunk))))
        let copied = UserMode.writeBytesPartially(bytes, to: buffer)
        if copied < bytes.count {
            // What did not land stays unread where the file can take it back.
            if case .node = file.kind { file.offset -= Int64(bytes.count - copied) }
            if copied == 0 { throw .badAddress }
        }
        return Int64(copied)
    }

    private static func write(_ descriptor: Int64, from buffer: UInt64, count: UInt64) throws(Errno) -> Int64 {
        let file = try Process.current.files.file(descriptor)
        guard count > 0 else { return 0 }
        let length = Int(min(count, UInt64(transferLimit), UInt64(readChunk)))
        let bytes = try UserMode.readBytes(at: buffer, count: length)
        var outcome: Result<Int, Errno> = .success(0)
        bytes.withUnsafeBytes { raw in
            do throws(Errno) { outcome = .success(try file.write(raw)) } catch { outcome = .failure(error) }
        }
        return Int64(try outcome.get())
    }

    private static func positioned(_ c: SyscallContext, write: Bool) throws(Errno) -> Int64 {
        let file = try Process.current.files.file(c.descriptor(c.a0))
        guard case .node = file.kind else { throw .illegalSeek }
        let position = Int64(bitPattern: c.a3)
        guard position >= 0 else { throw .invalidArgument }
        let saved = file.offset
        file.offset = position
        defer { file.offset = saved }
        return write ? try self.write(c.descriptor(c.a0), from: c.a1, count: c.a2)
                     : try read(c.descriptor(c.a0), into: c.a1, count: c.a2)
    }

    private static func vectored(_ c: SyscallContext, write: Bool) throws(Errno) -> Int64 {
        let descriptor = c.descriptor(c.a0)
        _ = try Process.current.files.file(descriptor)
        guard c.a2 <= 1024 else { throw .invalidArgument }
        let count = Int(c.a2)
        guard count > 0 else { return 0 }
        let table = try UserMode.readBytes(at: c.a1, count: count * IOVector.byteSize)
        var vectors: [IOVector] = []
        var total: UInt64 = 0
        for index in 0..<count {
            let vector = try IOVector(decoding: table, at: index * IOVector.byteSize)
            guard vector.length <= UInt64(Int64.max) - total else { throw .invalidArgument }
            total += vector.length
            vectors.append(vector)
        }
        var done: Int64 = 0
        for vector in vectors where vector.length > 0 {
            let moved: Int64
            do {
                moved = write ? try self.write(descriptor, from: vector.base, count: vector.length)
                              : try read(descriptor, into: vector.base, count: vector.length)
            } catch {
                if done > 0 { return done }
                throw error
            }
            done += moved
            if UInt64(moved) < vector.length { break }
        }
        return done
    }

    private static func open(directory: Int64?, path address: UInt64, flags raw: UInt64, mode: UInt64) throws(Errno) -> Int64 {
        let path = try UserMode.readString(at: address)
        let flags = OpenFlags(rawValue: UInt32(truncatingIfNeeded: raw))
        let process = Process.current
        let start = try startDirectory(directory)
        let accessMode = flags.rawValue & OpenFlags.accessModeMask
        guard accessMode != 3 else { throw .invalidArgument }
        if path == Array("/dev/console".utf8) || path == Array("/dev/tty".utf8) {
            let file = FileDescription(kind: .console, statusFlags: flags.rawValue & 0o6003)
            return Int64(try process.files.install(file, closeOnExec: flags.contains(.closeOnExec)))
        }
        if path == Array("/dev/null".utf8) {
            let file = FileDescription(kind: .null, statusFlags: flags.rawValue & 0o6003)
            return Int64(try process.files.install(file, closeOnExec: flags.contains(.closeOnExec)))
        }
        let permissions = UInt32(truncatingIfNeeded: mode) & 0o7777 & ~process.fileCreationMask
        let node = try FileSystem.withTree { (tree) throws(Errno) -> FileSystem.Node in
            let node: FileSystem.Node
            if flags.contains(.create) {
                let (found, created) = try tree.createFile(path, from: start, permissions: permissions,
                                                           exclusive: flags.contains(.exclusive),
                                                           followFinalSymlink: !flags.contains(.noFollow))
                node = found
                if !created && flags.contains(.truncate) && accessMode != 0 && node.kind == .regular {
                    try tree.truncate(node, to: 0)
                }
            } else {
                node = try tree.lookup(path, from: start, followFinalSymlink: !flags.contains(.noFollow))
                if node.kind == .symbolicLink { throw .tooManySymbolicLinks }      // O_NOFOLLOW on a link
                if flags.contains(.truncate) && accessMode != 0 && node.kind == .regular {
                    try tree.truncate(node, to: 0)
                }
            }
            if flags.contains(.directory) && !node.isDirectory { throw .notDirectory }
            if node.isDirectory && accessMode != 0 { throw .isDirectory }
            return node
        }
        let file = FileDescription(kind: .node(node), statusFlags: flags.rawValue & 0o6003)
        return Int64(try process.files.install(file, closeOnExec: flags.contains(.closeOnExec)))
    }

    private static func statPath(directory: Int64?, path address: UInt64, buffer: UInt64, flags: UInt64) throws(Errno) -> Int64 {
        guard flags & ~UInt64(0x100 | 0x1000 | 0x800) == 0 else { throw .invalidArgument }
        let path = try UserMode.readString(at: address)
        if path.isEmpty {
            guard flags & 0x1000 != 0, let directory else { throw .noSuchFile }        // AT_EMPTY_PATH
            try UserMode.writeBytes(try Process.current.files.file(directory).stat().bytes, to: buffer)
            return 0
        }
        let start = try startDirectory(directory)
        let stat = try FileSystem.withTree { (tree) throws(Errno) -> LinuxStat in
            tree.stat(try tree.lookup(path, from: start, followFinalSymlink: flags & 0x100 == 0))
        }
        try UserMode.writeBytes(stat.bytes, to: buffer)
        return 0
    }

    /// statx: the same facts as stat in Linux's `struct statx` (256 bytes).
    private static func statx(_ c: SyscallContext) throws(Errno) -> Int64 {
        let flags = c.a2
        guard flags & ~UInt64(0x100 | 0x1000 | 0x800 | 0x6000) == 0 else { throw .invalidArgument }
        guard c.a3 & 0x8000_0000 == 0 else { throw .invalidArgument }          // STATX__RESERVED
        let path = try UserMode.readString(at: c.a1)
        let stat: LinuxStat
        if path.isEmpty {
            guard flags & 0x1000 != 0 else { throw .noSuchFile }
            stat = try Process.current.files.file(c.descriptor(c.a0)).stat()
        } else {
            let start = try startDirectory(c.descriptor(c.a0))
            stat = try FileSystem.withTree { (tree) throws(Errno) -> LinuxStat in
                tree.stat(try tree.lookup(path, from: start, followFinalSymlink: flags & 0x100 == 0))
            }
        }
        var bytes = [UInt8](repeating: 0, count: 256)
        func put(_ value: UInt64, at offset: Int, width: Int) {
            for index in 0..<width { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
        }
        func putTime(_ time: LinuxTimespec, at offset: Int) {
            put(UInt64(bitPattern: time.seconds), at: offset, width: 8)
            put(UInt64(bitPattern: time.nanoseconds), at: offset + 8, width: 4)
        }
        put(0x7FF, at: 0, width: 4)                                   // STATX_BASIC_STATS
        put(UInt64(bitPattern: stat.blockSize), at: 4, width: 4)
        put(stat.linkCount, at: 16, width: 4)
        put(UInt64(stat.uid), at: 20, width: 4)
        put(UInt64(stat.gid), at: 24, width: 4)
        put(UInt64(stat.mode), at: 28, width: 2)
        put(stat.inode, at: 32, width: 8)
        put(UInt64(bitPattern: stat.size), at: 40, width: 8)
        put(UInt64(bitPattern: stat.blocks), at: 48, width: 8)
        putTime(stat.accessTime, at: 64)
        putTime(stat.changeTime, at: 96)
        putTime(stat.modificationTime, at: 112)
        put(UInt64(stat.rdev.major), at: 128, width: 4)
        put(UInt64(stat.rdev.minor), at: 132, width: 4)
        put(UInt64(stat.device.major), at: 136, width: 4)
        put(UInt64(stat.device.minor), at: 140, width: 4)
        try UserMode.writeBytes(bytes, to: c.a4)
        return 0
    }

    private static func getdents64(_ c: SyscallContext) throws(Errno) -> Int64 {
        let file = try Process.current.files.file(c.descriptor(c.a0))
        guard case .node(let node) = file.kind else { throw .notDirectory }
        let capacity = Int(min(c.a2, UInt64(readChunk)))
        guard UserMode.isUserRange(c.a1, UInt64(capacity)) else { throw .badAddress }
        let position = file.offset
        let batch = try FileSystem.withTree { (tree) throws(Errno) in try tree.readDirectory(node, from: position, capacity: capacity) }
        try UserMode.writeBytes(batch.bytes, to: c.a1)
        if let resume = batch.resumeOffset { file.offset = resume }
        return Int64(batch.bytes.count)
    }

    private static func ioctl(_ c: SyscallContext) throws(Errno) -> Int64 {
        let file = try Process.current.files.file(c.descriptor(c.a0))
        let request = IoctlRequest(argument: c.a1)
        switch request {
        case .setCloseOnExec:
            try Process.current.files.setCloseOnExec(c.descriptor(c.a0), true); return 0
        case .clearCloseOnExec:
            try Process.current.files.setCloseOnExec(c.descriptor(c.a0), false); return 0
        case .setNonBlocking:
            let on = try UserMode.read(Int32.self, at: c.a2) != 0
            file.statusFlags = on ? file.statusFlags | FileDescription.nonBlocking : file.statusFlags & ~FileDescription.nonBlocking
            return 0
        case .bytesReadable:
            let count: Int
            switch file.kind {
            case .console: count = Terminal.pendingCount
            case .pipeReader(let pipe): count = pipe.available
            case .node(let node): count = max(0, node.size - Int(file.offset))
            default: throw .notTerminal
            }
            try UserMode.write(Int32(count), to: c.a2)
            return 0
        default: break
        }
        guard file.isTerminal else { throw .notTerminal }
        switch request {
        case .getTermios:
            try UserMode.writeBytes(Terminal.settings.encoded, to: c.a2)
        case .setTermios, .setTermiosDrain, .setTermiosFlush:
            let bytes = try UserMode.readBytes(at: c.a2, count: Termios.byteSize)
            let settings = try Termios(decoding: bytes, at: 0)
            Scheduler.withLock { Terminal.settings = settings }
        case .getWindowSize:
            try UserMode.writeBytes(Terminal.windowSize.encoded, to: c.a2)
        case .setWindowSize:
            Terminal.windowSize = try WindowSize(decoding: try UserMode.readBytes(at: c.a2, count: WindowSize.byteSize), at: 0)
        case .getForegroundGroup:
            try UserMode.write(Terminal.foregroundGroup, to: c.a2)
        case .setForegroundGroup:
            Terminal.foregroundGroup = try UserMode.read(Int32.self, at: c.a2)
        case .getSession:
            try UserMode.write(Process.current.session, to: c.a2)
        case .setControllingTerminal, .releaseControllingTerminal, .flush, .flowControl, .sendBreak:
            break
        default:
            throw .notTerminal
        }
        return 0
    }

    private static func pipe(_ address: UInt64, flags: UInt64) throws(Errno) -> Int64 {
        guard flags & ~UInt64(0o2000000 | 0o4000) == 0 else { throw .invalidArgument }
        let closeOnExec = flags & 0o2000000 != 0
        let status = UInt32(flags & 0o4000)
        let pipe = Pipe()
        let process = Process.current
        let reader = try process.files.install(FileDescription(kind: .pipeReader(pipe), statusFlags: status),
                                               closeOnExec: closeOnExec)
        let writer: Int
        do {
            writer = try process.files.install(FileDescription(kind: .pipeWriter(pipe), statusFlags: status | 1),
                                               closeOnExec: closeOnExec)
        } catch {
            try? process.files.close(Int64(reader))
            throw error
        }
        do {
            try UserMode.write((Int32(reader), Int32(writer)), to: address)
        } catch {
            try? process.files.close(Int64(reader))
            try? process.files.close(Int64(writer))
            throw error
        }
        return 0
    }

    private static func duplicate(_ old: Int64, to new: Int64, flags: UInt64, isDup2: Bool) throws(Errno) -> Int64 {
        let process = Process.current
        let file = try process.files.file(old)
        guard flags & ~UInt64(0o2000000) == 0 else { throw .invalidArgument }
        if old == new {
            if isDup2 { return new }
            throw .invalidArgument
        }
        guard new >= 0 && new < Int64(FileTable.limit) else { throw .badFileDescriptor }
        try process.files.install(file, at: Int(new), closeOnExec: flags != 0)
        return new
    }

    private static func fcntl(_ c: SyscallContext) throws(Errno) -> Int64 {
        let descriptor = c.descriptor(c.a0)
        let process = Process.current
        let file = try process.files.file(descriptor)
        switch c.a1 {
        case 0, 1030:                                              // F_DUPFD, F_DUPFD_CLOEXEC
            let minimum = c.descriptor(c.a2)
            guard minimum >= 0 && minimum < Int64(FileTable.limit) else { throw .invalidArgument }
            return Int64(try process.files.install(file, closeOnExec: c.a1 == 1030, minimum: Int(minimum)))
        case 1: return try process.files.closeOnExecFlag(descriptor) ? 1 : 0       // F_GETFD
        case 2: try process.files.setCloseOnExec(descriptor, c.a2 & 1 != 0); return 0   // F_SETFD
        case 3: return Int64(file.statusFlags)                      // F_GETFL
        case 4:                                                    // F_SETFL
            let settable: UInt32 = FileDescription.append | FileDescription.nonBlocking
            file.statusFlags = (file.statusFlags & ~settable) | (UInt32(truncatingIfNeeded: c.a2) & settable)
            return 0
        case 5, 6, 7: return 0                                     // record locks: one process owns the tree
        default: throw .invalidArgument
        }
    }

    private static func access(directory: Int64?, path address: UInt64, mode: UInt64) throws(Errno) -> Int64 {
        guard mode & ~7 == 0 else { throw .invalidArgument }
        let path = try UserMode.readString(at: address)
        let start = try startDirectory(directory)
        let node = try FileSystem.withTree { (tree) throws(Errno) in try tree.lookup(path, from: start) }
        if mode & 1 != 0 && node.permissions & 0o111 == 0 && !node.isDirectory { throw .accessDenied }
        return 0
    }

    private static func readlink(directory: Int64?, path address: UInt64, buffer: UInt64, size: UInt64) throws(Errno) -> Int64 {
        let path = try UserMode.readString(at: address)
        guard Int64(bitPattern: size) > 0 else { throw .invalidArgument }
        let start = try startDirectory(directory)
        let target = try FileSystem.withTree { (tree) throws(Errno) in try tree.readLink(path, from: start) }
        let count = min(target.count, Int(min(size, UInt64(Int32.max))))
        try UserMode.writeBytes(Array(target[0..<count]), to: buffer)
        return Int64(count)
    }

    private static func makeDirectory(directory: Int64?, path address: UInt64, mode: UInt64) throws(Errno) -> Int64 {
        let path = try UserMode.readString(at: address)
        let start = try startDirectory(directory)
        let permissions = UInt32(truncatingIfNeeded: mode) & 0o7777 & ~Process.current.fileCreationMask
        _ = try FileSystem.withTree { (tree) throws(Errno) in try tree.makeDirectory(path, from: start, permissions: permissions) }
        return 0
    }

    private static func unlink(directory: Int64?, path address: UInt64, flags: UInt64) throws(Errno) -> Int64 {
        guard flags & ~UInt64(0x200) == 0 else { throw .invalidArgument }
        let path = try UserMode.readString(at: address)
        let start = try startDirectory(directory)
        try FileSystem.withTree { (tree) throws(Errno) in
            if flags & 0x200 != 0 { try tree.removeDirectory(path, from: start) } else { try tree.unlink(path, from: start) }
        }
        return 0
    }

    /// poll: files here are always ready except an empty console or pipe;
    /// waits by sleeping in short steps until one is ready or the timeout.
    private static func poll(_ c: SyscallContext) throws(Errno) -> Int64 {
        guard c.a1 <= UInt64(FileTable.limit) else { throw .invalidArgument }
        let count = Int(c.a1)
        let timeout = Int32(truncatingIfNeeded: c.a2)
        let deadline = timeout < 0 ? UInt64.max : Clock.nanosecondsSinceBoot() + UInt64(timeout) * 1_000_000
        var table = try UserMode.readBytes(at: c.a0, count: count * PollDescriptor.byteSize)
        while true {
            var ready = 0
            for index in 0..<count {
                var entry = try PollDescriptor(decoding: table, at: index * PollDescriptor.byteSize)
                var events: UInt16 = 0
                if entry.fd >= 0 {
                    if let file = try? Process.current.files.file(Int64(entry.fd)) {
                        let wantsIn = entry.events.rawValue & 1 != 0, wantsOut = entry.events.rawValue & 4 != 0
                        switch file.kind {
                        case .console: if wantsIn && Terminal.pendingCount > 0 { events |= 1 }
                        case .pipeReader(let pipe):
                            if wantsIn && pipe.available > 0 { events |= 1 }
                            if pipe.writers == 0 { events |= 0x10 }            // POLLHUP
                        default: if wantsIn { events |= 1 }
                        }
                        if wantsOut { events |= 4 }
                    } else {
                        events = 0x20                                        // POLLNVAL
                    }
                }
                entry.returnedEvents = PollEvents(rawValue: events)
                entry.encode(into: &table, at: index * PollDescriptor.byteSize)
                if events != 0 { ready += 1 }
            }
            if ready > 0 || Clock.nanosecondsSinceBoot() >= deadline {
                try UserMode.writeBytes(table, to: c.a0)
                return Int64(ready)
            }
            if UserThread.current.hasDeliverableSignal { throw .interrupted }
            Scheduler.sleep(nanoseconds: 1_000_000)
        }
    }
}
