// Multiboot1 information structure (Multiboot Specification 0.6.96, 3.3).
// Offsets from the start of the structure; each field is valid only when
// its flag bit is set:
//
//   0  flags                      bit
//   4  mem_lower, 8 mem_upper      0   KiB below 640K / above 1 MiB
//  16  cmdline                     2   physical pointer to a C string
//  20  mods_count, 24 mods_addr    3   16-byte entries: start, end, string, 0
//  44  mmap_length, 48 mmap_addr   6   entries: size, base u64, length u64, type
//  64  boot_loader_name            9   physical pointer to a C string
//  88  framebuffer_addr u64       12   then pitch, width, height u32, bpp u8, type u8

/// Field offsets and flag bits of the multiboot1 information structure.
enum Multiboot1Layout {
    static let flags: UInt64 = 0
    static let memLower: UInt64 = 4
    static let memUpper: UInt64 = 8
    static let commandLine: UInt64 = 16
    static let modulesCount: UInt64 = 20
    static let modulesAddress: UInt64 = 24
    static let memoryMapLength: UInt64 = 44
    static let memoryMapAddress: UInt64 = 48
    static let bootloaderName: UInt64 = 64
    static let framebufferAddress: UInt64 = 88
    static let framebufferPitch: UInt64 = 96
    static let framebufferWidth: UInt64 = 100
    static let framebufferHeight: UInt64 = 104
    static let framebufferBitsPerPixel: UInt64 = 108
    static let framebufferType: UInt64 = 109

    static let hasBasicMemory: UInt32 = 1 << 0
    static let hasCommandLine: UInt32 = 1 << 2
    static let hasModules: UInt32 = 1 << 3
    static let hasMemoryMap: UInt32 = 1 << 6
    static let hasBootloaderName: UInt32 = 1 << 9
    static let hasFramebuffer: UInt32 = 1 << 12

    /// Size of one module entry.
    static let moduleEntrySize: UInt64 = 16
    /// Bytes of a memory-map entry after its `size` field: base, length, type.
    static let memoryMapEntryPayload: UInt32 = 20
}

extension BootInfoParser {
    /// Parses the multiboot1 information structure at physical `infoAddress`.
    ///
    /// The memory map comes from the `mmap` fields (flag 6); without them it
    /// is synthesized from `mem_lower`/`mem_upper` (flag 0). A null string
    /// pointer reads as "" (address 0 holds the real-mode interrupt table,
    /// never a string).
    ///
    /// Throws `.unreadable`, `.addressOverflow`, `.unterminatedString`,
    /// `.tooManyModules`, `.badModuleRange`, `.badEntrySize`,
    /// `.truncatedMemoryMap`, `.tooManyEntries` or `.noMemoryMap`.
    public static func parseMultiboot1<M: PhysicalMemoryReader>(
        infoAddress: UInt64, memory: M
    ) throws(BootInfoError) -> BootInfo {
        typealias Layout = Multiboot1Layout
        func field32(_ offset: UInt64) throws(BootInfoError) -> UInt32 {
            try memory.readUInt32(at: try memory.address(infoAddress, plus: offset))
        }
        func string(at pointer: UInt32) throws(BootInfoError) -> String {
            if pointer == 0 { return "" }
            return try memory.readCString(at: UInt64(pointer), maxLength: maximumStringLength)
        }

        let flags = try field32(Layout.flags)

        var commandLine = ""
        if flags & Layout.hasCommandLine != 0 {
            commandLine = try string(at: try field32(Layout.commandLine))
        }

        var bootloaderName: String? = nil
        if flags & Layout.hasBootloaderName != 0 {
            bootloaderName = try string(at: try field32(Layout.bootloaderName))
        }

        var modules: [BootModule] = []
        if flags & Layout.hasModules != 0 {
            modules = try readMultiboot1Modules(
                count: try field32(Layout.modulesCount),
                address: UInt64(try field32(Layout.modulesAddress)), memory: memory)
        }

        var rawMap: [MemoryRegion] = []
        if flags & Layout.hasMemoryMap != 0 {
            rawMap = try readMultiboot1MemoryMap(
                address: UInt64(try field32(Layout.memoryMapAddress)),
                length: try field32(Layout.memoryMapLength), memory: memory)
        }
        if rawMap.isEmpty && flags & Layout.hasBasicMemory != 0 {
            rawMap = basicMemoryMap(lowerKiB: try field32(Layout.memLower),
                                    upperKiB: try field32(Layout.memUpper))
        }
        if rawMap.isEmpty { throw .noMemoryMap }

        var framebuffer: Framebuffer? = nil
        if flags & Layout.hasFramebuffer != 0 {
            let address = try memory.readUInt64(
                at: try memory.address(infoAddress, plus: Layout.framebufferAddress))
            framebuffer = Framebuffer(
                address: address,
                pitch: try field32(Layout.framebufferPitch),
                width: try field32(Layout.framebufferWidth),
                height: try field32(Layout.framebufferHeight),
                bitsPerPixel: try memory.readByte(
                    at: try memory.address(infoAddress, plus: Layout.framebufferBitsPerPixel)),
                type: try memory.readByte(
                    at: try memory.address(infoAddress, plus: Layout.framebufferType)))
        }

        return makeBootInfo(
            bootProtocol: .multiboot1, commandLine: commandLine, bootloaderName: bootloaderName,
            rawMap: rawMap, modules: modules, framebuffer: framebuffer, acpiRSDP: nil)
    }

    /// The `count` 16-byte module entries at `address`.
    static func readMultiboot1Modules<M: PhysicalMemoryReader>(
        count: UInt32, address: UInt64, memory: M
    ) throws(BootInfoError) -> [BootModule] {
        // Checked before the loop so a garbage count cannot make us read
        // (and allocate for) billions of entries.
        guard count <= UInt32(maximumModules) else { throw .tooManyModules(count) }
        var modules: [BootModule] = []
        for index in 0..<UInt64(count) {
            let entry = try memory.address(address, plus: index * Multiboot1Layout.moduleEntrySize)
            let start = UInt64(try memory.readUInt32(at: entry))
            let end = UInt64(try memory.readUInt32(at: try memory.address(entry, plus: 4)))
            let namePointer = try memory.readUInt32(at: try memory.address(entry, plus: 8))
            guard end >= start else { throw .badModuleRange(start: start, end: end) }
            let name = namePointer == 0
                ? "" : try memory.readCString(at: UInt64(namePointer), maxLength: maximumStringLength)
            modules.append(BootModule(start: start, end: end, name: name))
        }
        return modules
    }

    /// The raw memory-map entries in the `length` bytes at `address`.
    ///
    /// Each entry starts with a `size` field that does not count itself, so
    /// the next entry is at `entry + size + 4`. A `size` below 20 could not
    /// hold base, length and type, and 0 would never advance: both are
    /// rejected. Every entry must lie wholly inside `length`.
    static func readMultiboot1MemoryMap<M: PhysicalMemoryReader>(
        address: UInt64, length: UInt32, memory: M
    ) throws(BootInfoError) -> [MemoryRegion] {
        let end = try memory.address(address, plus: UInt64(length))
        var entries: [MemoryRegion] = []
        var cursor = address
        while cursor < end {
            let size = try memory.readUInt32(at: cursor)
            guard size >= Multiboot1Layout.memoryMapEntryPayload else { throw .badEntrySize(size) }
            let next = try memory.address(cursor, plus: UInt64(size) + 4)
            guard next <= end else { throw .truncatedMemoryMap(address: cursor) }
            guard entries.count < maximumMemoryMapEntries else { throw .tooManyEntries }
            let base = try memory.readUInt64(at: try memory.address(cursor, plus: 4))
            let regionLength = try memory.readUInt64(at: try memory.address(cursor, plus: 12))
            let type = try memory.readUInt32(at: try memory.address(cursor, plus: 20))
            entries.append(MemoryRegion(base: base, length: regionLength,
                                        kind: MemoryKind(multibootType: type)))
            cursor = next
        }
        return entries
    }
}
