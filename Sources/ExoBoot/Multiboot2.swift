// Multiboot2 information structure (Multiboot2 Specification 2.0, 3.6):
//
//   0  total_size u32   bytes, including this header and the end tag
//   4  reserved u32
//   8  tags, each starting 8-byte aligned:
//        type u32, size u32 (header included, padding excluded), payload
//
// Tags this parser reads, with the payload layout after the 8-byte header:
//   0 end (size 8)            4 basic meminfo: mem_lower, mem_upper (KiB)
//   1 cmdline: C string       6 mmap: entry_size, entry_version, entries of
//   2 boot loader name          base u64, length u64, type u32, reserved u32
//   3 module: start, end,     8 framebuffer: addr u64, pitch, width, height,
//     C string                  bpp u8, type u8, reserved u16, colour info
//  14 ACPI 1.0 RSDP copy     15 ACPI 2.0+ RSDP copy
// Every other tag is skipped.

/// Tag types and sizes of the multiboot2 information structure.
enum Multiboot2Layout {
    static let headerSize: UInt64 = 8
    static let tagHeaderSize: UInt32 = 8
    static let tagAlignment: UInt64 = 8

    static let endTag: UInt32 = 0
    static let commandLineTag: UInt32 = 1
    static let bootloaderNameTag: UInt32 = 2
    static let moduleTag: UInt32 = 3
    static let basicMemoryTag: UInt32 = 4
    static let memoryMapTag: UInt32 = 6
    static let framebufferTag: UInt32 = 8
    static let oldRSDPTag: UInt32 = 14
    static let newRSDPTag: UInt32 = 15

    /// Smallest valid size of each tag that has fixed fields.
    static let moduleTagMinimum: UInt32 = 16
    static let basicMemoryTagMinimum: UInt32 = 16
    static let memoryMapTagMinimum: UInt32 = 16
    /// Through the framebuffer type byte at offset 29.
    static let framebufferTagMinimum: UInt32 = 30
    /// An ACPI 1.0 RSDP is 20 bytes, an ACPI 2.0 one 36.
    static let oldRSDPTagMinimum: UInt32 = 8 + 20
    static let newRSDPTagMinimum: UInt32 = 8 + 36

    /// Smallest memory-map entry: base, length, type, reserved.
    static let memoryMapEntryMinimum: UInt32 = 24
}

extension BootInfoParser {
    /// Parses the multiboot2 information structure at physical `infoAddress`.
    ///
    /// Invariants checked: `total_size` lies in 16...`maximumMultiboot2Size`;
    /// every tag has `size >= 8`, lies wholly inside `total_size` and is big
    /// enough for its fields; strings end with a NUL inside their tag; the
    /// list ends with an end tag. Without a memory-map tag the map is
    /// synthesized from basic memory information. Repeated cmdline, loader
    /// name or framebuffer tags: the last wins. Both RSDP tags: the ACPI 2.0
    /// copy wins.
    ///
    /// Throws `.unreadable`, `.addressOverflow`, `.badTotalSize`,
    /// `.badTagSize`, `.truncatedTag`, `.tagTooSmall`, `.missingEndTag`,
    /// `.unterminatedString`, `.badEntrySize`, `.tooManyEntries`,
    /// `.tooManyModules`, `.badModuleRange` or `.noMemoryMap`.
    public static func parseMultiboot2<M: PhysicalMemoryReader>(
        infoAddress: UInt64, memory: M
    ) throws(BootInfoError) -> BootInfo {
        typealias Layout = Multiboot2Layout
        let totalSize = try memory.readUInt32(at: infoAddress)
        guard totalSize >= 16 && totalSize <= maximumMultiboot2Size else {
            throw .badTotalSize(totalSize)
        }
        // The whole structure must be addressable; after this, infoAddress
        // plus any offset below totalSize cannot overflow.
        _ = try memory.address(infoAddress, plus: UInt64(totalSize))

        var commandLine = ""
        var bootloaderName: String? = nil
        var modules: [BootModule] = []
        var rawMap: [MemoryRegion] = []
        var basicMemory: (lower: UInt32, upper: UInt32)? = nil
        var framebuffer: Framebuffer? = nil
        var oldRSDP: [UInt8]? = nil
        var newRSDP: [UInt8]? = nil

        // Offsets stay below totalSize <= 1 MiB, so UInt64 arithmetic on them
        // cannot overflow and the loop runs at most totalSize / 8 times.
        var offset = Layout.headerSize
        while true {
            guard offset + UInt64(Layout.tagHeaderSize) <= UInt64(totalSize) else {
                throw .missingEndTag
            }
            let tag = infoAddress + offset
            let type = try memory.readUInt32(at: tag)
            let size = try memory.readUInt32(at: tag + 4)
            guard size >= Layout.tagHeaderSize else {
                throw .badTagSize(offset: UInt32(offset), size: size)
            }
            guard offset + UInt64(size) <= UInt64(totalSize) else {
                throw .truncatedTag(offset: UInt32(offset))
            }
            let payload = tag + UInt64(Layout.tagHeaderSize)
            let payloadSize = Int(size - Layout.tagHeaderSize)

            switch type {
            case Layout.endTag:
                let map: [MemoryRegion]
                if !rawMap.isEmpty {
                    map = rawMap
                } else if let basic = basicMemory {
                    map = basicMemoryMap(lowerKiB: basic.lower, upperKiB: basic.upper)
                } else {
                    throw .noMemoryMap
                }
                return makeBootInfo(
                    bootProtocol: .multiboot2, commandLine: commandLine,
                    bootloaderName: bootloaderName, rawMap: map, modules: modules,
                    framebuffer: framebuffer, acpiRSDP: newRSDP ?? oldRSDP)

            case Layout.commandLineTag:
                commandLine = try readTagString(at: payload, available: payloadSize, memory: memory)

            case Layout.bootloaderNameTag:
                bootloaderName = try readTagString(at: payload, available: payloadSize,
                                                   memory: memory)

            case Layout.moduleTag:
                guard size >= Layout.moduleTagMinimum else {
                    throw .tagTooSmall(type: type, size: size)
                }
                guard modules.count < maximumModules else {
                    throw .tooManyModules(UInt32(modules.count + 1))
                }
                let start = UInt64(try memory.readUInt32(at: payload))
                let end = UInt64(try memory.readUInt32(at: payload + 4))
                guard end >= start else { throw .badModuleRange(start: start, end: end) }
                let name = try readTagString(at: payload + 8, available: payloadSize - 8,
                                             memory: memory)
                modules.append(BootModule(start: start, end: end, name: name))

            case Layout.basicMemoryTag:
                guard size >= Layout.basicMemoryTagMinimum else {
                    throw .tagTooSmall(type: type, size: size)
                }
                basicMemory = (lower: try memory.readUInt32(at: payload),
                               upper: try memory.readUInt32(at: payload + 4))

            case Layout.memoryMapTag:
                guard size >= Layout.memoryMapTagMinimum else {
                    throw .tagTooSmall(type: type, size: size)
                }
                try readMultiboot2MemoryMap(at: payload, payloadSize: payloadSize,
                                            memory: memory, into: &rawMap)

            case Layout.framebufferTag:
                guard size >= Layout.framebufferTagMinimum else {
                    throw .tagTooSmall(type: type, size: size)
                }
                framebuffer = Framebuffer(
                    address: try memory.readUInt64(at: payload),
                    pitch: try memory.readUInt32(at: payload + 8),
                    width: try memory.readUInt32(at: payload + 12),
                    height: try memory.readUInt32(at: payload + 16),
                    bitsPerPixel: try memory.readByte(at: payload + 20),
                    type: try memory.readByte(at: payload + 21))

            case Layout.oldRSDPTag:
                guard size >= Layout.oldRSDPTagMinimum else {
                    throw .tagTooSmall(type: type, size: size)
                }
                oldRSDP = try memory.readBytes(at: payload, count: payloadSize)

            case Layout.newRSDPTag:
                guard size >= Layout.newRSDPTagMinimum else {
                    throw .tagTooSmall(type: type, size: size)
                }
                newRSDP = try memory.readBytes(at: payload, count: payloadSize)

            default:
                break  // Tags we do not use (boot device, ELF sections, EFI...).
            }

            // Tags start 8-byte aligned; size excludes the padding.
            offset += (UInt64(size) + Layout.tagAlignment - 1) & ~(Layout.tagAlignment - 1)
        }
    }

    /// The NUL-terminated string filling a tag payload of `available` bytes.
    static func readTagString<M: PhysicalMemoryReader>(
        at address: UInt64, available: Int, memory: M
    ) throws(BootInfoError) -> String {
        // The NUL must be inside the tag: a string running past its tag
        // would read the next tag's header as text.
        let limit = min(available - 1, maximumStringLength)
        return try memory.readCString(at: address, maxLength: limit)
    }

    /// Appends the entries of a memory-map tag whose payload (after the tag
    /// header) is `payloadSize` bytes at `address`.
    ///
    /// `entry_size` is checked because the loader may use larger entries in
    /// later versions; we step by it and read only the first 20 bytes. Bytes
    /// after the last whole entry are ignored.
    static func readMultiboot2MemoryMap<M: PhysicalMemoryReader>(
        at address: UInt64, payloadSize: Int, memory: M, into entries: inout [MemoryRegion]
    ) throws(BootInfoError) {
        let entrySize = try memory.readUInt32(at: address)
        guard entrySize >= Multiboot2Layout.memoryMapEntryMinimum && entrySize % 8 == 0 else {
            throw .badEntrySize(entrySize)
        }
        // entry_version at address + 4 is 0 in every published version and
        // carries nothing we need.
        let count = (payloadSize - 8) / Int(entrySize)
        guard entries.count + count <= maximumMemoryMapEntries else { throw .tooManyEntries }
        for index in 0..<count {
            let entry = address + 8 + UInt64(index) * UInt64(entrySize)
            let base = try memory.readUInt64(at: entry)
            let length = try memory.readUInt64(at: entry + 8)
            let type = try memory.readUInt32(at: entry + 16)
            entries.append(MemoryRegion(base: base, length: length,
                                        kind: MemoryKind(multibootType: type)))
        }
    }
}
