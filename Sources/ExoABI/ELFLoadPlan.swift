import ExoKit

/// Where a validated `ELFImage` goes in a fresh user address space and what
/// the loader copies there. Every address in a plan is biased (final).
///
/// How the kernel loads a plan:
/// 1. Map every page of every `mappings` entry, backed by zeroed frames, with
///    the entry's permissions.
/// 2. For each of `segments`, copy `fileByteCount` bytes from file offset
///    `fileOffset` to `virtualAddress`. Nothing else is copied: the bytes of
///    a page before a segment's start and after its file bytes stay zero
///    (the bss, `zeroStart..<zeroEnd`, included). Linux maps whole file
///    pages there instead; no ABI promises those bytes and static binaries
///    do not read them.
/// 3. Set the program break to `initialBreak`, build the stack with
///    `AuxVector.standard(plan:...)` and `InitialStack`, enter at `entry`.
///
/// Shared pages: two segments may share one page (one ends and the next
/// begins inside it, possibly from unrelated file offsets). The page then
/// appears once in `mappings`, with the union of both segments'
/// permissions, and each segment's copy fills its own part of it, so both
/// keep their bytes. The cost is that the shared page may be writable and
/// executable at once; linkers avoid this by page-aligning segments of
/// different permissions, as the GNU and LLVM linkers do by default.
public struct ELFLoadPlan: Sendable {
    /// Lowest user address: the null page is never mapped.
    public static let userSpaceStart: UInt64 = 0x1000
    /// End of user space: the kernel half starts here (see docs/ and DESIGN).
    public static let userSpaceEnd: UInt64 = UserSpace.end
    /// Where a static-PIE goes unless the caller says otherwise: two thirds
    /// of the way up user space, page aligned, by Linux's ELF_ET_DYN_BASE
    /// rule. (Linux's own value, 0x5555_5555_4000, is two thirds of its
    /// 128 TiB user space and lies above Exo's 64 TiB one.)
    public static let defaultPIEBase: UInt64 = 0x2aaa_aaaa_a000

    /// Added to every link-time address: 0 for `ET_EXEC`. For a static-PIE
    /// it is `base - first page`, computed with wrapping arithmetic (it may
    /// be "negative"); the biased addresses themselves never wrap.
    public let loadBias: UInt64
    /// The non-empty `PT_LOAD` segments, ascending by address.
    public let segments: [LoadSegment]
    /// The pages to map, ascending and disjoint, with shared pages split out
    /// and given the union of their segments' permissions.
    public let mappings: [LoadMapping]
    /// Where the program starts (AT_ENTRY, the initial RIP).
    public let entry: UInt64
    /// Where the program header table is in memory (AT_PHDR).
    public let programHeaderAddress: UInt64
    /// Number of program headers (AT_PHNUM).
    public let programHeaderCount: Int
    /// Size of one program header (AT_PHENT): always 56.
    public let programHeaderEntrySize: UInt64
    /// The `PT_TLS` template, if any. musl and glibc find it themselves
    /// through AT_PHDR; kept for debuggers and for the kernel's own checks.
    public let threadLocalStorage: ThreadLocalTemplate?
    /// Whether `PT_GNU_STACK` asked for an executable stack.
    public let requestsExecutableStack: Bool
    /// The first page of the image.
    public let imageStart: UInt64
    /// The page-aligned end of the last segment: the initial program break
    /// (`brk`) and the first address above the image.
    public let initialBreak: UInt64

    /// The plan for `image` with every address moved by `bias`.
    /// Precondition: `image` was validated with this bias in range
    /// (`ELFImage.loadPlan(pieBase:)` checks).
    init(image: ELFImage, bias: UInt64) {
        var segments: [LoadSegment] = []
        segments.reserveCapacity(image.loadIndices.count)
        for index in image.loadIndices {
            let header = image.programHeaders[index]
            segments.append(LoadSegment(
                programHeader: index, virtualAddress: header.virtualAddress &+ bias,
                memorySize: header.memorySize, fileOffset: header.offset,
                fileByteCount: header.fileSize, permissions: header.permissions))
        }
        self.loadBias = bias
        self.segments = segments
        self.mappings = ELFLoadPlan.pageMappings(of: segments)
        self.entry = image.entry &+ bias
        self.programHeaderAddress = image.programHeaderAddress &+ bias
        self.programHeaderCount = image.programHeaderCount
        self.programHeaderEntrySize = ELFImage.programHeaderEntrySize
        self.threadLocalStorage = image.threadLocalStorageIndex.map { index in
            let header = image.programHeaders[index]
            return ThreadLocalTemplate(
                address: header.virtualAddress &+ bias, fileSize: header.fileSize,
                memorySize: header.memorySize, alignment: header.alignment)
        }
        self.requestsExecutableStack = image.requestsExecutableStack
        self.imageStart = image.imageStart &+ bias
        self.initialBreak = image.imageEnd &+ bias
    }

    /// The segments' page ranges, merged so that no page appears twice.
    ///
    /// Segments ascend and do not overlap, so a segment can share at most
    /// its first page, and only with the last page mapped so far. That page
    /// is split off the previous mapping (if it was part of a longer one)
    /// and takes both segments' permissions.
    static func pageMappings(of segments: [LoadSegment]) -> [LoadMapping] {
        let page = UserPage.size
        var mappings: [LoadMapping] = []
        for segment in segments {
            var start = segment.pageStart
            if let last = mappings.last, start < last.end {
                let shared = last.end - page
                let merged = last.permissions.union(segment.permissions)
                if last.start < shared {
                    mappings[mappings.count - 1] = LoadMapping(start: last.start, end: shared, permissions: last.permissions)
                    mappings.append(LoadMapping(start: shared, end: last.end, permissions: merged))
                } else {
                    mappings[mappings.count - 1] = LoadMapping(start: last.start, end: last.end, permissions: merged)
                }
                start = last.end
            }
            if start < segment.pageEnd {
                mappings.append(LoadMapping(start: start, end: segment.pageEnd, permissions: segment.permissions))
            }
        }
        return mappings
    }
}

/// One `PT_LOAD` segment of a plan, at its final address.
public struct LoadSegment: Equatable, Sendable {
    /// Index of its header in the file's program header table.
    public let programHeader: Int
    /// Where its first byte goes (biased `p_vaddr`).
    public let virtualAddress: UInt64
    /// `p_memsz`.
    public let memorySize: UInt64
    /// Where its file bytes start in the file (`p_offset`).
    public let fileOffset: UInt64
    /// How many bytes to copy from the file (`p_filesz`).
    public let fileByteCount: UInt64
    /// The segment's own access rights (a shared page may get more: see
    /// `ELFLoadPlan.mappings`).
    public let permissions: SegmentPermissions

    /// The page containing `virtualAddress`.
    public var pageStart: UInt64 { Alignment.alignDown(virtualAddress, to: UserPage.size) }
    /// The page-aligned end of the segment in memory (exclusive).
    public var pageEnd: UInt64 { Alignment.alignUp(zeroEnd, to: UserPage.size)! }
    /// `fileOffset` rounded down to a page: the file page backing
    /// `pageStart`, for a loader that maps whole file pages.
    public var pageFileOffset: UInt64 { Alignment.alignDown(fileOffset, to: UserPage.size) }
    /// First byte of the bss: memory past the file bytes, which reads as zero.
    public var zeroStart: UInt64 { virtualAddress + fileByteCount }
    /// End of the segment in memory (exclusive); `zeroStart..<zeroEnd` is
    /// the bss.
    public var zeroEnd: UInt64 { virtualAddress + memorySize }

    /// A segment; only `ELFImage` makes them, which guarantees
    /// `fileByteCount <= memorySize` and that the page-aligned end does not
    /// wrap.
    init(programHeader: Int, virtualAddress: UInt64, memorySize: UInt64, fileOffset: UInt64,
                fileByteCount: UInt64, permissions: SegmentPermissions) {
        self.programHeader = programHeader
        self.virtualAddress = virtualAddress
        self.memorySize = memorySize
        self.fileOffset = fileOffset
        self.fileByteCount = fileByteCount
        self.permissions = permissions
    }
}

/// A run of pages to map for an image, with the permissions they get.
public struct LoadMapping: Equatable, Sendable {
    /// First page (page aligned).
    public let start: UInt64
    /// End (page aligned, exclusive).
    public let end: UInt64
    /// The union of the permissions of every segment with bytes in these
    /// pages.
    public let permissions: SegmentPermissions

    /// A mapping of `start..<end` with `permissions`.
    public init(start: UInt64, end: UInt64, permissions: SegmentPermissions) {
        self.start = start
        self.end = end
        self.permissions = permissions
    }
}

/// The `PT_TLS` template at its final address.
public struct ThreadLocalTemplate: Equatable, Sendable {
    /// Where the initialized part (`.tdata`) is.
    public let address: UInt64
    /// Bytes of `.tdata`.
    public let fileSize: UInt64
    /// Bytes of `.tdata` plus `.tbss`: the size of each thread's block.
    public let memorySize: UInt64
    /// Alignment of each thread's block (`p_align`, 0 or 1 meaning none).
    public let alignment: UInt64
}
