import ExoX86

/// How the mapper reaches and obtains page-table pages.
///
/// The kernel implements it with the direct map (physical address + direct
/// map base) and the frame allocator; host tests implement it with ordinary
/// allocations standing in for physical pages. Every raw pointer the mapper
/// touches comes from `entries(ofTableAt:)`.
public protocol PageTableMemory {
    /// The 512 entries of the table page at physical `address` (4 KiB
    /// aligned). The mapper reads and writes only indices 0..<512.
    func entries(ofTableAt address: UInt64) -> UnsafeMutablePointer<PageTableEntry>

    /// A zeroed 4 KiB page for a new table, returned by physical address.
    ///
    /// Errors: `.outOfMemory` when no page is free.
    mutating func allocateTablePage() throws(MemoryError) -> UInt64

    /// Gives back a table page that became empty. The mapper has already
    /// removed every entry that pointed at it.
    mutating func freeTablePage(_ address: UInt64)
}

/// Where a virtual address leads: the result of a page walk.
public struct Translation: Equatable, Sendable {
    /// The physical address of the translated byte (page address + offset).
    public var physicalAddress: UInt64
    /// The leaf entry's flags as stored, including `present`, `huge` for a
    /// 2 MiB page, and the accessed/dirty bits the CPU set.
    public var flags: PageFlags
    /// The size of the page that maps the byte.
    public var size: PageSize

    public init(physicalAddress: UInt64, flags: PageFlags, size: PageSize) {
        self.physicalAddress = physicalAddress
        self.flags = flags
        self.size = size
    }
}

/// Map, unmap, protect and translate on one x86_64 4-level page-table
/// hierarchy (one address space).
///
/// Pure logic: it writes entries and never touches CR3 or the TLB. After
/// `unmap`, `protect` or `splitLargePage` the caller must invalidate the
/// affected address (invlpg, or a shootdown on every CPU using the address
/// space) before anything can reuse the freed page or the table pages the
/// mapper handed back: until then the TLB and paging-structure caches may
/// still point at them. `map` needs no flush: an absent entry is never
/// cached, and the intermediate entries it only widens can at worst leave
/// a stricter stale TLB entry, which causes a spurious #PF the fault
/// handler resolves with invlpg (Intel SDM vol. 3, 4.10.4.3).
///
/// Invariants kept (given tables only this mapper changes):
/// - Entries pointing at tables never carry `noExecute` and carry
///   `writable`/`user` wherever a leaf below needs them, so a leaf's own
///   flags are its effective permissions.
/// - No table except the root is empty: `unmap` frees tables that become
///   empty, and failed operations free the tables they created.
/// - Exo creates no 1 GiB pages; meeting one (PS in a PDPT entry) is a
///   `.pageSizeConflict` for changes and a precondition failure for reads.
public struct PageTableMapper<Memory: PageTableMemory> {
    /// The physical address of the PML4: the value for CR3.
    public private(set) var root: UInt64
    /// Where table pages come from and go back to.
    public var memory: Memory
    /// Whether `unmap` frees tables that become empty. The kernel's half
    /// keeps them: every address space shares its upper-level tables, so a
    /// freed one would still be referenced elsewhere, and re-creating (and
    /// zeroing) tables on every map of a short-lived page is slow.
    public var freesEmptyTables = true

    /// Physical addresses are at most 52 bits wide (MAXPHYADDR <= 52).
    public static var physicalAddressLimit: UInt64 { 1 << 52 }

    /// Adopts the existing PML4 at physical `root` (4 KiB aligned), for
    /// example the tables the boot code built.
    public init(root: UInt64, memory: Memory) {
        precondition(root & 0xFFF == 0, "a PML4 is 4 KiB aligned")
        self.root = root
        self.memory = memory
    }

    /// Allocates an empty PML4: an address space that maps nothing.
    ///
    /// Errors: `.outOfMemory`.
    public init(memory: Memory) throws(MemoryError) {
        var memory = memory
        self.root = try memory.allocateTablePage()
        self.memory = memory
    }

    // MARK: - Mapping

    /// Maps the page of `size` at `virtual` to `physical` with `flags`.
    ///
    /// The leaf gets `flags` plus `present`; `huge` is set for `.large` and
    /// cleared for `.small` (where bit 7 would mean PAT). Intermediate
    /// tables are created with present|writable (+user when `flags` has
    /// user) so the leaf's flags decide; an existing intermediate entry
    /// gains writable/user if the new leaf needs them (and loses
    /// noExecute if the leaf is executable), never the reverse.
    ///
    /// Errors (the tables are unchanged after any of them):
    /// `.nonCanonical(virtual)`; `.misaligned(virtual)` or
    /// `.misaligned(physical)` when not aligned to `size`;
    /// `.outOfRange(physical)` at or above 2^52; `.alreadyMapped(virtual)`
    /// when a leaf of the same size is there; `.pageSizeConflict(virtual)`
    /// for a 4 KiB map inside a 2 MiB leaf, or a 2 MiB map where a page
    /// table with entries hangs; `.outOfMemory` when a table page cannot be
    /// allocated (the ones this call allocated are freed again).
    public mutating func map(virtual: UInt64, physical: UInt64, size: PageSize, flags: PageFlags) throws(MemoryError) {
        let address = VirtualAddress(virtual)
        let target = size.leafLevel

        // Checks: nothing is written until all of them pass.
        guard address.isCanonical else { throw .nonCanonical(virtual) }
        guard address.isAligned(to: size) else { throw .misaligned(virtual) }
        guard physical & (size.bytes - 1) == 0 else { throw .misaligned(physical) }
        guard physical < Self.physicalAddressLimit else { throw .outOfRange(physical) }
        let found = walk(address, to: target)
        var replacedTable: UInt64? = nil
        if found.entry.isPresent {
            // Present above the leaf level means a larger leaf covers `virtual`.
            if found.level > target { throw .pageSizeConflict(virtual) }
            if target == .pageTable || found.entry.isHuge { throw .alreadyMapped(virtual) }
            // A 2 MiB map where a page table hangs: allowed only if that table
            // maps nothing (possible in adopted tables), which is then freed.
            guard isEmpty(table: found.entry.physicalAddress) else { throw .pageSizeConflict(virtual) }
            replacedTable = found.entry.physicalAddress
        }

        // Allocate the tables missing between where the walk stopped and the
        // leaf level, keyed by the level each new table will be.
        var newTables = TablePath()
        var lowestAllocated = found.level
        while lowestAllocated > target {
            let next = lowestAllocated.below!
            do {
                newTables[next] = try memory.allocateTablePage()
            } catch {
                // Give back what this call took: a failed map leaves no
                // half-built branch behind.
                var level = found.level
                while level > lowestAllocated {
                    level = level.below!
                    memory.freeTablePage(newTables[level])
                }
                throw error
            }
            lowestAllocated = next
        }

        // Point of no return: from here on only entries are written.
        widenIntermediates(above: found.level, of: address, in: found.tables, for: flags)
        var table = found.tables[found.level]
        var level = found.level
        while level > target {
            let child = newTables[level.below!]
            setEntry(in: table, at: address.index(at: level),
                     PageTableEntry(physicalAddress: child, flags: Self.intermediateFlags(for: flags)))
            table = child
            level = level.below!
        }
        var leafFlags = flags.union(.present)
        if size == .large { leafFlags.insert(.huge) } else { leafFlags.remove(.huge) }
        setEntry(in: table, at: address.index(at: target), PageTableEntry(physicalAddress: physical, flags: leafFlags))
        if let replacedTable { memory.freeTablePage(replacedTable) }
    }

    /// Maps [virtual, virtual + length) to [physical, physical + length),
    /// using 2 MiB pages wherever both addresses are 2 MiB aligned and at
    /// least 2 MiB remain, and 4 KiB pages elsewhere.
    ///
    /// Errors: `.invalidRequest` for length 0; `.misaligned` when `virtual`,
    /// `physical` or `length` is not 4 KiB aligned; `.nonCanonical` when
    /// the range leaves its canonical half; `.outOfRange` when it wraps
    /// around or `physical + length` exceeds 2^52; and any error of
    /// `map(virtual:physical:size:flags:)`. On error every page this call
    /// mapped is unmapped again (widened intermediate entries stay widened;
    /// harmless, since the leaves decide).
    public mutating func mapRange(virtual: UInt64, physical: UInt64, length: UInt64, flags: PageFlags) throws(MemoryError) {
        guard length > 0 else { throw .invalidRequest }
        guard VirtualAddress(virtual).isCanonical else { throw .nonCanonical(virtual) }
        guard virtual & 0xFFF == 0 else { throw .misaligned(virtual) }
        guard physical & 0xFFF == 0 else { throw .misaligned(physical) }
        guard length & 0xFFF == 0 else { throw .misaligned(length) }
        let (last, wrapped) = virtual.addingReportingOverflow(length - 1)
        guard !wrapped else { throw .outOfRange(virtual) }
        if virtual < VirtualAddress.lowerHalfEnd && last >= VirtualAddress.lowerHalfEnd {
            throw .nonCanonical(VirtualAddress.lowerHalfEnd)
        }
        guard physical <= Self.physicalAddressLimit - length else { throw .outOfRange(physical) }

        var offset: UInt64 = 0
        while offset < length {
            let size = Self.rangePageSize(virtual: virtual + offset, physical: physical + offset,
                                          remaining: length - offset)
            do {
                try map(virtual: virtual + offset, physical: physical + offset, size: size, flags: flags)
            } catch {
                unmapRange(virtual: virtual, physical: physical, mappedLength: offset)
                throw error
            }
            offset += size.bytes
        }
    }

    /// The page size `mapRange` uses at one step; a pure function of the
    /// addresses, so an undo can retrace the same pages.
    private static func rangePageSize(virtual: UInt64, physical: UInt64, remaining: UInt64) -> PageSize {
        let large = PageSize.large.bytes
        return (virtual | physical) & (large - 1) == 0 && remaining >= large ? .large : .small
    }

    /// Undoes the first `mappedLength` bytes a `mapRange` call mapped.
    private mutating func unmapRange(virtual: UInt64, physical: UInt64, mappedLength: UInt64) {
        var offset: UInt64 = 0
        while offset < mappedLength {
            let size = Self.rangePageSize(virtual: virtual + offset, physical: physical + offset,
                                          remaining: mappedLength - offset)
            do {
                _ = try unmap(virtual: virtual + offset, size: size)
            } catch {
                preconditionFailure("a page mapRange just mapped is gone")
            }
            offset += size.bytes
        }
    }

    // MARK: - Changing and removing mappings

    /// Removes the leaf of `size` that starts at `virtual` and returns the
    /// physical address it mapped. Page tables that become empty are freed
    /// (never the root). The caller flushes the TLB (see the type's notes).
    ///
    /// Errors: `.nonCanonical`, `.misaligned(virtual)` (not the page's
    /// start), `.notMapped(virtual)`, `.pageSizeConflict(virtual)` when the
    /// page there has the other size.
    public mutating func unmap(virtual: UInt64, size: PageSize) throws(MemoryError) -> UInt64 {
        let address = VirtualAddress(virtual)
        let found = try existingLeaf(address, size: size)

        // Point of no return.
        setEntry(in: found.tables[found.level], at: address.index(at: found.level), .empty)
        var level = found.level
        while freesEmptyTables, let parent = level.above {
            let table = found.tables[level]
            guard isEmpty(table: table) else { break }
            // Unlink before freeing, so no entry ever names a freed page.
            setEntry(in: found.tables[parent], at: address.index(at: parent), .empty)
            memory.freeTablePage(table)
            level = parent
        }
        return Self.pageAddress(of: found.entry, at: found.level)
    }

    /// Frees every table page below the root entries `rootSlots` (the
    /// PDPTs, page directories and page tables under them) and clears those
    /// root entries: the teardown of an address space's half whose leaves
    /// are already unmapped, for a mapper that keeps empty tables
    /// (`freesEmptyTables` off). Leaf entries still present are dropped
    /// with their tables; what they mapped is not the mapper's to free.
    /// Returns how many table pages went back.
    @discardableResult
    public mutating func releaseTables(rootSlots: Range<Int>) -> Int {
        precondition(rootSlots.lowerBound >= 0 && rootSlots.upperBound <= PageTableLevel.entriesPerTable)
        var released = 0
        for slot in rootSlots {
            let entry = self.entry(in: root, at: slot)
            guard entry.isPresent else { continue }
            setEntry(in: root, at: slot, .empty)
            released += releaseTable(entry.physicalAddress, level: .pageDirectoryPointerTable)
        }
        return released
    }

    /// Frees `table` (at `level`) and every table below it. A page
    /// table's entries are leaves; above it, a huge leaf or an absent entry
    /// has no table under it.
    private mutating func releaseTable(_ table: UInt64, level: PageTableLevel) -> Int {
        var released = 1
        for index in 0..<PageTableLevel.entriesPerTable {
            let entry = self.entry(in: table, at: index)
            guard entry.rawValue != 0 else { continue }
            // Unlinked first: no entry ever names a freed page, and a table
            // page goes back empty.
            setEntry(in: table, at: index, .empty)
            if level != .pageTable, let below = level.below, entry.isPresent, !entry.isHuge {
                released += releaseTable(entry.physicalAddress, level: below)
            }
        }
        memory.freeTablePage(table)
        return released
    }

    /// Replaces the flags of the leaf of `size` that starts at `virtual`.
    /// The address and the huge bit are kept and `present` is added; the
    /// rest (including accessed/dirty) becomes `flags`. Intermediate entries
    /// are widened as in `map`. The caller flushes the TLB.
    ///
    /// Errors: as `unmap(virtual:size:)`.
    public mutating func protect(virtual: UInt64, size: PageSize, flags: PageFlags) throws(MemoryError) {
        let address = VirtualAddress(virtual)
        let found = try existingLeaf(address, size: size)

        // Point of no return.
        var newFlags = flags.union(.present)
        if size == .large { newFlags.insert(.huge) } else { newFlags.remove(.huge) }
        var entry = found.entry
        entry.flags = newFlags
        widenIntermediates(above: found.level, of: address, in: found.tables, for: flags)
        setEntry(in: found.tables[found.level], at: address.index(at: found.level), entry)
    }

    /// What `replace` found at the leaf.
    public struct Replacement: Equatable, Sendable {
        /// The physical page mapped before.
        public let previous: UInt64
        /// The leaf already mapped `physical` with the same flags (the
        /// accessed and dirty bits aside): nothing was written, and no TLB
        /// flush is needed.
        public let unchanged: Bool
    }

    /// Points the present leaf of `size` at `virtual` to `physical` with
    /// `flags`, in one walk: an unmap and a map of the same page without
    /// freeing or allocating a table. Returns the physical page it mapped
    /// before, and whether that was already the entry asked for. The
    /// caller flushes the TLB for `virtual` unless it was.
    ///
    /// Errors (nothing changed after any): those of `unmap`, and
    /// `.misaligned(physical)` / `.outOfRange(physical)` as for `map`.
    public mutating func replace(virtual: UInt64, physical: UInt64, size: PageSize,
                                 flags: PageFlags) throws(MemoryError) -> Replacement {
        let address = VirtualAddress(virtual)
        guard physical & (size.bytes - 1) == 0 else { throw .misaligned(physical) }
        guard physical < Self.physicalAddressLimit else { throw .outOfRange(physical) }
        let found = try existingLeaf(address, size: size)
        let previous = Self.pageAddress(of: found.entry, at: found.level)

        var newFlags = flags.union(.present)
        if size == .large { newFlags.insert(.huge) } else { newFlags.remove(.huge) }
        let sameFlags = found.entry.flags.subtracting([.accessed, .dirty]) == newFlags
        if sameFlags && previous == physical { return Replacement(previous: previous, unchanged: true) }

        // Point of no return.
        // The path already grants what the old leaf had (it was widened
        // when that leaf went in): only a change of flags needs a look.
        if !sameFlags {
            widenIntermediates(above: found.level, of: address, in: found.tables, for: flags)
        }
        setEntry(in: found.tables[found.level], at: address.index(at: found.level),
                 PageTableEntry(physicalAddress: physical, flags: newFlags))
        return Replacement(previous: previous, unchanged: false)
    }

    /// Replaces the 2 MiB leaf that starts at `virtual` with a page table of
    /// 512 4 KiB leaves mapping the same physical range with the same flags
    /// (minus huge), so part of it can be unmapped or re-protected; the
    /// kernel uses this for guard pages inside its direct map. Every
    /// translation is unchanged. The caller flushes the TLB for `virtual`.
    ///
    /// Errors: `.nonCanonical`, `.misaligned(virtual)` (not 2 MiB aligned),
    /// `.notMapped(virtual)`, `.pageSizeConflict(virtual)` (mapped with
    /// 4 KiB pages already), `.outOfMemory` (nothing changed).
    public mutating func splitLargePage(virtual: UInt64) throws(MemoryError) {
        let address = VirtualAddress(virtual)
        let found = try existingLeaf(address, size: .large)
        let table = try memory.allocateTablePage()

        // Point of no return. The new table is private until linked, so it
        // is filled first and the translation never has a gap.
        let base = Self.pageAddress(of: found.entry, at: .pageDirectory)
        let leafFlags = found.entry.flags.subtracting(.huge)
        for index in 0..<PageTableLevel.entriesPerTable {
            setEntry(in: table, at: index,
                     PageTableEntry(physicalAddress: base + UInt64(index) * PageSize.small.bytes, flags: leafFlags))
        }
        setEntry(in: found.tables[.pageDirectory], at: address.pdIndex,
                 PageTableEntry(physicalAddress: table, flags: Self.intermediateFlags(for: leafFlags)))
    }

    // MARK: - Reading

    /// The translation of the byte at `virtual`, or nil if it is unmapped
    /// (or not canonical). The flags are the leaf's.
    public func translate(_ virtual: UInt64) -> Translation? {
        let address = VirtualAddress(virtual)
        guard address.isCanonical else { return nil }
        let found = walk(address, to: .pageTable)
        guard found.entry.isPresent else { return nil }
        let size = Self.leafSize(at: found.level)
        return Translation(physicalAddress: Self.pageAddress(of: found.entry, at: found.level) + address.offset(in: size),
                           flags: found.entry.flags, size: size)
    }

    /// The page-table entry for `virtual` as a 4 KiB page, present or not,
    /// when a page table holds it (each level above a present table); nil
    /// when a level above is absent, a 2 MiB or 1 GiB page maps it, or
    /// `virtual` is not canonical. The straight-line lookup for hot paths
    /// (pinning a grant's pages, a grant window's), where the general walk
    /// costs three times as much; it reads exactly what `translate` does.
    /// (PS is reserved in a PML4 entry: such an entry is a table.)
    @inline(__always)
    public func smallLeaf(_ virtual: UInt64) -> PageTableEntry? {
        let address = VirtualAddress(virtual)
        guard address.isCanonical else { return nil }
        let top = entry(in: root, at: address.index(at: .pml4))
        guard top.isPresent else { return nil }
        let directoryPointer = entry(in: top.physicalAddress, at: address.index(at: .pageDirectoryPointerTable))
        guard directoryPointer.isPresent, !directoryPointer.isHuge else { return nil }
        let directory = entry(in: directoryPointer.physicalAddress, at: address.index(at: .pageDirectory))
        guard directory.isPresent, !directory.isHuge else { return nil }
        return entry(in: directory.physicalAddress, at: address.index(at: .pageTable))
    }

    /// Calls `body` with the start address and translation (of that start)
    /// of every present leaf that maps some byte of `range`, in increasing
    /// address order. For tests and the kernel's address-space report.
    public func forEachMapping(in range: Range<UInt64>, _ body: (UInt64, Translation) -> Void) {
        guard !range.isEmpty else { return }
        visit(table: root, level: .pml4, base: 0, range: range, body)
    }

    private func visit(table: UInt64, level: PageTableLevel, base: UInt64, range: Range<UInt64>,
                       _ body: (UInt64, Translation) -> Void) {
        for index in 0..<PageTableLevel.entriesPerTable {
            let start = VirtualAddress.signExtended(base | UInt64(index) << level.indexShift)
            let last = start + (level.bytesPerEntry - 1)
            guard last >= range.lowerBound && start < range.upperBound else { continue }
            let entry = self.entry(in: table, at: index)
            guard entry.isPresent else { continue }
            if let below = level.below, !Self.isLeaf(entry, at: level) {
                visit(table: entry.physicalAddress, level: below, base: start, range: range, body)
            } else {
                let size = Self.leafSize(at: level)
                body(start, Translation(physicalAddress: Self.pageAddress(of: entry, at: level),
                                        flags: entry.flags, size: size))
            }
        }
    }

    // MARK: - The walk

    /// The tables a walk passed through, one per level. Only the levels at
    /// or above where the walk stopped hold meaningful addresses (fixed
    /// storage, not an array: the mapper runs before the kernel heap exists).
    private struct TablePath {
        private var pml4: UInt64 = 0
        private var pdpt: UInt64 = 0
        private var pd: UInt64 = 0
        private var pt: UInt64 = 0

        subscript(level: PageTableLevel) -> UInt64 {
            get {
                switch level {
                case .pml4: pml4
                case .pageDirectoryPointerTable: pdpt
                case .pageDirectory: pd
                case .pageTable: pt
                }
            }
            set {
                switch level {
                case .pml4: pml4 = newValue
                case .pageDirectoryPointerTable: pdpt = newValue
                case .pageDirectory: pd = newValue
                case .pageTable: pt = newValue
                }
            }
        }
    }

    /// Where a walk stopped: the entry at `level` in `tables[level]`.
    private struct Walk {
        var tables: TablePath
        var level: PageTableLevel
        var entry: PageTableEntry
    }

    /// Walks from the root toward the entry that maps `address` at
    /// `target`, stopping at the first entry that ends the descent: the
    /// entry at `target` itself, an absent entry above it, or a leaf above
    /// it (PS set).
    ///
    /// Every operation goes through this one walk so that the rules of the
    /// hierarchy live in one place: PS means "leaf" only in PDPT and PD
    /// entries (in a PT entry bit 7 is PAT, in a PML4 entry it is reserved),
    /// and callers tell "missing table", "larger page in the way" and "the
    /// slot itself" apart by the returned level and entry alone.
    private func walk(_ address: VirtualAddress, to target: PageTableLevel) -> Walk {
        var tables = TablePath()
        var level = PageTableLevel.pml4
        var table = root
        while true {
            tables[level] = table
            let entry = self.entry(in: table, at: address.index(at: level))
            if level == target || !entry.isPresent || Self.isLeaf(entry, at: level) {
                return Walk(tables: tables, level: level, entry: entry)
            }
            table = entry.physicalAddress
            level = level.below!
        }
    }

    /// The walk to the present leaf of `size` starting at `address`, after
    /// the checks `unmap`, `protect` and `splitLargePage` share.
    private func existingLeaf(_ address: VirtualAddress, size: PageSize) throws(MemoryError) -> Walk {
        let virtual = address.rawValue
        guard address.isCanonical else { throw .nonCanonical(virtual) }
        guard address.isAligned(to: size) else { throw .misaligned(virtual) }
        let target = size.leafLevel
        let found = walk(address, to: target)
        guard found.entry.isPresent else { throw .notMapped(virtual) }
        // A leaf above the target level: a larger page covers `virtual`.
        if found.level > target { throw .pageSizeConflict(virtual) }
        // A page table (of 4 KiB pages) where a 2 MiB leaf was expected.
        if target == .pageDirectory && !found.entry.isHuge {
            throw isEmpty(table: found.entry.physicalAddress) ? .notMapped(virtual) : .pageSizeConflict(virtual)
        }
        return found
    }

    /// Whether `entry` (present) at `level` maps a page rather than a table.
    private static func isLeaf(_ entry: PageTableEntry, at level: PageTableLevel) -> Bool {
        switch level {
        case .pageTable: true
        case .pageDirectory, .pageDirectoryPointerTable: entry.isHuge
        case .pml4: false
        }
    }

    /// The size of a leaf found at `level`.
    private static func leafSize(at level: PageTableLevel) -> PageSize {
        switch level {
        case .pageTable: return .small
        case .pageDirectory: return .large
        case .pageDirectoryPointerTable, .pml4:
            preconditionFailure("1 GiB pages are not supported: Exo maps only 4 KiB and 2 MiB pages")
        }
    }

    /// A leaf's page address. For a 2 MiB leaf bit 12 is PAT, not address.
    private static func pageAddress(of entry: PageTableEntry, at level: PageTableLevel) -> UInt64 {
        entry.physicalAddress & ~(level.bytesPerEntry - 1)
    }

    /// Flags for a new entry pointing at a table: permissive, so the leaf
    /// below decides (the CPU ANDs writable/user over all levels).
    private static func intermediateFlags(for leafFlags: PageFlags) -> PageFlags {
        PageFlags([.present, .writable]).union(leafFlags.intersection(.user))
    }

    /// Widens the present table-pointing entries for `address` at the
    /// levels above `level` so a leaf with `leafFlags` gets its permissions.
    private mutating func widenIntermediates(above level: PageTableLevel, of address: VirtualAddress,
                                             in tables: TablePath, for leafFlags: PageFlags) {
        var current = PageTableLevel.pml4
        while current > level {
            let index = address.index(at: current)
            var entry = self.entry(in: tables[current], at: index)
            var flags = entry.flags.union(leafFlags.intersection([.writable, .user]))
            if !leafFlags.contains(.noExecute) { flags.remove(.noExecute) }
            if flags != entry.flags {
                entry.flags = flags
                setEntry(in: tables[current], at: index, entry)
            }
            current = current.below!
        }
    }

    /// Whether the table page at `table` has no entries at all. Any
    /// non-zero entry counts, present or not, so a table is never freed
    /// while it holds something.
    private func isEmpty(table: UInt64) -> Bool {
        for index in 0..<PageTableLevel.entriesPerTable where entry(in: table, at: index).rawValue != 0 {
            return false
        }
        return true
    }

    // MARK: - Entry access (the only pointer use)

    private func entry(in table: UInt64, at index: Int) -> PageTableEntry {
        // Safety: `table` is the root or came from a present non-leaf entry,
        // so it names a live table page; callers pass index < 512.
        memory.entries(ofTableAt: table)[index]
    }

    // Mutating although it writes through a pointer, so that only mutating
    // operations can change the tables.
    private mutating func setEntry(in table: UInt64, at index: Int, _ entry: PageTableEntry) {
        // Safety: as in `entry(in:at:)`; new tables come from
        // `allocateTablePage`, which hands out whole table pages.
        memory.entries(ofTableAt: table)[index] = entry
    }
}
