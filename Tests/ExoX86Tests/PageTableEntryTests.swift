import Testing
@testable import ExoX86

@Suite("Page-table entries")
struct PageTableEntryTests {
    @Test func entryIsEightBytesLikeTheHardwareSlot() {
        #expect(MemoryLayout<PageTableEntry>.size == 8)
        #expect(MemoryLayout<PageTableEntry>.stride == 8)
        #expect(MemoryLayout<PageFlags>.size == 8)
    }

    @Test func flagsSitAtTheirSDMBitPositions() {
        #expect(PageFlags.present.rawValue == 1 << 0)
        #expect(PageFlags.writable.rawValue == 1 << 1)
        #expect(PageFlags.user.rawValue == 1 << 2)
        #expect(PageFlags.writeThrough.rawValue == 1 << 3)
        #expect(PageFlags.cacheDisable.rawValue == 1 << 4)
        #expect(PageFlags.accessed.rawValue == 1 << 5)
        #expect(PageFlags.dirty.rawValue == 1 << 6)
        #expect(PageFlags.huge.rawValue == 1 << 7)
        #expect(PageFlags.global.rawValue == 1 << 8)
        #expect(PageFlags.noExecute.rawValue == 1 << 63)
    }

    @Test func largeNoExecutePageHasTheKnownEncoding() {
        let entry = PageTableEntry(physicalAddress: 0x20_0000, flags: [.present, .writable, .huge, .noExecute])
        #expect(entry.rawValue == 0x8000_0000_0020_0083)
        #expect(entry.isPresent)
        #expect(entry.isHuge)
    }

    @Test func knownRawValuesDecode() {
        // A user, writable 4 KiB page the CPU has accessed and written.
        let page = PageTableEntry(rawValue: 0x0000_0000_1234_5067)
        #expect(page.physicalAddress == 0x1234_5000)
        #expect(page.flags == [.present, .writable, .user, .accessed, .dirty])
        #expect(!page.isHuge)
        // A kernel table pointer near the top of the 52-bit physical space.
        let table = PageTableEntry(rawValue: 0x000F_FFFF_FFFF_F003)
        #expect(table.physicalAddress == 0x000F_FFFF_FFFF_F000)
        #expect(table.flags == [.present, .writable])
    }

    @Test func encodeDecodeRoundTrips() {
        let addresses: [UInt64] = [0, 0x1000, 0x20_0000, 0x1234_5678_9000, 0x000F_FFFF_FFFF_F000]
        let flagSets: [PageFlags] = [[], .present, [.present, .writable, .user],
                                     [.present, .global, .noExecute], [.present, .huge, .cacheDisable, .writeThrough]]
        for address in addresses {
            for flags in flagSets {
                let entry = PageTableEntry(physicalAddress: address, flags: flags)
                #expect(entry.physicalAddress == address)
                #expect(entry.flags == flags)
                #expect(PageTableEntry(rawValue: entry.rawValue) == entry)
            }
        }
    }

    @Test func settersChangeOnlyTheirField() {
        var entry = PageTableEntry(physicalAddress: 0x40_0000, flags: [.present, .huge, .noExecute])
        entry.flags = [.present, .writable, .huge]
        #expect(entry.physicalAddress == 0x40_0000)
        #expect(entry.rawValue == 0x40_0083)
        entry.physicalAddress = 0xABC_D000
        #expect(entry.flags == [.present, .writable, .huge])
        #expect(entry.rawValue == 0xABC_D083)
    }

    @Test func emptyEntryIsAbsent() {
        #expect(PageTableEntry.empty.rawValue == 0)
        #expect(!PageTableEntry.empty.isPresent)
        // Not present even with other bits set: P alone decides.
        #expect(!PageTableEntry(physicalAddress: 0x5000, flags: [.writable, .user]).isPresent)
    }

    @Test func addressMaskCoversBits51To12() {
        #expect(PageTableEntry.addressMask == ((1 << 52) - 1) & ~0xFFF)
    }
}
