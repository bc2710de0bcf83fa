/// The four levels of x86_64 paging (Intel SDM vol. 3, 4.5), numbered as the
/// SDM does: a walk starts at the PML4 (level 4) that CR3 names and ends at
/// a page table (level 1), unless a PD entry with PS set ends it one level
/// early with a 2 MiB page.
public enum PageTableLevel: Int, Sendable, Comparable {
    case pageTable = 1
    case pageDirectory = 2
    case pageDirectoryPointerTable = 3
    case pml4 = 4

    /// Each table has 512 entries, so each level consumes 9 address bits.
    public static let entriesPerTable = 512

    /// The lowest address bit this level's index is taken from:
    /// 12 (PT), 21 (PD), 30 (PDPT), 39 (PML4).
    public var indexShift: UInt64 { 12 + 9 * UInt64(rawValue - 1) }

    /// The bytes of virtual address space one entry at this level covers:
    /// 4 KiB, 2 MiB, 1 GiB, 512 GiB.
    public var bytesPerEntry: UInt64 { 1 << indexShift }

    /// The level whose tables this level's entries point at; nil for PT.
    public var below: PageTableLevel? { PageTableLevel(rawValue: rawValue - 1) }

    /// The level whose entries point at tables of this level; nil for PML4.
    public var above: PageTableLevel? { PageTableLevel(rawValue: rawValue + 1) }

    public static func < (lhs: PageTableLevel, rhs: PageTableLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The page sizes Exo maps. 1 GiB pages are left out on purpose: QEMU's
/// default CPU model lacks them, and nothing in Exo needs them.
public enum PageSize: Sendable, Equatable, CaseIterable {
    /// 4 KiB: a leaf in a page table.
    case small
    /// 2 MiB: a leaf in a page directory (PS set).
    case large

    /// The page's size in bytes, which is also its required alignment.
    public var bytes: UInt64 {
        switch self {
        case .small: 0x1000
        case .large: 0x20_0000
        }
    }

    /// The level whose entry maps a page of this size.
    public var leafLevel: PageTableLevel {
        switch self {
        case .small: .pageTable
        case .large: .pageDirectory
        }
    }
}

/// An x86_64 virtual address split the way the 4-level page walk splits it:
///
///     63      48 47    39 38    30 29    21 20    12 11         0
///     | sign    | PML4   | PDPT   | PD     | PT     | offset     |
///
/// With 4-level paging only 48 bits translate; bits 63:48 must copy bit 47
/// ("canonical"), and a non-canonical address raises #GP, not #PF. That
/// splits the space into a lower half (0 ..< 2^47) and an upper half
/// (0xFFFF_8000_0000_0000 ...).
public struct VirtualAddress: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// The address with the given table indices and offset, sign-extended
    /// from bit 47 so it is canonical.
    ///
    /// Preconditions: every index is below 512, `offset` below 4096.
    public init(pml4: Int, pdpt: Int, pd: Int, pt: Int, offset: UInt64 = 0) {
        precondition((0..<512).contains(pml4) && (0..<512).contains(pdpt)
                     && (0..<512).contains(pd) && (0..<512).contains(pt), "table indices are 0...511")
        precondition(offset < 0x1000, "the page offset is 12 bits")
        let low = UInt64(pml4) << 39 | UInt64(pdpt) << 30 | UInt64(pd) << 21 | UInt64(pt) << 12 | offset
        self.rawValue = Self.signExtended(low)
    }

    /// `bits47` (an address whose bits 63:48 are ignored) with bits 63:48
    /// set to copies of bit 47.
    public static func signExtended(_ bits47: UInt64) -> UInt64 {
        bits47 & (1 << 47) != 0 ? bits47 | 0xFFFF_0000_0000_0000 : bits47 & 0x0000_FFFF_FFFF_FFFF
    }

    /// The first address of the upper canonical half.
    public static let upperHalfStart: UInt64 = 0xFFFF_8000_0000_0000
    /// One past the last address of the lower canonical half.
    public static let lowerHalfEnd: UInt64 = 0x0000_8000_0000_0000

    /// Whether bits 63:47 are all equal (all 0 or all 1).
    public var isCanonical: Bool {
        let top = rawValue >> 47
        return top == 0 || top == 0x1_FFFF
    }

    /// The index into the table at `level` that this address selects.
    public func index(at level: PageTableLevel) -> Int {
        Int(truncatingIfNeeded: (rawValue >> level.indexShift) & 0x1FF)
    }

    /// Bits 47:39.
    public var pml4Index: Int { index(at: .pml4) }
    /// Bits 38:30.
    public var pdptIndex: Int { index(at: .pageDirectoryPointerTable) }
    /// Bits 29:21.
    public var pdIndex: Int { index(at: .pageDirectory) }
    /// Bits 20:12.
    public var ptIndex: Int { index(at: .pageTable) }

    /// The offset inside a 4 KiB page (bits 11:0).
    public var pageOffset: UInt64 { rawValue & 0xFFF }

    /// The offset inside the page of `size` that contains this address.
    public func offset(in size: PageSize) -> UInt64 { rawValue & (size.bytes - 1) }

    /// Whether the address is the first byte of a page of `size`.
    public func isAligned(to size: PageSize) -> Bool { offset(in: size) == 0 }
}
