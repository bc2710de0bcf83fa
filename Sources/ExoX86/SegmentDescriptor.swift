/// One 8-byte code or data segment descriptor in the GDT.
///
/// In long mode the CPU ignores base and limit for code and data segments;
/// what still matters is present, DPL, the code/data type, and for code the
/// L (64-bit) bit. We still encode a flat 4 GiB limit with 4 KiB granularity
/// so the values match the conventional ones (and 32-bit compatibility
/// segments would work unchanged).
///
/// Layout (Intel SDM vol. 3, 3.4.5): limit[15:0] | base[23:0] | access byte |
/// limit[19:16] | flags (G, D/B, L, AVL) | base[31:24].
public struct SegmentDescriptor: Equatable, Sendable {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The mandatory null descriptor at index 0.
    public static let null = SegmentDescriptor(rawValue: 0)

    /// A flat segment. `executable` selects code (readable) or data
    /// (writable); `longMode` sets L for 64-bit code (D must then be 0).
    public init(executable: Bool, privilegeLevel: PrivilegeLevel, longMode: Bool) {
        precondition(!longMode || executable, "only code segments have the L bit")
        var access: UInt64 = 0x80 | 0x10          // present, code/data (not system)
        access |= UInt64(privilegeLevel.rawValue) << 5
        access |= executable ? 0x0A : 0x02        // code: execute+read; data: read+write
        var flags: UInt64 = 0x8                   // G: limit in 4 KiB units
        flags |= longMode ? 0x2 : 0x4             // L for 64-bit code, else D/B = 32-bit
        rawValue = 0xFFFF | (access << 40) | (0xF << 48) | (flags << 52)
    }

    public var isPresent: Bool { rawValue & (1 << 47) != 0 }
    public var privilegeLevel: PrivilegeLevel { PrivilegeLevel(rawValue: UInt8((rawValue >> 45) & 3))! }
    public var isExecutable: Bool { rawValue & (1 << 43) != 0 }
    public var isLongMode: Bool { rawValue & (1 << 53) != 0 }

    /// 64-bit kernel code (ring 0).
    public static let kernelCode = SegmentDescriptor(executable: true, privilegeLevel: .kernel, longMode: true)
    /// Kernel data and stack (ring 0).
    public static let kernelData = SegmentDescriptor(executable: false, privilegeLevel: .kernel, longMode: false)
    /// User data and stack (ring 3).
    public static let userData = SegmentDescriptor(executable: false, privilegeLevel: .user, longMode: false)
    /// 64-bit user code (ring 3).
    public static let userCode = SegmentDescriptor(executable: true, privilegeLevel: .user, longMode: true)
}

/// A CPU privilege level (ring). Exo uses only ring 0 and ring 3.
public enum PrivilegeLevel: UInt8, Sendable {
    case kernel = 0
    case user = 3
}

/// A 16-byte system segment descriptor: in long mode, the TSS descriptor.
///
/// The low 8 bytes look like a segment descriptor with type 0x9 (available
/// 64-bit TSS) and no S bit; the high 8 bytes carry base[63:32].
public struct SystemSegmentDescriptor: Equatable, Sendable {
    public let low: UInt64
    public let high: UInt64

    /// A descriptor for an available 64-bit TSS at `base` with byte `limit`
    /// (size - 1).
    public init(taskStateAt base: UInt64, limit: UInt32) {
        let access: UInt64 = 0x80 | 0x09               // present, DPL 0, type = 64-bit TSS (available)
        var low = UInt64(limit & 0xFFFF)
        low |= (base & 0xFF_FFFF) << 16
        low |= access << 40
        low |= UInt64((limit >> 16) & 0xF) << 48
        low |= ((base >> 24) & 0xFF) << 56
        self.low = low
        self.high = base >> 32
    }

    /// The TSS base address the descriptor encodes.
    public var base: UInt64 {
        ((low >> 16) & 0xFF_FFFF) | (((low >> 56) & 0xFF) << 24) | (high << 32)
    }

    /// The type field: 0x9 when available, 0xB once `ltr` marked it busy.
    public var type: UInt8 { UInt8((low >> 40) & 0xF) }
}
