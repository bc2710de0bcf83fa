import ExoMemory
import CExoArch
import ExoBoot
import ExoKit
import ExoSched

/// What boot learned, kept for the rest of the kernel and its tests.
enum BootState {
    nonisolated(unsafe) static var magic: UInt32 = 0
    nonisolated(unsafe) static var infoAddress: UInt64 = 0
    nonisolated(unsafe) static var info: BootInfo? = nil
    nonisolated(unsafe) static var commandLine = KernelCommandLine("")
    /// The TSC at kmain's first instruction: under icount, the guest
    /// instructions executed since reset (firmware and loader included).
    nonisolated(unsafe) static var timestampAtKmain: UInt64 = 0
}

/// Reads physical memory through the boot direct map (the first 4 GiB).
struct DirectMapReader: PhysicalMemoryReader {
    func byte(at address: UInt64) -> UInt8? {
        guard KernelAddressSpace.isDirectMapped(address) else { return nil }
        // Safety: the boot tables map all of [0, 4 GiB) at kernelBase.
        return UnsafePointer<UInt8>(bitPattern: UInt(KernelLayout.virtual(physical: address)))!.pointee
    }
}

/// The Swift entry point, called by boot.S on the boot stack with
/// interrupts off, in long mode, with only the kernel half mapped.
@_cdecl("kmain")
func kmain(_ magic: UInt32, _ infoAddress: UInt32) -> Never {
    BootState.timestampAtKmain = CPU.timestamp()
    BootState.magic = magic
    BootState.infoAddress = UInt64(infoAddress)

    // Order matters: the FPU before any Dictionary, the console before any
    // message, the IDT before anything that can fault.
    CPU.initializeFloatingPoint()
    SMP.useBootRecord()
    Serial16550.com1.initialize()
    DescriptorTables.install()
    LegacyPIC.remapAndMaskAll()
    BootPaging.unmapBootStackGuard()
    Clock.markBoot(timestamp: BootState.timestampAtKmain)
    Clock.calibrate()

    Log.info("Exo \(Exo.version) (x86_64, Embedded Swift) starting")
    // Machine-readable (tools/boottime.py): under -icount these count guest
    // instructions from reset to Exo's first instruction and to kmain.
    Console.write("boot: entry at tsc=")
    Console.writeDecimal(boot_entry_timestamp)
    Console.write(", kmain at tsc=")
    Console.writeDecimal(BootState.timestampAtKmain)
    Console.write("\n")
    Log.info("cpu: TSC \(Clock.timestampHz / 1_000_000) MHz (PIT-calibrated); entropy: \(CPU.hasRDRAND ? "rdrand" : "tsc-jitter (weak)")")

    let info = parseBootInformation(magic: magic, infoAddress: UInt64(infoAddress), memory: DirectMapReader())
    BootState.info = info
    BootState.commandLine = KernelCommandLine(info.commandLine)
    BootReport.print(info)
    // Deliberate failures run while the loader's memory is still untouched
    // (the frame allocator reuses it once it exists).
    if let action = BootState.commandLine.value(of: "exo.debug") {
        runDebugAction(action, magic: magic, infoAddress: UInt64(infoAddress))
    }
    // The firmware tables first: the frame allocator keeps memory per NUMA
    // node as the SRAT describes it (parsing needs only the early heap and
    // the boot direct map).
    Firmware.discover(bootInfo: info)
    bringUpMemory(info)
    bringUpInterruptsAndThreads()

    if let selection = BootState.commandLine.value(of: "exo.test") {
        let passed = KernelTests.run(selection: selection)
        DebugExit.exit(passed ? .success : .failure)
    }
    if let selection = BootState.commandLine.value(of: "exo.bench") {
        let passed = Benchmarks.run(selection: selection)
        DebugExit.exit(passed ? .success : .failure)
    }

    if let module = info.modules.first {
        InitProcess.run(initrd: module)
    }
    Console.write("\nExo \(Exo.version) — an x86_64 kernel in Embedded Swift\n")
    Log.info("boot: ready in \(Clock.microsecondsSinceBoot()) us since kmain")
    Console.write("boot: ready at tsc=")
    Console.writeDecimal(CPU.timestamp())
    Console.write("\nexo: ready\n")
    Monitor.run()
}

/// Frames, then the heap, then the kernel's own address space. A failure
/// here leaves nothing to run with: panic with the reason.
func bringUpMemory(_ info: BootInfo) {
    do {
        try PhysicalMemory.initialize(bootInfo: info, numa: Firmware.memoryNodes)
    } catch {
        panic("frame allocator: \(error.description)")
    }
    PhysicalMemory.logSummary()
    do {
        try KernelHeap.initialize()
    } catch {
        panic("kernel heap: \(error.description)")
    }
    do {
        try KernelAddressSpace.build(memoryMap: info.memoryMap)
    } catch {
        panic("kernel address space: \(error.description)")
    }
    let features = KernelAddressSpace.features
    Log.info("paging: kernel address space at \(Hex.string(KernelAddressSpace.root)); NX \(features.noExecute ? "on" : "absent"), WP on, SMEP \(features.supervisorModeExecutionPrevention ? "on" : "absent"), SMAP \(features.supervisorModeAccessPrevention ? "on" : "absent"), PCID \(TLB.pcidEnabled ? "on" : "absent")")
}

/// Local APIC (with its timer calibrated), IOAPIC, then threads and the
/// scheduler; from here on thread 0 (kmain) can be preempted.
func bringUpInterruptsAndThreads() {
    do {
        try LocalAPIC.enable()
        LocalAPIC.calibrateTimer()
        Firmware.applyInterruptOverrides()
        try IOAPIC.initialize(physical: Firmware.ioAPIC.address, gsiBase: Firmware.ioAPIC.gsiBase)
        SMP.initializeBootCPU()
        UserMode.initializeCPU()
        Syscalls.initialize()
        try Threads.initialize()
        try Scheduler.start(topology: .uniform(cpuCount: SMP.maximumCPUs))
    } catch {
        panic("interrupts and threads: \(error.description)")
    }
    SMP.bootCR4Features = CPU.cr4 & (KernelAddressSpace.cr4SMEP | KernelAddressSpace.cr4SMAP)
    SMP.startApplicationProcessors(apicIDs: Firmware.processorAPICIDs)
    TLB.enableRemoteShootdown()
    let topology = Firmware.topology(cpuAPICIDs: (0..<SMP.count).map { SMP.cpus[$0].apicID })
    Scheduler.setTopology(topology)
    PhysicalMemory.preferNodes(of: topology)
    if topology.nodeCount > 1 {
        let layout = (0..<SMP.count).map { "cpu\($0)->node\(topology.node(of: CPUID($0)).index)" }
        var line = "numa: \(topology.nodeCount) nodes:"
        for entry in layout { line += " " + entry }
        Log.info(line)
    }
    CPU.enableInterrupts()
    Log.info("apic: local APIC \(LocalAPIC.id) (\(LocalAPIC.mode == .x2APIC ? "x2APIC" : "xAPIC"), version \(Hex.string(UInt64(LocalAPIC.version), digits: 2))), timer \(LocalAPIC.timerTicksPerMillisecond) ticks/ms; IOAPIC \(IOAPIC.id) with \(IOAPIC.inputCount) inputs")
}

/// `exo.debug=<action>`: deliberate failures, so the runners can check
/// that each one ends in a readable report and the failure exit status.
func runDebugAction(_ action: String, magic: UInt32, infoAddress: UInt64) {
    switch action {
    case "panic":
        panic("deliberate panic requested with exo.debug=panic")
    case "fault":
        // An address the optimizer cannot see is constant: 8 plus a bit of
        // the calibrated frequency that is always zero in practice.
        let address = UInt(8 + (Clock.timestampHz >> 63))
        let value = UnsafePointer<UInt64>(bitPattern: address)!.pointee
        Log.error("read \(value) from the null page without a fault")
    case "stack-overflow":
        exo_probe_exhaust_stack()
    case "corrupt-bootinfo":
        // Hand the parser the loader's block with one field broken, exactly
        // as a buggy loader would.
        Log.warning("exo.debug=corrupt-bootinfo: re-reading the boot information with a corrupted field")
        let corrupted = CorruptingReader(base: DirectMapReader(), magic: magic, infoAddress: infoAddress)
        _ = parseBootInformation(magic: magic, infoAddress: infoAddress, memory: corrupted)
        panic("corrupted boot information was accepted")
    default:
        Log.warning("exo.debug: unknown action '\(action)' (known: panic, fault, stack-overflow, corrupt-bootinfo)")
    }
}

/// Parses the loader's boot information or stops with a readable report.
func parseBootInformation<M: PhysicalMemoryReader>(magic: UInt32, infoAddress: UInt64, memory: M) -> BootInfo {
    do {
        return try BootInfoParser.parse(magic: magic, infoAddress: infoAddress, memory: memory)
    } catch {
        panic("boot information refused (magic \(Hex.string(UInt64(magic), digits: 8)) at \(Hex.string(infoAddress))): \(error.description)")
    }
}

/// A reader that returns the loader's bytes with one thing broken, the way
/// a buggy loader would hand them over: multiboot2's total_size claims
/// 4 GiB; multiboot1's memory map points at memory that cannot be read.
struct CorruptingReader<Base: PhysicalMemoryReader>: PhysicalMemoryReader {
    let base: Base
    let magic: UInt32
    let infoAddress: UInt64

    func byte(at address: UInt64) -> UInt8? {
        if magic == BootInfoParser.multiboot2Magic {
            return address &- infoAddress < 4 ? 0xFF : base.byte(at: address)
        }
        let mapStart = (0..<4).reduce(UInt64(0)) { value, index in
            value | UInt64(base.byte(at: infoAddress + 48 + UInt64(index)) ?? 0) << (8 * UInt64(index))
        }
        return address >= mapStart && address < mapStart + 24 ? nil : base.byte(at: address)
    }
}

enum Exo {
    static let version: StaticString = "0.1.0"
}
