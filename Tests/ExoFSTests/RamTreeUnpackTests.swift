import ExoABI
import ExoKit
import Testing

@testable import ExoFS

@Suite("RamTree unpacking the initial ramdisk")
struct RamTreeUnpackTests {
    @Test func unpacksAnArchiveMadeByCpio() throws {
        let tree = makeTree()
        let report = try tree.unpack(initrdSmall())
        #expect(report == UnpackReport(applied: 13, skipped: []))
        #expect(try names(in: tree.root, of: tree) == ["bin", "dev", "etc", "lib", "usr"])

        let hello = try tree.lookup("/bin/hello".utf8)
        #expect(hello.mode == 0o100755)
        #expect(try tree.read(hello, at: 0, count: 100) == b("#!/bin/sh\necho hello from the ramdisk\n")[...])
        #expect(try tree.lookup("/bin/sh".utf8) === hello)
        #expect(try tree.readLink("/lib".utf8) == b("/usr/lib"))
        #expect(try tree.lookup("/lib/libexo.so.1".utf8) === tree.lookup("/usr/lib/libexo.so.1".utf8))

        let console = try tree.lookup("/dev/console".utf8)
        #expect(console.mode == 0o020600 && console.rdev == LinuxDeviceNumber(major: 5, minor: 1))

        // Hard links: one node, data from the entry that carried it.
        let hostname = try tree.lookup("/etc/hostname".utf8)
        #expect(try tree.lookup("/etc/hostname.link".utf8) === hostname)
        #expect(hostname.linkCount == 2)
        #expect(try tree.read(hostname, at: 0, count: 10) == b("exo\n")[...])

        // Archived times, directories' included (set after their entries).
        for path in ["/", "/bin", "/usr/lib", "/bin/hello", "/etc/hostname", "/dev/console"] {
            let node = try tree.lookup(path.utf8, followFinalSymlink: false)
            #expect(node.modificationTime == LinuxTimespec(seconds: 1_700_000_000), "\(path)")
        }
        #expect(try tree.lookup("/usr".utf8).linkCount == 3)
        #expect(tree.root.mode == 0o040755 && tree.root.linkCount == 6)
        try checkInvariants(tree)
    }

    @Test func aCorruptArchiveLeavesTheTreeUntouched() throws {
        let tree = makeTree()
        var archive = initrdSmall()
        archive[1500] = UInt8(ascii: "z")
        #expect(throws: CpioError.self) { try tree.unpack(archive) }
        #expect(try names(in: tree.root, of: tree).isEmpty)
        #expect(throws: CpioError.missingTrailer(offset: 1624)) { try tree.unpack(initrdSmall()[0..<1624]) }
        #expect(try names(in: tree.root, of: tree).isEmpty)
    }

    @Test func namesAreNormalizedBelowTheRoot() throws {
        var writer = CpioWriter()
        writer.appendFile("./a//b/./c", contents: b("1"))
        writer.appendFile("/abs/x", contents: b("2"))
        writer.appendFile("p/q/../r", contents: b("3"))
        writer.appendFile("../etc/passwd", contents: b("escape"))
        writer.appendFile("s/../../t", contents: b("escape"))
        writer.appendFile(String(repeating: "n", count: 256), contents: [])
        let tree = makeTree()
        let report = try tree.unpack(writer.finish())
        #expect(report.applied == 3)
        #expect(report.skipped == [
            UnpackReport.Skipped(name: b("../etc/passwd"), reason: .invalidArgument),
            UnpackReport.Skipped(name: b("s/../../t"), reason: .invalidArgument),
            UnpackReport.Skipped(name: b(String(repeating: "n", count: 256)), reason: .nameTooLong),
        ])
        #expect(try tree.read(tree.lookup("/a/b/c".utf8), at: 0, count: 9) == b("1")[...])
        #expect(try tree.read(tree.lookup("/abs/x".utf8), at: 0, count: 9) == b("2")[...])
        #expect(try tree.read(tree.lookup("/p/r".utf8), at: 0, count: 9) == b("3")[...])
        #expect(throws: Errno.noSuchFile) { try tree.lookup("/etc".utf8) }
        // Missing parents were made: rwxr-xr-x, root's.
        let a = try tree.lookup("/a".utf8)
        #expect(a.mode == 0o040755 && a.uid == 0 && a.linkCount == 3)
        #expect(try names(in: tree.root, of: tree) == ["a", "abs", "p"])
        try checkInvariants(tree)
    }

    @Test func laterEntriesReplaceEarlierOnes() throws {
        var writer = CpioWriter()
        writer.appendFile("init", contents: b("old"))
        writer.appendFile("init", contents: b("new"), permissions: 0o755)
        writer.appendFile("x", contents: b("file"))
        writer.appendDirectory("x", permissions: 0o700)
        writer.appendDirectory("d", permissions: 0o755)
        writer.appendFile("d/inside", contents: [])
        writer.appendFile("d", contents: b("cannot replace a full directory"))
        writer.appendDirectory("d", permissions: 0o711, uid: 4, gid: 5)
        writer.appendSymbolicLink("x2", target: "x")
        writer.appendFile("x2", contents: b("replaces the link, not its target"))
        let tree = makeTree()
        let report = try tree.unpack(writer.finish())
        #expect(report.skipped == [UnpackReport.Skipped(name: b("d"), reason: .notEmpty)])
        let initNode = try tree.lookup("/init".utf8)
        #expect(try initNode.mode == 0o100755 && tree.read(initNode, at: 0, count: 9) == b("new")[...])
        #expect(try tree.lookup("/x".utf8).mode == 0o040700)
        let d = try tree.lookup("/d".utf8)
        #expect(d.mode == 0o040711 && d.uid == 4 && d.gid == 5)
        #expect(try tree.lookup("/d/inside".utf8).kind == .regular)
        #expect(try tree.lookup("/x2".utf8, followFinalSymlink: false).kind == .regular)
        #expect(try tree.lookup("/x".utf8).isDirectory)
        try checkInvariants(tree)
    }

    @Test func hardLinksBecomeOneNodeWhereverTheDataIs() throws {
        var writer = CpioWriter()
        writer.appendDirectory("bin")
        writer.appendHardLinks(["bin/busybox", "bin/sh", "bin/ls"], contents: b("BB"), permissions: 0o755)
        let tree = makeTree()
        try tree.unpack(writer.finish())
        let busybox = try tree.lookup("/bin/busybox".utf8)
        #expect(busybox.linkCount == 3)
        #expect(try tree.lookup("/bin/sh".utf8) === busybox && tree.lookup("/bin/ls".utf8) === busybox)
        #expect(try tree.read(busybox, at: 0, count: 9) == b("BB")[...])
        #expect(tree.storageUsed == 2)
        // Same inode number but not marked as linked (nlink 1): separate files.
        var separate = CpioWriter()
        separate.append(CpioEntry(name: b("one"), mode: 0o100644, inode: 77), data: b("1"))
        separate.append(CpioEntry(name: b("two"), mode: 0o100644, inode: 77), data: b("2"))
        try tree.unpack(separate.finish())
        #expect(try tree.lookup("/one".utf8) !== tree.lookup("/two".utf8))
        try checkInvariants(tree)
    }

    @Test func entriesThatCannotApplyAreSkippedAndReported() throws {
        var writer = CpioWriter()
        writer.appendFile("f", contents: b("plain file"))
        writer.appendFile("f/under", contents: [])
        writer.appendSymbolicLink("empty", target: "")
        writer.append(CpioEntry(name: b("weird"), mode: 0o170644))
        writer.appendFile("big", contents: [UInt8](repeating: 1, count: 100))
        writer.appendFile("fits", contents: b("ok"))
        let tree = makeTree(storageLimit: 50)
        let report = try tree.unpack(writer.finish())
        #expect(report.applied == 2)
        #expect(report.skipped.map(\.reason) == [.notDirectory, .noSuchFile, .invalidArgument, .noSpace])
        #expect(throws: Errno.noSuchFile) { try tree.lookup("/big".utf8) }
        #expect(tree.storageUsed == 12)
        try checkInvariants(tree)
    }

    @Test func aFailedReplacementKeepsTheEarlierFile() throws {
        var writer = CpioWriter()
        writer.appendFile("init", contents: b("small"))
        writer.appendFile("init", contents: [UInt8](repeating: 0, count: 64))
        let tree = makeTree(storageLimit: 32)
        let report = try tree.unpack(writer.finish())
        #expect(report.skipped.map(\.reason) == [.noSpace])
        #expect(try tree.read(tree.lookup("/init".utf8), at: 0, count: 9) == b("small")[...])
    }

    @Test func pathsThroughArchivedLinksAreFollowed() throws {
        var writer = CpioWriter()
        writer.appendDirectory("usr")
        writer.appendDirectory("usr/lib")
        writer.appendSymbolicLink("lib", target: "usr/lib")
        writer.appendFile("lib/libc.so", contents: b("libc"))
        writer.appendSymbolicLink("loop", target: "loop")
        writer.appendFile("loop/x", contents: [])
        let tree = makeTree()
        let report = try tree.unpack(writer.finish())
        #expect(report.skipped.map(\.reason) == [.tooManySymbolicLinks])
        #expect(try tree.lookup("/usr/lib/libc.so".utf8).size == 4)
    }

    @Test func aSecondArchiveOverlaysTheFirst() throws {
        var first = CpioWriter()
        first.appendFile("init", contents: b("first"))
        first.appendFile("kept", contents: b("kept"))
        var second = CpioWriter()
        second.appendFile("init", contents: b("second"))
        let tree = makeTree()
        try tree.unpack(first.finish() + [0, 0, 0, 0] + second.finish())
        #expect(try tree.read(tree.lookup("/init".utf8), at: 0, count: 9) == b("second")[...])
        #expect(try tree.lookup("/kept".utf8).size == 4)
    }

    @Test func randomlyDamagedArchivesNeverCrashTheUnpacker() throws {
        let fixture = initrdSmall()
        var random = SplitMix64(seed: 0xF5)
        for _ in 0..<500 {
            var archive = fixture
            for _ in 0..<(1 + random.below(3)) {
                archive[random.below(1748)] = UInt8(truncatingIfNeeded: random.next())
            }
            let tree = makeTree()
            do {
                try tree.unpack(archive)
            } catch {
                #expect(try names(in: tree.root, of: tree).isEmpty)
            }
            try checkInvariants(tree)
        }
    }
}
