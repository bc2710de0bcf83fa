import Testing
@testable import ExoBoot

@Suite("Multiboot2 parsing")
struct Multiboot2Tests {
    func parse(_ bytes: [UInt8]) throws(BootInfoError) -> BootInfo {
        try BootInfoParser.parseMultiboot2(infoAddress: GrubFixture.infoAddress,
                                           memory: GrubFixture.memory(bytes))
    }

    /// A minimal valid structure: one memory-map tag and the end tag.
    func minimal(entrySize: UInt32 = 24) -> Multiboot2Builder {
        var builder = Multiboot2Builder()
        builder.tag(6, Multiboot2Payload.memoryMap([(0, 0x9_fc00, 1)], entrySize: entrySize))
        return builder
    }

    @Test func grubInfoGivesEveryField() throws {
        let info = try parse(GrubFixture.builder().finish())
        #expect(info.bootProtocol == .multiboot2)
        #expect(info.commandLine == "exo.test=all console=ttyS0")
        #expect(info.bootloaderName == "GRUB 2.06-13+deb12u1")
        let module = BootModule(start: 0x10_d000, end: 0x2a_1400, name: "/boot/initrd.cpio")
        #expect(info.modules == [module])
        #expect(info.framebuffer == GrubFixture.textConsole)
        #expect(info.acpiRSDP == Multiboot2Payload.bochsRSDP)
    }

    @Test func grubMemoryMapIsPreferredOverBasicMemory() throws {
        let info = try parse(GrubFixture.builder().finish())
        let expected = Multiboot1Fixture.qemuMap.map {
            MemoryRegion(base: $0.base, length: $0.length, kind: MemoryKind(multibootType: $0.type))
        }
        #expect(info.memoryMap == expected)
        #expect(info.memoryMapAnomalies == 0)
        #expect(info.totalAvailableBytes == 0x9_fc00 + 0x7ee_0000)
    }

    @Test func unknownTagsOfOddSizesAreSkipped() throws {
        var builder = Multiboot2Builder()
        builder.tag(0x1234, [1, 2, 3, 4, 5])  // size 13, padded to 16
        builder.tag(1, Multiboot2Payload.string("after"))
        builder.tag(4, Multiboot2Payload.basicMemory(lowerKiB: 640, upperKiB: 1024))
        builder.end()
        let info = try parse(builder.finish())
        #expect(info.commandLine == "after")
    }

    @Test func basicMemoryStandsInForAMissingMemoryMap() throws {
        var builder = Multiboot2Builder()
        builder.tag(4, Multiboot2Payload.basicMemory(lowerKiB: 640, upperKiB: 1024))
        builder.end()
        let info = try parse(builder.finish())
        let expected = [MemoryRegion(base: 0, length: 640 * 1024, kind: .available),
                        MemoryRegion(base: 0x10_0000, length: 1024 * 1024, kind: .available)]
        #expect(info.memoryMap == expected)
        #expect(info.commandLine == "")
    }

    @Test func noMemoryInformationIsAnError() {
        var builder = Multiboot2Builder()
        builder.tag(1, Multiboot2Payload.string("x"))
        builder.end()
        #expect(throws: BootInfoError.noMemoryMap) { try parse(builder.finish()) }
    }

    @Test func newRSDPWinsOverOldWhateverTheOrder() throws {
        var newRSDP = Multiboot2Payload.bochsRSDP
        newRSDP[15] = 2  // revision 2
        newRSDP += [UInt8](repeating: 0xab, count: 16)  // length, XSDT, checksum, reserved
        var builder = minimal()
        builder.tag(15, newRSDP)
        builder.tag(14, Multiboot2Payload.bochsRSDP)
        builder.end()
        let info = try parse(builder.finish())
        #expect(info.acpiRSDP == newRSDP)
    }

    @Test func tagExtendingPastTotalSizeIsTruncated() {
        var builder = minimal()
        let offset = UInt32(builder.image.count)
        builder.tag(1, Multiboot2Payload.string("hello"), declaredSize: 0x100)
        builder.end()
        #expect(throws: BootInfoError.truncatedTag(offset: offset)) { try parse(builder.finish()) }
    }

    @Test func tagSizeBelowEightIsRejected() {
        var builder = minimal()
        let offset = UInt32(builder.image.count)
        builder.tag(1, [], declaredSize: 4)
        builder.end()
        #expect(throws: BootInfoError.badTagSize(offset: offset, size: 4)) {
            try parse(builder.finish())
        }
    }

    @Test func totalSizeBelowHeaderPlusEndTagIsRejected() {
        var builder = minimal()
        builder.end()
        #expect(throws: BootInfoError.badTotalSize(8)) { try parse(builder.finish(totalSize: 8)) }
    }

    @Test func totalSizeAboveOneMebibyteIsRejected() {
        var builder = minimal()
        builder.end()
        #expect(throws: BootInfoError.badTotalSize(0x20_0000)) {
            try parse(builder.finish(totalSize: 0x20_0000))
        }
    }

    @Test func missingEndTagIsRejected() {
        let bytes = GrubFixture.builder(withEnd: false).finish()
        #expect(throws: BootInfoError.missingEndTag) { try parse(bytes) }
    }

    @Test func totalSizeLargerThanReadableMemoryIsUnreadable() {
        // total_size claims 64 bytes more than were mapped and there is no
        // end tag: the read past the structure must fail cleanly.
        let builder = minimal()
        let bytes = builder.finish(totalSize: UInt32(builder.image.count + 64))
        let firstUnmapped = GrubFixture.infoAddress + UInt64(bytes.count)
        #expect(throws: BootInfoError.unreadable(address: firstUnmapped)) { try parse(bytes) }
    }

    @Test(arguments: [UInt32(0), 20, 28, 8])
    func unusableMemoryMapEntrySizeIsRejected(entrySize: UInt32) {
        var builder = Multiboot2Builder()
        var payload = Multiboot2Payload.memoryMap([(0, 0x9_fc00, 1)])
        payload[0..<4] = [UInt8(entrySize & 0xff), 0, 0, 0]
        builder.tag(6, payload)
        builder.end()
        #expect(throws: BootInfoError.badEntrySize(entrySize)) { try parse(builder.finish()) }
    }

    @Test func largerMemoryMapEntriesAreSteppedOver() throws {
        var builder = Multiboot2Builder()
        builder.tag(6, Multiboot2Payload.memoryMap(Multiboot1Fixture.qemuMap, entrySize: 32))
        builder.end()
        let info = try parse(builder.finish())
        #expect(info.memoryMap.count == 6)
        #expect(info.totalAvailableBytes == 0x9_fc00 + 0x7ee_0000)
    }

    @Test func commandLineWithoutNulInsideItsTagIsUnterminated() {
        var builder = minimal()
        let tagAddress = GrubFixture.infoAddress + UInt64(builder.image.count)
        // "abcdefgh" fills the tag exactly; the next tag's bytes must not
        // be taken as the rest of the string.
        builder.tag(1, Array("abcdefgh".utf8))
        builder.end()
        #expect(throws: BootInfoError.unterminatedString(address: tagAddress + 8)) {
            try parse(builder.finish())
        }
    }

    @Test func framebufferTagTooSmallForItsFieldsIsRejected() {
        var builder = minimal()
        builder.tag(8, [UInt8](repeating: 0, count: 12))
        builder.end()
        #expect(throws: BootInfoError.tagTooSmall(type: 8, size: 20)) { try parse(builder.finish()) }
    }

    @Test func moduleEndingBeforeItStartsIsRejected() {
        var builder = minimal()
        builder.tag(3, Multiboot2Payload.module(start: 0x20_0000, end: 0x10_0000, name: "m"))
        builder.end()
        #expect(throws: BootInfoError.badModuleRange(start: 0x20_0000, end: 0x10_0000)) {
            try parse(builder.finish())
        }
    }

    @Test func memoryMapTagsBeyondTheEntryCapAreRejected() {
        var builder = Multiboot2Builder()
        let entries = (0..<513).map { (base: UInt64($0) * 0x1000, length: UInt64(0x1000), type: UInt32(1)) }
        builder.tag(6, Multiboot2Payload.memoryMap(entries))
        builder.end()
        #expect(throws: BootInfoError.tooManyEntries) { try parse(builder.finish()) }
    }

    @Test func structureEndingAtTheTopOfTheAddressSpaceOverflows() {
        var builder = minimal()
        builder.end()
        let bytes = builder.finish()
        let address = UInt64.max - 15
        let memory = GrubFixture.memory(bytes, at: address)
        #expect(throws: BootInfoError.addressOverflow(base: address, offset: UInt64(bytes.count))) {
            try BootInfoParser.parseMultiboot2(infoAddress: address, memory: memory)
        }
    }
}
