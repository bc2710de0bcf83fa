import CExoArch
import ExoBoot
import ExoKit
import ExoMemory
import ExoX86

/// Page-table pages reached through the direct map, allocated as frames.
struct DirectMapTableMemory: PageTableMemory {
    func entries(ofTableAt address: UInt64) -> UnsafeMutablePointer<PageTableEntry> {
        // Safety: table pages are RAM frames, all inside the direct map.
        UnsafeMutablePointer(bitPattern: UInt(KernelLayout.virtual(physical: address)))!
    }

    func allocateTablePage() throws(MemoryError) -> UInt64 {
        try PhysicalMemory.allocateZeroedFrame()
    }

    func freeTablePage(_ address: UInt64) {
        do { try PhysicalMemory.free(address, order: 0) } catch {
            panic("page tables: freeing table page \(Hex.string(address)): \(error.description)")
        }
    }
}

/// The kernel's own address space, built in Swift to replace the boot
/// tables:
///
/// ```
/// 0x0000_0000_0000_0000  user half: nothing mapped (null page included)
/// 0x0000_4000_0000_0000  direct map of RAM [0, top), RW NX global, 2 MiB pages
///                        where aligned, except the image:
/// 0x0000_4000_0010_0000    .boot+.text  R X      .rodata  R NX
///                          .data .. early heap  RW NX, stack guard pages unmapped
/// 0x0000_7000_0000_0000  kernel virtual ranges (stacks, MMIO), KernelVirtualMemory
/// ```
/// CPU protections turned on with it: EFER.NXE (no-execute bits honoured),
/// CR0.WP (read-only pages are read-only for the kernel too), and SMEP/SMAP
/// where the CPU model has them (kernel never executes, and only the
/// user-copy routines access, user pages).
enum KernelAddressSpace {
    nonisolated(unsafe) private static var mapper: PageTableMapper<DirectMapTableMemory>? = nil
    nonisolated(unsafe) private(set) static var features = Features()
    /// Serialises changes to the kernel's tables between CPUs.
    static let lock = KernelSpinLock()

    struct Features {
        var noExecute = false
        var supervisorModeExecutionPrevention = false
        var supervisorModeAccessPrevention = false
    }

    static let eferNoExecuteEnable: UInt64 = 1 << 11
    static let cr4SMEP: UInt64 = 1 << 20
    static let cr4SMAP: UInt64 = 1 << 21

    /// The PML4's physical address (0 before `build`): a plain copy of
    /// `mapper.root`, read on every context switch.
    nonisolated(unsafe) private(set) static var root: UInt64 = 0

    /// Firmware regions above the top of RAM that the direct map also
    /// covers (uncached): ACPI tables live there on QEMU's PC.
    nonisolated(unsafe) private(set) static var firmwareRanges: [Range<UInt64>] = []

    /// Whether physical `address` is reachable through the direct map.
    static func isDirectMapped(_ address: UInt64) -> Bool {
        guard mapper != nil else { return address < KernelLayout.bootDirectMapSize }
        return address < PhysicalMemory.top || firmwareRanges.contains { $0.contains(address) }
    }

    /// Builds the tables described above and switches to them.
    static func build(memoryMap: [MemoryRegion]) throws(MemoryError) {
        features.noExecute = CPU.cpuid(0x8000_0001).edx & (1 << 20) != 0
        let leaf7 = CPU.cpuid(0).eax >= 7 ? CPU.cpuid(7).ebx : 0
        features.supervisorModeExecutionPrevention = leaf7 & (1 << 7) != 0
        features.supervisorModeAccessPrevention = leaf7 & (1 << 20) != 0
        if features.noExecute { CPU.write(.efer, CPU.read(.efer) | eferNoExecuteEnable) }

        let noExecute: PageFlags = features.noExecute ? .noExecute : []
        let code: PageFlags = [.present, .global]
        let readOnly: PageFlags = code.union(noExecute)
        let data: PageFlags = [.present, .writable, .global, noExecute]

        var space = try PageTableMapper(memory: DirectMapTableMemory())
        space.freesEmptyTables = false
        let image = KernelLayout.imagePhysicalRange
        let base = KernelLayout.kernelBase
        try space.mapRange(virtual: base, physical: 0, length: image.lowerBound, flags: data)
        try space.mapRange(virtual: base + image.upperBound, physical: image.upperBound,
                           length: PhysicalMemory.top - image.upperBound, flags: data)
        // Firmware-owned regions beyond the top of RAM and below 4 GiB (ACPI
        // tables, BIOS ROM): readable through the direct map, uncached.
        var firmware: [Range<UInt64>] = []
        for region in memoryMap where region.kind != .available && region.base >= PhysicalMemory.top
            && region.end <= KernelLayout.bootDirectMapSize {
            let start = Alignment.alignDown(region.base, to: KernelLayout.pageSize)
            let end = Alignment.alignUp(region.end, to: KernelLayout.pageSize) ?? region.end
            try space.mapRange(virtual: base + start, physical: start, length: end - start,
                               flags: data.union([.cacheDisable, .writeThrough]))
            firmware.append(start..<end)
        }
        firmwareRanges = firmware
        try mapImage(KernelLayout.imageStart..<__rodata_start_address(), flags: code, into: &space)
        try mapImage(__rodata_start_address()..<__rodata_end_address(), flags: readOnly, into: &space)
        try mapImage(__rodata_end_address()..<KernelLayout.imageEnd, flags: data, into: &space)
        for stack in KernelStacks.all {
            if let guardPage = stack.guardPage { _ = try space.unmap(virtual: guardPage, size: .small) }
        }

        CPU.cr0 = CPU.cr0 | CPU.CR0.writeProtect
        var cr4 = CPU.cr4
        if features.supervisorModeExecutionPrevention { cr4 |= cr4SMEP }
        if features.supervisorModeAccessPrevention { cr4 |= cr4SMAP }
        CPU.cr4 = cr4
        CPU.cr3 = space.root
        TLB.enableFeatures()
        mapper = space
        root = space.root
    }

    /// Maps part of the image, 4 KiB at a time, at its linked address.
    private static func mapImage(_ range: Range<UInt64>, flags: PageFlags,
                                 into space: inout PageTableMapper<DirectMapTableMemory>) throws(MemoryError) {
        var page = range.lowerBound
        while page < range.upperBound {
            try space.map(virtual: page, physical: KernelLayout.physical(virtual: page), size: .small, flags: flags)
            page += KernelLayout.pageSize
        }
    }

    /// Where `virtual` leads in the kernel's tables (tests, fault reports).
    static func translate(_ virtual: UInt64) -> Translation? {
        lock.withLock { mapper?.translate(virtual) }
    }

    /// Maps one 4 KiB page. The caller flushes nothing: a new mapping
    /// replaces a non-present entry, which no TLB caches.
    static func map(virtual: UInt64, physical: UInt64, flags: PageFlags) throws(MemoryError) {
        try lock.withLock { () throws(MemoryError) in
            try mapper!.map(virtual: virtual, physical: physical, size: .small, flags: flags)
        }
    }

    /// Unmaps one 4 KiB page on every CPU; returns the frame it mapped.
    /// The shootdown completes before interrupts come back on, so nothing
    /// can reuse the frame while a stale translation to it survives.
    static func unmap(virtual: UInt64) throws(MemoryError) -> UInt64 {
        try lock.withLock { () throws(MemoryError) -> UInt64 in
            let frame = try mapper!.unmap(virtual: virtual, size: .small)
            TLB.shootdown(virtual..<(virtual + KernelLayout.pageSize))
            return frame
        }
    }

    /// Changes one 4 KiB page's flags on every CPU.
    static func protect(virtual: UInt64, flags: PageFlags) throws(MemoryError) {
        try lock.withLock { () throws(MemoryError) in
            try mapper!.protect(virtual: virtual, size: .small, flags: flags)
            TLB.shootdown(virtual..<(virtual + KernelLayout.pageSize))
        }
    }

    /// Data flags for kernel mappings on this CPU (NX when supported).
    static var kernelDataFlags: PageFlags {
        [.present, .writable, .global, features.noExecute ? .noExecute : []]
    }
}
