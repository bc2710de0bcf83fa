import Testing
@testable import ExoBoot

/// Mutated real tables: each parse must return or throw a typed error. A
/// trap (overflow, out-of-bounds index) or a hang fails the run.
@Suite("ACPI fuzzing")
struct ACPIFuzzTests {
    /// Each configuration with the RSDP the kernel would start from.
    static let machines: [(fixture: ACPIFixture, rsdp: UInt64)] = [
        (.pc, 0xf_59d0), (.q35, 0xf_59e0), (.numa, 0xf_59d0), (.q35uefi, ACPIFixture.uefiRSDP2),
    ]

    /// Whether the tables parse; a success must be internally consistent.
    func parses(_ fixture: ACPIFixture, rsdp: UInt64, scan: Bool) -> Bool {
        let memory = fixture.memory(biosAreas: scan)
        let acpi: ACPITables
        do {
            let address = scan ? try ACPIParser.findRSDP(memory: memory) : rsdp
            acpi = try ACPIParser.parse(rsdpAddress: address, memory: memory)
        } catch {
            #expect(!error.description.isEmpty)
            return false
        }
        #expect(acpi.tables.count <= ACPIParser.maximumRecords)
        if let slit = acpi.slit, slit.localityCount > 0 {
            let last = slit.localityCount - 1
            #expect(slit.distance(from: last, to: last) != nil)
        }
        if let srat = acpi.srat {
            for memory in srat.memoryAffinities { _ = memory.end }  // must not trap
        }
        return true
    }

    @Test func mutatedQEMUTablesNeverCrash() {
        var random = SplitMix64(state: 0xac91_7ab1e5)
        var parsed = 0
        for round in 0..<1000 {
            let machine = Self.machines[round % Self.machines.count]
            var fixture = machine.fixture
            // Mutate one to four bytes of one region (a table, an RSDP or the
            // EBDA pointer).
            let bases = fixture.regions.keys.sorted()
            let base = bases[random.below(bases.count)]
            let count = fixture.regions[base]!.count
            for _ in 0..<(1 + random.below(4)) {
                let offset = random.below(count)
                let value: UInt8 = switch random.below(4) {
                case 0: 0
                case 1: 0xff
                default: UInt8(truncatingIfNeeded: random.next())
                }
                fixture.regions[base]![offset] = value
            }
            // Most of the time repair the checksum, so that the mutation
            // reaches the length, pointer and record checks behind it.
            if random.below(4) != 0 && count >= 20 { fixture.fixChecksum(base) }
            let scan = machine.rsdp < 0x10_0000 && random.below(2) == 0
            if parses(fixture, rsdp: machine.rsdp, scan: scan) { parsed += 1 }
        }
        // Mutations in OEM strings, reserved fields or unused tables still
        // parse; mutations of lengths, pointers and checksums do not.
        #expect(parsed > 100)
        #expect(parsed < 1000)
    }

    @Test func randomRecordBytesNeverCrashTheRecordParsers() {
        var random = SplitMix64(state: 0x5eed_0f_ac91)
        var parsed = 0
        for round in 0..<1000 {
            let names: [StaticString] = ["APIC", "SRAT", "SLIT", "HPET"]
            var table = ACPITableBuilder(names[round % names.count], revision: UInt8(random.below(4)))
            // Plausible fixed fields, then records of random types and lengths.
            table.image.raw(random.bytes(12))
            for _ in 0..<random.below(12) {
                let type = UInt8(random.below(12))
                let length = random.below(4) == 0 ? random.below(256) : [8, 12, 10, 16, 24, 40][random.below(6)]
                table.record(type, random.bytes(max(0, min(length, 60) - 2)),
                             declaredLength: UInt8(truncatingIfNeeded: length))
            }
            if acpiError({ () throws(ACPIError) in try SyntheticACPI.parse([table.finish()]) }) == nil {
                parsed += 1
            }
        }
        #expect(parsed > 0)
        #expect(parsed < 1000)
    }
}
