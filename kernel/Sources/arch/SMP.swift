import CExoArch
import ExoKit
import ExoMemory
import ExoX86
import Synchronization

/// Per-CPU data and the start-up of the other processors.
///
/// Each CPU's GS base points at its `PerCPU` record; the record's first
/// word is its own address, so `exo_read_gs_self` finds it in one load.
///
/// Application processors start with INIT-SIPI-SIPI into the trampoline
/// (trampoline.S), one at a time: the parameter block in the trampoline
/// page is shared. Each AP then loads its own GDT and TSS (own IST stacks),
/// the shared IDT, enables its local APIC and reports online.
/// Each AP's boot stack then becomes its idle thread and it takes work from
/// the scheduler like the boot CPU.
enum SMP {
    /// GS-relative record; syscall.S reads fields at fixed offsets (0 self,
    /// 8 index, 16 APIC id, 24 user RSP scratch, 32 kernel stack top, 40
    /// and 44 the user ids) and exo_arch.h one more (48 the running
    /// thread), so change them together (`initializeBootCPU` checks the
    /// offsets).
    struct PerCPU {
        var selfAddress: UInt64 = 0
        var index: Int = 0
        var apicID: UInt32 = 0
        /// Where the SYSCALL entry parks the user RSP while it switches stacks.
        var userStackScratch: UInt64 = 0
        /// The running thread's kernel stack top: SYSCALL's stack (TSS.rsp0
        /// holds the same for interrupts from ring 3).
        var kernelStackTop: UInt64 = 0
        /// The running user thread's process and thread ids (its
        /// `Threads.Record.userIDs`): the SYSCALL fast path answers getpid
        /// and gettid from here. Offsets 40 and 44, as syscall.S expects.
        var userProcessID: Int32 = 0
        var userThreadID: Int32 = 0
        /// The thread this CPU runs (`Scheduler.current`), set at every
        /// switch. Offset 48, read by `exo_read_gs_current_thread`.
        var currentThread: UInt32 = 0
        /// This CPU's TSS (its rsp0 changes at every switch to a thread
        /// with a user half); set when the CPU loads its GDT.
        var taskState: UnsafeMutablePointer<TaskStateSegment>? = nil
        /// The page-table root CR3 holds, as the switch path last loaded
        /// it (`Threads.loadRoot`): the switch compares instead of reading
        /// CR3. 0 = not known yet, which never matches, so the first
        /// switch loads. Every CR3 write that changes the root goes through
        /// `Threads.loadRoot` (the rest rewrite the same root to flush).
        var loadedRoot: UInt64 = 0
        /// The FS base MSR's value as the kernel last wrote it
        /// (`Threads.loadFSBase`; user code cannot write it: CR4.FSGSBASE
        /// is off): a switch between threads with the same thread pointer
        /// (a forked server and its client, say) skips the WRMSR.
        /// `UInt64.max` = not known yet, which no user address matches.
        var loadedFSBase: UInt64 = .max
    }

    /// This CPU's record. Not checked for nil: the GS base is set before
    /// any code asks (SMP bring-up, boot), and were it 0 the first access
    /// would fault on the unmapped null page anyway, so a check would only
    /// add two instructions to every per-CPU access (the switch path has
    /// several).
    @inline(__always)
    static var current: UnsafeMutablePointer<PerCPU> {
        UnsafeMutablePointer<PerCPU>(bitPattern: UInt(exo_read_gs_self())).unsafelyUnwrapped
    }

    static let maximumCPUs = 16
    static let trampolinePhysical: UInt64 = 0x8000

    nonisolated(unsafe) private(set) static var cpus: UnsafeMutablePointer<PerCPU> = UnsafeMutablePointer(bitPattern: 8)!
    /// Set by each CPU once it runs (read by the boot CPU while starting it).
    nonisolated(unsafe) private static var onlineFlags: UnsafeMutablePointer<Atomic<Bool>> = UnsafeMutablePointer(bitPattern: 8)!
    nonisolated(unsafe) private(set) static var count = 1
    nonisolated(unsafe) private(set) static var failedToStart: [UInt32] = []

    static let gsBaseMSR = CPU.MSR(rawValue: 0xC000_0101)

    /// Points GS at the static boot record (first thing in kmain).
    static func useBootRecord() {
        // boot.S reserves 128 bytes for it.
        precondition(MemoryLayout<PerCPU>.size <= 128, "PerCPU outgrew exo_boot_percpu in boot.S")
        let record = UnsafeMutablePointer<PerCPU>(bitPattern: UInt(exo_boot_percpu_address()))!
        record.pointee = PerCPU(selfAddress: exo_boot_percpu_address(), index: 0, apicID: 0)
        CPU.write(gsBaseMSR, exo_boot_percpu_address())
    }

    /// Sets up the table and makes the boot CPU entry 0.
    static func initializeBootCPU() {
        let table = UnsafeMutablePointer<PerCPU>.allocate(capacity: maximumCPUs)
        table.initialize(repeating: PerCPU(), count: maximumCPUs)
        // syscall.S reaches these fields by fixed offsets.
        let base = UInt(bitPattern: table)
        precondition(UInt(bitPattern: withUnsafeMutablePointer(to: &table.pointee.index) { $0 }) - base == 8
                     && UInt(bitPattern: withUnsafeMutablePointer(to: &table.pointee.kernelStackTop) { $0 }) - base == 32
                     && UInt(bitPattern: withUnsafeMutablePointer(to: &table.pointee.userProcessID) { $0 }) - base == 40
                     && UInt(bitPattern: withUnsafeMutablePointer(to: &table.pointee.userThreadID) { $0 }) - base == 44
                     && UInt(bitPattern: withUnsafeMutablePointer(to: &table.pointee.currentThread) { $0 }) - base == 48,
                     "PerCPU layout differs from syscall.S's and exo_arch.h's offsets")
        cpus = table
        let flags = UnsafeMutablePointer<Atomic<Bool>>.allocate(capacity: maximumCPUs)
        for index in 0..<maximumCPUs { (flags + index).initialize(to: Atomic(false)) }
        onlineFlags = flags
        // The boot record's TSS (loaded before this table existed) moves
        // along; an AP's is set when it loads its own GDT, after install.
        table.pointee.taskState = current.pointee.taskState
        install(index: 0, apicID: LocalAPIC.id)
        onlineFlags[0].store(true, ordering: .releasing)
    }

    private static func install(index: Int, apicID: UInt32) {
        let record = cpus + index
        record.pointee.selfAddress = UInt64(UInt(bitPattern: record))
        record.pointee.index = index
        record.pointee.apicID = apicID
        CPU.write(gsBaseMSR, record.pointee.selfAddress)
    }

    /// This CPU's index (0 = boot CPU). With interrupts on it may be stale
    /// by the time it is used (a preemption can move the caller to another
    /// CPU): index per-CPU data with it only with interrupts off.
    @inline(__always)
    static var currentIndex: Int {
        Int(truncatingIfNeeded: exo_read_gs_index())   // PerCPU.index, offset 8 (checked at boot)
    }

    static func isOnline(_ index: Int) -> Bool { onlineFlags[index].load(ordering: .acquiring) }

    /// Starts every CPU the firmware lists besides this one. Interrupts are
    /// off on the boot CPU meanwhile (the APs share its heap cache while
    /// they set up).
    static func startApplicationProcessors(apicIDs: [UInt32]) {
        let others = apicIDs.filter { $0 != cpus[0].apicID }
        guard !others.isEmpty else { return }
        let root = KernelAddressSpace.root
        guard root < (1 << 32) else {
            Log.warning("smp: kernel page tables above 4 GiB; the trampoline cannot load them; staying on one CPU")
            return
        }
        let wasEnabled = CPU.interruptsEnabled
        CPU.disableInterrupts()
        // Copy the trampoline and identity-map its page for the switch to
        // long mode.
        let size = Int(exo_ap_trampoline_end_address() - exo_ap_trampoline_start_address())
        UnsafeMutableRawPointer(bitPattern: UInt(KernelLayout.virtual(physical: trampolinePhysical)))!
            .copyMemory(from: UnsafeRawPointer(bitPattern: UInt(exo_ap_trampoline_start_address()))!, byteCount: size)
        do throws(MemoryError) {
            try KernelAddressSpace.map(virtual: trampolinePhysical, physical: trampolinePhysical, flags: [.present, .writable])
            for apicID in others where count < maximumCPUs {
                if start(apicID: apicID, index: count) { count += 1 } else { failedToStart.append(apicID) }
            }
            _ = try KernelAddressSpace.unmap(virtual: trampolinePhysical)
        } catch {
            Log.warning("smp: \(error.description)")
        }
        if wasEnabled { CPU.enableInterrupts() }
        Log.info("smp: \(count) CPUs online\(failedToStart.isEmpty ? "" : "; did not start: APIC IDs \(failedToStart)")")
    }

    /// INIT, 10 ms, SIPI, 200 µs, SIPI (Intel SDM 8.4.4.1), then wait up to
    /// 100 ms for the AP to report online.
    private static func start(apicID: UInt32, index: Int) -> Bool {
        guard let stack = try? KernelVirtualMemory.allocateStack(pages: 4, name: "AP boot stack") else { return false }
        cpus[index].apicID = apicID
        let parameters = UnsafeMutablePointer<UInt64>(bitPattern: UInt(KernelLayout.virtual(
            physical: trampolinePhysical + exo_ap_parameters_address() - exo_ap_trampoline_start_address())))!
        parameters[0] = KernelAddressSpace.root
        parameters[1] = stack.top
        parameters[2] = exo_ap_entry_address()
        parameters[3] = UInt64(index)
        parameters[4] = KernelAddressSpace.features.noExecute ? 1 << 11 : 0
        LocalAPIC.sendInterrupt(to: apicID, vector: 0, mode: .initialize)
        spin(microseconds: 10_000)
        for _ in 0..<2 {
            LocalAPIC.sendInterrupt(to: apicID, vector: UInt8(trampolinePhysical >> 12), mode: .startup)
            spin(microseconds: 200)
            if isOnline(index) { return true }
        }
        let deadline = Clock.nanosecondsSinceBoot() + 100_000_000
        while Clock.nanosecondsSinceBoot() < deadline {
            if isOnline(index) { return true }
            exo_pause()
        }
        return false
    }

    private static func spin(microseconds: UInt64) {
        let deadline = Clock.nanosecondsSinceBoot() + microseconds * 1000
        while Clock.nanosecondsSinceBoot() < deadline { exo_pause() }
    }

    /// The AP's side, on its boot stack with interrupts off.
    static func applicationProcessorMain(index: Int) -> Never {
        install(index: index, apicID: cpus[index].apicID)
        CPU.initializeFloatingPoint()
        DescriptorTables.installOnApplicationProcessor()
        UserMode.initializeCPU()
        CPU.cr4 = CPU.cr4 | bootCR4Features
        TLB.enableFeatures()
        do {
            try LocalAPIC.enable()
            try Scheduler.adoptIdleContext(cpu: index)
        } catch {
            panic("CPU \(index) could not join the scheduler: \(error.description)")
        }
        onlineFlags[index].store(true, ordering: .releasing)
        // This boot stack is now the CPU's idle thread: the timer and
        // reschedule IPIs bring work here.
        while true { CPU.waitForInterrupt() }
    }

    /// CR4 bits the boot CPU turned on that every CPU needs (SMEP, SMAP).
    nonisolated(unsafe) static var bootCR4Features: UInt64 = 0
}

@_cdecl("exo_ap_entry")
func exoApplicationProcessorEntry(_ index: UInt64) -> Never {
    SMP.applicationProcessorMain(index: Int(index))
}
