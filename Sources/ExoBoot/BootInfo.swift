/// Which multiboot specification the boot loader followed.
public enum BootProtocol: Sendable {
    /// Multiboot 1 (QEMU `-kernel`, GRUB `multiboot`).
    case multiboot1
    /// Multiboot 2 (GRUB `multiboot2`).
    case multiboot2
}

/// What a physical memory region may be used for, as multiboot (and the
/// BIOS e820 call underneath it) reports it.
public enum MemoryKind: Equatable, Sendable {
    /// Type 1: RAM the kernel may use.
    case available
    /// Type 2: reserved by firmware or devices; never touch.
    case reserved
    /// Type 3: holds ACPI tables; usable once they have been read.
    case acpiReclaimable
    /// Type 4: ACPI non-volatile storage; must be preserved across sleep.
    case acpiNVS
    /// Type 5: RAM reported as faulty.
    case defective
    /// Any other type number; treated as reserved.
    case other(UInt32)

    /// The kind for multiboot memory-map type number `type`.
    public init(multibootType type: UInt32) {
        switch type {
        case 1: self = .available
        case 2: self = .reserved
        case 3: self = .acpiReclaimable
        case 4: self = .acpiNVS
        case 5: self = .defective
        default: self = .other(type)
        }
    }

    /// The multiboot memory-map type number of this kind.
    public var multibootType: UInt32 {
        switch self {
        case .available: return 1
        case .reserved: return 2
        case .acpiReclaimable: return 3
        case .acpiNVS: return 4
        case .defective: return 5
        case .other(let type): return type
        }
    }
}

/// A contiguous range of physical memory of one kind.
public struct MemoryRegion: Equatable, Sendable {
    /// First physical address of the region.
    public var base: UInt64
    /// Size of the region in bytes.
    public var length: UInt64
    /// What the region may be used for.
    public var kind: MemoryKind

    /// One past the last address of the region.
    ///
    /// Precondition: `base + length` fits in 64 bits. Sanitized regions
    /// (`MemoryMapSanitizer.sanitize`) always satisfy it; raw loader entries
    /// may not, and this traps rather than wrap.
    public var end: UInt64 { base + length }

    /// A region of `length` bytes at `base`.
    public init(base: UInt64, length: UInt64, kind: MemoryKind) {
        self.base = base
        self.length = length
        self.kind = kind
    }
}

/// A file the boot loader loaded into memory next to the kernel (for
/// example an initial ramdisk).
public struct BootModule: Equatable, Sendable {
    /// Physical address of the module's first byte.
    public var start: UInt64
    /// Physical address one past the module's last byte.
    public var end: UInt64
    /// The module's command line as the loader gave it (often its path).
    public var name: String

    /// A module occupying `start..<end`.
    public init(start: UInt64, end: UInt64, name: String) {
        self.start = start
        self.end = end
        self.name = name
    }
}

/// The framebuffer the boot loader set up, as multiboot describes it.
public struct Framebuffer: Equatable, Sendable {
    /// Physical address of the first pixel (or text cell).
    public var address: UInt64
    /// Bytes per scan line.
    public var pitch: UInt32
    /// Width in pixels (or text columns).
    public var width: UInt32
    /// Height in pixels (or text rows).
    public var height: UInt32
    /// Bits per pixel (16 for EGA text: character and attribute byte).
    public var bitsPerPixel: UInt8
    /// Multiboot framebuffer type: 0 indexed colour, 1 direct RGB, 2 EGA text.
    public var type: UInt8

    /// A framebuffer description from its multiboot fields.
    public init(address: UInt64, pitch: UInt32, width: UInt32, height: UInt32,
                bitsPerPixel: UInt8, type: UInt8) {
        self.address = address
        self.pitch = pitch
        self.width = width
        self.height = height
        self.bitsPerPixel = bitsPerPixel
        self.type = type
    }
}

/// Everything the kernel needs from the boot loader, parsed and checked.
///
/// Produced by `BootInfoParser`; all strings and the RSDP are copies, so the
/// loader's memory may be reused once this exists.
public struct BootInfo: Sendable {
    /// Which multiboot specification delivered this information.
    public var bootProtocol: BootProtocol
    /// The kernel command line as given by the loader (may be "").
    public var commandLine: String
    /// The loader's name (e.g. "qemu", "GRUB 2.06"), when it gave one.
    public var bootloaderName: String?
    /// Physical memory map, sanitized: sorted by base, non-overlapping, no
    /// zero-length regions, adjacent regions of the same kind merged.
    public var memoryMap: [MemoryRegion]
    /// How many raw map entries were zero-length, overlapping or clipped.
    public var memoryMapAnomalies: Int
    /// Modules loaded alongside the kernel, in loader order.
    public var modules: [BootModule]
    /// The framebuffer, when the loader set one up and reported it.
    public var framebuffer: Framebuffer?
    /// Copy of the ACPI RSDP (multiboot2 tag 15, else tag 14), if given.
    public var acpiRSDP: [UInt8]?
    /// Sum of the lengths of the `.available` regions of `memoryMap`.
    public var totalAvailableBytes: UInt64

    /// Boot information from already-sanitized parts; `totalAvailableBytes`
    /// is computed from `memoryMap`.
    public init(bootProtocol: BootProtocol, commandLine: String, bootloaderName: String?,
                memoryMap: [MemoryRegion], memoryMapAnomalies: Int, modules: [BootModule],
                framebuffer: Framebuffer?, acpiRSDP: [UInt8]?) {
        self.bootProtocol = bootProtocol
        self.commandLine = commandLine
        self.bootloaderName = bootloaderName
        self.memoryMap = memoryMap
        self.memoryMapAnomalies = memoryMapAnomalies
        self.modules = modules
        self.framebuffer = framebuffer
        self.acpiRSDP = acpiRSDP
        // Cannot overflow for a sanitized map: its regions are disjoint
        // ranges of the 64-bit address space.
        var total: UInt64 = 0
        for region in memoryMap where region.kind == .available { total += region.length }
        self.totalAvailableBytes = total
    }
}
