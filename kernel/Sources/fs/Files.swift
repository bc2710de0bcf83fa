import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// The file tree every process sees: the initial ramdisk unpacked into an
/// in-memory tree (ExoFS.RamTree), until a VFS mounts it as one backend.
/// Access is serialised by one lock (the tree is not thread-safe).
enum FileSystem {
    typealias Node = RamNode
    /// A file's contents are one heap allocation: at most the heap's
    /// largest block (the buddy allocator's order 10, 4 MiB), less a page
    /// for the array's header; past it writes and truncates get EFBIG.
    nonisolated(unsafe) private(set) static var tree = RamTree(storageLimit: 64 << 20,
                                                               fileSizeLimit: (4 << 20) - 4096)
    static let lock = KernelSpinLock()

    static var root: Node { tree.root }

    /// Unpacks a newc cpio archive (the initrd boot module) into the tree.
    static func unpack(archive: UnsafeRawBufferPointer) throws(Errno) {
        let bytes = UnsafeBufferPointer(start: archive.baseAddress!.assumingMemoryBound(to: UInt8.self), count: archive.count)
        try lock.withLock { () throws(Errno) in
            do throws(CpioError) { _ = try tree.unpack(bytes) } catch {
                Log.error("initrd: \(error.description)")
                throw .execFormat
            }
        }
    }

    /// Runs `body` on the tree with its lock held.
    static func withTree<R>(_ body: (RamTree) throws(Errno) -> R) throws(Errno) -> R {
        try lock.withLock { () throws(Errno) -> R in try body(tree) }
    }
}

/// A pipe: a bounded byte queue with a reader side and a writer side.
/// Readers sleep while it is empty and writers remain; writers sleep while
/// it is full and readers remain; a write with no reader is EPIPE (and
/// SIGPIPE). Guarded by the scheduler lock (its wait queues need it).
final class Pipe {
    static let capacity = 65536
    private var buffer: [UInt8] = []
    var readers = 1
    var writers = 1
    private var readable = WaitQueue()
    private var writable = WaitQueue()

    func read(count: Int, nonBlocking: Bool) throws(Errno) -> [UInt8] {
        try Scheduler.withLockThrowing { () throws(Errno) -> [UInt8] in
            while buffer.isEmpty {
                if writers == 0 { return [] }
                if nonBlocking { throw .tryAgain }
                if UserThread.current.hasDeliverableSignal { throw .interrupted }
                readable.wait()
            }
            let taken = min(count, buffer.count)
            let result = Array(buffer[0..<taken])
            buffer.removeFirst(taken)
            writable.wakeAll()
            return result
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, nonBlocking: Bool) throws(Errno) -> Int {
        try Scheduler.withLockThrowing { () throws(Errno) -> Int in
            var written = 0
            while written < bytes.count {
                if readers == 0 {
                    Process.current.postLocked(.brokenPipe, to: UserThread.current)
                    if written > 0 { return written }
                    throw .brokenPipe
                }
                let room = Pipe.capacity - buffer.count
                if room == 0 {
                    if nonBlocking { if written > 0 { return written }; throw .tryAgain }
                    if UserThread.current.hasDeliverableSignal { if written > 0 { return written }; throw .interrupted }
                    writable.wait()
                    continue
                }
                let chunk = min(room, bytes.count - written)
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[written..<(written + chunk)]))
                written += chunk
                readable.wakeAll()
            }
            return written
        }
    }

    var available: Int { Scheduler.withLock { buffer.count } }

    func closeReader() { Scheduler.withLock { readers -= 1; writable.wakeAll() } }
    func closeWriter() { Scheduler.withLock { writers -= 1; readable.wakeAll() } }
}

/// An open file (Linux's `struct file`): what a descriptor refers to, with
/// its position and status flags, shared by dup and fork.
final class FileDescription {
    enum Kind {
        case console
        case node(FileSystem.Node)
        case pipeReader(Pipe)
        case pipeWriter(Pipe)
        case null
    }

    let kind: Kind
    var offset: Int64 = 0
    /// O_APPEND, O_NONBLOCK and the access mode, as open(2) gave them.
    var statusFlags: UInt32
    /// Descriptors (in all processes) referring to it.
    var references = 0

    static let readOnly: UInt32 = 0, writeOnly: UInt32 = 1, readWrite: UInt32 = 2
    static let append: UInt32 = 0o2000, nonBlocking: UInt32 = 0o4000

    init(kind: Kind, statusFlags: UInt32) {
        self.kind = kind
        self.statusFlags = statusFlags
    }

    convenience init(console: ()) { self.init(kind: .console, statusFlags: FileDescription.readWrite) }

    var canRead: Bool { statusFlags & 3 != FileDescription.writeOnly }
    var canWrite: Bool { statusFlags & 3 != FileDescription.readOnly }
    var isNonBlocking: Bool { statusFlags & FileDescription.nonBlocking != 0 }

    var isTerminal: Bool {
        if case .console = kind { return true }
        return false
    }

    /// The last descriptor went away.
    func released() {
        switch kind {
        case .pipeReader(let pipe): pipe.closeReader()
        case .pipeWriter(let pipe): pipe.closeWriter()
        default: break
        }
    }

    func read(count: Int) throws(Errno) -> [UInt8] {
        guard canRead else { throw .badFileDescriptor }
        switch kind {
        case .console: return try Terminal.read(count: count, nonBlocking: isNonBlocking)
        case .null: return []
        case .pipeReader(let pipe): return try pipe.read(count: count, nonBlocking: isNonBlocking)
        case .pipeWriter: throw .badFileDescriptor
        case .node(let node):
            if node.isDirectory { throw .isDirectory }
            let position = offset
            let bytes = try FileSystem.withTree { (tree) throws(Errno) in Array(try tree.read(node, at: position, count: count)) }
            offset += Int64(bytes.count)
            return bytes
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        guard canWrite else { throw .badFileDescriptor }
        switch kind {
        case .console:
            Terminal.write(bytes)
            return bytes.count
        case .null: return bytes.count
        case .pipeWriter(let pipe): return try pipe.write(bytes, nonBlocking: isNonBlocking)
        case .pipeReader: throw .badFileDescriptor
        case .node(let node):
            if node.isDirectory { throw .isDirectory }
            let appendMode = statusFlags & FileDescription.append != 0
            let start = offset
            let written = try FileSystem.withTree { (tree) throws(Errno) -> Int in
                let position = appendMode ? Int64(node.size) : start
                let count = try tree.write(node, at: position, bytes)
                self.offset = position + Int64(count)
                return count
            }
            return written
        }
    }

    func stat() throws(Errno) -> LinuxStat {
        switch kind {
        case .node(let node): return try FileSystem.withTree { (tree) throws(Errno) in tree.stat(node) }
        case .console, .null:
            return LinuxStat(device: LinuxDeviceNumber(major: 0, minor: 5), inode: 3, linkCount: 1,
                             mode: 0o020620, uid: 0, gid: 0,
                             rdev: isTerminal ? LinuxDeviceNumber(major: 5, minor: 1) : LinuxDeviceNumber(major: 1, minor: 3),
                             size: 0, blockSize: 1024, blocks: 0,
                             accessTime: .zero, modificationTime: .zero, changeTime: .zero)
        case .pipeReader, .pipeWriter:
            return LinuxStat(device: LinuxDeviceNumber(major: 0, minor: 12), inode: 4, linkCount: 1,
                             mode: 0o010600, uid: 0, gid: 0, rdev: .none, size: 0, blockSize: 4096, blocks: 0,
                             accessTime: .zero, modificationTime: .zero, changeTime: .zero)
        }
    }

    func seek(offset delta: Int64, whence: UInt64) throws(Errno) -> Int64 {
        guard case .node(let node) = kind else { throw .illegalSeek }
        let base: Int64
        switch whence {
        case 0: base = 0
        case 1: base = offset
        case 2: base = Int64(node.size)
        default: throw .invalidArgument
        }
        let (target, overflow) = base.addingReportingOverflow(delta)
        guard !overflow, target >= 0 else { throw .invalidArgument }
        offset = target
        return target
    }
}

/// A process's descriptor table: small integers to open files, each with
/// its close-on-exec flag. The lowest free number is always the one used.
///
/// Shared by the threads of a process, which may call into it from several
/// CPUs at once: every operation holds `lock`. Lock order: table, then
/// scheduler (reference counts). `released()` (pipe ends) runs after the
/// table lock is dropped.
final class FileTable {
    static let limit = 1024
    private var slots: [(file: FileDescription, closeOnExec: Bool)?] = []
    private let lock = KernelSpinLock()

    func file(_ descriptor: Int64) throws(Errno) -> FileDescription {
        try lock.withLock { () throws(Errno) in try fileLocked(descriptor) }
    }

    private func fileLocked(_ descriptor: Int64) throws(Errno) -> FileDescription {
        guard descriptor >= 0, descriptor < Int64(slots.count), let slot = slots[Int(descriptor)] else {
            throw .badFileDescriptor
        }
        return slot.file
    }

    func closeOnExecFlag(_ descriptor: Int64) throws(Errno) -> Bool {
        try lock.withLock { () throws(Errno) in
            _ = try fileLocked(descriptor)
            return slots[Int(descriptor)]!.closeOnExec
        }
    }

    func setCloseOnExec(_ descriptor: Int64, _ value: Bool) throws(Errno) {
        try lock.withLock { () throws(Errno) in
            let file = try fileLocked(descriptor)
            slots[Int(descriptor)] = (file, value)
        }
    }

    /// Installs `file` at the lowest free descriptor at or above `minimum`.
    func install(_ file: FileDescription, closeOnExec: Bool, minimum: Int = 0) throws(Errno) -> Int {
        try lock.withLock { () throws(Errno) -> Int in
            var index = minimum
            while index < slots.count && slots[index] != nil { index += 1 }
            guard index < FileTable.limit else { throw .tooManyOpenFiles }
            while slots.count <= index { slots.append(nil) }
            slots[index] = (file, closeOnExec)
            Scheduler.withLock { file.references += 1 }
            return index
        }
    }

    /// dup2/dup3: `file` at exactly `descriptor`, closing what was there.
    func install(_ file: FileDescription, at descriptor: Int, closeOnExec: Bool) throws(Errno) {
        guard descriptor >= 0 && descriptor < FileTable.limit else { throw .badFileDescriptor }
        let replaced = lock.withLock { () -> FileDescription? in
            while slots.count <= descriptor { slots.append(nil) }
            Scheduler.withLock { file.references += 1 }
            let old = slots[descriptor]?.file
            slots[descriptor] = (file, closeOnExec)
            return old
        }
        if let replaced { drop(replaced) }
    }

    func close(_ descriptor: Int64) throws(Errno) {
        let file = try lock.withLock { () throws(Errno) -> FileDescription in
            let file = try fileLocked(descriptor)
            slots[Int(descriptor)] = nil
            return file
        }
        drop(file)
    }

    /// One descriptor fewer refers to `file`; the last one releases it.
    private func drop(_ file: FileDescription) {
        let last = Scheduler.withLock { () -> Bool in
            file.references -= 1
            return file.references == 0
        }
        if last { file.released() }
    }

    func closeAll() { closeAll { _ in true } }

    func closeOnExec() { closeAll { $0 } }

    /// Closes every descriptor whose close-on-exec flag passes `which`.
    private func closeAll(_ which: (Bool) -> Bool) {
        let closed = lock.withLock { () -> [FileDescription] in
            var closed: [FileDescription] = []
            for index in 0..<slots.count {
                if let slot = slots[index], which(slot.closeOnExec) {
                    closed.append(slot.file)
                    slots[index] = nil
                }
            }
            return closed
        }
        for file in closed { drop(file) }
    }

    /// fork: the same open files under the same numbers.
    func duplicate() -> FileTable {
        let copy = FileTable()
        lock.withLock {
            copy.slots = slots
            Scheduler.withLock {
                for slot in slots { slot?.file.references += 1 }
            }
        }
        return copy
    }
}
