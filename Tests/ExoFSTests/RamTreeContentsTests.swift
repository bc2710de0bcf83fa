import ExoABI
import ExoKit
import Testing

@testable import ExoFS

@Suite("RamTree file contents")
struct RamTreeContentsTests {
    @Test func writeThenReadAtOffsets() throws {
        let tree = makeTree()
        let file = try tree.createFile("/f".utf8, permissions: 0o644).node
        #expect(try tree.write(file, at: 0, b("hello world")) == 11)
        #expect(try tree.write(file, at: 6, b("there")) == 5)
        #expect(try tree.read(file, at: 0, count: 100) == b("hello there")[...])
        #expect(try tree.read(file, at: 6, count: 3) == b("the")[...])
        #expect(try tree.read(file, at: 11, count: 5).isEmpty)
        #expect(try tree.read(file, at: 1 << 40, count: 5).isEmpty)
        #expect(try tree.read(file, at: 3, count: 0).isEmpty)
        #expect(file.size == 11 && tree.stat(file).size == 11)
    }

    @Test func writingPastTheEndFillsTheGapWithZeros() throws {
        let tree = makeTree()
        let file = try tree.createFile("/f".utf8, permissions: 0o644).node
        try tree.write(file, at: 4, b("ab"))
        #expect(try tree.read(file, at: 0, count: 10) == [0, 0, 0, 0, 0x61, 0x62][...])
        #expect(try tree.write(file, at: 100, [UInt8]()) == 0)
        #expect(file.size == 6)  // an empty write extends nothing
        #expect(tree.storageUsed == 6)
    }

    @Test func truncateShrinksAndGrows() throws {
        let tree = makeTree()
        let file = try tree.createFile("/f".utf8, permissions: 0o644).node
        try tree.write(file, at: 0, b("abcdef"))
        try tree.truncate(file, to: 2)
        #expect(try tree.read(file, at: 0, count: 10) == b("ab")[...])
        try tree.truncate(file, to: 5)
        #expect(try tree.read(file, at: 0, count: 10) == [0x61, 0x62, 0, 0, 0][...])
        #expect(tree.storageUsed == 5)
        try tree.truncate(file, to: 0)
        #expect(file.size == 0 && tree.storageUsed == 0)
    }

    @Test func onlyRegularFilesHaveContents() throws {
        let tree = try sampleTree()
        let etc = try tree.lookup("/etc".utf8)
        let link = try tree.lookup("/bin/sh".utf8, followFinalSymlink: false)
        #expect(throws: Errno.isDirectory) { try tree.read(etc, at: 0, count: 1) }
        #expect(throws: Errno.isDirectory) { try tree.write(etc, at: 0, b("x")) }
        #expect(throws: Errno.isDirectory) { try tree.truncate(etc, to: 0) }
        #expect(throws: Errno.invalidArgument) { try tree.read(link, at: 0, count: 1) }
        #expect(throws: Errno.invalidArgument) { try tree.write(link, at: 0, b("x")) }
        #expect(throws: Errno.invalidArgument) { try tree.truncate(link, to: 0) }
    }

    @Test func negativeAndOverflowingOffsetsAreRefused() throws {
        let tree = makeTree()
        let file = try tree.createFile("/f".utf8, permissions: 0o644).node
        #expect(throws: Errno.invalidArgument) { try tree.read(file, at: -1, count: 1) }
        #expect(throws: Errno.invalidArgument) { try tree.read(file, at: 0, count: -1) }
        #expect(throws: Errno.invalidArgument) { try tree.write(file, at: -1, b("x")) }
        #expect(throws: Errno.invalidArgument) { try tree.truncate(file, to: -1) }
        #expect(throws: Errno.fileTooLarge) { try tree.write(file, at: Int64.max, b("xy")) }
        #expect(Errno.fileTooLarge.rawValue == 27)
    }

    /// Past the largest file, writes and truncates are EFBIG and change
    /// nothing; up to it the contents' storage never grows beyond it
    /// (growth by doubling is capped), so one allocation always suffices.
    @Test func theFileSizeLimitIsEFBIGAndBoundsTheStorage() throws {
        let tree = RamTree(storageLimit: 1 << 20, fileSizeLimit: 1000)
        let file = try tree.createFile("/f".utf8, permissions: 0o644).node
        for end in stride(from: 10, through: 1000, by: 10) {       // grown a little at a time
            try tree.write(file, at: Int64(end - 10), [UInt8](repeating: 3, count: 10))
            #expect(file.data.capacity <= 1000)
        }
        #expect(file.size == 1000 && tree.storageUsed == 1000)
        #expect(throws: Errno.fileTooLarge) { try tree.write(file, at: 1000, b("x")) }
        #expect(throws: Errno.fileTooLarge) { try tree.write(file, at: 995, [UInt8](repeating: 1, count: 6)) }
        #expect(throws: Errno.fileTooLarge) { try tree.truncate(file, to: 1001) }
        #expect(file.size == 1000 && tree.storageUsed == 1000)
        // Inside the limit everything still works: overwrite, shrink, regrow.
        try tree.write(file, at: 990, [UInt8](repeating: 4, count: 10))
        try tree.truncate(file, to: 10)
        try tree.truncate(file, to: 1000)
        #expect(file.size == 1000 && file.data.capacity <= 1000 && tree.fileSizeLimit == 1000)
        #expect(Array(try tree.read(file, at: 0, count: 12)) == [UInt8](repeating: 3, count: 10) + [0, 0])
    }

    @Test func theStorageLimitIsENOSPCAndChangesNothing() throws {
        let tree = makeTree(storageLimit: 100)
        let file = try tree.createFile("/f".utf8, permissions: 0o644).node
        try tree.write(file, at: 0, [UInt8](repeating: 7, count: 90))
        #expect(throws: Errno.noSpace) { try tree.write(file, at: 90, [UInt8](repeating: 1, count: 11)) }
        #expect(throws: Errno.noSpace) { try tree.write(file, at: Int64.max - 1, b("x")) }
        #expect(throws: Errno.noSpace) { try tree.truncate(file, to: 1 << 40) }
        #expect(throws: Errno.noSpace) { try tree.createSymbolicLink("/l".utf8, target: String(repeating: "t", count: 11).utf8) }
        #expect(throws: Errno.noSuchFile) { try tree.lookup("/l".utf8, followFinalSymlink: false) }
        #expect(file.size == 90 && tree.storageUsed == 90)
        // Overwriting in place costs nothing.
        try tree.write(file, at: 80, [UInt8](repeating: 2, count: 20))
        #expect(tree.storageUsed == 100)
    }

    @Test func anUnlinkedFileKeepsItsBytesUntilReleased() throws {
        let tree = makeTree()
        do {
            let file = try tree.createFile("/f".utf8, permissions: 0o644).node
            try tree.write(file, at: 0, [UInt8](repeating: 1, count: 1000))
            try tree.unlink("/f".utf8)
            #expect(tree.storageUsed == 1000)
            try tree.write(file, at: 1000, b("more"))
            #expect(tree.storageUsed == 1004)
            #expect(try tree.read(file, at: 998, count: 10) == [1, 1, 0x6D, 0x6F, 0x72, 0x65][...])
        }
        #expect(tree.storageUsed == 0)
    }

    @Test func bytesReturnWhenATreeIsDropped() throws {
        var tree: RamTree? = try sampleTree()
        weak let root = tree?.root
        tree = nil
        #expect(root == nil)  // the cycles through ".." were broken
    }
}
