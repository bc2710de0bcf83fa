import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// The address space from user code: brk, mmap, munmap, mprotect.
///
/// Anonymous mappings are filled on first touch. File mappings are private
/// copies made at mmap time (the ramdisk's files are in memory already);
/// MAP_SHARED file mappings behave like private ones for reading, and a
/// writable shared file mapping is refused (ENODEV, what Linux answers for
/// files that cannot be shared-mapped) until the VFS brings a page cache.
extension Syscalls {
    static func registerMemoryCalls() {
        register(.brk) { c throws(Errno) in
            guard let space = Process.current.space else { throw .outOfMemory }
            return Int64(bitPattern: space.lock.withLock { space.setBreak(c.a0 == 0 ? 0 : c.a0) })
        }
        register(.mmap, mmap)
        register(.munmap) { c throws(Errno) in
            let range: Range<UInt64>
            do throws(Errno) { range = try pageRange(c.a0, c.a1) } catch { throw .invalidArgument }   // Linux: EINVAL for both
            let space = Process.current.space!
            space.lock.withLock { space.removeRange(range) }
            return 0
        }
        register(.mprotect) { c throws(Errno) in
            let protection = MemoryProtection(rawValue: UInt32(truncatingIfNeeded: c.a2))
            guard protection.isSubset(of: MemoryProtection.knownForMprotect), c.a2 >> 32 == 0 else { throw .invalidArgument }
            let range = try pageRange(c.a0, c.a1)
            let space = Process.current.space!
            try space.lock.withLock { () throws(Errno) in try space.protect(range, to: userProtection(protection)) }
            return 0
        }
        register(.mincore) { c throws(Errno) in
            guard c.a0 % 4096 == 0 else { throw .invalidArgument }
            guard let size = Alignment.alignUp(c.a1, to: 4096) else { throw .outOfMemory }
            guard UserMode.isUserRange(c.a0, size) else { throw .outOfMemory }
            let space = Process.current.space!
            // The whole range must be mapped (ENOMEM) before anything is
            // written; the vector goes out 4 KiB at a time.
            let covered = space.lock.withLock { () -> Bool in
                var page = c.a0
                while page < c.a0 + size {
                    guard let index = space.regionIndex(containing: page) else { return false }
                    page = space.regions[index].end
                }
                return true
            }
            guard covered else { throw .outOfMemory }
            var page = c.a0, out = c.a2
            while page < c.a0 + size {
                var vector: [UInt8] = []
                while page < c.a0 + size && vector.count < 4096 {
                    vector.append(space.lock.withLock { space.kernelAddress(of: page) != nil } ? 1 : 0)
                    page += 4096
                }
                try UserMode.writeBytes(vector, to: out)
                out += UInt64(vector.count)
            }
            return 0
        }
        register(.mremap) { c throws(Errno) in
            let flags = c.a3
            guard flags & ~UInt64(1) == 0 else { throw flags & 2 != 0 ? .notImplemented : .invalidArgument }  // MREMAP_MAYMOVE only
            guard c.a0 % 4096 == 0, c.a2 > 0, let oldSize = Alignment.alignUp(c.a1, to: 4096),
                  let newSize = Alignment.alignUp(c.a2, to: 4096), oldSize > 0 else { throw .invalidArgument }
            guard newSize < UserMode.userEnd else { throw .outOfMemory }
            let space = Process.current.space!
            return Int64(bitPattern: try space.lock.withLock { () throws(Errno) in
                try space.resize(start: c.a0, oldSize: oldSize, newSize: newSize, mayMove: flags & 1 != 0)
            })
        }
        register(.madvise) { c throws(Errno) in
            guard c.a0 % 4096 == 0 else { throw .invalidArgument }
            return 0                                               // advice only
        }
    }

    /// A page-aligned, non-empty range: EINVAL when misaligned or empty,
    /// ENOMEM when it leaves user space (nothing can be mapped there).
    private static func pageRange(_ address: UInt64, _ length: UInt64) throws(Errno) -> Range<UInt64> {
        guard address % 4096 == 0, length > 0, let size = Alignment.alignUp(length, to: 4096) else { throw .invalidArgument }
        guard UserMode.isUserRange(address, size) else { throw .outOfMemory }
        return address..<(address + size)
    }

    private static func userProtection(_ protection: MemoryProtection) -> UserAddressSpace.Protection {
        var result: UserAddressSpace.Protection = []
        if protection.contains(.read) { result.insert(.read) }
        if protection.contains(.write) { result.insert([.read, .write]) }   // x86 cannot write-only
        if protection.contains(.execute) { result.insert([.read, .execute]) }
        return result
    }

    private static func mmap(_ c: SyscallContext) throws(Errno) -> Int64 {
        let hint = c.a0, length = c.a1
        let protection = MemoryProtection(rawValue: UInt32(truncatingIfNeeded: c.a2))
        let flags = MapFlags(rawValue: UInt32(truncatingIfNeeded: c.a3))
        let offset = c.a5
        guard c.a2 >> 32 == 0, protection.isSubset(of: MemoryProtection.known), c.a3 >> 32 == 0 else { throw .invalidArgument }
        guard let sharing = flags.sharing, sharing == .shared || sharing == .private else { throw .invalidArgument }
        guard length > 0 else { throw .invalidArgument }
        guard let size = Alignment.alignUp(length, to: 4096), size < UserMode.userEnd else { throw .outOfMemory }
        guard offset % 4096 == 0 else { throw .invalidArgument }
        let process = Process.current
        guard let space = process.space else { throw .outOfMemory }

        // The file's bytes first (errors before any change to the space).
        var contents: [UInt8]? = nil
        if !flags.contains(.anonymous) {
            let file = try process.files.file(c.descriptor(c.a4))
            guard case .node(let node) = file.kind, node.kind == .regular else { throw .noDevice }
            guard file.canRead else { throw .accessDenied }
            if sharing == .shared && protection.contains(.write) {
                guard file.canWrite else { throw .accessDenied }
                throw .noDevice
            }
            let start = Int64(bitPattern: offset)
            contents = try FileSystem.withTree { (tree) throws(Errno) -> [UInt8] in
                Array(try tree.read(node, at: start, count: Int(min(size, UInt64(Int32.max)))))
            }
        }

        return try space.lock.withLock { () throws(Errno) -> Int64 in
            let start: UInt64
            if flags.contains(.fixed) || flags.contains(.fixedNoReplace) {
                guard hint % 4096 == 0 else { throw .invalidArgument }
                guard UserMode.isUserRange(hint, size) else { throw .outOfMemory }
                if flags.contains(.fixedNoReplace) && !space.isFree(hint, hint + size) { throw .exists }
                start = hint
            } else if hint != 0, hint % 4096 == 0, UserMode.isUserRange(hint, size), space.isFree(hint, hint + size) {
                start = hint
            } else {
                guard let found = space.findFreeRange(length: size) else { throw .outOfMemory }
                start = found
            }
            let userProtection = userProtection(protection)
            space.addRegion(UserAddressSpace.Region(start: start, end: start + size, protection: userProtection,
                                                    isShared: sharing == .shared && flags.contains(.anonymous)))
            if let contents, !contents.isEmpty {
                // Copy the file in, page by page (the tail of the last page
                // stays zero, as Linux shows beyond the end of a file).
                var copied = 0
                while copied < contents.count {
                    let page = start + UInt64(copied)
                    let target = try space.populate(page: page, protection: userProtection)
                    let chunk = min(4096, contents.count - copied)
                    contents.withUnsafeBytes { bytes in
                        target.copyMemory(from: bytes.baseAddress! + copied, byteCount: chunk)
                    }
                    copied += chunk
                }
            } else if flags.contains(.populate) {
                var page = start
                while page < start + size {
                    try space.populate(page: page, protection: userProtection)
                    page += 4096
                }
            }
            return Int64(bitPattern: start)
        }
    }
}
