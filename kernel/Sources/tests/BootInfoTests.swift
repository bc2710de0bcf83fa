import ExoKit
import ExoBoot

/// The real boot information, as this boot's loader handed it over.
enum BootInfoTests {
    static let suite = KernelTestSuite(name: "boot", tests: [
        KernelTest(name: "protocol_matches_the_loader_magic", body: protocolMatches),
        KernelTest(name: "memory_map_is_sorted_and_disjoint", body: mapIsSane),
        KernelTest(name: "kernel_image_lies_in_available_memory", body: imageInAvailable),
        KernelTest(name: "command_line_and_loader_name_are_read", body: commandLine),
        KernelTest(name: "corrupted_block_is_refused_with_an_error", body: corruptRefused),
        KernelTest(name: "truncated_block_is_refused_with_an_error", body: truncatedRefused),
    ])

    static func protocolMatches(_ t: TestContext) {
        guard let info = BootState.info else { return t.expect(false, "boot info parsed") }
        let expected: BootProtocol = BootState.magic == BootInfoParser.multiboot1Magic ? .multiboot1 : .multiboot2
        t.expect(info.bootProtocol == expected, "protocol follows EAX magic")
    }

    static func mapIsSane(_ t: TestContext) {
        guard let info = BootState.info else { return t.expect(false, "boot info parsed") }
        t.expect(!info.memoryMap.isEmpty, "memory map has regions")
        for (previous, next) in zip(info.memoryMap, info.memoryMap.dropFirst()) {
            t.expect(previous.end <= next.base, "regions sorted and disjoint at \(next.base)")
        }
        t.expect(info.memoryMap.allSatisfy { $0.length > 0 }, "no zero-length region")
        let sum = info.memoryMap.filter { $0.kind == .available }.reduce(UInt64(0)) { $0 + $1.length }
        t.expectEqual(sum, info.totalAvailableBytes, "available total is the sum of available regions")
        t.expect(info.totalAvailableBytes >= 16 << 20, "at least 16 MiB available")
    }

    static func imageInAvailable(_ t: TestContext) {
        guard let info = BootState.info else { return t.expect(false, "boot info parsed") }
        let image = KernelLayout.imagePhysicalRange
        let covered = info.memoryMap.contains { $0.kind == .available && $0.base <= image.lowerBound && $0.end >= image.upperBound }
        t.expect(covered, "one available region holds the whole image")
    }

    static func commandLine(_ t: TestContext) {
        guard let info = BootState.info else { return t.expect(false, "boot info parsed") }
        t.expect(Text.contains(info.commandLine, "exo.test="), "the command line that selected this run is visible")
        t.expect(BootState.commandLine.value(of: "exo.test") != nil, "exo.test parses as a key")
        t.expect(!(info.bootloaderName ?? "").isEmpty, "the loader named itself")
    }

    static func corruptRefused(_ t: TestContext) {
        let reader = CorruptingReader(base: DirectMapReader(), magic: BootState.magic, infoAddress: BootState.infoAddress)
        do {
            _ = try BootInfoParser.parse(magic: BootState.magic, infoAddress: BootState.infoAddress, memory: reader)
            t.expect(false, "a corrupted block must not parse")
        } catch {
            t.expect(!error.description.isEmpty, "the error explains itself")
        }
    }

    /// Only the first 12 bytes of the block are readable.
    struct TruncatedReader: PhysicalMemoryReader {
        let start: UInt64
        func byte(at address: UInt64) -> UInt8? {
            address >= start && address < start + 12 ? DirectMapReader().byte(at: address) : nil
        }
    }

    static func truncatedRefused(_ t: TestContext) {
        do {
            _ = try BootInfoParser.parse(magic: BootState.magic, infoAddress: BootState.infoAddress,
                                         memory: TruncatedReader(start: BootState.infoAddress))
            t.expect(false, "a truncated block must not parse")
        } catch {
            t.expect(!error.description.isEmpty, "the error explains itself")
        }
        do {
            _ = try BootInfoParser.parse(magic: 0x1234_5678, infoAddress: BootState.infoAddress, memory: DirectMapReader())
            t.expect(false, "an unknown magic must not parse")
        } catch {
            t.expect(error == .badMagic(0x1234_5678), "unknown magic is reported as such")
        }
    }
}
