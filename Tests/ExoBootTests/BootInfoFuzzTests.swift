import Testing
@testable import ExoBoot

/// Random and mutated inputs: each must parse or throw a typed error. A
/// crash (trap on overflow, out-of-bounds index) or a hang fails the run.
@Suite("Boot info fuzzing")
struct BootInfoFuzzTests {
    /// Which parser to run.
    enum Parser: CaseIterable { case multiboot1, multiboot2 }

    /// Whether `parser` accepted the structure at `address`; a success must
    /// have a sanitized map and a matching available-byte total.
    func parses(_ parser: Parser, address: UInt64, memory: FakePhysicalMemory) -> Bool {
        let info: BootInfo
        do {
            switch parser {
            case .multiboot1:
                info = try BootInfoParser.parseMultiboot1(infoAddress: address, memory: memory)
            case .multiboot2:
                info = try BootInfoParser.parseMultiboot2(infoAddress: address, memory: memory)
            }
        } catch {
            return false
        }
        #expect(isSanitized(info.memoryMap))
        let available = info.memoryMap.filter { $0.kind == .available }.reduce(UInt64(0)) {
            $0 + $1.length
        }
        #expect(info.totalAvailableBytes == available)
        return true
    }

    @Test func randomBlobsNeverCrashEitherParser() {
        var random = SplitMix64(state: 0xe70b_0075)
        let address: UInt64 = 0x9000
        var parsed = 0
        for round in 0..<1000 {
            var blob = random.bytes(random.below(600))
            // Half the time make the blob plausible enough to get past the
            // first check of each parser: a matching total_size and small
            // pointers back into the blob.
            if round % 2 == 0 && blob.count >= 16 {
                var image = ByteImage(bytes: blob)
                image.set32(UInt32(blob.count), at: 0)
                for offset in stride(from: 16, to: min(blob.count - 3, 120), by: 4) where random.below(2) == 0 {
                    image.set32(UInt32(address) + UInt32(random.below(blob.count)), at: offset)
                }
                blob = image.bytes
            }
            var memory = FakePhysicalMemory()
            memory.map(blob, at: address)
            for parser in Parser.allCases where parses(parser, address: address, memory: memory) {
                parsed += 1
            }
        }
        // Random bytes almost never form a valid structure; what matters is
        // that all 2000 calls returned.
        #expect(parsed > 0)
        #expect(parsed < 2000)
    }

    @Test func mutatedRealInfoNeverCrashesAndOftenStillParses() {
        var random = SplitMix64(state: 0x0b00_7ab1e)
        let grub = GrubFixture.builder().finish()
        let qemu = Multiboot1Fixture().page().bytes
        var parsed = 0
        for round in 0..<1000 {
            let useGrub = round % 2 == 0
            var bytes = useGrub ? grub : qemu
            for _ in 0..<(1 + random.below(4)) {
                let index = useGrub ? random.below(bytes.count) : 0x500 + random.below(0x500)
                bytes[index] = random.below(3) == 0 ? 0xff : UInt8(truncatingIfNeeded: random.next())
            }
            var memory = FakePhysicalMemory()
            let address = useGrub ? GrubFixture.infoAddress : Multiboot1Fixture.pageBase
            memory.map(bytes, at: address)
            let infoAddress = useGrub ? address : Multiboot1Fixture.infoAddress
            if parses(useGrub ? .multiboot2 : .multiboot1, address: infoAddress, memory: memory) {
                parsed += 1
            }
        }
        // Many mutations land in strings or padding: those must still parse,
        // or the parser is stricter than the format.
        #expect(parsed > 100)
        #expect(parsed < 1000)
    }
}
