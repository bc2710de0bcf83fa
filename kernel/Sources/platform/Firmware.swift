import ExoBoot
import ExoKit
import ExoMemory
import ExoSched

/// The firmware's description of the machine (ACPI), read once at boot:
/// CPUs and interrupt controllers (MADT), the HPET, NUMA (SRAT/SLIT).
///
/// Tables come from the loader's RSDP copy (multiboot2) or a scan of the
/// BIOS areas. A machine without usable ACPI still boots: one CPU, the
/// IOAPIC at its PC default, no NUMA. A table that is present but corrupt
/// is reported and ignored the same way, never trusted.
enum Firmware {
    nonisolated(unsafe) private(set) static var tables: ACPITables? = nil
    nonisolated(unsafe) private(set) static var problem: String? = nil

    static func discover(bootInfo: BootInfo) {
        let memory = DirectMapReader()
        do {
            if let rsdp = bootInfo.acpiRSDP {
                tables = try ACPIParser.parse(rsdpBytes: rsdp, memory: memory)
            } else {
                tables = try ACPIParser.parse(rsdpAddress: try ACPIParser.findRSDP(memory: memory), memory: memory)
            }
        } catch {
            problem = error.description
            Log.warning("acpi: \(error.description); assuming one CPU and the PC's default interrupt routing")
        }
        guard let tables else { return }
        Log.info("acpi: revision \(tables.rsdpRevision), OEM \(tables.oemID), \(tables.tables.count) tables")
        if let madt = tables.madt {
            let ids = madt.processors.filter { $0.isUsable }.map { $0.apicID }
            Log.info("acpi: \(ids.count) CPUs, local APIC at \(Hex.string(madt.localAPICAddress)), \(madt.ioAPICs.count) IOAPIC(s), \(madt.interruptOverrides.count) ISA overrides")
        }
        if let hpet = tables.hpet { Log.info("acpi: HPET at \(Hex.string(hpet.baseAddress))") }
        if let srat = tables.srat {
            Log.info("acpi: NUMA: \(srat.proximityDomains.count) nodes, \(srat.memoryAffinities.count) memory ranges")
        }
    }

    /// APIC IDs of the CPUs the firmware says can run, boot CPU included.
    static var processorAPICIDs: [UInt32] {
        tables?.madt?.processors.filter { $0.isUsable }.map { $0.apicID } ?? []
    }

    /// The NUMA layout for the scheduler: each CPU's node from the SRAT
    /// (APIC ID to proximity domain), distances from the SLIT. CPUs beyond
    /// `cpuAPICIDs` (never started) sit on node 0. Without SRAT, or with
    /// tables that do not fit together, one uniform node.
    static func topology(cpuAPICIDs: [UInt32]) -> CPUTopology {
        let slots = SMP.maximumCPUs
        guard let srat = tables?.srat else { return .uniform(cpuCount: slots) }
        let domains = srat.proximityDomains.sorted()
        var nodes: [NUMANode] = []
        for cpu in 0..<slots {
            let apicID = cpu < cpuAPICIDs.count ? cpuAPICIDs[cpu] : UInt32.max
            let domain = srat.processorAffinities.first { $0.apicID == apicID && $0.enabled }?.proximityDomain
            nodes.append(NUMANode(domain.flatMap { d in domains.firstIndex(of: d) } ?? 0))
        }
        return (try? CPUTopology(cpuNodes: nodes, nodeDistances: nodeDistances(domains: domains)))
            ?? .uniform(cpuCount: slots)
    }

    /// The NUMA layout for the frame allocator: the SRAT's enabled memory
    /// ranges with their node (numbered as in `topology`: the index of the
    /// proximity domain among the SRAT's domains), the node count, and the
    /// SLIT distances between nodes. Nil without SRAT (one node).
    static var memoryNodes: (ranges: [NodeFrameAllocator.Zone], nodeCount: Int, distances: [UInt8])? {
        guard let srat = tables?.srat else { return nil }
        let domains = srat.proximityDomains
        var ranges: [NodeFrameAllocator.Zone] = []
        for memory in srat.memoryAffinities where memory.enabled && memory.length > 0 {
            guard let node = domains.firstIndex(of: memory.proximityDomain) else { continue }
            ranges.append(NodeFrameAllocator.Zone(span: memory.base..<memory.end, node: node))
        }
        return (ranges, domains.count, nodeDistances(domains: domains))
    }

    /// Row-major distances between the nodes for `domains` (ascending). The
    /// SLIT numbers its localities by proximity domain, not by node index;
    /// without a SLIT, or for a domain it does not cover, 10 to itself and
    /// 20 to any other.
    private static func nodeDistances(domains: [UInt32]) -> [UInt8] {
        var distances: [UInt8] = []
        for from in domains {
            for to in domains {
                let fallback: UInt8 = from == to ? 10 : 20
                distances.append(tables?.slit?.distance(from: Int(from), to: Int(to)) ?? fallback)
            }
        }
        return distances
    }

    /// Applies the MADT's ISA overrides to the IOAPIC routing table.
    static func applyInterruptOverrides() {
        guard let madt = tables?.madt else { return }
        var overrides: [UInt8: IOAPIC.Route] = [:]
        for override in madt.interruptOverrides where override.bus == 0 {
            overrides[override.sourceIRQ] = IOAPIC.Route(gsi: override.gsi,
                                                         activeLow: override.polarity == .activeLow,
                                                         levelTriggered: override.triggerMode == .level)
        }
        IOAPIC.isaOverrides = overrides
    }

    /// The first IOAPIC's registers and GSI base, or the PC default.
    static var ioAPIC: (address: UInt64, gsiBase: UInt32) {
        guard let first = tables?.madt?.ioAPICs.first else { return (IOAPIC.defaultAddress, 0) }
        return (first.address, first.gsiBase)
    }
}
