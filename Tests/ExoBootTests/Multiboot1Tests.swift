import Testing
@testable import ExoBoot

@Suite("Multiboot1 parsing")
struct Multiboot1Tests {
    typealias Fixture = Multiboot1Fixture

    @Test func qemuInfoGivesCommandLineLoaderNameAndProtocol() throws {
        let info = try BootInfoParser.parseMultiboot1(
            infoAddress: Fixture.infoAddress, memory: Fixture().memory())
        #expect(info.bootProtocol == .multiboot1)
        #expect(info.commandLine == "build/exo.elf exo.test=all")
        #expect(info.bootloaderName == "qemu")
        #expect(info.modules.isEmpty)
        #expect(info.framebuffer == nil)
        #expect(info.acpiRSDP == nil)
    }

    @Test func qemuMemoryMapKeepsItsSixRegionsUnchanged() throws {
        let info = try BootInfoParser.parseMultiboot1(
            infoAddress: Fixture.infoAddress, memory: Fixture().memory())
        let expected = Fixture.qemuMap.map {
            MemoryRegion(base: $0.base, length: $0.length, kind: MemoryKind(multibootType: $0.type))
        }
        #expect(info.memoryMap == expected)
        #expect(info.memoryMapAnomalies == 0)
        #expect(info.totalAvailableBytes == 0x9_fc00 + 0x7ee_0000)
    }

    @Test func modulesAreReadWithTheirNames() throws {
        var fixture = Fixture()
        fixture.modules = [(0x20_0000, 0x28_0000, "initrd.cpio"), (0x28_0000, 0x28_0000, "")]
        let info = try BootInfoParser.parseMultiboot1(
            infoAddress: Fixture.infoAddress, memory: fixture.memory())
        let expected = [BootModule(start: 0x20_0000, end: 0x28_0000, name: "initrd.cpio"),
                        BootModule(start: 0x28_0000, end: 0x28_0000, name: "")]
        #expect(info.modules == expected)
    }

    @Test func mapIsSynthesizedFromBasicMemoryWithoutMmap() throws {
        var fixture = Fixture()
        fixture.flags = 0x1 | 0x4  // mem_lower/mem_upper and cmdline only
        let info = try BootInfoParser.parseMultiboot1(
            infoAddress: Fixture.infoAddress, memory: fixture.memory())
        let expected = [MemoryRegion(base: 0, length: 639 * 1024, kind: .available),
                        MemoryRegion(base: 0x10_0000, length: 130_944 * 1024, kind: .available)]
        #expect(info.memoryMap == expected)
        #expect(info.totalAvailableBytes == (639 + 130_944) * 1024)
        #expect(info.bootloaderName == nil)
    }

    @Test func noMemoryInformationAtAllIsAnError() {
        var fixture = Fixture()
        fixture.flags = 0x4 | 0x200  // cmdline and loader name only
        #expect(throws: BootInfoError.noMemoryMap) {
            try BootInfoParser.parseMultiboot1(infoAddress: Fixture.infoAddress,
                                               memory: fixture.memory())
        }
    }

    @Test func mmapEntrySizeZeroIsRejectedInsteadOfLoopingForever() {
        var fixture = Fixture()
        fixture.entrySizeField = 0
        #expect(throws: BootInfoError.badEntrySize(0)) {
            try BootInfoParser.parseMultiboot1(infoAddress: Fixture.infoAddress,
                                               memory: fixture.memory())
        }
    }

    @Test func mmapEntryRunningPastMmapLengthIsRejected() {
        var page = Fixture().page()
        let info = Int(Fixture.infoAddress - Fixture.pageBase)
        page.set32(6 * 24 - 4, at: info + 44)  // mmap_length cuts the last entry short
        #expect(throws: BootInfoError.truncatedMemoryMap(address: Fixture.memoryMapAddress + 5 * 24)) {
            try BootInfoParser.parseMultiboot1(infoAddress: Fixture.infoAddress,
                                               memory: Fixture.memory(page: page))
        }
    }

    @Test func mmapWithTooManyEntriesIsRejected() {
        // 600 entries of 24 bytes starting at 0x20000, far above the cap.
        var map = ByteImage()
        for index in 0..<600 {
            map.u32(20)
            map.u64(UInt64(index) * 0x1000)
            map.u64(0x1000)
            map.u32(1)
        }
        var page = Fixture().page()
        let info = Int(Fixture.infoAddress - Fixture.pageBase)
        page.set32(UInt32(map.count), at: info + 44)
        page.set32(0x2_0000, at: info + 48)
        var memory = Fixture.memory(page: page)
        memory.map(map.bytes, at: 0x2_0000)
        #expect(throws: BootInfoError.tooManyEntries) {
            try BootInfoParser.parseMultiboot1(infoAddress: Fixture.infoAddress, memory: memory)
        }
    }

    @Test func infoStructureAtUnreadableAddressIsAnError() {
        #expect(throws: BootInfoError.unreadable(address: 0x50_0000)) {
            try BootInfoParser.parseMultiboot1(infoAddress: 0x50_0000, memory: Fixture().memory())
        }
    }

    @Test func commandLinePointerToUnreadableMemoryIsAnError() {
        var page = Fixture().page()
        page.set32(0xdead_0000, at: Int(Fixture.infoAddress - Fixture.pageBase) + 16)
        #expect(throws: BootInfoError.unreadable(address: 0xdead_0000)) {
            try BootInfoParser.parseMultiboot1(infoAddress: Fixture.infoAddress,
                                               memory: Fixture.memory(page: page))
        }
    }

    @Test func mmapPointerToUnreadableMemoryIsAnError() {
        var page = Fixture().page()
        page.set32(0x7000_0000, at: Int(Fixture.infoAddress - Fixture.pageBase) + 48)
        #expect(throws: BootInfoError.unreadable(address: 0x7000_0000)) {
            try BootInfoParser.parseMultiboot1(infoAddress: Fixture.infoAddress,
                                               memory: Fixture.memory(page: page))
        }
    }

    @Test func commandLineWithoutNulWithinMaximumLengthIsAnError() {
        // 8 KiB of 'a' with no NUL anywhere, readable, so only the length
        // limit can stop the scan.
        var page = Fixture().page()
        page.set32(0x4_0000, at: Int(Fixture.infoAddress - Fixture.pageBase) + 16)
        var memory = Fixture.memory(page: page)
        memory.map([UInt8](repeating: 0x61, count: 8192), at: 0x4_0000)
        #expect(throws: BootInfoError.unterminatedString(address: 0x4_0000)) {
            try BootInfoParser.parseMultiboot1(infoAddress: Fixture.infoAddress, memory: memory)
        }
    }

    @Test func commandLineOfExactlyMaximumLengthIsAccepted() throws {
        var page = Fixture().page()
        page.set32(0x4_0000, at: Int(Fixture.infoAddress - Fixture.pageBase) + 16)
        var memory = Fixture.memory(page: page)
        let length = BootInfoParser.maximumStringLength
        memory.map([UInt8](repeating: 0x61, count: length) + [0], at: 0x4_0000)
        let info = try BootInfoParser.parseMultiboot1(infoAddress: Fixture.infoAddress,
                                                      memory: memory)
        #expect(info.commandLine.utf8.count == length)
    }

    @Test func hugeModuleCountIsRejectedBeforeReading() {
        var page = Fixture().page()
        page.set32(0xffff_ffff, at: Int(Fixture.infoAddress - Fixture.pageBase) + 20)
        #expect(throws: BootInfoError.tooManyModules(0xffff_ffff)) {
            try BootInfoParser.parseMultiboot1(infoAddress: Fixture.infoAddress,
                                               memory: Fixture.memory(page: page))
        }
    }

    @Test func moduleEndingBeforeItStartsIsRejected() {
        var fixture = Fixture()
        fixture.modules = [(0x30_0000, 0x20_0000, "backwards")]
        #expect(throws: BootInfoError.badModuleRange(start: 0x30_0000, end: 0x20_0000)) {
            try BootInfoParser.parseMultiboot1(infoAddress: Fixture.infoAddress,
                                               memory: fixture.memory())
        }
    }

    @Test func framebufferFieldsAreReadWhenFlag12IsSet() throws {
        var fixture = Fixture()
        fixture.flags |= 1 << 12
        var page = fixture.page()
        let info = Int(Fixture.infoAddress - Fixture.pageBase)
        page.set64(0xfd00_0000, at: info + 88)
        page.set32(4096, at: info + 96)
        page.set32(1024, at: info + 100)
        page.set32(768, at: info + 104)
        page.setBytes([32, 1], at: info + 108)
        let parsed = try BootInfoParser.parseMultiboot1(infoAddress: Fixture.infoAddress,
                                                        memory: Fixture.memory(page: page))
        let expected = Framebuffer(address: 0xfd00_0000, pitch: 4096, width: 1024, height: 768,
                                   bitsPerPixel: 32, type: 1)
        #expect(parsed.framebuffer == expected)
    }

    @Test func infoStructureRunningOffTheTopOfMemoryReportsOverflow() {
        var memory = FakePhysicalMemory()
        memory.map([0x40, 0, 0, 0], at: UInt64.max - 3)  // flags: mmap present
        #expect(throws: BootInfoError.addressOverflow(base: UInt64.max - 3, offset: 48)) {
            try BootInfoParser.parseMultiboot1(infoAddress: UInt64.max - 3, memory: memory)
        }
    }
}

@Suite("Magic dispatch")
struct BootMagicTests {
    @Test func multiboot1MagicSelectsTheMultiboot1Parser() throws {
        let info = try BootInfoParser.parse(magic: 0x2BAD_B002,
                                            infoAddress: Multiboot1Fixture.infoAddress,
                                            memory: Multiboot1Fixture().memory())
        #expect(info.bootProtocol == .multiboot1)
    }

    @Test func multiboot2MagicSelectsTheMultiboot2Parser() throws {
        let info = try BootInfoParser.parse(magic: 0x36d7_6289,
                                            infoAddress: GrubFixture.infoAddress,
                                            memory: GrubFixture.memory(GrubFixture.builder().finish()))
        #expect(info.bootProtocol == .multiboot2)
    }

    @Test func unknownMagicIsRejected() {
        // 0x1BADB002 is the magic in the kernel's *header*, a classic mix-up.
        #expect(throws: BootInfoError.badMagic(0x1BAD_B002)) {
            try BootInfoParser.parse(magic: 0x1BAD_B002, infoAddress: Multiboot1Fixture.infoAddress,
                                     memory: Multiboot1Fixture().memory())
        }
    }
}
