/// Turns the boot information a multiboot loader left in memory into a
/// checked `BootInfo`.
///
/// Everything read is untrusted: every pointer is read through a
/// `PhysicalMemoryReader`, every size is checked against a limit, and every
/// loop is bounded, so a corrupt structure yields a `BootInfoError` rather
/// than a fault or a hang.
public enum BootInfoParser {
    /// EAX value from a multiboot1 loader.
    public static let multiboot1Magic: UInt32 = 0x2BAD_B002
    /// EAX value from a multiboot2 loader.
    public static let multiboot2Magic: UInt32 = 0x36D7_6289

    /// Longest string (command line, loader name, module name) accepted,
    /// in bytes, excluding the NUL.
    public static let maximumStringLength = 4096
    /// Most raw memory-map entries accepted; real maps have tens.
    public static let maximumMemoryMapEntries = 512
    /// Most modules accepted.
    public static let maximumModules = 256
    /// Largest multiboot2 `total_size` accepted; GRUB's are a few KiB.
    public static let maximumMultiboot2Size: UInt32 = 1 << 20

    /// Dispatch on the EAX magic the loader handed over.
    ///
    /// Throws `.badMagic` for an unknown magic, otherwise whatever
    /// `parseMultiboot1` or `parseMultiboot2` throws.
    public static func parse<M: PhysicalMemoryReader>(
        magic: UInt32, infoAddress: UInt64, memory: M
    ) throws(BootInfoError) -> BootInfo {
        switch magic {
        case multiboot1Magic: return try parseMultiboot1(infoAddress: infoAddress, memory: memory)
        case multiboot2Magic: return try parseMultiboot2(infoAddress: infoAddress, memory: memory)
        default: throw .badMagic(magic)
        }
    }

    /// The memory map both specifications imply by basic memory information
    /// alone: `lowerKiB` from address 0 and `upperKiB` from 1 MiB.
    static func basicMemoryMap(lowerKiB: UInt32, upperKiB: UInt32) -> [MemoryRegion] {
        [
            MemoryRegion(base: 0, length: UInt64(lowerKiB) * 1024, kind: .available),
            MemoryRegion(base: 0x10_0000, length: UInt64(upperKiB) * 1024, kind: .available),
        ]
    }

    /// Assembles the result shared by both parsers, sanitizing `rawMap`.
    static func makeBootInfo(
        bootProtocol: BootProtocol, commandLine: String, bootloaderName: String?,
        rawMap: [MemoryRegion], modules: [BootModule], framebuffer: Framebuffer?,
        acpiRSDP: [UInt8]?
    ) -> BootInfo {
        let sanitized = MemoryMapSanitizer.sanitize(rawMap)
        return BootInfo(
            bootProtocol: bootProtocol, commandLine: commandLine,
            bootloaderName: bootloaderName, memoryMap: sanitized.regions,
            memoryMapAnomalies: sanitized.anomalies, modules: modules,
            framebuffer: framebuffer, acpiRSDP: acpiRSDP)
    }
}
