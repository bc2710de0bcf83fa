import ExoKit

// File contents: read, write and truncate at byte offsets, as pread,
// pwrite and ftruncate need them (a descriptor's position and O_APPEND are
// the caller's). Offsets are Int64 like off_t; negative ones are EINVAL.

extension RamTree {
    /// Up to `count` bytes of the regular file `node` from `offset`: fewer
    /// at the end of the file, none at or past it. Also what a page fault on
    /// a file mapping copies from.
    /// - Throws: EISDIR for a directory, EINVAL for other non-regular kinds
    ///   and for a negative offset or count.
    public func read(_ node: RamNode, at offset: Int64, count: Int) throws(Errno) -> ArraySlice<UInt8> {
        try checkRegular(node)
        if offset < 0 || count < 0 { throw .invalidArgument }
        let size = node.data.count
        if offset >= Int64(size) { return [] }
        let start = Int(offset)
        return node.data[start..<(start + min(count, size - start))]
    }

    /// Writes `bytes` into the regular file `node` at `offset`, filling any
    /// gap past the end with zeros, and returns the bytes written (all).
    /// - Throws: EISDIR, EINVAL as `read`; EFBIG if the end would pass
    ///   the tree's largest file (`fileSizeLimit`) or Int64.max; ENOSPC if
    ///   the tree's storage limit would be passed (then nothing is written).
    @discardableResult
    public func write(_ node: RamNode, at offset: Int64, _ bytes: some Collection<UInt8>) throws(Errno) -> Int {
        try checkRegular(node)
        if offset < 0 { throw .invalidArgument }
        let count = bytes.count
        if count == 0 { return 0 }
        let (end, overflow) = offset.addingReportingOverflow(Int64(count))
        if overflow { throw .fileTooLarge }
        let start = Int(offset), newEnd = Int(end)
        if newEnd > node.data.count && newEnd > fileSizeLimit { throw .fileTooLarge }
        let growth = max(0, newEnd - node.data.count)
        try node.modifyData(growingBy: growth) { data in
            if newEnd > data.count { data.append(contentsOf: repeatElement(0, count: newEnd - data.count)) }
            data.replaceSubrange(start..<newEnd, with: bytes)
        }
        touch(node)
        return count
    }

    /// Sets the regular file `node`'s size, dropping bytes past `length` or
    /// adding zeros up to it.
    /// - Throws: EISDIR, EINVAL as `read` (a negative length too); EFBIG
    ///   past the largest file; ENOSPC as `write`.
    public func truncate(_ node: RamNode, to length: Int64) throws(Errno) {
        try checkRegular(node)
        if length < 0 { throw .invalidArgument }
        if length > Int64(node.data.count) && length > Int64(fileSizeLimit) { throw .fileTooLarge }
        let newSize = Int(length), size = node.data.count
        try node.modifyData(growingBy: newSize - size) { data in
            if newSize > size {
                data.append(contentsOf: repeatElement(0, count: newSize - size))
            } else {
                data.removeSubrange(newSize..<size)
            }
        }
        touch(node)
    }

    private func checkRegular(_ node: RamNode) throws(Errno) {
        if node.isDirectory { throw .isDirectory }
        if node.kind != .regular { throw .invalidArgument }
    }
}
