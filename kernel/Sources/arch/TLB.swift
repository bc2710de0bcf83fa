import CExoArch

/// Translation lookaside buffer management.
///
/// - One page: `invlpg`. Whole address space: reload CR3 (does not drop
///   global pages). Everything including global pages: toggle CR4.PGE.
/// - PCID (when the CPU has it): CR4.PCIDE is set, the kernel address space
///   runs as PCID 0, and a CR3 load can keep another PCID's entries (bit 63).
/// - Shootdown: changing a mapping other CPUs may have cached means flushing
///   it everywhere. `shootdown` flushes locally, then asks `remoteDelivery`
///   to interrupt every other CPU that may hold the address space; with one
///   CPU online there is nobody to ask. The SMP work installs an IPI sender
///   there; callers already go through this one entry point.
enum TLB {
    nonisolated(unsafe) private(set) static var pcidEnabled = false
    nonisolated(unsafe) private(set) static var shootdownCount: UInt64 = 0
    nonisolated(unsafe) private(set) static var remoteRequests: UInt64 = 0

    /// What a remote CPU must flush.
    struct ShootdownRequest {
        /// The page-aligned virtual range changed.
        let range: Range<UInt64>
        /// The address space changed (CR3 root), or nil for the kernel half,
        /// which every address space shares.
        let addressSpace: UInt64?
    }

    /// Delivers a request to other CPUs and waits until each has flushed.
    /// Nil while only the boot CPU runs.
    nonisolated(unsafe) static var remoteDelivery: ((ShootdownRequest) -> Void)? = nil

    static let pcidEnableBit: UInt64 = 1 << 17
    static let globalPagesBit: UInt64 = 1 << 7

    static var cpuHasPCID: Bool { CPU.cpuid(1).ecx & (1 << 17) != 0 }

    /// Turns on global pages and, when present, PCIDs. Called once on the
    /// kernel address space, whose CR3 has PCID 0 (required to set PCIDE).
    static func enableFeatures() {
        CPU.cr4 = CPU.cr4 | globalPagesBit
        if cpuHasPCID && CPU.cr3 & 0xFFF == 0 {
            CPU.cr4 = CPU.cr4 | pcidEnableBit
            pcidEnabled = true
        }
    }

    @inline(__always)
    static func flush(page virtual: UInt64) { exo_invlpg(virtual) }

    /// Drops every non-global translation of the current address space.
    static func flushAddressSpace() { CPU.cr3 = CPU.cr3 & ~(1 << 63) }

    /// Drops every translation, global ones included.
    static func flushEverything() {
        let cr4 = CPU.cr4
        CPU.cr4 = cr4 & ~globalPagesBit
        CPU.cr4 = cr4
    }

    /// Makes a change to `range` visible on every CPU. Large ranges (more
    /// than 32 pages) are flushed wholesale: cheaper than page by page.
    static func shootdown(_ range: Range<UInt64>, addressSpace: UInt64? = nil) {
        shootdownCount &+= 1
        let pages = (range.upperBound - range.lowerBound + KernelLayout.pageSize - 1) / KernelLayout.pageSize
        if pages > 32 {
            if addressSpace == nil { flushEverything() } else { flushAddressSpace() }
        } else {
            var page = range.lowerBound & ~(KernelLayout.pageSize - 1)
            while page < range.upperBound {
                flush(page: page)
                page += KernelLayout.pageSize
            }
        }
        if let deliver = remoteDelivery {
            remoteRequests &+= 1
            deliver(ShootdownRequest(range: range, addressSpace: addressSpace))
        }
    }
}
