import ExoKit
import Testing

@testable import ExoABI

#if canImport(Glibc)
import Glibc
#endif

/// Tests/ExoABITests/Fixtures/initrd-small.cpio, made by GNU cpio 2.13 as root:
///
///     mkdir -p bin etc dev usr/lib
///     printf 'exo\n' > etc/hostname
///     printf '#!/bin/sh\necho hello from the ramdisk\n' > bin/hello; chmod 755 bin/hello
///     ln -s hello bin/sh; ln -s /usr/lib lib; ln etc/hostname etc/hostname.link
///     printf 'x' > usr/lib/libexo.so.1
///     mknod dev/console c 5 1; chmod 600 dev/console
///     find . -exec touch -h -d @1700000000 {} +
///     find . | LC_ALL=C sort | cpio --reproducible -o -H newc -R 0:0 > initrd-small.cpio
///
/// Read from the source tree at run time; no tool runs during the tests.
func initrdSmall(_ file: String = #filePath) -> [UInt8] {
    var directory = Array(file.utf8)
    while let last = directory.last, last != UInt8(ascii: "/") { directory.removeLast() }
    let path = String(decoding: directory, as: UTF8.self) + "Fixtures/initrd-small.cpio"
    guard let handle = fopen(path, "rb") else { return [] }
    defer { fclose(handle) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&chunk, 1, chunk.count, handle)
        if count <= 0 { break }
        bytes += chunk[0..<count]
    }
    return bytes
}

/// The fixture's entries, as `cpio -itv` lists them.
let initrdSmallNames = [
    ".", "bin", "bin/hello", "bin/sh", "dev", "dev/console", "etc", "etc/hostname",
    "etc/hostname.link", "lib", "usr", "usr/lib", "usr/lib/libexo.so.1",
]

/// Where the fixture's "TRAILER!!!" entry starts and where its padding ends.
let initrdSmallTrailer = 1624..<1748

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("cpio newc archives")
struct CpioArchiveTests {
    let fixture = initrdSmall()

    @Test func fixtureIsPresent() {
        // 2048: cpio pads its output to 512-byte blocks with NULs.
        #expect(fixture.count == 2048)
        #expect(fixture.starts(with: CpioArchive.magic))
    }

    @Test func readsEveryEntryOfAnArchiveMadeByCpio() throws {
        let entries = try CpioArchive.entries(in: fixture)
        #expect(entries.map { String(decoding: $0.name, as: UTF8.self) } == initrdSmallNames)
        for entry in entries {
            #expect(entry.modificationTime == 1_700_000_000)
            #expect(entry.uid == 0 && entry.gid == 0)
            #expect(entry.headerOffset % 4 == 0 && entry.dataRange.lowerBound % 4 == 0)
        }
        let byName = Dictionary(uniqueKeysWithValues: entries.map { (String(decoding: $0.name, as: UTF8.self), $0) })
        #expect(byName["."]?.mode == 0o040755)
        #expect(byName["."]?.linkCount == 6)
        #expect(byName["bin/hello"]?.mode == 0o100755)
        #expect(byName["bin/sh"]?.mode == 0o120777)
        #expect(byName["dev/console"]?.mode == 0o020600)
        #expect(byName["dev/console"]?.rdevMajor == 5)
        #expect(byName["dev/console"]?.rdevMinor == 1)
        #expect(byName["usr"]?.linkCount == 3)
    }

    @Test func dataRangesHoldContentsAndLinkTargets() throws {
        var reader = CpioReader(fixture)
        var data: [String: [UInt8]] = [:]
        while let entry = try reader.next() {
            data[String(decoding: entry.name, as: UTF8.self)] = Array(reader.data(of: entry))
        }
        #expect(data["bin/hello"] == bytes("#!/bin/sh\necho hello from the ramdisk\n"))
        #expect(data["bin/sh"] == bytes("hello"))
        #expect(data["lib"] == bytes("/usr/lib"))
        #expect(data["usr/lib/libexo.so.1"] == bytes("x"))
        #expect(data["dev"] == [])
    }

    @Test func hardLinksShareAnInodeWithDataOnTheLastName() throws {
        let entries = try CpioArchive.entries(in: fixture)
        let first = try #require(entries.first { $0.name == bytes("etc/hostname") })
        let last = try #require(entries.first { $0.name == bytes("etc/hostname.link") })
        #expect(first.inode == last.inode)
        #expect(first.linkCount == 2 && last.linkCount == 2)
        #expect(first.dataSize == 0)
        #expect(Array(fixture[last.dataRange]) == bytes("exo\n"))
    }

    @Test func writerReproducesGNUCpioByteForByte() throws {
        var reader = CpioReader(fixture)
        var writer = CpioWriter()
        while let entry = try reader.next() {
            writer.append(entry, data: Array(reader.data(of: entry)))
        }
        let written = writer.finish()
        #expect(written.count == initrdSmallTrailer.upperBound)
        #expect(Array(fixture[0..<written.count]) == written)
        #expect(fixture[written.count...].allSatisfy { $0 == 0 })
    }

    @Test func writerConveniencesReadBack() throws {
        var writer = CpioWriter()
        writer.appendDirectory("etc", permissions: 0o750, uid: 7, gid: 8, modificationTime: 99)
        writer.appendFile("etc/motd", contents: bytes("hi"), permissions: 0o600)
        writer.appendSymbolicLink("sh", target: "/bin/busybox")
        writer.appendCharacterDevice("null", major: 1, minor: 3, permissions: 0o666)
        writer.appendHardLinks(["a", "b", "c"], contents: bytes("shared"))
        let archive = writer.finish()
        var reader = CpioReader(archive)
        var entries: [CpioEntry] = []
        while let entry = try reader.next() { entries.append(entry) }
        #expect(entries.count == 7)
        #expect(entries[0].mode == 0o040750 && entries[0].uid == 7 && entries[0].gid == 8)
        #expect(entries[0].modificationTime == 99)
        #expect(Array(reader.data(of: entries[1])) == bytes("hi"))
        #expect(entries[2].mode == 0o120777 && Array(reader.data(of: entries[2])) == bytes("/bin/busybox"))
        #expect(entries[3].mode == 0o020666 && entries[3].rdevMajor == 1 && entries[3].rdevMinor == 3)
        #expect(Set(entries[4...6].map(\.inode)).count == 1)
        #expect(entries[4...6].allSatisfy { $0.linkCount == 3 })
        #expect(entries[4].dataSize == 0 && entries[5].dataSize == 0)
        #expect(Array(reader.data(of: entries[6])) == bytes("shared"))
        // Distinct files get distinct inode numbers.
        #expect(Set(entries[0...4].map(\.inode)).count == 5)
    }

    @Test func checksummedArchivesAreVerified() throws {
        var writer = CpioWriter(checksummed: true)
        writer.appendFile("init", contents: [0xFF, 0xFF, 0x01])
        var archive = writer.finish()
        #expect(archive.starts(with: CpioArchive.checksummedMagic))
        let entries = try CpioArchive.entries(in: archive)
        #expect(entries[0].checksum == 0x1FF)
        archive[entries[0].dataRange.lowerBound] = 0xFE
        #expect(throws: CpioError.checksumMismatch(offset: 0)) { try CpioArchive.entries(in: archive) }
    }

    @Test func acceptsLowerCaseHexDigits() throws {
        var lowered = fixture
        // Lower-case every hex letter in every header (names and data stay).
        for entry in try CpioArchive.entries(in: fixture) {
            for at in (entry.headerOffset + 6)..<(entry.headerOffset + CpioArchive.headerSize)
            where (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(lowered[at]) {
                lowered[at] += 0x20
            }
        }
        #expect(lowered != fixture)
        #expect(try CpioArchive.entries(in: lowered) == CpioArchive.entries(in: fixture))
    }

    @Test func readsConcatenatedArchivesAfterNulPadding() throws {
        var writer = CpioWriter()
        writer.appendFile("late", contents: bytes("second archive"))
        let second = writer.finish()
        let entries = try CpioArchive.entries(in: fixture + second + [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(entries.count == initrdSmallNames.count + 1)
        #expect(entries.last?.name == bytes("late"))
        #expect(entries.last?.headerOffset == fixture.count)
    }

    @Test func anotherArchiveMustStartOnAFourByteBoundary() {
        var writer = CpioWriter()
        writer.appendFile("late", contents: [])
        let misplaced = fixture + [0] + writer.finish()
        #expect(throws: CpioError.badMagic(offset: fixture.count + 1)) {
            try CpioArchive.entries(in: misplaced)
        }
    }

    @Test func anArchiveOfOnlyATrailerIsEmpty() throws {
        var writer = CpioWriter()
        #expect(try CpioArchive.entries(in: writer.finish()).isEmpty)
    }

    @Test func worksOnASliceOfALargerBuffer() throws {
        // A boot module inside a larger mapping: offsets stay archive-relative.
        let padded = [UInt8](repeating: 0xAA, count: 13) + fixture + [0xBB]
        let slice = padded[13..<(13 + fixture.count)]
        var reader = CpioReader(slice)
        var names: [[UInt8]] = []
        while let entry = try reader.next() {
            names.append(entry.name)
            if entry.name == bytes("bin/sh") {
                #expect(entry.dataRange == 508..<513)
                #expect(Array(reader.data(of: entry)) == bytes("hello"))
            }
        }
        #expect(names.count == initrdSmallNames.count)
    }

    @Test func namesTheUsualMistakes() {
        #expect(throws: CpioError.compressedArchive(offset: 0)) {
            try CpioArchive.entries(in: [0x1F, 0x8B, 0x08, 0x00] + [UInt8](repeating: 0, count: 200))
        }
        #expect(throws: CpioError.compressedArchive(offset: 0)) {
            try CpioArchive.entries(in: [0x28, 0xB5, 0x2F, 0xFD, 1, 2, 3])
        }
        var old = fixture
        old[5] = UInt8(ascii: "7")
        #expect(throws: CpioError.unsupportedFormat(offset: 0)) { try CpioArchive.entries(in: old) }
        #expect(throws: CpioError.badMagic(offset: 0)) { try CpioArchive.entries(in: bytes("hello, world")) }
        #expect(throws: CpioError.missingTrailer(offset: 0)) { try CpioArchive.entries(in: [UInt8]()) }
    }

    @Test func errorsNameTheirOffsetInHex() {
        let error = CpioError.truncatedData(offset: 0x6C)
        #expect(error.description == "cpio: truncated data in entry at 0x0000006c")
        #expect(CpioError.unsupportedFormat(offset: 0).description.hasSuffix("(use -H newc)"))
    }
}
