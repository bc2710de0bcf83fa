import ExoABI
import ExoKit
import Testing

@testable import ExoFS

@Suite("RamTree names: create, link, remove, rename")
struct RamTreeNamespaceTests {
    @Test func makeDirectoryCountsLinks() throws {
        let tree = makeTree()
        let a = try tree.makeDirectory("/a".utf8, permissions: 0o750, uid: 3, gid: 4)
        #expect(a.linkCount == 2 && tree.root.linkCount == 3)
        #expect(a.mode == 0o040750 && a.uid == 3 && a.gid == 4)
        try tree.makeDirectory("/a/b/".utf8, permissions: 0o755)  // a trailing slash is fine
        #expect(a.linkCount == 3)
        try checkInvariants(tree)
    }

    @Test func makeDirectoryErrors() throws {
        let tree = try sampleTree()
        #expect(throws: Errno.exists) { try tree.makeDirectory("/etc".utf8, permissions: 0o755) }
        #expect(throws: Errno.exists) { try tree.makeDirectory("/etc/hostname".utf8, permissions: 0o755) }
        #expect(throws: Errno.exists) { try tree.makeDirectory("/dangling".utf8, permissions: 0o755) }
        #expect(throws: Errno.exists) { try tree.makeDirectory("/".utf8, permissions: 0o755) }
        #expect(throws: Errno.exists) { try tree.makeDirectory("/etc/.".utf8, permissions: 0o755) }
        #expect(throws: Errno.exists) { try tree.makeDirectory("/etc/..".utf8, permissions: 0o755) }
        #expect(throws: Errno.noSuchFile) { try tree.makeDirectory("/no/new".utf8, permissions: 0o755) }
        #expect(throws: Errno.notDirectory) { try tree.makeDirectory("/etc/hostname/new".utf8, permissions: 0o755) }
        #expect(throws: Errno.nameTooLong) {
            try tree.makeDirectory(("/" + String(repeating: "x", count: 256)).utf8, permissions: 0o755)
        }
    }

    @Test func createFileCreatesOnceAndReportsIt() throws {
        let tree = makeTree()
        let (file, created) = try tree.createFile("/f".utf8, permissions: 0o640, uid: 5, gid: 6)
        #expect(created && file.kind == .regular && file.mode == 0o100640 && file.linkCount == 1)
        #expect(file.uid == 5 && file.gid == 6)
        let again = try tree.createFile("/f".utf8, permissions: 0o777)
        #expect(!again.created && again.node === file && file.permissions == 0o640)
        #expect(throws: Errno.exists) { try tree.createFile("/f".utf8, permissions: 0o644, exclusive: true) }
    }

    @Test func createFileRefusesDirectoriesAndTrailingSlashes() throws {
        let tree = try sampleTree()
        #expect(throws: Errno.isDirectory) { try tree.createFile("/etc".utf8, permissions: 0o644) }
        #expect(throws: Errno.isDirectory) { try tree.createFile("/".utf8, permissions: 0o644) }
        #expect(throws: Errno.isDirectory) { try tree.createFile("/etc/.".utf8, permissions: 0o644) }
        #expect(throws: Errno.isDirectory) { try tree.createFile("/new/".utf8.map { $0 }, permissions: 0o644) }
        #expect(throws: Errno.isDirectory) { try tree.createFile("/etc/hostname/".utf8, permissions: 0o644) }
        #expect(throws: Errno.isDirectory) { try tree.createFile("/lib".utf8, permissions: 0o644) }
        #expect(throws: Errno.noSuchFile) { try tree.createFile("/no/f".utf8, permissions: 0o644) }
    }

    @Test func createFileThroughALinkCreatesItsTarget() throws {
        let tree = try sampleTree()
        // /dangling -> /nowhere: open(O_CREAT) makes /nowhere.
        let (file, created) = try tree.createFile("/dangling".utf8, permissions: 0o600)
        #expect(try created && file === tree.lookup("/nowhere".utf8))
        // An existing target is returned.
        let busybox = try tree.createFile("/bin/sh".utf8, permissions: 0o644)
        #expect(try !busybox.created && busybox.node === tree.lookup("/bin/busybox".utf8))
        // O_EXCL does not follow: the link itself exists.
        #expect(throws: Errno.exists) { try tree.createFile("/bin/sh".utf8, permissions: 0o644, exclusive: true) }
        // O_NOFOLLOW refuses it.
        #expect(throws: Errno.tooManySymbolicLinks) {
            try tree.createFile("/bin/sh".utf8, permissions: 0o644, followFinalSymlink: false)
        }
        #expect(throws: Errno.tooManySymbolicLinks) { try tree.createFile("/loop1".utf8, permissions: 0o644) }
    }

    @Test func specialFilesCarryTheirDeviceNumber() throws {
        let tree = makeTree()
        try tree.makeDirectory("/dev".utf8, permissions: 0o755)
        let console = try tree.makeSpecialFile("/dev/console".utf8, kind: .characterDevice, permissions: 0o600,
                                               rdev: LinuxDeviceNumber(major: 5, minor: 1))
        #expect(console.mode == 0o020600 && console.rdev == LinuxDeviceNumber(major: 5, minor: 1))
        #expect(console.size == 0)
        let fifo = try tree.makeSpecialFile("/dev/pipe".utf8, kind: .fifo, permissions: 0o644,
                                            rdev: LinuxDeviceNumber(major: 9, minor: 9))
        #expect(fifo.rdev == .none)  // only devices keep one
        #expect(throws: Errno.notPermitted) {
            try tree.makeSpecialFile("/dev/d".utf8, kind: .directory, permissions: 0o755)
        }
        #expect(throws: Errno.invalidArgument) {
            try tree.makeSpecialFile("/dev/l".utf8, kind: .symbolicLink, permissions: 0o777)
        }
        #expect(throws: Errno.noSuchFile) { try tree.makeSpecialFile("/dev/new/".utf8, kind: .fifo, permissions: 0) }
        #expect(throws: Errno.exists) { try tree.makeSpecialFile("/dev/console/".utf8, kind: .fifo, permissions: 0) }
        #expect(throws: Errno.invalidArgument) { try tree.read(console, at: 0, count: 1) }
    }

    @Test func symbolicLinksStoreTheirTarget() throws {
        let tree = makeTree()
        let link = try tree.createSymbolicLink("/l".utf8, target: "some/where/../else".utf8, uid: 1, gid: 2)
        #expect(link.mode == 0o120777 && link.size == 18 && link.uid == 1)
        #expect(try tree.readLink("/l".utf8) == b("some/where/../else"))
        #expect(try tree.readLink(link) == b("some/where/../else"))
        #expect(tree.storageUsed == 18)
        #expect(throws: Errno.noSuchFile) { try tree.createSymbolicLink("/e".utf8, target: "".utf8) }
        #expect(throws: Errno.nameTooLong) {
            try tree.createSymbolicLink("/long".utf8, target: String(repeating: "x", count: 4096).utf8)
        }
        #expect(throws: Errno.invalidArgument) { try tree.createSymbolicLink("/nul".utf8, target: [0x61, 0]) }
        #expect(throws: Errno.exists) { try tree.createSymbolicLink("/l".utf8, target: "x".utf8) }
        #expect(throws: Errno.invalidArgument) { try tree.readLink("/".utf8) }
        _ = try tree.createSymbolicLink("/max".utf8, target: String(repeating: "x", count: 4095).utf8)
    }

    @Test func hardLinksShareOneNode() throws {
        let tree = try sampleTree()
        let hostname = try tree.lookup("/etc/hostname".utf8)
        let linked = try tree.link("/etc/hostname".utf8, to: "/etc/name".utf8)
        #expect(linked === hostname && hostname.linkCount == 2)
        #expect(try tree.lookup("/etc/name".utf8) === hostname)
        // Without AT_SYMLINK_FOLLOW a link links the symbolic link itself.
        let sh = try tree.link("/bin/sh".utf8, to: "/bin/sh2".utf8)
        #expect(sh.kind == .symbolicLink && sh.linkCount == 2)
        let busybox = try tree.link("/bin/sh".utf8, to: "/bin/bb".utf8, followFinalSymlink: true)
        #expect(busybox.kind == .regular && busybox.linkCount == 2)
        #expect(throws: Errno.notPermitted) { try tree.link("/etc".utf8, to: "/etc2".utf8) }
        #expect(throws: Errno.exists) { try tree.link("/etc/hostname".utf8, to: "/bin/sh".utf8) }
        #expect(throws: Errno.noSuchFile) { try tree.link("/missing".utf8, to: "/x".utf8) }
        #expect(throws: Errno.noSuchFile) { try tree.link("/etc/hostname".utf8, to: "/no/x".utf8) }
        try checkInvariants(tree)
    }

    @Test func unlinkRemovesOneName() throws {
        let tree = try sampleTree()
        let hostname = try tree.lookup("/etc/hostname".utf8)
        try tree.link("/etc/hostname".utf8, to: "/etc/name".utf8)
        try tree.unlink("/etc/hostname".utf8)
        #expect(hostname.linkCount == 1)
        #expect(throws: Errno.noSuchFile) { try tree.lookup("/etc/hostname".utf8) }
        try tree.unlink("/etc/name".utf8)
        #expect(hostname.isRemoved)
        // Held, it is still a file.
        #expect(try tree.read(hostname, at: 0, count: 10) == b("exo\n")[...])
        // Unlinking a link leaves its target.
        try tree.unlink("/bin/sh".utf8)
        #expect(try tree.lookup("/bin/busybox".utf8).kind == .regular)
        try checkInvariants(tree, storageHeldElsewhere: true)
    }

    @Test func unlinkErrors() throws {
        let tree = try sampleTree()
        #expect(throws: Errno.isDirectory) { try tree.unlink("/etc".utf8) }
        #expect(throws: Errno.isDirectory) { try tree.unlink("/etc/".utf8) }
        #expect(throws: Errno.isDirectory) { try tree.unlink("/".utf8) }
        #expect(throws: Errno.isDirectory) { try tree.unlink("/etc/.".utf8) }
        #expect(throws: Errno.isDirectory) { try tree.unlink("/etc/..".utf8) }
        #expect(throws: Errno.notDirectory) { try tree.unlink("/etc/hostname/".utf8) }
        #expect(throws: Errno.noSuchFile) { try tree.unlink("/etc/none".utf8) }
        #expect(throws: Errno.noSuchFile) { try tree.unlink("/etc/none/".utf8) }
    }

    @Test func removeDirectoryRemovesOnlyEmptyOnes() throws {
        let tree = try sampleTree()
        let usr = try tree.lookup("/usr".utf8)
        let lib = try tree.lookup("/usr/lib".utf8)
        #expect(throws: Errno.notEmpty) { try tree.removeDirectory("/usr/lib".utf8) }
        try tree.unlink("/usr/lib/libc.so".utf8)
        #expect(usr.linkCount == 3)
        try tree.removeDirectory("/usr/lib/".utf8)
        #expect(usr.linkCount == 2 && lib.linkCount == 0 && lib.isRemoved)
        #expect(throws: Errno.noSuchFile) { try tree.lookup("/usr/lib".utf8) }
        try checkInvariants(tree)
    }

    @Test func removeDirectoryErrors() throws {
        let tree = try sampleTree()
        try tree.makeDirectory("/empty".utf8, permissions: 0o755)
        #expect(throws: Errno.invalidArgument) { try tree.removeDirectory("/empty/.".utf8) }
        #expect(throws: Errno.notEmpty) { try tree.removeDirectory("/empty/..".utf8) }
        #expect(throws: Errno.busy) { try tree.removeDirectory("/".utf8) }
        #expect(throws: Errno.notDirectory) { try tree.removeDirectory("/etc/hostname".utf8) }
        #expect(throws: Errno.notDirectory) { try tree.removeDirectory("/lib".utf8) }  // a link to one
        #expect(throws: Errno.noSuchFile) { try tree.removeDirectory("/none".utf8) }
        #expect(throws: Errno.notEmpty) { try tree.removeDirectory("/etc".utf8) }
    }

    @Test func renameMovesFilesAndDirectories() throws {
        let tree = try sampleTree()
        let hostname = try tree.lookup("/etc/hostname".utf8)
        try tree.rename("/etc/hostname".utf8, to: "/etc/name".utf8)
        #expect(try tree.lookup("/etc/name".utf8) === hostname)
        #expect(throws: Errno.noSuchFile) { try tree.lookup("/etc/hostname".utf8) }
        try tree.rename("/etc/name".utf8, to: "/usr/name".utf8)
        #expect(try tree.lookup("/usr/name".utf8) === hostname && hostname.linkCount == 1)

        let etc = try tree.lookup("/etc".utf8)
        try tree.rename("/etc".utf8, to: "/usr/lib/etc".utf8)
        #expect(try tree.path(of: etc) == b("/usr/lib/etc"))
        #expect(try tree.lookup("/usr/lib/etc/..".utf8) === tree.lookup("/usr/lib".utf8))
        #expect(tree.root.linkCount == 4)  // bin, usr and the root's own two
        try checkInvariants(tree)
    }

    @Test func renameReplacesWhatLinuxReplaces() throws {
        let tree = try sampleTree()
        let busybox = try tree.lookup("/bin/busybox".utf8)
        try tree.rename("/bin/busybox".utf8, to: "/etc/hostname".utf8)
        #expect(try tree.lookup("/etc/hostname".utf8) === busybox)
        // A directory replaces an empty directory.
        try tree.makeDirectory("/a".utf8, permissions: 0o755)
        let empty = try tree.makeDirectory("/b".utf8, permissions: 0o755)
        let a = try tree.lookup("/a".utf8)
        try tree.rename("/a".utf8, to: "/b".utf8)
        #expect(try tree.lookup("/b".utf8) === a && empty.isRemoved)
        try checkInvariants(tree)
    }

    @Test func renameErrorsInLinuxsOrder() throws {
        let tree = try sampleTree()
        try tree.makeDirectory("/d".utf8, permissions: 0o755)
        try tree.makeDirectory("/d/sub".utf8, permissions: 0o755)
        _ = try tree.createFile("/d/sub/f".utf8, permissions: 0o644)
        try tree.makeDirectory("/e".utf8, permissions: 0o755)
        #expect(throws: Errno.noSuchFile) { try tree.rename("/none".utf8, to: "/x".utf8) }
        #expect(throws: Errno.busy) { try tree.rename("/d/.".utf8, to: "/x".utf8) }
        #expect(throws: Errno.busy) { try tree.rename("/".utf8, to: "/x".utf8) }
        #expect(throws: Errno.busy) { try tree.rename("/e".utf8, to: "/d/..".utf8) }
        #expect(throws: Errno.exists) { try tree.rename("/e".utf8, to: "/d/..".utf8, replace: false) }
        #expect(throws: Errno.exists) { try tree.rename("/etc/hostname".utf8, to: "/bin/sh".utf8, replace: false) }
        #expect(throws: Errno.notDirectory) { try tree.rename("/etc/hostname/".utf8, to: "/x".utf8) }
        #expect(throws: Errno.notDirectory) { try tree.rename("/etc/hostname".utf8, to: "/x/".utf8) }
        #expect(throws: Errno.invalidArgument) { try tree.rename("/d".utf8, to: "/d/sub/d".utf8) }
        #expect(throws: Errno.invalidArgument) { try tree.rename("/d".utf8, to: "/d/x".utf8) }
        #expect(throws: Errno.notEmpty) { try tree.rename("/d/sub/f".utf8, to: "/d".utf8) }
        #expect(throws: Errno.notDirectory) { try tree.rename("/e".utf8, to: "/etc/hostname".utf8) }
        #expect(throws: Errno.isDirectory) { try tree.rename("/etc/hostname".utf8, to: "/e".utf8) }
        #expect(throws: Errno.notEmpty) { try tree.rename("/e".utf8, to: "/d".utf8) }
        #expect(throws: Errno.noSuchFile) { try tree.rename("/e".utf8, to: "/none/x".utf8) }
        try checkInvariants(tree)
    }

    @Test func renamingOntoAnotherNameOfTheSameFileDoesNothing() throws {
        let tree = try sampleTree()
        try tree.link("/etc/hostname".utf8, to: "/etc/other".utf8)
        try tree.rename("/etc/hostname".utf8, to: "/etc/other".utf8)
        #expect(try names(in: tree.lookup("/etc".utf8), of: tree) == ["hostname", "other"])
        try tree.rename("/etc/hostname".utf8, to: "/etc/hostname".utf8)
        #expect(try tree.lookup("/etc/hostname".utf8).linkCount == 2)
    }

    @Test func changesStampTimes() throws {
        let tree = makeTree()
        let rootTime = tree.root.modificationTime
        let file = try tree.createFile("/f".utf8, permissions: 0o644).node
        #expect(tree.root.modificationTime.seconds > rootTime.seconds)
        let created = file.modificationTime
        try tree.write(file, at: 0, b("x"))
        #expect(file.modificationTime.seconds > created.seconds)
        #expect(file.changeTime == file.modificationTime)
        let written = file.changeTime
        tree.setPermissions(file, 0o4711)
        #expect(file.mode == 0o104711 && file.changeTime.seconds > written.seconds)
        tree.setOwner(file, uid: 9, gid: nil)
        #expect(file.uid == 9 && file.gid == 0)
        tree.setTimes(file, access: LinuxTimespec(seconds: 1), modification: nil)
        #expect(file.accessTime == LinuxTimespec(seconds: 1) && file.modificationTime.seconds > 1)
    }
}
