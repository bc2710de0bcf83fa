/// Where the heap gets its pages: the kernel's buddy frame allocator seen
/// through the direct map, or on the host an mmap'd window managed by the
/// same buddy allocator.
///
/// Every address handed out lies in `window`, and blocks of 2^order pages
/// are aligned to their size (the heap finds a span's header by masking
/// an object address, so 64 KiB spans must be 64 KiB aligned).
public protocol HeapPageSource {
    /// The address range all pages come from. The heap keeps two bytes of
    /// metadata per page of it.
    var window: Range<UInt> { get }
    /// 2^order contiguous, writable pages aligned to their size, or
    /// `.outOfMemory` (nothing changed).
    mutating func allocatePages(order: Int) throws(MemoryError) -> UInt
    /// Returns a block from `allocatePages` with the same order.
    mutating func freePages(_ address: UInt, order: Int)
}
