import ExoABI
import ExoKit
import Testing

@testable import ExoFS

/// /etc/hostname, /bin/busybox, /bin/sh -> busybox, /usr/lib/libc.so,
/// /lib -> /usr/lib, /loop1 <-> /loop2, /dangling -> /nowhere.
func sampleTree() throws -> RamTree {
    let tree = makeTree()
    try tree.makeDirectory("/etc".utf8, permissions: 0o755)
    try tree.write(tree.createFile("/etc/hostname".utf8, permissions: 0o644).node, at: 0, b("exo\n"))
    try tree.makeDirectory("/bin".utf8, permissions: 0o755)
    _ = try tree.createFile("/bin/busybox".utf8, permissions: 0o755)
    try tree.createSymbolicLink("/bin/sh".utf8, target: "busybox".utf8)
    try tree.makeDirectory("/usr".utf8, permissions: 0o755)
    try tree.makeDirectory("/usr/lib".utf8, permissions: 0o755)
    _ = try tree.createFile("/usr/lib/libc.so".utf8, permissions: 0o644)
    try tree.createSymbolicLink("/lib".utf8, target: "/usr/lib".utf8)
    try tree.createSymbolicLink("/loop1".utf8, target: "loop2".utf8)
    try tree.createSymbolicLink("/loop2".utf8, target: "/loop1".utf8)
    try tree.createSymbolicLink("/dangling".utf8, target: "/nowhere".utf8)
    return tree
}

@Suite("RamTree path resolution")
struct RamTreeLookupTests {
    @Test func absoluteAndRelativePathsMeetTheSameNode() throws {
        let tree = try sampleTree()
        let etc = try tree.lookup("/etc".utf8)
        let hostname = try tree.lookup("/etc/hostname".utf8)
        #expect(try tree.lookup("hostname".utf8, from: etc) === hostname)
        #expect(try tree.lookup("etc/hostname".utf8) === hostname)
        #expect(try tree.lookup("/etc/hostname".utf8, from: etc) === hostname)
        #expect(try tree.lookup("/".utf8) === tree.root)
    }

    @Test func dotDotDotAndRepeatedSlashes() throws {
        let tree = try sampleTree()
        let hostname = try tree.lookup("/etc/hostname".utf8)
        let etc = try tree.lookup("/etc".utf8)
        #expect(try tree.lookup("/etc/../etc/./hostname".utf8) === hostname)
        #expect(try tree.lookup("//etc///hostname".utf8) === hostname)
        #expect(try tree.lookup("../../..".utf8, from: etc) === tree.root)
        #expect(try tree.lookup("/..".utf8) === tree.root)
        #expect(try tree.lookup(".".utf8, from: etc) === etc)
        #expect(try tree.lookup("..".utf8, from: etc) === tree.root)
        #expect(try tree.lookup(String(repeating: "/", count: 4095).utf8) === tree.root)
    }

    @Test func aTrailingSlashDemandsADirectory() throws {
        let tree = try sampleTree()
        #expect(try tree.lookup("/etc/".utf8) === tree.lookup("/etc".utf8))
        #expect(throws: Errno.notDirectory) { try tree.lookup("/etc/hostname/".utf8) }
        #expect(throws: Errno.notDirectory) { try tree.lookup("/etc/hostname/.".utf8) }
        #expect(throws: Errno.notDirectory) { try tree.lookup("/etc/hostname/..".utf8) }
        #expect(throws: Errno.notDirectory) { try tree.lookup("/etc/hostname/x".utf8) }
        #expect(throws: Errno.notDirectory) { try tree.lookup("/bin/sh/".utf8) }
    }

    @Test func symbolicLinksAreFollowedWhereLinuxFollowsThem() throws {
        let tree = try sampleTree()
        let busybox = try tree.lookup("/bin/busybox".utf8)
        // A relative target resolves from the link's directory, not the start.
        #expect(try tree.lookup("bin/sh".utf8) === busybox)
        let sh = try tree.lookup("/bin/sh".utf8, followFinalSymlink: false)
        #expect(sh.kind == .symbolicLink && sh !== busybox)
        // An absolute target restarts at the root; links mid-path are always followed.
        #expect(try tree.lookup("/lib/libc.so".utf8, followFinalSymlink: false)
            === tree.lookup("/usr/lib/libc.so".utf8))
        #expect(try tree.lookup("/lib".utf8, followFinalSymlink: false).kind == .symbolicLink)
        // A trailing slash follows a final link even when told not to.
        #expect(try tree.lookup("/lib/".utf8, followFinalSymlink: false) === tree.lookup("/usr/lib".utf8))
        #expect(try tree.lookup("/lib/..".utf8) === tree.lookup("/usr".utf8))
    }

    @Test func danglingLinksAndMissingNames() throws {
        let tree = try sampleTree()
        #expect(throws: Errno.noSuchFile) { try tree.lookup("/dangling".utf8) }
        #expect(try tree.lookup("/dangling".utf8, followFinalSymlink: false).kind == .symbolicLink)
        #expect(throws: Errno.noSuchFile) { try tree.lookup("/nope".utf8) }
        #expect(throws: Errno.noSuchFile) { try tree.lookup("/nope/x".utf8) }
        #expect(throws: Errno.noSuchFile) { try tree.lookup("".utf8) }
        #expect(throws: Errno.invalidArgument) { try tree.lookup(b("/etc") + [0] + b("x")) }
    }

    @Test func symbolicLinkLoopsEndInELOOP() throws {
        let tree = try sampleTree()
        #expect(throws: Errno.tooManySymbolicLinks) { try tree.lookup("/loop1".utf8) }
        #expect(throws: Errno.tooManySymbolicLinks) { try tree.lookup("/loop2/x".utf8) }
        #expect(try tree.lookup("/loop1".utf8, followFinalSymlink: false).kind == .symbolicLink)
        #expect(Errno.tooManySymbolicLinks.rawValue == 40)
    }

    @Test func fortyLinksAreFollowedAndFortyOneAreNot() throws {
        let tree = makeTree()
        let file = try tree.createFile("/file".utf8, permissions: 0o644).node
        // /c41 -> /c40 -> ... -> /c1 -> /file: following /cN takes N links.
        try tree.createSymbolicLink("/c1".utf8, target: "file".utf8)
        for index in 2...41 {
            try tree.createSymbolicLink("/c\(index)".utf8, target: "/c\(index - 1)".utf8)
        }
        #expect(try tree.lookup("/c40".utf8) === file)
        #expect(throws: Errno.tooManySymbolicLinks) { try tree.lookup("/c41".utf8) }
        // The budget is per resolution, shared by links mid-path and at the end.
        try tree.makeDirectory("/d".utf8, permissions: 0o755)
        try tree.createSymbolicLink("/d/up".utf8, target: "/c20".utf8)
        #expect(try tree.lookup("/d/up".utf8) === file)
        try tree.createSymbolicLink("/d/far".utf8, target: "/c40".utf8)
        #expect(throws: Errno.tooManySymbolicLinks) { try tree.lookup("/d/far".utf8) }
    }

    @Test func namesAndPathsHaveLinuxsLimits() throws {
        let tree = makeTree()
        let longest = String(repeating: "n", count: 255)
        #expect(throws: Errno.noSuchFile) { try tree.lookup(("/" + longest).utf8) }
        #expect(throws: Errno.nameTooLong) { try tree.lookup(("/" + longest + "n").utf8) }
        _ = try tree.createFile(("/" + longest).utf8, permissions: 0o644)
        #expect(try tree.lookup(("/" + longest).utf8).kind == .regular)
        // 4095 bytes is the longest path; 4096 is refused before any lookup.
        let deep = String(repeating: "./", count: 2047) + "."
        #expect(deep.utf8.count == 4095)
        #expect(try tree.lookup(deep.utf8) === tree.root)
        #expect(throws: Errno.nameTooLong) { try tree.lookup((deep + "/").utf8) }
    }

    @Test func relativePathsNeedADirectoryToStartFrom() throws {
        let tree = try sampleTree()
        let file = try tree.lookup("/etc/hostname".utf8)
        #expect(throws: Errno.notDirectory) { try tree.lookup("x".utf8, from: file) }
        #expect(throws: Errno.notDirectory) { try tree.lookup(".".utf8, from: file) }
        // An absolute path ignores the start.
        #expect(try tree.lookup("/etc".utf8, from: file).isDirectory)
    }

    @Test func aRemovedWorkingDirectoryHoldsNothingButKnowsItsParent() throws {
        let tree = try sampleTree()
        let gone = try tree.makeDirectory("/etc/gone".utf8, permissions: 0o755)
        try tree.removeDirectory("/etc/gone".utf8)
        #expect(try tree.lookup(".".utf8, from: gone) === gone)
        #expect(try tree.lookup("..".utf8, from: gone) === tree.lookup("/etc".utf8))
        #expect(throws: Errno.noSuchFile) { try tree.lookup("x".utf8, from: gone) }
        #expect(throws: Errno.noSuchFile) { try tree.createFile("x".utf8, from: gone, permissions: 0o644) }
        #expect(throws: Errno.noSuchFile) { try tree.makeDirectory("x".utf8, from: gone, permissions: 0o755) }
    }
}
