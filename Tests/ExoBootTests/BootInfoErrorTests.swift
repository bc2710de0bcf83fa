import Testing
import ExoBoot

@Suite("Boot info errors")
struct BootInfoErrorTests {
    @Test func descriptionsNameTheOffendingValueInHex() {
        #expect(BootInfoError.badMagic(0x1BAD_B002).description == "bad boot magic 0x1badb002")
        let unreadable = BootInfoError.unreadable(address: 0xdead_0000).description
        #expect(unreadable == "boot info: unreadable address 0x00000000dead0000")
        let truncated = BootInfoError.truncatedTag(offset: 0x48).description
        #expect(truncated.hasSuffix("0x00000048 extends past total_size"))
    }

    @Test func everyCaseHasADistinctDescription() {
        let all: [BootInfoError] = [
            .badMagic(1), .unreadable(address: 1), .addressOverflow(base: 1, offset: 1),
            .unterminatedString(address: 1), .badTotalSize(1), .badTagSize(offset: 1, size: 1),
            .truncatedTag(offset: 1), .tagTooSmall(type: 1, size: 1), .missingEndTag,
            .badEntrySize(1), .truncatedMemoryMap(address: 1), .tooManyEntries,
            .tooManyModules(1), .badModuleRange(start: 1, end: 1), .noMemoryMap,
        ]
        let descriptions = Set(all.map(\.description))
        #expect(descriptions.count == all.count)
    }
}
