import Testing
@testable import ExoBoot

/// Real QEMU tables with one thing broken: each must give one specific
/// typed error, never a trap or a hang.
@Suite("ACPI corrupt tables")
struct ACPICorruptionTests {
    static let pcRSDP: UInt64 = 0xf_59d0
    static let numaRSDP: UInt64 = 0xf_59d0

    func parse(_ fixture: ACPIFixture, rsdp: UInt64 = pcRSDP) -> ACPIError? {
        let memory = fixture.memory()
        return acpiError { () throws(ACPIError) in try ACPIParser.parse(rsdpAddress: rsdp, memory: memory) }
    }

    func parseUEFI(_ fixture: ACPIFixture) -> ACPIError? {
        let memory = fixture.memory()
        let copy = fixture.regions[ACPIFixture.uefiRSDP2]!
        return acpiError { () throws(ACPIError) in try ACPIParser.parse(rsdpBytes: copy, memory: memory) }
    }

    // MARK: RSDP

    @Test func flippedRSDPChecksumByte() {
        var fixture = ACPIFixture.pc
        fixture[Self.pcRSDP + 8] ^= 0x01
        #expect(parse(fixture) == .badRSDPChecksum(extended: false))
    }

    @Test func flippedExtendedChecksumOfAnACPI2RSDP() {
        var fixture = ACPIFixture.q35uefi
        fixture[ACPIFixture.uefiRSDP2 + 32] ^= 0x80
        #expect(parseUEFI(fixture) == .badRSDPChecksum(extended: true))
    }

    @Test func rsdpCopyTooShortOrWithoutSignature() {
        let memory = FakePhysicalMemory()
        let rsdp = QEMUACPITables.pc[Self.pcRSDP]!
        let short = acpiError { () throws(ACPIError) in
            try ACPIParser.parse(rsdpBytes: Array(rsdp[0..<19]), memory: memory)
        }
        #expect(short == .badRSDPLength(19))
        var unsigned = rsdp
        unsigned[0] = UInt8(ascii: "r")
        let noSignature = acpiError { () throws(ACPIError) in
            try ACPIParser.parse(rsdpBytes: unsigned, memory: memory)
        }
        #expect(noSignature == .badRSDPSignature)
        // A revision-2 copy cut to the 20 bytes of ACPI 1.0.
        let v2 = QEMUACPITables.q35uefi[ACPIFixture.uefiRSDP2]!
        let cut = acpiError { () throws(ACPIError) in
            try ACPIParser.parse(rsdpBytes: Array(v2[0..<20]), memory: memory)
        }
        #expect(cut == .badRSDPLength(20))
    }

    @Test func rsdpLengthBeyondItsCopy() {
        var rsdp = SyntheticACPI.rsdp(xsdt: 0x1000)
        var image = ByteImage(bytes: rsdp)
        image.set32(40, at: 20)
        rsdp = image.bytes
        ACPITableBuilder.setChecksum(&rsdp, byte: 8, over: 20)
        let error = acpiError { () throws(ACPIError) in
            try ACPIParser.parse(rsdpBytes: rsdp, memory: FakePhysicalMemory())
        }
        #expect(error == .badRSDPLength(40))
    }

    @Test func rsdpWithNoRootTable() {
        var fixture = ACPIFixture.pc
        fixture.write(0, width: 4, at: Self.pcRSDP + 16)
        fixture.fixChecksum(Self.pcRSDP)
        #expect(parse(fixture) == .noRootTable)
    }

    @Test func rsdpAtUnreadableAddress() {
        #expect(parse(.pc, rsdp: 0x5000) == .unreadable(address: 0x5000))
    }

    @Test func revision2RSDPWithoutXSDTFallsBackToTheRSDT() throws {
        var fixture = ACPIFixture.q35uefi
        fixture.write(0, width: 8, at: ACPIFixture.uefiRSDP2 + 24)
        fixture.fixChecksum(ACPIFixture.uefiRSDP2)
        let acpi = try ACPIParser.parse(rsdpAddress: ACPIFixture.uefiRSDP2, memory: fixture.memory())
        #expect(acpi.root.signature == .rsdt)
        #expect(acpi.madt?.processors.count == 4)
    }

    // MARK: Root tables

    @Test func rsdtPointingAtUnreadableMemory() {
        var fixture = ACPIFixture.pc
        fixture.write(0x0dea_d000, width: 4, at: Self.pcRSDP + 16)
        fixture.fixChecksum(Self.pcRSDP)
        #expect(parse(fixture) == .unreadable(address: 0x0dea_d000))
    }

    @Test func rsdtEntryPointingAtUnreadableMemory() {
        var fixture = ACPIFixture.pc
        let rsdt = fixture.address(of: "RSDT")
        fixture.write(0x0dea_d000, width: 4, at: rsdt + 36 + 4)
        fixture.fixChecksum(rsdt)
        #expect(parse(fixture) == .unreadable(address: 0x0dea_d000))
    }

    @Test func rsdtPointerToAnotherTable() {
        var fixture = ACPIFixture.pc
        let madt = fixture.address(of: "APIC")
        fixture.write(madt, width: 4, at: Self.pcRSDP + 16)
        fixture.fixChecksum(Self.pcRSDP)
        #expect(parse(fixture) == .badSignature(expected: .rsdt, found: .madt, address: madt))
    }

    @Test func flippedXSDTChecksumByte() {
        var fixture = ACPIFixture.q35uefi
        let xsdt: UInt64 = 0x7b7_d0e8
        fixture[xsdt + 9] ^= 0x01
        #expect(parseUEFI(fixture) == .badChecksum(signature: .xsdt, address: xsdt))
    }

    @Test func nullRootEntriesAreSkipped() throws {
        var fixture = ACPIFixture.pc
        let rsdt = fixture.address(of: "RSDT")
        fixture.write(0, width: 4, at: rsdt + 36)  // the FADT's slot
        fixture.fixChecksum(rsdt)
        let acpi = try ACPIParser.parse(rsdpAddress: Self.pcRSDP, memory: fixture.memory())
        #expect(acpi.tables.map(\.signature.description) == ["APIC", "HPET", "WAET"])
    }

    @Test func tableAddressNearTheTopOfTheAddressSpace() {
        // Everything readable (zeros outside the fixture), so only the
        // overflow check can stop the read.
        struct Everywhere: PhysicalMemoryReader {
            let inner: FakePhysicalMemory
            func byte(at address: UInt64) -> UInt8? { inner.byte(at: address) ?? 0 }
        }
        var fixture = ACPIFixture.q35uefi
        let xsdt: UInt64 = 0x7b7_d0e8
        fixture.write(0xFFFF_FFFF_FFFF_FFF0, width: 8, at: xsdt + 36)
        fixture.fixChecksum(xsdt)
        let copy = fixture.regions[ACPIFixture.uefiRSDP2]!
        let memory = Everywhere(inner: fixture.memory())
        let error = acpiError { () throws(ACPIError) in try ACPIParser.parse(rsdpBytes: copy, memory: memory) }
        #expect(error == .addressOverflow(base: 0xFFFF_FFFF_FFFF_FFF0, offset: 16))
    }

    // MARK: Table headers

    @Test func flippedMADTChecksumByte() {
        var fixture = ACPIFixture.q35
        let madt = fixture.address(of: "APIC")
        fixture[madt + 9] ^= 0x01
        #expect(parse(fixture, rsdp: 0xf_59e0) == .badChecksum(signature: .madt, address: madt))
    }

    @Test func madtLengthBeyondReadableMemory() {
        var fixture = ACPIFixture.pc
        let madt = fixture.address(of: "APIC")
        // The MADT is 120 bytes; other tables follow it, then memory ends
        // after the RSDT: 0x1000 bytes run off the end.
        fixture.write(0x1000, width: 4, at: madt + 4)
        #expect(parse(fixture) == .truncated(signature: .madt, address: madt, length: 0x1000))
    }

    @Test func hugeLengthFields() {
        var fixture = ACPIFixture.pc
        let madt = fixture.address(of: "APIC")
        fixture.write(0xFFFF_FFF0, width: 4, at: madt + 4)
        #expect(parse(fixture) == .badLength(signature: .madt, address: madt, length: 0xFFFF_FFF0))

        var rootFixture = ACPIFixture.pc
        let rsdt = rootFixture.address(of: "RSDT")
        rootFixture.write(0x8000_0000, width: 4, at: rsdt + 4)
        #expect(parse(rootFixture) == .badLength(signature: .rsdt, address: rsdt, length: 0x8000_0000))
    }

    @Test func lengthBelowTheHeader() {
        var fixture = ACPIFixture.pc
        let hpet = fixture.address(of: "HPET")
        fixture.write(35, width: 4, at: hpet + 4)
        #expect(parse(fixture) == .badLength(signature: .hpet, address: hpet, length: 35))
    }

    @Test func tablesTooShortForTheirFixedFields() {
        // A valid 40-byte header-plus-a-bit for each parsed signature.
        for (signature, name) in [(ACPISignature.madt, "APIC" as StaticString), (.hpet, "HPET"),
                                  (.srat, "SRAT"), (.slit, "SLIT")] {
            var table = ACPITableBuilder(name)
            table.image.u32(0)
            let error = acpiError { () throws(ACPIError) in try SyntheticACPI.parse([table.finish()]) }
            #expect(error == .badLength(signature: signature, address: SyntheticACPI.tableAddress(0),
                                        length: 40))
        }
    }

    // MARK: Records

    @Test func madtRecordWithLengthZero() {
        var fixture = ACPIFixture.pc
        let madt = fixture.address(of: "APIC")
        fixture[madt + 44 + 1] = 0
        fixture.fixChecksum(madt)
        #expect(parse(fixture) == .badRecordLength(signature: .madt, offset: 44, length: 0))
    }

    @Test func madtRecordWithLengthOne() {
        var fixture = ACPIFixture.pc
        let madt = fixture.address(of: "APIC")
        fixture[madt + 44 + 1] = 1
        fixture.fixChecksum(madt)
        #expect(parse(fixture) == .badRecordLength(signature: .madt, offset: 44, length: 1))
    }

    @Test func madtRecordRunningPastTheTableEnd() {
        var fixture = ACPIFixture.pc
        let madt = fixture.address(of: "APIC")
        // The last record is the 6-byte local APIC NMI at offset 114.
        #expect(fixture[madt + 114] == 4)
        fixture[madt + 114 + 1] = 7
        fixture.fixChecksum(madt)
        #expect(parse(fixture) == .badRecordLength(signature: .madt, offset: 114, length: 7))
    }

    @Test func madtRecordShorterThanItsType() {
        var fixture = ACPIFixture.pc
        let madt = fixture.address(of: "APIC")
        // Record 0 (local APIC, 8 bytes) claims 4 bytes: the walk goes on
        // at offset 48, but the record itself is unusable.
        fixture[madt + 44 + 1] = 4
        fixture.fixChecksum(madt)
        #expect(parse(fixture) == .recordTooShort(signature: .madt, type: 0, length: 4))
    }

    @Test func sratRecordWithLengthZero() {
        var fixture = ACPIFixture.numa
        let srat = fixture.address(of: "SRAT")
        fixture[srat + 48 + 1] = 0
        fixture.fixChecksum(srat)
        #expect(parse(fixture, rsdp: Self.numaRSDP) == .badRecordLength(signature: .srat, offset: 48, length: 0))
    }

    @Test func slitCountLargerThanTheTable() {
        var fixture = ACPIFixture.numa
        let slit = fixture.address(of: "SLIT")
        fixture.write(3, width: 8, at: slit + 36)  // 9 bytes needed, 4 present
        fixture.fixChecksum(slit)
        #expect(parse(fixture, rsdp: Self.numaRSDP) == .badLocalityCount(3))

        // A count whose square overflows 64 bits.
        fixture.write(1 << 40, width: 8, at: slit + 36)
        fixture.fixChecksum(slit)
        #expect(parse(fixture, rsdp: Self.numaRSDP) == .badLocalityCount(1 << 40))
    }

    @Test func flippedSRATAndSLITChecksums() {
        for name in ["SRAT", "SLIT"] as [StaticString] {
            var fixture = ACPIFixture.numa
            let table = fixture.address(of: name)
            fixture[table + 20] ^= 0x10
            #expect(parse(fixture, rsdp: Self.numaRSDP)
                    == .badChecksum(signature: ACPISignature(name), address: table))
        }
    }

    @Test func hpetRegistersInIOSpace() {
        var fixture = ACPIFixture.pc
        let hpet = fixture.address(of: "HPET")
        fixture[hpet + 40] = 1  // system I/O space
        fixture.fixChecksum(hpet)
        #expect(parse(fixture) == .unsupportedAddressSpace(signature: .hpet, space: 1))
    }

    @Test func sratMemoryRangeThatWraps() {
        var fixture = ACPIFixture.numa
        let srat = fixture.address(of: "SRAT")
        // Fifth record: the first memory affinity (4 x 16-byte CPU records).
        let record = srat + 48 + 4 * 16
        #expect(fixture[record] == 1)
        fixture.write(0xFFFF_FFFF_FFFF_0000, width: 8, at: record + 8)
        fixture.write(0x1_0000, width: 8, at: record + 16)
        fixture.fixChecksum(srat)
        #expect(parse(fixture, rsdp: Self.numaRSDP)
                == .badMemoryRange(base: 0xFFFF_FFFF_FFFF_0000, length: 0x1_0000))
    }

    @Test func tooManyRecords() {
        let madt = SyntheticACPI.madt { table in
            for _ in 0...ACPIParser.maximumRecords { table.record(0x7F, []) }
        }
        let error = acpiError { () throws(ACPIError) in try SyntheticACPI.parse([madt]) }
        #expect(error == .tooManyEntries(signature: .madt))
    }
}
