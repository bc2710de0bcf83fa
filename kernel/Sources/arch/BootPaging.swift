import CExoArch

/// Adjustments to the boot page tables that must happen before anything
/// else runs deep on the boot stack.
///
/// The boot tables (boot.S) map 4 GiB with 2 MiB pages, too coarse for a
/// guard page. This splits the one 2 MiB page holding the boot stack's
/// guard into 4 KiB pages and leaves the guard unmapped, so a boot-stack
/// overflow faults instead of silently overwriting what lies below.
/// The memory-management work replaces these tables entirely.
enum BootPaging {
    private static let present: UInt64 = 1 << 0
    private static let writable: UInt64 = 1 << 1
    private static let huge: UInt64 = 1 << 7
    private static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000

    static func unmapBootStackGuard() {
        let guardPhysical = KernelLayout.physical(virtual: boot_stack_guard_page_address())
        let directoryIndex = Int(guardPhysical >> 21)
        // Safety: boot_pd is 4 contiguous page directories (2048 entries)
        // covering physical 0-4 GiB, and the guard lies in the image below 4 GiB.
        let directory = UnsafeMutablePointer<UInt64>(bitPattern: UInt(boot_pd_address()))!
        let table = UnsafeMutablePointer<UInt64>(bitPattern: UInt(boot_split_pt_address()))!
        let largeEntry = directory[directoryIndex]
        precondition(largeEntry & huge != 0, "the guard's 2 MiB page is already split")
        let largeBase = largeEntry & addressMask
        for index in 0..<512 {
            table[index] = (largeBase + UInt64(index) * KernelLayout.pageSize) | present | writable
        }
        table[Int((guardPhysical >> 12) & 511)] = 0
        directory[directoryIndex] = KernelLayout.physical(virtual: boot_split_pt_address()) | present | writable
        // The old 2 MiB translation may be cached: reload CR3 to flush it.
        CPU.cr3 = CPU.cr3
    }
}
