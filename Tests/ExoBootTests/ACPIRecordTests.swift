import Testing
@testable import ExoBoot

/// Record types QEMU does not emit (x2APIC, address override, NMI sources,
/// SRAT revision 2), from tables built byte by byte.
@Suite("ACPI records")
struct ACPIRecordTests {
    @Test func x2APICProcessorsAndNMIs() throws {
        let madt = SyntheticACPI.madt { table in
            // Type 0: UID 1, APIC ID 2, online capable only.
            table.record(0, [1, 2] + ByteImage.little(2, 4))
            // Type 9: x2APIC ID 0x1_0000, enabled, UID 300.
            table.record(9, [0, 0] + ByteImage.little(0x1_0000, 4) + ByteImage.little(1, 4)
                         + ByteImage.little(300, 4))
            // Type 10: all processors, LINT1, active low + level (0xf).
            table.record(10, ByteImage.little(0xF, 2) + ByteImage.little(0xFFFF_FFFF, 4) + [1, 0, 0, 0])
            // Type 4 for UID 7 on LINT0.
            table.record(4, [7] + ByteImage.little(0x5, 2) + [0])
        }
        let acpi = try SyntheticACPI.parse([madt])
        let parsed = try #require(acpi.madt)
        #expect(parsed.processors == [
            MADT.LocalAPIC(processorUID: 1, apicID: 2, enabled: false, onlineCapable: true, isX2APIC: false),
            MADT.LocalAPIC(processorUID: 300, apicID: 0x1_0000, enabled: true, onlineCapable: false,
                           isX2APIC: true),
        ])
        let allUsable = parsed.processors.allSatisfy { $0.isUsable }
        #expect(allUsable)
        #expect(parsed.localAPICNMIs == [
            MADT.LocalAPICNMI(processorUID: nil, lint: 1, polarity: .activeLow, triggerMode: .level),
            MADT.LocalAPICNMI(processorUID: 7, lint: 0, polarity: .activeHigh, triggerMode: .edge),
        ])
        #expect(acpi.rsdpRevision == 2)
        #expect(acpi.oemID == "EXOTST")
    }

    @Test func addressOverrideReplacesTheLocalAPICAddress() throws {
        let madt = SyntheticACPI.madt(flags: 0) { table in
            table.record(5, [0, 0] + ByteImage.little(0x1_2345_6000, 8))
        }
        let parsed = try #require(try SyntheticACPI.parse([madt]).madt)
        #expect(parsed.localAPICAddress == 0x1_2345_6000)
        #expect(!parsed.hasLegacyPICs)
    }

    @Test func nmiSourcesAndUnknownRecordsAreSkippedOrRead() throws {
        let madt = SyntheticACPI.madt { table in
            table.record(0x0B, [UInt8](repeating: 0xAA, count: 80))  // GICC: not x86, skipped
            table.record(3, ByteImage.little(0xD, 2) + ByteImage.little(23, 4))
            table.record(0x80, [])  // OEM type, header only
            table.record(1, [4, 0] + ByteImage.little(0xFEC0_1000, 4) + ByteImage.little(24, 4))
        }
        let parsed = try #require(try SyntheticACPI.parse([madt]).madt)
        #expect(parsed.nmiSources == [MADT.NMISource(gsi: 23, polarity: .activeHigh, triggerMode: .level)])
        #expect(parsed.ioAPICs == [MADT.IOAPIC(id: 4, address: 0xFEC0_1000, gsiBase: 24)])
        #expect(parsed.processors.isEmpty)
    }

    @Test func longerRecordsThanTheirTypeAreAccepted() throws {
        // A future revision may append fields; the known ones still count.
        let madt = SyntheticACPI.madt { table in
            table.record(0, [0, 5] + ByteImage.little(1, 4) + [0xEE, 0xEE])
        }
        let parsed = try #require(try SyntheticACPI.parse([madt]).madt)
        #expect(parsed.processors.map(\.apicID) == [5])
    }

    @Test func oneStrayByteAfterTheLastRecordIsIgnored() throws {
        let madt = SyntheticACPI.madt { table in
            table.record(0, [0, 0] + ByteImage.little(1, 4))
            table.image.u8(0)
        }
        let parsed = try #require(try SyntheticACPI.parse([madt]).madt)
        #expect(parsed.processors.count == 1)
    }

    @Test func sratRevision2ProximityDomainsUseAll32Bits() throws {
        func cpuRecord(_ table: inout ACPITableBuilder) {
            // Domain low byte 0x01, APIC 3, enabled, high bytes 0x02 0x03 0x04.
            table.record(0, [0x01, 3] + ByteImage.little(1, 4) + [0, 0x02, 0x03, 0x04]
                         + ByteImage.little(9, 4))
        }
        let revision3 = try #require(try SyntheticACPI.parse([SyntheticACPI.srat(cpuRecord)]).srat)
        #expect(revision3.processorAffinities == [
            SRAT.ProcessorAffinity(apicID: 3, proximityDomain: 0x0403_0201, enabled: true,
                                   clockDomain: 9, isX2APIC: false),
        ])
        // Revision 1 (QEMU's) defines only the low byte.
        let revision1 = try #require(try SyntheticACPI.parse([SyntheticACPI.srat(revision: 1, cpuRecord)]).srat)
        #expect(revision1.processorAffinities.first?.proximityDomain == 1)
    }

    @Test func sratX2APICAndHotPluggableMemory() throws {
        let srat = SyntheticACPI.srat { table in
            table.record(2, [0, 0] + ByteImage.little(5, 4) + ByteImage.little(0x200, 4)
                         + ByteImage.little(1, 4) + ByteImage.little(0, 4) + [0, 0, 0, 0])
            var memory = ByteImage()
            memory.u32(5)           // domain
            memory.u16(0)
            memory.u64(0x1_0000_0000)
            memory.u64(0x4000_0000)
            memory.u32(0)
            memory.u32(0b111)       // enabled, hot-pluggable, non-volatile
            memory.u64(0)
            table.record(1, memory.bytes)
            table.record(0x7F, [1, 2, 3])  // unknown: skipped
        }
        let parsed = try #require(try SyntheticACPI.parse([srat]).srat)
        #expect(parsed.processorAffinities == [
            SRAT.ProcessorAffinity(apicID: 0x200, proximityDomain: 5, enabled: true, clockDomain: 0,
                                   isX2APIC: true),
        ])
        #expect(parsed.memoryAffinities == [
            SRAT.MemoryAffinity(base: 0x1_0000_0000, length: 0x4000_0000, proximityDomain: 5,
                                enabled: true, hotPluggable: true, nonVolatile: true),
        ])
        #expect(parsed.proximityDomains == [5])
    }

    @Test func sratRecordsShorterThanTheirType() {
        let srat = SyntheticACPI.srat { table in table.record(1, [UInt8](repeating: 0, count: 30)) }
        let error = acpiError { () throws(ACPIError) in try SyntheticACPI.parse([srat]) }
        #expect(error == .recordTooShort(signature: .srat, type: 1, length: 32))
    }

    @Test func slitOfThreeLocalities() throws {
        var table = ACPITableBuilder("SLIT")
        table.image.u64(3)
        table.image.raw([10, 15, 20, 15, 10, 25, 20, 25, 10])
        let slit = try #require(try SyntheticACPI.parse([table.finish()]).slit)
        #expect(slit.localityCount == 3)
        #expect(slit.distance(from: 1, to: 2) == 25)
        #expect(slit.distance(from: 2, to: 0) == 20)
        #expect(slit.distance(from: 3, to: 0) == nil)
    }

    @Test func firstTableOfASignatureWins() throws {
        let first = SyntheticACPI.madt { table in table.record(0, [0, 1] + ByteImage.little(1, 4)) }
        let second = SyntheticACPI.madt { table in table.record(0, [0, 2] + ByteImage.little(1, 4)) }
        let acpi = try SyntheticACPI.parse([first, second])
        #expect(acpi.madt?.processors.map(\.apicID) == [1])
        #expect(acpi.tables.count == 2)
    }

    @Test func secondTableOfASignatureIsNotParsed() throws {
        // A broken duplicate is only listed, as Linux ignores it too.
        let first = SyntheticACPI.madt { _ in }
        var broken = SyntheticACPI.madt { table in table.record(0, [], declaredLength: 0) }
        broken[9] &+= 1
        let acpi = try SyntheticACPI.parse([first, broken])
        #expect(acpi.tables.map(\.checksumIsValid) == [true, false])
    }
}

@Suite("ACPI values")
struct ACPIValueTests {
    @Test func signatureConstantsSpellTheirNames() {
        let pairs: [(ACPISignature, StaticString)] = [
            (.rsdt, "RSDT"), (.xsdt, "XSDT"), (.madt, "APIC"), (.hpet, "HPET"),
            (.srat, "SRAT"), (.slit, "SLIT"), (.fadt, "FACP"), (.mcfg, "MCFG"),
        ]
        for (constant, text) in pairs {
            #expect(constant == ACPISignature(text))
            #expect(constant.description == text.description)
        }
        #expect(ACPISignature(rawValue: 0x0041_0A41).description == "A?A?")
        #expect(RSDP.signature == ACPIBytes.little(Array("RSD PTR ".utf8), at: 0, count: 8))
    }

    @Test func errorDescriptionsNameTheTableAndAddress() {
        let checksum = ACPIError.badChecksum(signature: .madt, address: 0x7fe_19cc).description
        #expect(checksum == "ACPI: APIC at 0x0000000007fe19cc checksum mismatch")
        let record = ACPIError.badRecordLength(signature: .srat, offset: 48, length: 0).description
        #expect(record == "ACPI: SRAT record at offset 0x00000030 has bad length 0x00")
    }

    @Test func everyErrorHasADistinctDescription() {
        let all: [ACPIError] = [
            .noRSDP, .badRSDPSignature, .badRSDPChecksum(extended: false),
            .badRSDPChecksum(extended: true), .badRSDPLength(1), .noRootTable,
            .unreadable(address: 1), .addressOverflow(base: 1, offset: 1),
            .badSignature(expected: .rsdt, found: .madt, address: 1),
            .badLength(signature: .madt, address: 1, length: 1),
            .truncated(signature: .madt, address: 1, length: 1),
            .badChecksum(signature: .madt, address: 1),
            .badRecordLength(signature: .madt, offset: 1, length: 1),
            .recordTooShort(signature: .madt, type: 1, length: 1),
            .tooManyEntries(signature: .madt), .badLocalityCount(1),
            .unsupportedAddressSpace(signature: .hpet, space: 1),
            .badMemoryRange(base: 1, length: 1),
        ]
        #expect(Set(all.map(\.description)).count == all.count)
    }
}
