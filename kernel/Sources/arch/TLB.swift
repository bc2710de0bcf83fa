import CExoArch
import Synchronization

/// Translation lookaside buffer management.
///
/// - One page: `invlpg`. Whole address space: reload CR3 (does not drop
///   global pages). Everything including global pages: toggle CR4.PGE.
/// - PCID (when the CPU has it): CR4.PCIDE is set, the kernel address space
///   runs as PCID 0, and a CR3 load can keep another PCID's entries (bit 63).
/// - Shootdown: changing a mapping other CPUs may have cached means flushing
///   it everywhere. `shootdown` flushes locally, then `remoteDelivery`
///   interrupts every other online CPU (vector 242) and waits for each to
///   flush; with one CPU there is nobody to ask.
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

    // MARK: Cross-CPU shootdown (installed by `enableRemoteShootdown`)
    //
    // One request in flight at a time (`shootdownLock`), numbered by
    // `generation`. A CPU answers a request once: it flushes, records the
    // generation as serviced and adds one acknowledgement. It answers from
    // the IPI handler, or, if it is spinning on a lock with interrupts off
    // (when the IPI cannot be taken), from the lock's spin loop
    // (`answerPendingShootdown`). Without the second way, a CPU spinning
    // with interrupts off on a lock the requester holds would never answer,
    // and both would wait forever.

    nonisolated(unsafe) private static var pending = ShootdownRequest(range: 0..<0, addressSpace: nil)
    nonisolated(unsafe) private static var acknowledgements: UnsafeMutablePointer<Atomic<Int>> = UnsafeMutablePointer(bitPattern: 8)!
    /// The number of the request in `pending`; published after it.
    nonisolated(unsafe) private static var generation: UnsafeMutablePointer<Atomic<UInt64>> = UnsafeMutablePointer(bitPattern: 8)!
    /// Per CPU: the last generation it answered (written by that CPU only).
    nonisolated(unsafe) private static var answered: UnsafeMutablePointer<UInt64> = UnsafeMutablePointer(bitPattern: 8)!
    nonisolated(unsafe) private static var remoteEnabled = false
    static let shootdownLock = KernelSpinLock()

    /// Once other CPUs run: every shootdown interrupts them (vector 242)
    /// and waits until each has flushed.
    static func enableRemoteShootdown() {
        acknowledgements = .allocate(capacity: 1)
        acknowledgements.initialize(to: Atomic(0))
        generation = .allocate(capacity: 1)
        generation.initialize(to: Atomic(0))
        answered = .allocate(capacity: SMP.maximumCPUs)
        answered.initialize(repeating: 0, count: SMP.maximumCPUs)
        Interrupts.register(vector: Interrupts.tlbShootdown) { answerPendingShootdown() }
        remoteDelivery = { request in
            shootdownLock.lock()
            defer { shootdownLock.unlock() }
            let me = SMP.currentIndex
            let number = generation.pointee.load(ordering: .relaxed) &+ 1
            answered[me] = number              // flushed locally already
            pending = request
            acknowledgements.pointee.store(0, ordering: .relaxed)
            generation.pointee.store(number, ordering: .releasing)
            var others = 0
            for cpu in 0..<SMP.count where cpu != me {
                LocalAPIC.sendInterrupt(to: SMP.cpus[cpu].apicID, vector: Interrupts.tlbShootdown)
                others += 1
            }
            var spins: UInt64 = 0
            while acknowledgements.pointee.load(ordering: .acquiring) < others {
                exo_pause()
                spins += 1
                if spins == 2_000_000_000 { panic("TLB shootdown: a CPU did not answer") }
            }
        }
        remoteEnabled = true
    }

    /// Flushes and acknowledges the request in flight if this CPU has not
    /// yet: from the IPI, and from spin loops that wait with interrupts off.
    @inline(__always)
    static func answerPendingShootdown() {
        guard remoteEnabled else { return }
        let number = generation.pointee.load(ordering: .acquiring)
        let me = SMP.currentIndex
        guard answered[me] != number else { return }
        answered[me] = number
        // `pending` is stable: the next request waits for this answer.
        flushLocally(pending)
        acknowledgements.pointee.add(1, ordering: .releasing)
    }

    private static func flushLocally(_ request: ShootdownRequest) {
        let pages = (request.range.upperBound - request.range.lowerBound + KernelLayout.pageSize - 1) / KernelLayout.pageSize
        if pages > 32 {
            if request.addressSpace == nil { flushEverything() } else { flushAddressSpace() }
        } else {
            var page = request.range.lowerBound & ~(KernelLayout.pageSize - 1)
            while page < request.range.upperBound {
                flush(page: page)
                page += KernelLayout.pageSize
            }
        }
    }

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
        let request = ShootdownRequest(range: range, addressSpace: addressSpace)
        flushLocally(request)
        if let deliver = remoteDelivery, SMP.count > 1 {
            remoteRequests &+= 1
            deliver(request)
        }
    }
}
