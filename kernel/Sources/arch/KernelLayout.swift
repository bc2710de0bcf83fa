import CExoArch

/// Where things are in the kernel's virtual address space.
///
/// ```
/// 0x0000_0000_0000_0000  user space (unmapped in the kernel's own tables
///                        once boot drops the identity map; null page never mapped)
/// 0x0000_4000_0000_0000  KERNEL_BASE: direct map of physical memory
///                        (physical p is at KERNEL_BASE + p; boot maps 4 GiB)
/// 0x0000_4000_0010_0000  the kernel image (loaded at physical 1 MiB)
/// 0x0000_8000_0000_0000  end of the low canonical half
/// ```
/// The same values live in kernel/arch/x86_64/layout.h for the assembly;
/// the `kernel.layout_matches_linker` test checks the two agree.
enum KernelLayout {
    static let kernelBase: UInt64 = 0x0000_4000_0000_0000
    static let imagePhysicalLoad: UInt64 = 0x10_0000
    /// How much physical memory the boot page tables map at `kernelBase`.
    static let bootDirectMapSize: UInt64 = 4 << 30
    static let pageSize: UInt64 = 4096
    static let largePageSize: UInt64 = 2 << 20

    /// The direct-map virtual address of physical address `physical`.
    static func virtual(physical: UInt64) -> UInt64 { kernelBase &+ physical }
    /// The physical address behind direct-map address `virtual`.
    static func physical(virtual: UInt64) -> UInt64 { virtual &- kernelBase }

    static var imageStart: UInt64 { __image_start_address() }
    static var imageEnd: UInt64 { __image_end_address() }
    static var textStart: UInt64 { __text_start_address() }
    static var textEnd: UInt64 { __text_end_address() }

    /// Physical range occupied by the kernel image, bss and early heap.
    static var imagePhysicalRange: Range<UInt64> {
        physical(virtual: imageStart)..<physical(virtual: imageEnd)
    }

    static func isText(_ address: UInt64) -> Bool { address >= textStart && address < textEnd }
}
