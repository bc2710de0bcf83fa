import ExoABI
import ExoKit
import Testing

@testable import ExoFS

/// Everything observable about a tree's names: each path (links not
/// followed) with its inode, mode, link count and size.
func snapshot(_ tree: RamTree) throws -> [String] {
    var lines: [String] = []
    var pending: [(RamNode, String)] = [(tree.root, "")]
    while let (directory, path) = pending.popLast() {
        for entry in try tree.listing(of: directory) where entry.name != b(".") && entry.name != b("..") {
            let node = try tree.lookup(entry.name, from: directory, followFinalSymlink: false)
            let full = path + "/" + text(entry.name)
            lines.append("\(full) \(node.inode) \(node.mode) \(node.linkCount) \(node.size)")
            if node.isDirectory { pending.append((node, full)) }
        }
    }
    return lines.sorted()
}

@Suite("RamTree random operations")
struct RamTreeRandomOperationTests {
    static let paths = [
        "/a", "/a/b", "/a/b/c", "/c", "/a/c", "/l", "/a/l", "a/../c", "/a/b/../../d", "/d/",
        "/l/x", "/a/b/c/d", "/", ".", "/a/.", "/c/..",
    ]

    /// One random operation; what it throws is ignored, but a throwing
    /// operation must leave the tree exactly as it was.
    static func randomOperation(_ tree: RamTree, _ random: inout SplitMix64) throws {
        func path() -> [UInt8] { b(paths[random.below(paths.count)]) }
        let before = try snapshot(tree)
        let storageBefore = tree.storageUsed
        do {
            switch random.below(10) {
            case 0: try tree.makeDirectory(path(), permissions: 0o755)
            case 1: _ = try tree.createFile(path(), permissions: 0o644, exclusive: random.below(2) == 0)
            case 2: try tree.write(tree.lookup(path()), at: Int64(random.below(64)), random.bytes(random.below(40)))
            case 3: try tree.truncate(tree.lookup(path()), to: Int64(random.below(100)))
            case 4: try tree.unlink(path())
            case 5: try tree.removeDirectory(path())
            case 6: try tree.rename(path(), to: path(), replace: random.below(4) != 0)
            case 7: try tree.createSymbolicLink(path(), target: path())
            case 8: try tree.link(path(), to: path(), followFinalSymlink: random.below(2) == 0)
            default:
                let node = try tree.lookup(path(), followFinalSymlink: random.below(2) == 0)
                if node.isDirectory {
                    _ = try tree.readDirectory(node, from: Int64(random.below(8)), capacity: 24 + random.below(200))
                    _ = try tree.path(of: node)
                } else {
                    _ = try tree.read(node, at: Int64(random.below(80)), count: random.below(80))
                }
            }
        } catch {
            #expect(try snapshot(tree) == before, "a failed operation (\(error.name)) changed the tree")
            #expect(tree.storageUsed == storageBefore)
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func invariantsHoldAfterEveryOperation(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let tree = makeTree(storageLimit: 600)
        for _ in 0..<400 {
            try Self.randomOperation(tree, &random)
            try checkInvariants(tree)
        }
    }
}
