import ExoABI
import ExoKit
import Testing

@testable import ExoFS

#if canImport(Glibc)
import Glibc
#endif

@Suite("Linux struct stat and device numbers")
struct LinuxStatTests {
    let sample = LinuxStat(
        device: LinuxDeviceNumber(major: 8, minor: 1), inode: 0x1122_3344_5566_7788, linkCount: 3,
        mode: 0o100644, uid: 1000, gid: 100, rdev: LinuxDeviceNumber(major: 5, minor: 1),
        size: -2, blockSize: 4096, blocks: 16,
        accessTime: LinuxTimespec(seconds: 1, nanoseconds: 2),
        modificationTime: LinuxTimespec(seconds: 3, nanoseconds: 4),
        changeTime: LinuxTimespec(seconds: -5, nanoseconds: 999_999_999))

    @Test func encodesToOneHundredFortyFourBytes() {
        #expect(LinuxStat.size == 144)
        #expect(sample.bytes.count == 144)
        var buffer: [UInt8] = [0xEE]
        sample.encode(into: &buffer)
        #expect(buffer.count == 145 && buffer[0] == 0xEE && Array(buffer[1...]) == sample.bytes)
    }

    @Test func fieldsSitAtX86_64Offsets() {
        let bytes = sample.bytes
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        func u32(_ at: Int) -> UInt32 { UInt32(truncatingIfNeeded: u64(at)) }
        #expect(u64(0) == 0x801)
        #expect(u64(8) == 0x1122_3344_5566_7788)
        #expect(u64(16) == 3)
        #expect(u32(24) == 0o100644 && u32(28) == 1000 && u32(32) == 100 && u32(36) == 0)
        #expect(u64(40) == 0x501)
        #expect(Int64(bitPattern: u64(48)) == -2)
        #expect(u64(56) == 4096 && u64(64) == 16)
        #expect(u64(72) == 1 && u64(80) == 2 && u64(88) == 3 && u64(96) == 4)
        #expect(Int64(bitPattern: u64(104)) == -5 && u64(112) == 999_999_999)
        #expect(bytes[120..<144].allSatisfy { $0 == 0 })
        #expect(LinuxStat.Offset.linkCount == 16 && LinuxStat.Offset.changeTime == 104)
    }

    @Test func decodingGivesBackWhatWasEncoded() {
        #expect(LinuxStat(decoding: sample.bytes) == sample)
        #expect(LinuxStat(decoding: Array(sample.bytes[0..<143])) == nil)
    }

    #if canImport(Glibc) && arch(x86_64)
    @Test func offsetsMatchTheHostCLibrarysStruct() {
        #expect(MemoryLayout<Glibc.stat>.size == LinuxStat.size)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_dev) == LinuxStat.Offset.device)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_ino) == LinuxStat.Offset.inode)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_nlink) == LinuxStat.Offset.linkCount)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_mode) == LinuxStat.Offset.mode)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_uid) == LinuxStat.Offset.uid)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_gid) == LinuxStat.Offset.gid)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_rdev) == LinuxStat.Offset.rdev)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_size) == LinuxStat.Offset.size)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_blksize) == LinuxStat.Offset.blockSize)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_blocks) == LinuxStat.Offset.blocks)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_atim) == LinuxStat.Offset.accessTime)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_mtim) == LinuxStat.Offset.modificationTime)
        #expect(MemoryLayout<Glibc.stat>.offset(of: \.st_ctim) == LinuxStat.Offset.changeTime)
    }

    /// glibc's `gnu_dev_makedev`/`major`/`minor` (macros in C, exported
    /// functions in libc.so), looked up at run time.
    static func glibc<Function>(_ name: String, as type: Function.Type) -> Function? {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }
    typealias MakeDevice = @convention(c) (UInt32, UInt32) -> UInt64
    typealias DevicePart = @convention(c) (UInt64) -> UInt32

    @Test func theHostReadsOurBytesAsTheSameStat() throws {
        let major = try #require(Self.glibc("gnu_dev_major", as: DevicePart.self))
        let minor = try #require(Self.glibc("gnu_dev_minor", as: DevicePart.self))
        var host = Glibc.stat()
        withUnsafeMutableBytes(of: &host) { $0.copyBytes(from: sample.bytes) }
        #expect(host.st_ino == 0x1122_3344_5566_7788 && host.st_nlink == 3 && host.st_mode == 0o100644)
        #expect(host.st_size == -2 && host.st_mtim.tv_sec == 3 && host.st_mtim.tv_nsec == 4)
        #expect(major(UInt64(host.st_rdev)) == 5 && minor(UInt64(host.st_rdev)) == 1)
    }

    @Test func deviceNumbersEncodeLikeGlibcsMakedev() throws {
        let makedev = try #require(Self.glibc("gnu_dev_makedev", as: MakeDevice.self))
        for (major, minor) in [(0, 0), (5, 1), (1, 3), (259, 0x12345), (0xFFF, 0xFF), (0x1000, 0x100), (0xFFFF_FFFF, 0xFFFF_FFFF)] {
            let number = LinuxDeviceNumber(major: UInt32(major), minor: UInt32(minor))
            #expect(number.encoded == makedev(UInt32(major), UInt32(minor)))
            #expect(LinuxDeviceNumber(encoded: number.encoded) == number)
        }
    }
    #endif

    @Test func theTreeReportsStatForEachKind() throws {
        let tree = try sampleTree()
        let hostname = try tree.lookup("/etc/hostname".utf8)
        let stat = tree.stat(hostname)
        #expect(stat.device == tree.device && stat.inode == hostname.inode)
        #expect(stat.mode == 0o100644 && stat.linkCount == 1 && stat.size == 4)
        #expect(stat.blockSize == 4096 && stat.blocks == 8)
        #expect(stat.modificationTime == hostname.modificationTime)
        let link = tree.stat(try tree.lookup("/bin/sh".utf8, followFinalSymlink: false))
        #expect(link.mode == 0o120777 && link.size == 7 && link.blocks == 0)
        let root = tree.stat(tree.root)
        #expect(root.inode == 1 && root.mode == 0o040755 && root.linkCount == 5)
        let device = try tree.makeSpecialFile("/null".utf8, kind: .characterDevice, permissions: 0o666,
                                              rdev: LinuxDeviceNumber(major: 1, minor: 3))
        #expect(tree.stat(device).rdev.encoded == 0x103 && tree.stat(device).size == 0)
        _ = try tree.write(hostname, at: 4095, b("xy"))
        #expect(tree.stat(hostname).blocks == 16)
    }
}
