import Testing
@testable import ExoBoot

/// The parser against tables dumped from QEMU 7.2 (tools/dump_acpi.py).
@Suite("ACPI tables from QEMU")
struct ACPIQEMUTests {
    /// Finds the RSDP by scanning, as the kernel does on a BIOS machine,
    /// and parses everything it leads to.
    func scanAndParse(_ fixture: ACPIFixture) throws(ACPIError) -> (UInt64, ACPITables) {
        let memory = fixture.memory(biosAreas: true)
        let rsdp = try ACPIParser.findRSDP(memory: memory)
        return (rsdp, try ACPIParser.parse(rsdpAddress: rsdp, memory: memory))
    }

    @Test func pcHasOneCPUAndTheStandardPCInterruptLayout() throws {
        let (rsdp, acpi) = try scanAndParse(.pc)
        #expect(rsdp == 0xf_59d0)
        #expect(acpi.rsdpRevision == 0)
        #expect(acpi.oemID == "BOCHS")
        #expect(acpi.root.signature == .rsdt)
        #expect(acpi.root.address == 0x7fe_1aa4)
        let signatures = acpi.tables.map(\.signature.description)
        #expect(signatures == ["FACP", "APIC", "HPET", "WAET"])
        let allValid = acpi.tables.allSatisfy { $0.checksumIsValid }
        #expect(allValid)

        let madt = try #require(acpi.madt)
        #expect(madt.localAPICAddress == 0xFEE0_0000)
        #expect(madt.hasLegacyPICs)
        #expect(madt.processors == [MADT.LocalAPIC(processorUID: 0, apicID: 0, enabled: true,
                                                   onlineCapable: false, isX2APIC: false)])
        #expect(madt.ioAPICs == [MADT.IOAPIC(id: 0, address: 0xFEC0_0000, gsiBase: 0)])
        #expect(madt.nmiSources.isEmpty)
        #expect(madt.localAPICNMIs == [MADT.LocalAPICNMI(processorUID: nil, lint: 1,
                                                         polarity: .conformsToBus,
                                                         triggerMode: .conformsToBus)])
        #expect(acpi.srat == nil)
        #expect(acpi.slit == nil)
    }

    @Test func isaIRQ0ArrivesOnGSI2AndPCIIRQsAreLevelTriggered() throws {
        let (_, acpi) = try scanAndParse(.pc)
        let madt = try #require(acpi.madt)
        #expect(madt.interruptOverrides.count == 5)
        let timer = madt.isaInterrupt(0)
        #expect(timer == MADT.InterruptSourceOverride(bus: 0, sourceIRQ: 0, gsi: 2,
                                                      polarity: .conformsToBus,
                                                      triggerMode: .conformsToBus))
        // QEMU's PCI link IRQs 5, 9, 10, 11: flags 0xd, active high, level.
        let sci = madt.isaInterrupt(9)
        #expect(sci.gsi == 9 && sci.polarity == .activeHigh && sci.triggerMode == .level)
        // No override: the ISA default.
        let keyboard = madt.isaInterrupt(1)
        #expect(keyboard == MADT.InterruptSourceOverride(bus: 0, sourceIRQ: 1, gsi: 1,
                                                         polarity: .activeHigh, triggerMode: .edge))
    }

    @Test func everyBIOSConfigurationHasTheQEMUHPET() throws {
        for fixture in [ACPIFixture.pc, .q35, .numa] {
            let (_, acpi) = try scanAndParse(fixture)
            let hpet = try #require(acpi.hpet)
            #expect(hpet.baseAddress == 0xFED0_0000)
            #expect(hpet.hpetNumber == 0)
            #expect(hpet.minimumTick == 0)
            // Event timer block ID 0x8086a201.
            #expect(hpet.comparatorCount == 3)
            #expect(hpet.counterIs64Bit)
            #expect(hpet.legacyReplacementCapable)
            #expect(hpet.pciVendorID == 0x8086)
            #expect(hpet.hardwareRevision == 1)
        }
    }

    @Test func q35HasFourCPUsWithAPICIDs0To3() throws {
        let (rsdp, acpi) = try scanAndParse(.q35)
        #expect(rsdp == 0xf_59e0)
        let madt = try #require(acpi.madt)
        #expect(madt.processors.map(\.apicID) == [0, 1, 2, 3])
        #expect(madt.processors.map(\.processorUID) == [0, 1, 2, 3])
        let allEnabledXAPICs = madt.processors.allSatisfy { $0.enabled && $0.isUsable && !$0.isX2APIC }
        #expect(allEnabledXAPICs)
        #expect(madt.ioAPICs == [MADT.IOAPIC(id: 0, address: 0xFEC0_0000, gsiBase: 0)])
        #expect(madt.isaInterrupt(0).gsi == 2)
        #expect(madt.localAPICAddress == 0xFEE0_0000)
        #expect(acpi.table(.mcfg) != nil)
        #expect(acpi.tables.map(\.signature.description) == ["FACP", "APIC", "HPET", "MCFG", "WAET"])
    }

    @Test func numaConfigurationHasTwoDomainsOfTwoCPUs() throws {
        let (_, acpi) = try scanAndParse(.numa)
        #expect(acpi.madt?.processors.count == 4)
        let srat = try #require(acpi.srat)
        #expect(srat.proximityDomains == [0, 1])
        let cpus = srat.processorAffinities.filter(\.enabled)
        #expect(cpus.map(\.apicID) == [0, 1, 2, 3])
        #expect(cpus.map(\.proximityDomain) == [0, 0, 1, 1])

        // Node 0: the 640 KiB below the VGA hole and 1 MiB-256 MiB; node 1:
        // 256-512 MiB. QEMU adds a disabled empty record after them.
        let memory = srat.memoryAffinities.filter(\.enabled)
        #expect(memory.map(\.base) == [0, 0x10_0000, 0x1000_0000])
        #expect(memory.map(\.end) == [0xa_0000, 0x1000_0000, 0x2000_0000])
        #expect(memory.map(\.proximityDomain) == [0, 0, 1])
        let plainRAM = memory.allSatisfy { !$0.hotPluggable && !$0.nonVolatile }
        #expect(plainRAM)
        #expect(srat.memoryAffinities.count == 4)
        #expect(srat.memoryAffinities.last?.enabled == false)
    }

    @Test func numaDistancesAre10LocallyAnd20Across() throws {
        let (_, acpi) = try scanAndParse(.numa)
        let slit = try #require(acpi.slit)
        #expect(slit.localityCount == 2)
        #expect(slit.distance(from: 0, to: 0) == 10)
        #expect(slit.distance(from: 0, to: 1) == 20)
        #expect(slit.distance(from: 1, to: 0) == 20)
        #expect(slit.distance(from: 1, to: 1) == 10)
        #expect(slit.distance(from: 2, to: 0) == nil)
        #expect(slit.distance(from: 0, to: -1) == nil)
    }

    @Test func uefiRSDPCopyLeadsThroughTheXSDT() throws {
        let fixture = ACPIFixture.q35uefi
        let copy = fixture.regions[ACPIFixture.uefiRSDP2]!
        #expect(copy.count == 36)
        let acpi = try ACPIParser.parse(rsdpBytes: copy, memory: fixture.memory())
        #expect(acpi.rsdpRevision == 2)
        #expect(acpi.root.signature == .xsdt)
        #expect(acpi.root.address == 0x7b7_d0e8)
        #expect(acpi.tables.map(\.signature.description)
                == ["FACP", "APIC", "HPET", "MCFG", "WAET", "BGRT"])
        #expect(acpi.madt?.processors.map(\.apicID) == [0, 1, 2, 3])
        #expect(acpi.madt?.ioAPICs.first?.address == 0xFEC0_0000)
        #expect(acpi.hpet?.baseAddress == 0xFED0_0000)
    }

    @Test func uefiACPI1RSDPLeadsThroughTheRSDTToTheSameTables() throws {
        let fixture = ACPIFixture.q35uefi
        let viaRSDT = try ACPIParser.parse(rsdpAddress: ACPIFixture.uefiRSDP1, memory: fixture.memory())
        let viaXSDT = try ACPIParser.parse(rsdpAddress: ACPIFixture.uefiRSDP2, memory: fixture.memory())
        #expect(viaRSDT.rsdpRevision == 0)
        #expect(viaRSDT.root.signature == .rsdt)
        #expect(viaRSDT.tables == viaXSDT.tables)
    }

    @Test func uefiMachineHasNoRSDPInTheBIOSArea() {
        // OVMF's RSDPs lie in RAM; the loader must pass one on.
        let memory = ACPIFixture.q35uefi.memory(biosAreas: true)
        #expect(acpiError { () throws(ACPIError) in try ACPIParser.findRSDP(memory: memory) } == .noRSDP)
    }

    @Test func scanFindsAnRSDPInTheEBDAFirst() throws {
        // Copy pc's RSDP to the start of the EBDA (segment 0x9fc0 in the BDA).
        var fixture = ACPIFixture.pc
        fixture.regions[0x9_fc00] = fixture.regions[0xf_59d0]! + [UInt8](repeating: 0, count: 0x400 - 20)
        let memory = fixture.memory(biosAreas: true)
        #expect(try ACPIParser.findRSDP(memory: memory) == 0x9_fc00)
    }

    @Test func scanSkipsMisalignedAndBrokenCandidates() throws {
        var fixture = ACPIFixture.pc
        let rsdp = fixture.regions[0xf_59d0]!
        var broken = rsdp
        broken[8] &+= 1
        // A valid copy off the 16-byte grid and a broken one on it, both
        // before the real RSDP: neither may be chosen.
        fixture.regions[0xe_0008] = rsdp
        fixture.regions[0xe_1000] = broken
        let memory = fixture.memory(biosAreas: true)
        #expect(try ACPIParser.findRSDP(memory: memory) == 0xf_59d0)
    }

    @Test func scanWithOnlyBrokenCandidatesReportsTheFirstProblem() {
        var fixture = ACPIFixture.pc
        fixture[0xf_59d0 + 8] &+= 1
        let memory = fixture.memory(biosAreas: true)
        let error = acpiError { () throws(ACPIError) in try ACPIParser.findRSDP(memory: memory) }
        #expect(error == .badRSDPChecksum(extended: false))
    }

    @Test func emptyMachineHasNoRSDP() {
        #expect(acpiError { () throws(ACPIError) in try ACPIParser.findRSDP(memory: FakePhysicalMemory()) }
                == .noRSDP)
    }

    @Test func unusedTableWithBadChecksumIsListedNotFatal() throws {
        var fixture = ACPIFixture.pc
        let waet = fixture.address(of: "WAET")
        fixture[waet + 36] &+= 1
        let acpi = try ACPIParser.parse(rsdpAddress: 0xf_59d0, memory: fixture.memory())
        #expect(acpi.table(ACPISignature("WAET"))?.checksumIsValid == false)
        #expect(acpi.madt != nil)
    }

    @Test func readTableReturnsTheHeaderFields() throws {
        let fixture = ACPIFixture.pc
        let table = try ACPIParser.readTable(at: fixture.address(of: "FACP"), memory: fixture.memory())
        #expect(table.signature == .fadt)
        #expect(table.length == 116)
        #expect(table.revision == 1)
        #expect(table.oemID == "BOCHS")
        #expect(table.oemTableID == "BXPC")
        #expect(table.checksumIsValid)
    }
}
