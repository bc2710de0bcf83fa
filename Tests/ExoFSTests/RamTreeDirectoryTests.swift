import ExoABI
import ExoKit
import Testing

@testable import ExoFS

@Suite("RamTree directories: listing, getdents64, getcwd")
struct RamTreeDirectoryTests {
    @Test func anEmptyDirectoryListsDotAndDotDot() throws {
        let tree = makeTree()
        let dir = try tree.makeDirectory("/d".utf8, permissions: 0o755)
        let entries = Array(try tree.listing(of: dir))
        #expect(entries == [
            LinuxDirent64(inode: dir.inode, nextOffset: 1, type: .directory, name: b(".")),
            LinuxDirent64(inode: tree.root.inode, nextOffset: 2, type: .directory, name: b("..")),
        ])
        let rootEntries = Array(try tree.listing(of: tree.root))
        #expect(rootEntries[1].inode == tree.root.inode)  // the root is its own parent
    }

    @Test func entriesListInCreationOrderWithTheirKinds() throws {
        let tree = try sampleTree()
        try tree.makeSpecialFile("/console".utf8, kind: .characterDevice, permissions: 0o600)
        let entries = Array(try tree.listing(of: tree.root)).dropFirst(2)
        #expect(entries.map { text($0.name) } == ["etc", "bin", "usr", "lib", "loop1", "loop2", "dangling", "console"])
        #expect(entries.map(\.type) == [.directory, .directory, .directory, .symbolicLink, .symbolicLink,
                                        .symbolicLink, .symbolicLink, .characterDevice])
        #expect(try entries.first?.inode == tree.lookup("/etc".utf8).inode)
        let offsets = entries.map(\.nextOffset)
        #expect(offsets == offsets.sorted() && Set(offsets).count == offsets.count && offsets[0] > 2)
    }

    @Test func positionsSurviveOtherEntriesComingAndGoing() throws {
        let tree = makeTree()
        let dir = try tree.makeDirectory("/d".utf8, permissions: 0o755)
        for index in 0..<10 { _ = try tree.createFile("/d/f\(index)".utf8, permissions: 0o644) }
        var listing = try tree.listing(of: dir)
        var seen: [String] = []
        for _ in 0..<6 { seen.append(text(listing.next()!.name)) }  // ., .., f0 … f3
        let resume = try #require(Array(try tree.listing(of: dir)).first { $0.name == b("f3") }).nextOffset
        // Meanwhile: a seen entry and an unseen one go, a new one comes.
        try tree.unlink("/d/f1".utf8)
        try tree.unlink("/d/f5".utf8)
        _ = try tree.createFile("/d/new".utf8, permissions: 0o644)
        seen += try tree.listing(of: dir, from: resume).map { text($0.name) }
        #expect(seen == [".", "..", "f0", "f1", "f2", "f3", "f4", "f6", "f7", "f8", "f9", "new"])
        // The listing made earlier reads its own snapshot.
        #expect(listing.next()?.name == b("f4") && listing.next()?.name == b("f5"))
    }

    @Test func getdentsPacksWhatFitsAndContinues() throws {
        let tree = makeTree()
        let dir = try tree.makeDirectory("/d".utf8, permissions: 0o755)
        var expected = [".", ".."]
        for index in 0..<30 {
            let name = String(repeating: "n", count: 1 + index % 13) + "\(index)"
            _ = try tree.createFile(("/d/" + name).utf8, permissions: 0o644)
            expected.append(name)
        }
        // Every buffer size from the smallest that holds the longest record.
        for capacity in 40...400 {
            var position: Int64 = 0
            var found: [String] = []
            while true {
                let batch = try tree.readDirectory(dir, from: position, capacity: capacity)
                if batch.count == 0 { break }
                #expect(batch.bytes.count <= capacity)
                found += decode(batch.bytes).map(\.name)
                position = try #require(batch.resumeOffset)
            }
            #expect(found == expected, "capacity \(capacity)")
        }
    }

    @Test func getdentsRefusesABufferTooSmallForOneRecord() throws {
        let tree = makeTree()
        let dir = try tree.makeDirectory("/d".utf8, permissions: 0o755)
        #expect(throws: Errno.invalidArgument) { try tree.readDirectory(dir, from: 0, capacity: 23) }
        let batch = try tree.readDirectory(dir, from: 0, capacity: 24)
        #expect(batch.count == 1 && batch.resumeOffset == 1)
        // At the end, any buffer gets nothing rather than an error.
        #expect(try tree.readDirectory(dir, from: 2, capacity: 0).count == 0)
        #expect(try tree.readDirectory(dir, from: 999, capacity: 1).bytes.isEmpty)
    }

    @Test func listingErrors() throws {
        let tree = try sampleTree()
        let file = try tree.lookup("/etc/hostname".utf8)
        #expect(throws: Errno.notDirectory) { try tree.listing(of: file) }
        #expect(throws: Errno.notDirectory) { try tree.readDirectory(file, from: 0, capacity: 4096) }
        #expect(throws: Errno.invalidArgument) { try tree.listing(of: tree.root, from: -1) }
        let gone = try tree.makeDirectory("/gone".utf8, permissions: 0o755)
        try tree.removeDirectory("/gone".utf8)
        #expect(throws: Errno.noSuchFile) { try tree.listing(of: gone) }
    }

    @Test func directorySizesCountEntriesLikeTmpfs() throws {
        let tree = makeTree()
        let dir = try tree.makeDirectory("/d".utf8, permissions: 0o755)
        #expect(dir.size == 40)
        _ = try tree.createFile("/d/a".utf8, permissions: 0o644)
        _ = try tree.createFile("/d/b".utf8, permissions: 0o644)
        #expect(dir.size == 80 && tree.stat(dir).blocks == 0)
    }

    @Test func pathOfADirectoryIsWhatGetcwdReports() throws {
        let tree = try sampleTree()
        #expect(try tree.path(of: tree.root) == b("/"))
        let lib = try tree.lookup("/lib".utf8)
        #expect(try tree.path(of: lib) == b("/usr/lib"))  // its real place, not the link's
        try tree.rename("/usr".utf8, to: "/bin/usr2".utf8)
        #expect(try tree.path(of: lib) == b("/bin/usr2/lib"))
        #expect(throws: Errno.notDirectory) { try tree.path(of: tree.lookup("/bin/busybox".utf8)) }
        let gone = try tree.makeDirectory("/gone".utf8, permissions: 0o755)
        try tree.removeDirectory("/gone".utf8)
        #expect(throws: Errno.noSuchFile) { try tree.path(of: gone) }
    }
}

/// Decodes packed linux_dirent64 records (independently of the encoder).
func decode(_ bytes: [UInt8]) -> [(inode: UInt64, offset: Int64, type: UInt8, name: String)] {
    var records: [(UInt64, Int64, UInt8, String)] = []
    var at = 0
    func u64(_ offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }
    while at < bytes.count {
        let length = Int(bytes[at + 16]) | Int(bytes[at + 17]) << 8
        #expect(length % 8 == 0 && length >= 24)
        var end = at + 19
        while bytes[end] != 0 { end += 1 }
        #expect(end < at + length)
        records.append((u64(at), Int64(bitPattern: u64(at + 8)), bytes[at + 18], text(Array(bytes[(at + 19)..<end]))))
        at += length
    }
    #expect(at == bytes.count)
    return records
}
