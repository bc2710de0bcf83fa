/// The flag bits of an x86_64 paging-structure entry (Intel SDM vol. 3,
/// 4.5, tables 4-15 to 4-20). The same bit positions mean the same thing in
/// a PML4, PDPT, PD or PT entry, with two exceptions noted on `huge`.
public struct PageFlags: OptionSet, Sendable {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// P (bit 0): the entry is valid. When clear the CPU ignores every other
    /// bit, and any access through it raises #PF.
    public static let present = PageFlags(rawValue: 1 << 0)
    /// R/W (bit 1): writes allowed (for supervisor code too, while CR0.WP = 1).
    public static let writable = PageFlags(rawValue: 1 << 1)
    /// U/S (bit 2): ring 3 may access the page.
    public static let user = PageFlags(rawValue: 1 << 2)
    /// PWT (bit 3): write-through caching.
    public static let writeThrough = PageFlags(rawValue: 1 << 3)
    /// PCD (bit 4): caching disabled (device memory).
    public static let cacheDisable = PageFlags(rawValue: 1 << 4)
    /// A (bit 5): set by the CPU when the entry is used for a translation.
    public static let accessed = PageFlags(rawValue: 1 << 5)
    /// D (bit 6): set by the CPU on a write through a leaf entry.
    public static let dirty = PageFlags(rawValue: 1 << 6)
    /// PS (bit 7): in a PDPT entry (1 GiB) or PD entry (2 MiB), this entry
    /// is the leaf and maps a page instead of pointing at a table. In a PML4
    /// entry it is reserved (must be 0); in a PT entry bit 7 is PAT, which
    /// Exo does not use.
    public static let huge = PageFlags(rawValue: 1 << 7)
    /// G (bit 8): keep the translation in the TLB across CR3 loads (needs
    /// CR4.PGE). Only meaningful in leaves; for kernel mappings.
    public static let global = PageFlags(rawValue: 1 << 8)
    /// XD (bit 63): instruction fetches are not allowed. Only valid when
    /// EFER.NXE = 1; otherwise bit 63 is reserved and any walk that meets it
    /// raises #PF with the RSVD error bit.
    public static let noExecute = PageFlags(rawValue: 1 << 63)
}

/// One 8-byte entry of an x86_64 4-level paging structure (Intel SDM vol. 3,
/// 4.5): PML4, page-directory-pointer table, page directory or page table.
/// A table is one 4 KiB page of 512 entries.
///
/// Layout: flags in bits 8:0 | ignored 11:9 | physical address 51:12 |
/// ignored 62:52 (protection key 62:59 when CR4.PKE) | XD 63.
///
/// Invariants the hardware relies on, which whoever writes entries keeps:
/// - PS (`huge`) is meaningful only in PDPT and PD entries: there it makes
///   the entry a 1 GiB / 2 MiB leaf. In a PML4 entry it must be 0; in a PT
///   entry bit 7 is PAT instead.
/// - A 2 MiB leaf's physical address must be 2 MiB aligned: bits 20:13 are
///   reserved (a set one raises #PF with RSVD) and bit 12 is PAT for large
///   pages, which Exo leaves 0. A 1 GiB leaf needs 1 GiB alignment.
/// - `noExecute` requires EFER.NXE = 1 before the tables are loaded in CR3,
///   else bit 63 is a reserved bit and every walk through it faults.
/// - The effective permission of a translation is the AND of writable and
///   user over all four levels (and the OR of noExecute), so entries that
///   point at tables should be permissive (writable, and user wherever any
///   leaf below is user, never noExecute) and let the leaf decide.
/// - Physical addresses are below 2^52 (MAXPHYADDR is at most 52); bits
///   above the CPU's actual MAXPHYADDR are reserved too.
public struct PageTableEntry: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bits 51:12: the physical address of the next table or of the page.
    public static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000

    /// An absent entry (all zero): maps nothing.
    public static let empty = PageTableEntry(rawValue: 0)

    /// An entry pointing at `physicalAddress` with `flags`.
    ///
    /// Preconditions: `physicalAddress` is 4 KiB aligned and below 2^52, and
    /// `flags` has no bits inside `addressMask`.
    public init(physicalAddress: UInt64, flags: PageFlags) {
        precondition(physicalAddress & ~Self.addressMask == 0,
                     "a page-table entry's address must be 4 KiB aligned and below 2^52")
        precondition(flags.rawValue & Self.addressMask == 0, "flag bits overlap the address field")
        rawValue = physicalAddress | flags.rawValue
    }

    /// Every bit outside the address field (including the ignored bits the
    /// kernel may use for its own bookkeeping).
    public var flags: PageFlags {
        get { PageFlags(rawValue: rawValue & ~Self.addressMask) }
        set {
            precondition(newValue.rawValue & Self.addressMask == 0, "flag bits overlap the address field")
            rawValue = (rawValue & Self.addressMask) | newValue.rawValue
        }
    }

    /// The physical address of the next-level table or of the mapped page.
    public var physicalAddress: UInt64 {
        get { rawValue & Self.addressMask }
        set {
            precondition(newValue & ~Self.addressMask == 0,
                         "a page-table entry's address must be 4 KiB aligned and below 2^52")
            rawValue = (rawValue & ~Self.addressMask) | newValue
        }
    }

    /// Whether the CPU will use this entry (P).
    public var isPresent: Bool { rawValue & PageFlags.present.rawValue != 0 }

    /// Whether PS is set. Only a leaf marker in PDPT and PD entries; in a PT
    /// entry the same bit is PAT.
    public var isHuge: Bool { rawValue & PageFlags.huge.rawValue != 0 }
}
