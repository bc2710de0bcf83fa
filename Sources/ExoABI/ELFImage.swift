import ExoKit

/// What kind of executable an ELF file is (`e_type`).
public enum ELFFileType: UInt16, Sendable {
    /// `ET_EXEC`: linked at fixed addresses and loaded exactly there.
    case executable = 2
    /// `ET_DYN` without `PT_INTERP`: a static-PIE. The kernel picks its base;
    /// its own start code applies the relocations.
    case positionIndependent = 3
}

/// A program header's `p_type`. Unknown types are kept, not rejected: the
/// loader ignores what it does not need, as Linux does.
public struct ELFSegmentType: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `PT_LOAD`: bytes to place in memory.
    public static let load = ELFSegmentType(rawValue: 1)
    /// `PT_DYNAMIC`: relocation tables (a static-PIE has one; harmless).
    public static let dynamic = ELFSegmentType(rawValue: 2)
    /// `PT_INTERP`: the path of a dynamic linker; refused.
    public static let interpreter = ELFSegmentType(rawValue: 3)
    /// `PT_NOTE`: build id, ABI tag.
    public static let note = ELFSegmentType(rawValue: 4)
    /// `PT_PHDR`: where the program header table itself lies in memory.
    public static let programHeaders = ELFSegmentType(rawValue: 6)
    /// `PT_TLS`: the thread-local storage template.
    public static let threadLocalStorage = ELFSegmentType(rawValue: 7)
    /// `PT_GNU_STACK`: its flags say whether the stack must be executable.
    public static let gnuStack = ELFSegmentType(rawValue: 0x6474_e551)
    /// `PT_GNU_RELRO`: made read-only by libc after relocation.
    public static let gnuRelro = ELFSegmentType(rawValue: 0x6474_e552)
}

/// Access rights of a segment or a page; the raw values are ELF's `PF_X`,
/// `PF_W`, `PF_R` bits, so `p_flags & 7` converts directly.
public struct SegmentPermissions: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `PF_X`.
    public static let execute = SegmentPermissions(rawValue: 1)
    /// `PF_W`.
    public static let write = SegmentPermissions(rawValue: 2)
    /// `PF_R`.
    public static let read = SegmentPermissions(rawValue: 4)
}

/// One `Elf64_Phdr`, as stored in the file (addresses not yet biased).
public struct ELFProgramHeader: Equatable, Sendable {
    /// `p_type`.
    public var type: ELFSegmentType
    /// `p_flags`, all bits (see `permissions` for the access rights).
    public var flags: UInt32
    /// `p_offset`: where the segment's bytes start in the file.
    public var offset: UInt64
    /// `p_vaddr`: where they go in memory (before the load bias).
    public var virtualAddress: UInt64
    /// `p_filesz`: how many bytes come from the file.
    public var fileSize: UInt64
    /// `p_memsz`: the size in memory; the bytes past `fileSize` are zero.
    public var memorySize: UInt64
    /// `p_align`.
    public var alignment: UInt64

    /// `PF_R`/`PF_W`/`PF_X` from `flags`.
    public var permissions: SegmentPermissions { SegmentPermissions(rawValue: flags & 7) }

    /// A header with the given fields.
    public init(type: ELFSegmentType, flags: UInt32, offset: UInt64, virtualAddress: UInt64,
                fileSize: UInt64, memorySize: UInt64, alignment: UInt64) {
        self.type = type
        self.flags = flags
        self.offset = offset
        self.virtualAddress = virtualAddress
        self.fileSize = fileSize
        self.memorySize = memorySize
        self.alignment = alignment
    }
}

/// A validated static x86_64 ELF64 executable: its header and program
/// headers, checked so that `loadPlan(pieBase:)` can place it without further
/// checks on the file.
///
/// Only the headers are kept, not the file: the loader copies segment bytes
/// from the file using the offsets in the plan.
///
/// Invariants after `init`: every `PT_LOAD` lies inside the file, has
/// `p_filesz <= p_memsz` and `p_vaddr ≡ p_offset (mod 4096)`; non-empty
/// `PT_LOAD`s ascend and do not overlap (two may share a page); an
/// `ET_EXEC` image lies inside user space and an `ET_DYN` image is no larger
/// than it; the entry point is in the file bytes of an executable segment;
/// the program header table is in memory; there is no `PT_INTERP`.
public struct ELFImage: Sendable {
    /// `sizeof(Elf64_Ehdr)`.
    public static let headerSize: UInt64 = 64
    /// `sizeof(Elf64_Phdr)`, the only `e_phentsize` accepted.
    public static let programHeaderEntrySize: UInt64 = 56
    /// `EM_X86_64`.
    public static let machineX86_64: UInt16 = 62
    /// Linux refuses program header tables larger than a page (ELF_MIN_ALIGN).
    public static let maximumProgramHeaderTableSize: UInt64 = UserPage.size

    /// `ET_EXEC` or static-PIE `ET_DYN`.
    public let fileType: ELFFileType
    /// `e_entry`, before the load bias.
    public let entry: UInt64
    /// `e_phoff`.
    public let programHeaderOffset: UInt64
    /// Every program header, in file order.
    public let programHeaders: [ELFProgramHeader]
    /// Size of the file the image was parsed from.
    public let fileSize: UInt64
    /// Indices into `programHeaders` of the `PT_LOAD`s with a non-zero memory
    /// size, ascending by address: the segments the loader places.
    public let loadIndices: [Int]
    /// Whether `PT_GNU_STACK` asks for an executable stack. Without the
    /// header the stack is not executable (Linux's x86_64 default).
    public let requestsExecutableStack: Bool

    /// Where the program header table is in memory, before the bias.
    let programHeaderAddress: UInt64
    /// The `PT_TLS` header's index, if there is one.
    let threadLocalStorageIndex: Int?
    /// First page of the image and the page-aligned end, before the bias.
    let imageStart: UInt64
    let imageEnd: UInt64
    /// The largest power-of-two `p_align` of a `PT_LOAD` (at least a page):
    /// a position-independent image is placed at a multiple of it, as Linux
    /// does, so that large-page-aligned segments stay aligned.
    let maximumAlignment: UInt64

    /// Parses and validates an ELF file held in `bytes`.
    ///
    /// Throws the first problem found, checked in this order: the header
    /// (`truncated`, `badMagic`, `not64Bit`, `notLittleEndian`, `badVersion`,
    /// `notX86_64`, `notExecutable`), the program header table
    /// (`badProgramHeaderSize`, `noLoadableSegments` when empty,
    /// `tooManyProgramHeaders`, `programHeadersOutsideFile`), `PT_INTERP`
    /// (`dynamicallyLinked`), each `PT_LOAD` in table order
    /// (`fileSizeExceedsMemorySize`, `segmentOutsideFile`,
    /// `misalignedSegment`, `addressOutOfRange`, `segmentsOutOfOrder`,
    /// `overlappingSegments`), then `noLoadableSegments`, the image size
    /// (`addressOutOfRange`), `entryOutsideText`, `programHeadersNotLoaded`,
    /// `badTLSSegment`.
    public init<Bytes: RandomAccessCollection>(bytes: Bytes) throws(ELFError) where Bytes.Element == UInt8 {
        let file = ELFFieldReader(bytes: bytes)
        let fileSize = UInt64(file.count)
        let page = UserPage.size

        // The ELF header.
        guard fileSize >= ELFImage.headerSize else { throw .truncated }
        guard file.u8(0) == 0x7f, file.u8(1) == 0x45, file.u8(2) == 0x4c, file.u8(3) == 0x46 else {
            throw .badMagic
        }
        guard file.u8(4) == 2 else { throw .not64Bit }
        guard file.u8(5) == 1 else { throw .notLittleEndian }
        guard file.u8(6) == 1, file.u32(20) == 1 else { throw .badVersion }
        let machine = file.u16(18)
        guard machine == ELFImage.machineX86_64 else { throw .notX86_64(machine: machine) }
        let rawType = file.u16(16)
        guard let fileType = ELFFileType(rawValue: rawType) else { throw .notExecutable(type: rawType) }
        let entry = file.u64(24)
        let programHeaderOffset = file.u64(32)
        let entrySize = file.u16(54)
        let count = file.u16(56)

        // The program header table: whole entries, at most a page, inside the file.
        guard UInt64(entrySize) == ELFImage.programHeaderEntrySize else {
            throw .badProgramHeaderSize(entrySize)
        }
        guard count > 0 else { throw .noLoadableSegments }
        let tableSize = UInt64(count) * ELFImage.programHeaderEntrySize
        guard tableSize <= ELFImage.maximumProgramHeaderTableSize else {
            throw .tooManyProgramHeaders(count: count)
        }
        let (tableEnd, tableOverflows) = programHeaderOffset.addingReportingOverflow(tableSize)
        guard !tableOverflows, tableEnd <= fileSize else { throw .programHeadersOutsideFile }

        var headers: [ELFProgramHeader] = []
        headers.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            let base = Int(programHeaderOffset) + index * Int(ELFImage.programHeaderEntrySize)
            headers.append(ELFProgramHeader(
                type: ELFSegmentType(rawValue: file.u32(base)), flags: file.u32(base + 4),
                offset: file.u64(base + 8), virtualAddress: file.u64(base + 16),
                fileSize: file.u64(base + 32), memorySize: file.u64(base + 40),
                alignment: file.u64(base + 48)))
        }
        if headers.contains(where: { $0.type == .interpreter }) { throw .dynamicallyLinked }

        // Each PT_LOAD: inside the file, mappable, in user space, ascending.
        var loadIndices: [Int] = []
        var previousStart: UInt64 = 0
        var previousEnd: UInt64 = 0
        var maximumAlignment = page
        for (index, header) in headers.enumerated() where header.type == .load {
            guard header.fileSize <= header.memorySize else { throw .fileSizeExceedsMemorySize(programHeader: index) }
            let (fileEnd, fileOverflows) = header.offset.addingReportingOverflow(header.fileSize)
            guard !fileOverflows, fileEnd <= fileSize else { throw .segmentOutsideFile(programHeader: index) }
            guard header.virtualAddress % page == header.offset % page else {
                throw .misalignedSegment(programHeader: index)
            }
            if header.memorySize == 0 { continue }
            let (end, endOverflows) = header.virtualAddress.addingReportingOverflow(header.memorySize)
            guard !endOverflows, Alignment.alignUp(end, to: page) != nil else {
                throw .addressOutOfRange(programHeader: index)
            }
            if fileType == .executable {
                guard header.virtualAddress >= ELFLoadPlan.userSpaceStart, end <= ELFLoadPlan.userSpaceEnd else {
                    throw .addressOutOfRange(programHeader: index)
                }
            }
            if !loadIndices.isEmpty {
                guard header.virtualAddress >= previousStart else { throw .segmentsOutOfOrder(programHeader: index) }
                guard header.virtualAddress >= previousEnd else { throw .overlappingSegments(programHeader: index) }
            }
            if Alignment.isPowerOfTwo(header.alignment), header.alignment > maximumAlignment {
                maximumAlignment = header.alignment
            }
            loadIndices.append(index)
            previousStart = header.virtualAddress
            previousEnd = end
        }
        guard let firstLoad = loadIndices.first else { throw .noLoadableSegments }
        let imageStart = Alignment.alignDown(headers[firstLoad].virtualAddress, to: page)
        // Cannot fail: checked for every segment above.
        let imageEnd = Alignment.alignUp(previousEnd, to: page)!
        if fileType == .positionIndependent {
            guard imageEnd - imageStart <= ELFLoadPlan.userSpaceEnd - ELFLoadPlan.userSpaceStart else {
                throw .addressOutOfRange(programHeader: loadIndices[loadIndices.count - 1])
            }
        }

        // The entry point must be code that came from the file.
        let entryIsText = loadIndices.contains { index in
            let header = headers[index]
            return header.permissions.contains(.execute) && entry >= header.virtualAddress
                && entry - header.virtualAddress < header.fileSize
        }
        guard entryIsText else { throw .entryOutsideText(entry: entry) }

        // AT_PHDR: PT_PHDR's address if given, else where a PT_LOAD maps
        // e_phoff. Either way the whole table must be file bytes in memory.
        var programHeaderAddress: UInt64? = nil
        if let phdr = headers.first(where: { $0.type == .programHeaders }) {
            programHeaderAddress = phdr.virtualAddress
        } else {
            for index in loadIndices {
                let header = headers[index]
                if header.offset <= programHeaderOffset, tableEnd <= header.offset + header.fileSize {
                    programHeaderAddress = header.virtualAddress + (programHeaderOffset - header.offset)
                    break
                }
            }
        }
        guard let programHeaderAddress,
              ELFImage.isFileBacked(programHeaderAddress, length: tableSize, headers: headers, loads: loadIndices)
        else { throw .programHeadersNotLoaded }

        // PT_TLS: a sane template inside the image (libc copies it from there).
        let threadLocalStorageIndex = headers.firstIndex { $0.type == .threadLocalStorage }
        if let index = threadLocalStorageIndex {
            let tls = headers[index]
            let (tlsEnd, tlsOverflows) = tls.virtualAddress.addingReportingOverflow(tls.memorySize)
            guard tls.fileSize <= tls.memorySize, !tlsOverflows,
                  tls.virtualAddress >= imageStart, tlsEnd <= imageEnd,
                  tls.alignment <= 1 || Alignment.isPowerOfTwo(tls.alignment)
            else { throw .badTLSSegment(programHeader: index) }
        }

        let stack = headers.first { $0.type == .gnuStack }
        self.fileType = fileType
        self.entry = entry
        self.programHeaderOffset = programHeaderOffset
        self.programHeaders = headers
        self.fileSize = fileSize
        self.loadIndices = loadIndices
        self.requestsExecutableStack = stack?.permissions.contains(.execute) ?? false
        self.programHeaderAddress = programHeaderAddress
        self.threadLocalStorageIndex = threadLocalStorageIndex
        self.imageStart = imageStart
        self.imageEnd = imageEnd
        self.maximumAlignment = maximumAlignment
    }

    /// Number of program headers (`e_phnum`, AT_PHNUM).
    public var programHeaderCount: Int { programHeaders.count }

    /// Where to put this image and what to copy: see `ELFLoadPlan`.
    ///
    /// `pieBase` (page aligned) is where the first page of a
    /// position-independent image goes, rounded up to the image's largest
    /// segment alignment; it is ignored for `ET_EXEC`. Throws
    /// `loadBaseOutOfRange` when the image would not fit in user space there.
    public func loadPlan(pieBase: UInt64 = ELFLoadPlan.defaultPIEBase) throws(ELFError) -> ELFLoadPlan {
        precondition(Alignment.isAligned(pieBase, to: UserPage.size), "pieBase must be page aligned")
        var bias: UInt64 = 0
        if fileType == .positionIndependent {
            guard let base = Alignment.alignUp(pieBase, to: maximumAlignment) else {
                throw .loadBaseOutOfRange(base: pieBase)
            }
            guard base >= ELFLoadPlan.userSpaceStart, base <= ELFLoadPlan.userSpaceEnd,
                  imageEnd - imageStart <= ELFLoadPlan.userSpaceEnd - base
            else { throw .loadBaseOutOfRange(base: base) }
            // Wrapping: the bias is "negative" when the image is linked above
            // `base`; every biased address was range-checked just above.
            bias = base &- imageStart
        }
        return ELFLoadPlan(image: self, bias: bias)
    }

    /// Whether `[address, address + length)` lies inside the file-backed
    /// bytes of one loaded segment.
    private static func isFileBacked(_ address: UInt64, length: UInt64, headers: [ELFProgramHeader],
                                     loads: [Int]) -> Bool {
        loads.contains { index in
            let header = headers[index]
            return address >= header.virtualAddress && length <= header.fileSize
                && address - header.virtualAddress <= header.fileSize - length
        }
    }
}

/// Little-endian field reads from any random-access byte collection.
/// Callers check bounds first; reads are at most 8 bytes.
private struct ELFFieldReader<Bytes: RandomAccessCollection> where Bytes.Element == UInt8 {
    let bytes: Bytes

    var count: Int { bytes.count }

    func u8(_ offset: Int) -> UInt8 { bytes[bytes.index(bytes.startIndex, offsetBy: offset)] }

    func u16(_ offset: Int) -> UInt16 { UInt16(truncatingIfNeeded: field(offset, width: 2)) }
    func u32(_ offset: Int) -> UInt32 { UInt32(truncatingIfNeeded: field(offset, width: 4)) }
    func u64(_ offset: Int) -> UInt64 { field(offset, width: 8) }

    private func field(_ offset: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<width { value |= UInt64(u8(offset + index)) << (8 * UInt64(index)) }
        return value
    }
}
