import ExoABI
import ExoKit
import Testing

@testable import ExoFS

#if canImport(Glibc)
import Glibc
#endif

/// `text`'s UTF-8 bytes.
func b(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A bytes-to-text view for messages and comparisons.
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// A clock that advances one second per reading, so every stamp differs.
final class TickingClock {
    var seconds: Int64 = 1_000
    func now() -> LinuxTimespec {
        seconds += 1
        return LinuxTimespec(seconds: seconds, nanoseconds: 5)
    }
}

/// A tree with 1 MiB of storage and a ticking clock.
func makeTree(storageLimit: Int = 1 << 20) -> RamTree {
    let clock = TickingClock()
    return RamTree(storageLimit: storageLimit, clock: { clock.now() })
}

/// The GNU cpio fixture of ExoABITests (see CpioArchiveTests.swift there for
/// how it was made), read from the source tree.
func initrdSmall(_ file: String = #filePath) -> [UInt8] {
    var directory = Array(file.utf8)
    while let last = directory.last, last != UInt8(ascii: "/") { directory.removeLast() }
    let path = text(directory) + "../ExoABITests/Fixtures/initrd-small.cpio"
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

/// Names in `directory`, in listing order, without "." and "..".
func names(in directory: RamNode, of tree: RamTree) throws -> [String] {
    try tree.listing(of: directory).map { text($0.name) }.filter { $0 != "." && $0 != ".." }
}

/// Checks every structural invariant of `tree` reachable from the root:
/// directory link counts are 2 + subdirectories, each file's link count is
/// the number of its names, parents and names match, getcwd and lookup
/// agree, and storage equals the bytes held (when nothing else holds nodes).
func checkInvariants(_ tree: RamTree, storageHeldElsewhere: Bool = false) throws {
    var names: [ObjectIdentifier: Int] = [:]
    var files: [ObjectIdentifier: RamNode] = [:]
    var pending = [tree.root]
    var bytes = 0
    while let directory = pending.popLast() {
        var subdirectories = 0
        for entry in try tree.listing(of: directory) where entry.name != b(".") && entry.name != b("..") {
            let node = try tree.lookup(entry.name, from: directory, followFinalSymlink: false)
            #expect(node.inode == entry.inode)
            if node.isDirectory {
                subdirectories += 1
                #expect(node.parent === directory)
                #expect(node.name == entry.name)
                let path = try tree.path(of: node)
                #expect(try tree.lookup(path, followFinalSymlink: false) === node)
                pending.append(node)
            } else {
                names[ObjectIdentifier(node), default: 0] += 1
                files[ObjectIdentifier(node)] = node
            }
        }
        #expect(directory.linkCount == 2 + subdirectories, "link count of inode \(directory.inode)")
    }
    for (id, node) in files {
        #expect(node.linkCount == names[id])
        if node.kind == .regular || node.kind == .symbolicLink { bytes += node.size }
    }
    if !storageHeldElsewhere { #expect(tree.storageUsed == bytes) }
}
