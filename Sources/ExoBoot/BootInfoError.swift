import ExoKit

/// Every way the boot information handed over by a loader can be broken.
///
/// Offsets in multiboot2 cases are byte offsets from the start of the
/// information structure, so a panic report can be matched against a hex dump.
public enum BootInfoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// EAX held neither multiboot magic value.
    case badMagic(UInt32)
    /// A field or string lies at a physical address that cannot be read.
    case unreadable(address: UInt64)
    /// A pointer plus an offset or size wraps past the end of the 64-bit
    /// address space.
    case addressOverflow(base: UInt64, offset: UInt64)
    /// No NUL byte within the string's allowed length.
    case unterminatedString(address: UInt64)
    /// Multiboot2 `total_size` is below the 16-byte minimum (header plus end
    /// tag) or above `BootInfoParser.maximumMultiboot2Size`.
    case badTotalSize(UInt32)
    /// A multiboot2 tag's `size` is below the 8-byte tag header.
    case badTagSize(offset: UInt32, size: UInt32)
    /// A multiboot2 tag extends past `total_size`.
    case truncatedTag(offset: UInt32)
    /// A multiboot2 tag is too small for the fields its type requires.
    case tagTooSmall(type: UInt32, size: UInt32)
    /// The multiboot2 tag list ends without a type-0 end tag.
    case missingEndTag
    /// A memory-map entry size is unusable: multiboot1 `size` below 20;
    /// multiboot2 `entry_size` below 24 or not a multiple of 8.
    case badEntrySize(UInt32)
    /// A multiboot1 memory-map entry extends past `mmap_length`.
    case truncatedMemoryMap(address: UInt64)
    /// More memory-map entries than `BootInfoParser.maximumMemoryMapEntries`.
    case tooManyEntries
    /// More modules than `BootInfoParser.maximumModules`.
    case tooManyModules(UInt32)
    /// A module whose end lies before its start.
    case badModuleRange(start: UInt64, end: UInt64)
    /// Neither a memory map nor basic memory information was given.
    case noMemoryMap

    /// One line for the kernel's panic report.
    public var description: String {
        switch self {
        case .badMagic(let magic):
            return "bad boot magic " + Hex.string(UInt64(magic), digits: 8)
        case .unreadable(let address):
            return "boot info: unreadable address " + Hex.string(address)
        case .addressOverflow(let base, let offset):
            return "boot info: address " + Hex.string(base) + " + " + Hex.string(offset)
                + " overflows"
        case .unterminatedString(let address):
            return "boot info: unterminated string at " + Hex.string(address)
        case .badTotalSize(let size):
            return "multiboot2: bad total_size " + Hex.string(UInt64(size), digits: 8)
        case .badTagSize(let offset, let size):
            return "multiboot2: tag at offset " + Hex.string(UInt64(offset), digits: 8)
                + " has size " + Hex.string(UInt64(size), digits: 8) + " (below 8)"
        case .truncatedTag(let offset):
            return "multiboot2: tag at offset " + Hex.string(UInt64(offset), digits: 8)
                + " extends past total_size"
        case .tagTooSmall(let type, let size):
            return "multiboot2: tag type " + Hex.string(UInt64(type), digits: 8)
                + " too small (size " + Hex.string(UInt64(size), digits: 8) + ")"
        case .missingEndTag:
            return "multiboot2: no end tag"
        case .badEntrySize(let size):
            return "boot info: bad memory-map entry size " + Hex.string(UInt64(size), digits: 8)
        case .truncatedMemoryMap(let address):
            return "multiboot1: memory-map entry at " + Hex.string(address)
                + " extends past mmap_length"
        case .tooManyEntries:
            return "boot info: too many memory-map entries"
        case .tooManyModules(let count):
            return "boot info: too many modules (" + Hex.string(UInt64(count), digits: 8) + ")"
        case .badModuleRange(let start, let end):
            return "boot info: module end " + Hex.string(end) + " before start " + Hex.string(start)
        case .noMemoryMap:
            return "boot info: no memory map and no basic memory information"
        }
    }
}
