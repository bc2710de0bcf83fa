import ExoABI
import ExoKit
import Testing

@testable import ExoFS

#if canImport(Glibc)
import Glibc
#endif

@Suite("Linux dirent64 records")
struct LinuxDirentTests {
    @Test func recordsArePaddedToEightBytes() {
        func length(_ nameLength: Int) -> Int {
            LinuxDirent64(inode: 1, nextOffset: 1, type: .regular,
                          name: [UInt8](repeating: 0x61, count: nameLength)).recordLength
        }
        #expect(length(1) == 24 && length(4) == 24 && length(5) == 32 && length(12) == 32)
        #expect(length(13) == 40 && length(255) == 280)
    }

    @Test func encodesTheKernelsLayout() {
        let entry = LinuxDirent64(inode: 0x0102_0304_0506_0708, nextOffset: -3, type: .symbolicLink, name: b("hello"))
        var bytes: [UInt8] = []
        entry.encode(into: &bytes)
        #expect(bytes == [
            0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
            0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            32, 0, 10, 0x68, 0x65, 0x6C, 0x6C, 0x6F,
            0, 0, 0, 0, 0, 0, 0, 0,
        ])
    }

    #if canImport(Glibc) && arch(x86_64)
    @Test func headerMatchesTheHostCLibrarysDirent() {
        #expect(MemoryLayout<dirent>.offset(of: \.d_ino) == 0)
        #expect(MemoryLayout<dirent>.offset(of: \.d_off) == 8)
        #expect(MemoryLayout<dirent>.offset(of: \.d_reclen) == 16)
        #expect(MemoryLayout<dirent>.offset(of: \.d_type) == 18)
        #expect(MemoryLayout<dirent>.offset(of: \.d_name) == LinuxDirent64.headerSize)
        #expect(UInt8(DT_DIR) == DirentType.directory.rawValue && UInt8(DT_LNK) == DirentType.symbolicLink.rawValue)
        #expect(UInt8(DT_REG) == DirentType.regular.rawValue && UInt8(DT_CHR) == DirentType.characterDevice.rawValue)
        #expect(UInt8(DT_BLK) == DirentType.blockDevice.rawValue && UInt8(DT_FIFO) == DirentType.fifo.rawValue)
        #expect(UInt8(DT_SOCK) == DirentType.socket.rawValue && UInt8(DT_UNKNOWN) == DirentType.unknown.rawValue)
    }
    #endif

    @Test func packStopsAtTheFirstRecordThatDoesNotFit() throws {
        let entries = (1...5).map {
            LinuxDirent64(inode: UInt64($0), nextOffset: Int64($0 * 10), type: .regular,
                          name: [UInt8](repeating: 0x61, count: $0 * 4))
        }
        // Lengths: 24, 32, 32, 40, 40.
        let batch = try LinuxDirent64.pack(entries, capacity: 100)
        #expect(batch.count == 3 && batch.bytes.count == 88 && batch.resumeOffset == 30)
        #expect(try LinuxDirent64.pack(entries, capacity: 88).count == 3)
        #expect(try LinuxDirent64.pack(entries, capacity: 87).count == 2)
        #expect(try LinuxDirent64.pack(entries, capacity: 24).count == 1)
        #expect(throws: Errno.invalidArgument) { try LinuxDirent64.pack(entries, capacity: 23) }
        #expect(throws: Errno.invalidArgument) { try LinuxDirent64.pack(entries, capacity: -1) }
        let nothing = try LinuxDirent64.pack([LinuxDirent64](), capacity: 0)
        #expect(nothing.count == 0 && nothing.bytes.isEmpty && nothing.resumeOffset == nil)
        #expect(decode(batch.bytes).map(\.offset) == [10, 20, 30])
    }

    @Test func typeComesFromTheMode() {
        #expect(DirentType(mode: 0o100644) == .regular)
        #expect(DirentType(mode: 0o040755) == .directory)
        #expect(DirentType(mode: 0o120777) == .symbolicLink)
        #expect(DirentType(mode: 0o000644) == .unknown)
    }
}
