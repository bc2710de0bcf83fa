import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// A program loaded into a fresh address space, ready to enter.
struct LoadedImage {
    let space: UserAddressSpace
    let entry: UInt64
    let stackPointer: UInt64
}

/// execve's loader: reads a static ELF executable (ET_EXEC or static PIE)
/// from the file tree, copies its segments into a new address space, and
/// builds the SysV initial stack (argc, argv, envp, auxv).
///
/// All checking is ExoABI's (`ELFImage`, `ELFLoadPlan`, `InitialStack`):
/// a malformed file is ENOEXEC before anything is allocated, a dynamically
/// linked one too (no interpreter here), and argument lists beyond 128 KiB
/// are E2BIG. Scripts starting with "#!" run their interpreter.
enum ProgramLoader {
    /// The main stack's top and initial size (it grows down on faults).
    static let stackTop: UInt64 = 0x0000_3FFF_FFFF_F000
    static let initialStackSize: UInt64 = 128 * 1024
    /// How deep "#!" interpreters may nest (Linux allows 4).
    static let interpreterDepth = 4

    static func load(path: [UInt8], arguments: [[UInt8]], environment: [[UInt8]],
                     workingDirectory: FileSystem.Node, depth: Int = 0) throws(Errno) -> LoadedImage {
        let contents = try FileSystem.withTree { (tree) throws(Errno) -> [UInt8] in
            let node = try tree.lookup(path, from: workingDirectory)
            if node.isDirectory { throw .accessDenied }
            guard node.kind == .regular else { throw .accessDenied }
            guard node.permissions & 0o111 != 0 else { throw .accessDenied }
            return Array(try tree.read(node, at: 0, count: node.size))
        }
        if contents.count >= 2 && contents[0] == 0x23 && contents[1] == 0x21 {   // "#!"
            guard depth < interpreterDepth else { throw .tooManySymbolicLinks }
            let (interpreter, argument) = try parseInterpreterLine(contents)
            var newArguments = [interpreter]
            if let argument { newArguments.append(argument) }
            newArguments.append(path)
            newArguments.append(contentsOf: arguments.dropFirst())
            return try load(path: interpreter, arguments: newArguments, environment: environment,
                            workingDirectory: workingDirectory, depth: depth + 1)
        }
        let plan: ELFLoadPlan
        do { plan = try ELFImage(bytes: contents).loadPlan() } catch {
            Log.info("exec: \(String(decoding: path, as: UTF8.self)): \(error.description)")
            throw error.errno
        }
        let space = try UserAddressSpace()
        for mapping in plan.mappings {
            var protection: UserAddressSpace.Protection = []
            if mapping.permissions.contains(.read) { protection.insert(.read) }
            if mapping.permissions.contains(.write) { protection.insert(.write) }
            if mapping.permissions.contains(.execute) { protection.insert([.execute, .read]) }
            space.addRegion(UserAddressSpace.Region(start: mapping.start, end: mapping.end, protection: protection))
            var page = mapping.start
            while page < mapping.end {
                try space.populate(page: page, protection: protection)
                page += UserAddressSpace.pageSize
            }
        }
        // Copy each segment's file bytes; the rest of its pages stays zero
        // (bss), including the tail of a page shared with the next segment.
        for segment in plan.segments where segment.fileByteCount > 0 {
            var copied: UInt64 = 0
            while copied < segment.fileByteCount {
                let address = segment.virtualAddress + copied
                let inPage = UserAddressSpace.pageSize - address % UserAddressSpace.pageSize
                let chunk = min(inPage, segment.fileByteCount - copied)
                guard let target = space.kernelAddress(of: address) else { throw .execFormat }
                let source = Int(segment.fileOffset + copied)
                contents.withUnsafeBytes { bytes in
                    target.copyMemory(from: bytes.baseAddress! + source, byteCount: Int(chunk))
                }
                copied += chunk
            }
        }
        space.setBreakStart(plan.initialBreak)

        // The stack: a region that grows down, its top pages present.
        let stackBottom = stackTop - initialStackSize
        space.addRegion(UserAddressSpace.Region(start: stackBottom, end: stackTop, protection: [.read, .write],
                                                isStack: true))
        var random = [UInt8](repeating: 0, count: 16)
        Entropy.fill(&random)
        let auxiliary = AuxVector.standard(plan: plan, hardwareCapabilities: UInt64(CPU.cpuid(1).edx))
        let stack = try InitialStack(stackTop: stackTop, arguments: arguments, environment: environment,
                                     auxiliaryVector: auxiliary, randomBytes: random, executableName: path)
        let start = stackTop - UInt64(stack.bytes.count)
        var offset: UInt64 = 0
        while offset < UInt64(stack.bytes.count) {
            let address = start + offset
            let page = Alignment.alignDown(address, to: UserAddressSpace.pageSize)
            let target: UnsafeMutableRawPointer
            if let present = space.kernelAddress(of: address) {
                target = present
            } else {
                target = try space.populate(page: page, protection: [.read, .write]) + Int(address - page)
            }
            let chunk = min(page + UserAddressSpace.pageSize - address, UInt64(stack.bytes.count) - offset)
            stack.bytes.withUnsafeBytes { bytes in
                target.copyMemory(from: bytes.baseAddress! + Int(offset), byteCount: Int(chunk))
            }
            offset += chunk
        }
        return LoadedImage(space: space, entry: plan.entry, stackPointer: stack.stackPointer)
    }

    /// "#!interpreter [one argument]" on the first line (at most 255 bytes).
    private static func parseInterpreterLine(_ contents: [UInt8]) throws(Errno) -> ([UInt8], [UInt8]?) {
        var end = 2
        while end < contents.count && contents[end] != 0x0A && end < 256 { end += 1 }
        let line = contents[2..<end]
        let words = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 }).map { Array($0) }
        guard let interpreter = words.first else { throw .execFormat }
        if words.count > 1 {
            let rest = line.drop { $0 == 0x20 || $0 == 0x09 }.dropFirst(interpreter.count)
                .drop { $0 == 0x20 || $0 == 0x09 }
            var argument = Array(rest)
            while let last = argument.last, last == 0x20 || last == 0x09 || last == 0x0D { argument.removeLast() }
            return (interpreter, argument)
        }
        return (interpreter, nil)
    }
}

/// Random bytes for AT_RANDOM and getrandom: RDRAND when the CPU has it,
/// else SplitMix64 seeded from the TSC (not cryptographic; the security
/// work brings a real generator).
enum Entropy {
    nonisolated(unsafe) private static var generator = SplitMix64(seed: 0)
    nonisolated(unsafe) private static var seeded = false

    static func fill(_ bytes: inout [UInt8]) {
        Scheduler.withLock {
            if !seeded {
                generator = SplitMix64(seed: CPU.timestamp() ^ 0x9E37_79B9_7F4A_7C15)
                seeded = true
            }
            var index = 0
            while index < bytes.count {
                var word = generator.next()
                for _ in 0..<8 where index < bytes.count {
                    bytes[index] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    index += 1
                }
            }
        }
    }
}
