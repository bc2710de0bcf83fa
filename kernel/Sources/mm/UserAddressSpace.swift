import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// One process's address space: its own PML4 whose user half
/// (`UserMode.userBase ..< UserMode.userEnd`, PML4 slots 0-127) belongs to
/// the process, and whose kernel half (slots 128-255) points at the
/// kernel's shared tables.
///
/// What user code may touch is described by `regions` (like Linux's VMAs):
/// sorted, non-overlapping, page-aligned ranges with protections. Pages are
/// filled on first touch (`resolveFault`): a zeroed frame for anonymous
/// memory. fork shares every present frame read-only (copy-on-write,
/// counted in `FrameReferences`); the first write copies it.
///
/// Leaf flags always include `user`; `writable` only for a writable region
/// whose frame is not shared; `noExecute` for non-executable regions when
/// the CPU has NX. An access outside every region, or against a region's
/// protection, is the process's fault (SIGSEGV), never the kernel's.
///
/// Locking: one lock per space (faults may come from any thread of the
/// process, on any CPU). Lock order: space, then frames.
final class UserAddressSpace {
    struct Protection: OptionSet {
        let rawValue: UInt8
        static let read = Protection(rawValue: 1)
        static let write = Protection(rawValue: 2)
        static let execute = Protection(rawValue: 4)
    }

    struct Region {
        var start: UInt64
        var end: UInt64
        var protection: Protection
        /// Grows down on faults just below it (the main stack).
        var isStack = false
        /// MAP_SHARED anonymous memory: fork shares its frames writable
        /// instead of copying them on write.
        var isShared = false
        /// Whether mprotect may add write access: not for another
        /// process's pages shared read-only (a grant), which write access
        /// would let this process change under their owner (Linux's
        /// VM_MAYWRITE; EACCES).
        var mayWrite = true
        /// A ring's grant window (`mapGrantWindow`): the kernel replaces
        /// its pages at the ring's next receive.
        var isGrantWindow = false
    }

    private var mapper: PageTableMapper<DirectMapTableMemory>
    private(set) var regions: [Region] = [] { didSet { regionsVersion &+= 1 } }
    /// Changes with every change of `regions`: a grant window seen intact
    /// at this version still is (`intactWindow`).
    private var regionsVersion: UInt64 = 0
    let lock = KernelSpinLock()
    /// The program break: `[breakStart, breakEnd)` is the heap region.
    private(set) var breakStart: UInt64 = 0
    private(set) var breakEnd: UInt64 = 0
    /// Where the next mmap without a hint goes (downwards).
    /// Where mmap places ranges without a hint: below this, top down.
    static let mmapTop: UInt64 = 0x0000_3F00_0000_0000

    static let pageSize: UInt64 = 4096
    static let kernelSlots = 128..<256
    /// The main stack may grow to this size below its top.
    static let stackLimit: UInt64 = 8 << 20

    var root: UInt64 { mapper.root }

    init() throws(Errno) {
        do { mapper = try PageTableMapper(memory: DirectMapTableMemory()) } catch { throw .outOfMemory }
        // Empty tables stay until the address space goes (deinit): freeing
        // one meant scanning its 512 entries on every unmap, and the next
        // map in that range zeroed a fresh page for it (a grant mapped and
        // unmapped per message paid ~4,000 instructions for that). The
        // top-down first fit (findFreeRange) keeps reusing the same ranges,
        // so the tables kept are bounded by the peak footprint.
        mapper.freesEmptyTables = false
        // Share the kernel half: the same PDPTs as the kernel's own PML4.
        let kernel = DirectMapTableMemory().entries(ofTableAt: KernelAddressSpace.root)
        let mine = DirectMapTableMemory().entries(ofTableAt: mapper.root)
        for slot in Self.kernelSlots { mine[slot] = kernel[slot] }
    }

    deinit {
        for region in regions { unmapPages(region.start..<region.end) }
        // The user half's tables (kept while it lived) go back; the kernel
        // half's entries are shared, so only the root page besides.
        mapper.releaseTables(rootSlots: 0..<Self.kernelSlots.lowerBound)
        let mine = DirectMapTableMemory().entries(ofTableAt: mapper.root)
        for slot in Self.kernelSlots { mine[slot] = PageTableEntry(rawValue: 0) }
        DirectMapTableMemory().freeTablePage(mapper.root)
    }

    // MARK: Regions

    /// The region containing `address`, if any.
    func regionIndex(containing address: UInt64) -> Int? {
        regions.firstIndex { $0.start <= address && address < $0.end }
    }

    /// Adds `[start, end)`; unmaps whatever was there first (MAP_FIXED
    /// semantics). Page-aligned, inside user space.
    func addRegion(_ region: Region) {
        precondition(region.start % Self.pageSize == 0 && region.end % Self.pageSize == 0 && region.start < region.end)
        // Nothing is mapped outside regions, so a range no region overlaps
        // (findFreeRange's) has nothing to unmap.
        if !isFree(region.start, region.end) { removeRange(region.start..<region.end) }
        let index = regions.firstIndex { $0.start >= region.end } ?? regions.count
        regions.insert(region, at: index)
    }

    /// Splits regions so that none straddles `range`'s bounds: afterwards
    /// every region lies wholly inside or wholly outside it. In place: at
    /// most two regions change, and the list stays sorted.
    private func splitRegions(at range: Range<UInt64>) {
        split(at: range.lowerBound)
        split(at: range.upperBound)
    }

    private func split(at bound: UInt64) {
        guard let index = regions.firstIndex(where: { $0.start < bound && bound < $0.end }) else { return }
        var upper = regions[index]
        upper.start = bound
        regions[index].end = bound
        regions.insert(upper, at: index + 1)
    }

    /// Removes `range` from every region it overlaps (splitting them) and
    /// unmaps its pages.
    func removeRange(_ range: Range<UInt64>) {
        splitRegions(at: range)
        regions.removeAll { range.lowerBound <= $0.start && $0.end <= range.upperBound }
        unmapPages(range)
    }

    /// Whether `[start, end)` overlaps no region.
    func isFree(_ start: UInt64, _ end: UInt64) -> Bool {
        !regions.contains { $0.start < end && start < $0.end }
    }

    /// The highest free page-aligned range of `length` bytes below
    /// `mmapTop` (top-down first fit, as Linux places mmap): a range freed
    /// is found again, so the address span in use, and the page tables kept
    /// for it, stay at the peak footprint rather than creep downwards.
    func findFreeRange(length: UInt64) -> UInt64? {
        guard length > 0, length <= Self.mmapTop else { return nil }
        var ceiling = Self.mmapTop
        // Regions are sorted and disjoint: walking them down, each leaves
        // the gap between its end and the ceiling.
        for region in regions.reversed() where region.start < ceiling {
            if region.end <= ceiling && ceiling - region.end >= length { return ceiling - length }
            ceiling = region.start
        }
        guard ceiling >= length, ceiling - length >= Self.pageSize * 16 else { return nil }
        return ceiling - length
    }

    /// Changes the protection of `range` (split regions as needed);
    /// `ENOMEM` if part of it is not mapped.
    func protect(_ range: Range<UInt64>, to protection: Protection) throws(Errno) {
        var covered: UInt64 = 0
        for region in regions where region.start < range.upperBound && range.lowerBound < region.end {
            covered += min(region.end, range.upperBound) - max(region.start, range.lowerBound)
        }
        guard covered == range.upperBound - range.lowerBound else { throw .outOfMemory }
        if protection.contains(.write),
           regions.contains(where: { $0.start < range.upperBound && range.lowerBound < $0.end && !$0.mayWrite }) {
            throw .accessDenied
        }
        splitRegions(at: range)
        for index in regions.indices where range.lowerBound <= regions[index].start && regions[index].end <= range.upperBound {
            regions[index].protection = protection
        }
        // Present pages take the new flags now (write stays off for shared
        // frames: the next write copies them).
        var page = range.lowerBound
        while page < range.upperBound {
            if let translation = mapper.translate(page) {
                let sharedRegion = regionIndex(containing: page).map { regions[$0].isShared } ?? false
                let copyOnWrite = !sharedRegion && FrameReferences.count(translation.physicalAddress) > 1
                try? mapper.protect(virtual: page, size: .small, flags: leafFlags(protection, shared: copyOnWrite))
            }
            page += Self.pageSize
        }
        TLB.shootdown(range, addressSpace: root)
    }

    /// mremap: the region at `[start, start + oldSize)` becomes
    /// `newSize` long, in place when it can, else (with `mayMove`) at a new
    /// address with its pages moved (frames keep their contents, nothing is
    /// copied). Returns the new start.
    func resize(start: UInt64, oldSize: UInt64, newSize: UInt64, mayMove: Bool) throws(Errno) -> UInt64 {
        guard let index = regionIndex(containing: start), regions[index].start == start,
              regions[index].end >= start + oldSize else { throw .badAddress }
        let region = regions[index]
        if newSize <= oldSize {
            if newSize < oldSize { removeRange((start + newSize)..<(start + oldSize)) }
            return start
        }
        if regions[index].end == start + oldSize && isFree(start + oldSize, start + newSize)
            && UserMode.isUserRange(start, newSize) {
            regions[index].end = start + newSize
            return start
        }
        guard mayMove else { throw .outOfMemory }
        guard let target = findFreeRange(length: newSize) else { throw .outOfMemory }
        var moved = region
        moved.start = target
        moved.end = target + newSize
        let slot = regions.firstIndex { $0.start >= moved.end } ?? regions.count
        regions.insert(moved, at: slot)
        var offset: UInt64 = 0
        while offset < oldSize {
            if let translation = mapper.translate(start + offset),
               let frame = try? mapper.unmap(virtual: start + offset, size: .small) {
                do { try mapper.map(virtual: target + offset, physical: frame, size: .small, flags: translation.flags) } catch {
                    FrameReferences.release(frame)
                }
            }
            offset += Self.pageSize
        }
        TLB.shootdown(start..<(start + oldSize), addressSpace: root)
        removeRange(start..<(start + oldSize))
        return target
    }

    // MARK: Program break

    /// Sets where the heap starts (just above the loaded image).
    func setBreakStart(_ address: UInt64) {
        breakStart = Alignment.alignUp(address, to: Self.pageSize) ?? address
        breakEnd = breakStart
    }

    /// brk(2): moves the break to `requested` if it can, and returns the
    /// break in effect (Linux returns the old one on failure, never an error).
    func setBreak(_ requested: UInt64) -> UInt64 {
        guard requested >= breakStart, requested < UserMode.userEnd else { return breakEnd }
        let oldTop = Alignment.alignUp(breakEnd, to: Self.pageSize)!
        let newTop = Alignment.alignUp(requested, to: Self.pageSize)!
        if newTop > oldTop {
            guard isFree(oldTop, newTop) else { return breakEnd }
            addRegion(Region(start: oldTop, end: newTop, protection: [.read, .write]))
            mergeBreakRegions()
        } else if newTop < oldTop {
            removeRange(newTop..<oldTop)
        }
        breakEnd = requested
        return breakEnd
    }

    /// Keeps the heap one region (brk growth appends page by page).
    private func mergeBreakRegions() {
        var merged: [Region] = []
        for region in regions {
            if var last = merged.last, last.end == region.start, last.protection == region.protection,
               !last.isStack, !region.isStack, region.start >= breakStart, last.start >= breakStart {
                last.end = region.end
                merged[merged.count - 1] = last
            } else {
                merged.append(region)
            }
        }
        regions = merged
    }

    // MARK: Pages

    /// The leaf flags for a page of `protection`; `shared` (a frame that
    /// is copy-on-write) keeps it read-only. PROT_NONE pages stay mapped
    /// but supervisor-only, so every user access faults.
    private func leafFlags(_ protection: Protection, shared: Bool) -> PageFlags {
        var flags: PageFlags = protection.isEmpty ? [.present] : [.present, .user]
        if protection.contains(.write) && !shared { flags.insert(.writable) }
        if !protection.contains(.execute) && KernelAddressSpace.features.noExecute { flags.insert(.noExecute) }
        return flags
    }

    /// A zeroed frame mapped at `page` with the region's protection; its
    /// kernel (direct-map) address, for filling it.
    @discardableResult
    func populate(page: UInt64, protection: Protection) throws(Errno) -> UnsafeMutableRawPointer {
        let frame: UInt64
        do { frame = try PhysicalMemory.allocateZeroedFrame() } catch { throw .outOfMemory }
        do {
            try mapper.map(virtual: page, physical: frame, size: .small, flags: leafFlags(protection, shared: false))
        } catch {
            try? PhysicalMemory.free(frame, order: 0)
            throw error == .outOfMemory ? .outOfMemory : .invalidArgument
        }
        FrameReferences.adopt(frame)
        return UnsafeMutableRawPointer(bitPattern: UInt(KernelLayout.virtual(physical: frame)))!
    }

    /// Maps `frames` read-write and shared (fork keeps them shared) at a
    /// free range; each frame gains a reference, which munmap or the
    /// space's end drops. Returns the range's start. Lock held.
    /// With `isPrivate` the region is ordinary private memory (moved grant
    /// pages): a frame someone else still references is mapped
    /// copy-on-write, so writes here never reach them.
    func mapShared(frames: [UInt64], writable: Bool = true, isPrivate: Bool = false) throws(Errno) -> UInt64 {
        let length = UInt64(frames.count) * Self.pageSize
        guard let start = findFreeRange(length: length) else { throw .outOfMemory }
        let protection: Protection = writable ? [.read, .write] : [.read]
        addRegion(Region(start: start, end: start + length, protection: protection, isShared: !isPrivate,
                         mayWrite: writable))
        try mapFrames(frames, at: start, protection: protection, isPrivate: isPrivate)
        return start
    }

    /// Maps `frames` at `start` (a region already covers them, with no
    /// page present), each with a reference of the mapping's own. On
    /// failure the whole range goes, region included. Lock held.
    private func mapFrames(_ frames: [UInt64], at start: UInt64, protection: Protection,
                           isPrivate: Bool) throws(Errno) {
        for (index, frame) in frames.enumerated() {
            // The caller holds one reference of its own (ring, grant):
            // more means the frame is also mapped elsewhere.
            let copyOnWrite = isPrivate && FrameReferences.count(frame) > 1
            do {
                try mapper.map(virtual: start + UInt64(index) * Self.pageSize, physical: frame, size: .small,
                               flags: leafFlags(protection, shared: copyOnWrite))
            } catch {
                removeRange(start..<start + UInt64(frames.count) * Self.pageSize)   // drops the references taken so far
                throw .outOfMemory
            }
            _ = FrameReferences.retain(frame)
        }
    }

    // MARK: Grant windows

    /// Where the grant last taken from a ring that maps grants at receive
    /// (or delivered at send to a receiver waiting on it) is mapped
    /// (read-only), until the next receive on that ring revokes it. One
    /// per ring, at most `grantWindowLimit` per address space.
    struct GrantWindow {
        /// `KernelRing.serial`: a window outlives its ring, and a new ring
        /// may take the old one's address.
        let ring: UInt64
        let range: Range<UInt64>
        /// `regionsVersion` when the window was last seen standing as the
        /// kernel made it.
        var intactAt: UInt64
    }

    /// Oldest first (by when each window was made): a ring beyond the
    /// limit revokes the oldest.
    private var grantWindows: [GrantWindow] = []
    static let grantWindowLimit = 8

    /// Maps `frames` read-only as `ring`'s grant window, revoking the grant
    /// the window held: in place when the window stands and has their size
    /// (no region changes, no range to find), else as a new range. Returns
    /// the window's start. Lock held.
    func mapGrantWindow(frames: [UInt64], for ring: UInt64) throws(Errno) -> UInt64 {
        if let index = intactWindow(for: ring, pages: frames.count),
           let start = replaceWindow(at: index, frame: { frames[$0] }) {
            return start
        }
        revokeGrantWindow(for: ring)
        if grantWindows.count >= Self.grantWindowLimit { revoke(grantWindows.removeFirst()) }
        let length = UInt64(frames.count) * Self.pageSize
        guard let start = findFreeRange(length: length) else { throw .outOfMemory }
        addRegion(Region(start: start, end: start + length, protection: [.read], isShared: true, mayWrite: false,
                         isGrantWindow: true))
        try mapFrames(frames, at: start, protection: [.read], isPrivate: false)
        grantWindows.append(GrantWindow(ring: ring, range: start..<start + length, intactAt: regionsVersion))
        return start
    }

    /// Map-at-send (`IPC.deliverGrant`): the pages of `sender`'s `[start, end)`
    /// (page-aligned) into `ring`'s window here, in place, as
    /// `mapGrantWindow` would map them at receive. Nothing is pinned: the
    /// frames are read from the sender's tables under its lock, which the
    /// caller holds with this space's (or it is this space), so none can
    /// leave the sender before the window holds its own reference (taken
    /// for each page that changes; an unchanged page keeps the one it has).
    /// Nil, with nothing changed, when there is no standing window of that
    /// size or a page of the sender's is not present (a fault to resolve
    /// first: the caller pins and parks instead).
    func deliverGrant(from sender: UserAddressSpace, _ start: UInt64, _ end: UInt64, for ring: UInt64) -> UInt64? {
        guard let index = intactWindow(for: ring, pages: Int((end - start) / Self.pageSize)) else { return nil }
        let window = grantWindows[index].range.lowerBound
        // One pass checks every page of the sender's and whether the window
        // already maps them all (the same buffer granted again: nothing to
        // change); only otherwise a second one replaces.
        var unchanged = true
        var page = start
        while page < end {
            // A present user page is readable (PROT_NONE is supervisor-only).
            guard let leaf = sender.mapper.smallLeaf(page), leaf.isPresent, leaf.flags.contains(.user) else {
                return nil
            }
            unchanged = unchanged && windowMaps(leaf.physicalAddress, at: window + (page - start))
            page += Self.pageSize
        }
        if unchanged { return window }
        return replaceWindow(at: index) { page in
            sender.mapper.smallLeaf(start + UInt64(page) * Self.pageSize).unsafelyUnwrapped.physicalAddress
        }
    }

    /// Whether the window page at `virtual` maps `frame` as the window
    /// maps its pages: `replace` would change nothing.
    @inline(__always)
    private func windowMaps(_ frame: UInt64, at virtual: UInt64) -> Bool {
        guard let leaf = mapper.smallLeaf(virtual), leaf.isPresent, leaf.physicalAddress == frame else { return false }
        return leaf.flags.subtracting([.accessed, .dirty]) == leafFlags([.read], shared: false).union(.present)
    }

    /// Whether `ring`'s window stands as the kernel left it and holds
    /// `[address, address + length)`: a grant delivered at send names such
    /// a range. Lock held.
    func grantWindow(for ring: UInt64, holds address: UInt64, length: UInt64) -> Bool {
        guard let index = intactWindow(for: ring) else { return false }
        let range = grantWindows[index].range
        return range.contains(address) && length <= range.upperBound - address
    }

    /// The index of `ring`'s window if it stands as the kernel left it (the
    /// process may have unmapped or remapped it: then it is left alone)
    /// and, if given, has `pages` pages. Regions are searched only when
    /// they changed since the window was last seen intact.
    private func intactWindow(for ring: UInt64, pages: Int? = nil) -> Int? {
        guard let index = grantWindows.firstIndex(where: { $0.ring == ring }) else { return nil }
        let window = grantWindows[index]
        if let pages, window.range.upperBound - window.range.lowerBound != UInt64(pages) * Self.pageSize { return nil }
        if window.intactAt != regionsVersion {
            guard standsIntact(window) else { return nil }
            grantWindows[index].intactAt = regionsVersion
        }
        return index
    }

    /// The window at `index`, intact, pointed at `frame(page)` for each of
    /// its pages; returns its start. If that fails (`replaceFrames`) the
    /// window is removed: nil.
    private func replaceWindow(at index: Int, frame: (Int) -> UInt64) -> UInt64? {
        let range = grantWindows[index].range
        if replaceFrames(in: range, frame: frame) { return range.lowerBound }
        grantWindows.remove(at: index)
        removeRange(range)
        return nil
    }

    /// The pages of `range` pointed at `frame(page)` each (the old frames'
    /// references dropped, the new ones taken), then one TLB flush if any
    /// page changed. A page that already maps its frame (a sender granting
    /// the same buffer again) keeps its reference and needs no flush. A
    /// page the process emptied (madvise) is mapped afresh; false only when
    /// that fails for want of a table page, and the caller then removes the
    /// whole range (each page mapped holds its reference).
    private func replaceFrames(in range: Range<UInt64>, frame frameOf: (Int) -> UInt64) -> Bool {
        let flags = leafFlags([.read], shared: false)
        var changed = false
        defer { if changed { TLB.shootdown(range, addressSpace: root) } }
        for page in 0..<Int((range.upperBound - range.lowerBound) / Self.pageSize) {
            let virtual = range.lowerBound + UInt64(page) * Self.pageSize
            let frame = frameOf(page)
            // The same entry already: the one look `replace` would take,
            // without its walk.
            if windowMaps(frame, at: virtual) { continue }
            if let replaced = try? mapper.replace(virtual: virtual, physical: frame, size: .small, flags: flags) {
                if replaced.unchanged { continue }      // the same entry: nothing to flush or count
                FrameReferences.release(replaced.previous)
            } else {
                do { try mapper.map(virtual: virtual, physical: frame, size: .small, flags: flags) } catch {
                    return false
                }
            }
            changed = true
            _ = FrameReferences.retain(frame)
        }
        return true
    }

    /// Revokes `ring`'s grant window, if it has one. Lock held.
    func revokeGrantWindow(for ring: UInt64) {
        guard let index = grantWindows.firstIndex(where: { $0.ring == ring }) else { return }
        revoke(grantWindows.remove(at: index))
    }

    private func revoke(_ window: GrantWindow) {
        if standsIntact(window) { removeRange(window.range) }
    }

    /// Whether the window's region is still exactly the one the kernel made.
    private func standsIntact(_ window: GrantWindow) -> Bool {
        regions.contains {
            $0.isGrantWindow && $0.start == window.range.lowerBound && $0.end == window.range.upperBound
        }
    }

    /// The frames under `[start, end)` (page-aligned), each present for
    /// reading (faulted in if needed) and given one more reference: what a
    /// zero-copy grant holds. EFAULT if any page is not readable memory.
    /// Lock held.
    func pinFrames(_ start: UInt64, _ end: UInt64) throws(Errno) -> [UInt64] {
        var frames: [UInt64] = []
        frames.reserveCapacity(Int((end - start) / Self.pageSize))
        var page = start
        while page < end {
            // One lookup for a page already there: a present user page is
            // readable (PROT_NONE pages are mapped supervisor-only). User
            // memory is mapped in 4 KiB pages only.
            var leaf = mapper.smallLeaf(page)
            if !(leaf.map { $0.isPresent && $0.flags.contains(.user) } ?? false) {
                leaf = resolveFault(at: page, write: false, execute: false) ? mapper.smallLeaf(page) : nil
            }
            guard let leaf, leaf.isPresent, leaf.flags.contains(.user) else {
                for frame in frames { FrameReferences.release(frame) }
                throw .badAddress
            }
            _ = FrameReferences.retain(leaf.physicalAddress)
            frames.append(leaf.physicalAddress)
            page += Self.pageSize
        }
        return frames
    }

    /// The kernel address of the byte at user `address`, if its page is present.
    func kernelAddress(of address: UInt64) -> UnsafeMutableRawPointer? {
        guard let translation = mapper.translate(address) else { return nil }
        return UnsafeMutableRawPointer(bitPattern: UInt(KernelLayout.virtual(physical: translation.physicalAddress)))
    }

    private func unmapPages(_ range: Range<UInt64>) {
        var page = range.lowerBound
        var any = false
        while page < range.upperBound {
            // One walk per page: unmap reports an absent page itself.
            if let frame = try? mapper.unmap(virtual: page, size: .small) {
                FrameReferences.release(frame)
                any = true
            }
            page += Self.pageSize
        }
        if any { TLB.shootdown(range, addressSpace: root) }
    }

    /// Makes a user fault at `address` good if the access is allowed:
    /// maps a zeroed page, copies a shared page on write, or grows the
    /// stack. Returns false when the access is the program's error.
    func resolveFault(at address: UInt64, write: Bool, execute: Bool) -> Bool {
        guard address >= UserMode.userBase && address < UserMode.userEnd else { return false }
        let page = Alignment.alignDown(address, to: Self.pageSize)
        var index = regionIndex(containing: address)
        if index == nil, let stack = regions.firstIndex(where: { $0.isStack && $0.start > address }),
           regions[stack].start - page <= Self.stackLimit,
           stack == 0 || regions[stack - 1].end <= page {
            regions[stack].start = page                       // the stack grows down
            index = stack
        }
        guard let index else { return false }
        let protection = regions[index].protection
        if write && !protection.contains(.write) { return false }
        if execute && !protection.contains(.execute) { return false }
        if !write && !execute && protection.isEmpty { return false }
        if let translation = mapper.translate(page) {
            // Another thread of the process (on another CPU) resolved this
            // page between our fault and our taking the lock: retry. A
            // stale entry for the old state is dropped from this TLB.
            let flags = translation.flags
            if flags.contains(.user) && (!write || flags.contains(.writable)) && (!execute || !flags.contains(.noExecute)) {
                exo_invlpg(page)
                return true
            }
            // Present: only a write to a copy-on-write page is fixable.
            guard write, !translation.flags.contains(.writable), !protection.isEmpty else { return false }
            let frame = translation.physicalAddress
            if FrameReferences.count(frame) == 1 || regions[index].isShared {
                try? mapper.protect(virtual: page, size: .small, flags: leafFlags(protection, shared: false))
            } else {
                guard let copy = try? PhysicalMemory.allocateZeroedFrame() else { return false }
                let from = UnsafeRawPointer(bitPattern: UInt(KernelLayout.virtual(physical: frame)))!
                let to = UnsafeMutableRawPointer(bitPattern: UInt(KernelLayout.virtual(physical: copy)))!
                to.copyMemory(from: from, byteCount: Int(Self.pageSize))
                _ = try? mapper.unmap(virtual: page, size: .small)
                do { try mapper.map(virtual: page, physical: copy, size: .small, flags: leafFlags(protection, shared: false)) } catch {
                    try? PhysicalMemory.free(copy, order: 0)
                    return false
                }
                FrameReferences.adopt(copy)
                FrameReferences.release(frame)
            }
            exo_invlpg(page)
            return true
        }
        return (try? populate(page: page, protection: protection)) != nil
    }

    /// fork: a new space with the same regions, every present page shared
    /// copy-on-write (read-only in both until written).
    func duplicate() throws(Errno) -> UserAddressSpace {
        let child = try UserAddressSpace()
        child.regions = regions
        child.breakStart = breakStart
        child.breakEnd = breakEnd
        for region in regions {
            var page = region.start
            while page < region.end {
                // Shared memory must be the same frames in both: fill the
                // pages nobody touched yet, then share them writable.
                if region.isShared && mapper.translate(page) == nil {
                    try populate(page: page, protection: region.protection)
                }
                if let translation = mapper.translate(page) {
                    let frame = translation.physicalAddress
                    let flags = leafFlags(region.protection, shared: !region.isShared)
                    do { try child.mapper.map(virtual: page, physical: frame, size: .small, flags: flags) } catch {
                        throw .outOfMemory                   // the child's deinit unmaps what it got
                    }
                    FrameReferences.retain(frame)
                    if !region.isShared && translation.flags.contains(.writable) {
                        try? mapper.protect(virtual: page, size: .small, flags: flags)
                    }
                }
                page += Self.pageSize
            }
        }
        TLB.shootdown(UserMode.userBase..<UserMode.userEnd, addressSpace: root)
        return child
    }
}
