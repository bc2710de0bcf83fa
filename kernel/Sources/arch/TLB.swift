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

    nonisolated(unsafe) private static var pending = ShootdownRequest(range: 0..<0, addressSpace: nil)
    nonisolated(unsafe) private static var acknowledgements: UnsafeMutablePointer<Atomic<Int>> = UnsafeMutablePointer(bitPattern: 8)!
    /// Per CPU: a request is waiting for this CPU's flush. Set by the
    /// initiator before its IPI; cleared by whoever answers first, the IPI
    /// handler or a spin loop (`answerPendingRequest`).
    nonisolated(unsafe) private static var requested: UnsafeMutablePointer<Atomic<Bool>> = UnsafeMutablePointer(bitPattern: 8)!
    nonisolated(unsafe) private static var remoteEnabled = false
    static let shootdownLock = KernelSpinLock()

    /// Once other CPUs run: every shootdown interrupts them (vector 242)
    /// and waits until each has flushed.
    ///
    /// Deadlock rule: the initiator waits for every other CPU, and a CPU
    /// that spins for a lock with interrupts off cannot take the IPI. So
    /// every spin loop (KernelSpinLock) calls `answerPendingRequest`: a CPU
    /// waiting for a lock that the initiator holds (or for `shootdownLock`
    /// itself) still flushes and acknowledges. Without it, CPU A holding
    /// lock X (say `KernelAddressSpace.lock`) while waiting for B's ack,
    /// and B spinning for X with interrupts off, wait for each other forever.
    static func enableRemoteShootdown() {
        let counter = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
        counter.initialize(to: Atomic(0))
        acknowledgements = counter
        let flags = UnsafeMutablePointer<Atomic<Bool>>.allocate(capacity: SMP.maximumCPUs)
        for cpu in 0..<SMP.maximumCPUs { (flags + cpu).initialize(to: Atomic(false)) }
        requested = flags
        Interrupts.register(vector: Interrupts.tlbShootdown) { answerPendingRequest() }
        remoteEnabled = true
        remoteDelivery = { request in
            shootdownLock.lock()
            defer { shootdownLock.unlock() }
            pending = request
            acknowledgements.pointee.store(0, ordering: .releasing)
            let me = SMP.currentIndex
            var others = 0
            for cpu in 0..<SMP.count where cpu != me {
                requested[cpu].store(true, ordering: .releasing)
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
    }

    /// Flushes and acknowledges the request waiting for this CPU, if any.
    /// Safe anywhere in the kernel (a TLB flush never hurts correctness);
    /// called from the IPI handler and from every spin loop.
    ///
    /// Interrupts off from reading the CPU index to the flush: a spin loop
    /// may run with them on, and a preemption in between could move the
    /// caller to another CPU, which would then take CPU A's request, flush
    /// its own TLB and acknowledge for A, leaving A's entries stale.
    @inline(__always)
    static func answerPendingRequest() {
        guard remoteEnabled else { return }
        CPU.withInterruptsDisabled {
            let cpu = SMP.currentIndex
            guard requested[cpu].load(ordering: .relaxed),
                  requested[cpu].exchange(false, ordering: .acquiring) else { return }
            flushLocally(pending)
            acknowledgements.pointee.add(1, ordering: .releasing)
        }
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
