import ExoKit
import Testing
@testable import ExoABI
#if canImport(Glibc)
import Glibc
#endif

/// Writes ELF64 files for tests: an ELF header, a program header table, and
/// a recognisable byte pattern everywhere else (so copied bytes can be told
/// from zeros and from each other).
struct ELFBuilder {
    var magic: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]
    var elfClass: UInt8 = 2
    var dataEncoding: UInt8 = 1
    var identVersion: UInt8 = 1
    var osABI: UInt8 = 0
    var fileType: UInt16 = 2
    var machine: UInt16 = 62
    var version: UInt32 = 1
    var entry: UInt64 = 0
    var programHeaderOffset: UInt64 = 64
    var programHeaderEntrySize: UInt16 = 56
    /// `e_phnum`; nil writes `headers.count`.
    var programHeaderCount: UInt16? = nil
    var headers: [ELFProgramHeader] = []
    var fileSize: Int = 0x2000

    static func load(_ permissions: SegmentPermissions, offset: UInt64, address: UInt64,
                     fileSize: UInt64, memorySize: UInt64, alignment: UInt64 = 0x1000) -> ELFProgramHeader {
        ELFProgramHeader(type: .load, flags: permissions.rawValue, offset: offset, virtualAddress: address,
                         fileSize: fileSize, memorySize: memorySize, alignment: alignment)
    }

    static func segment(_ type: ELFSegmentType, _ permissions: SegmentPermissions = [.read],
                        offset: UInt64 = 0, address: UInt64 = 0, fileSize: UInt64 = 0,
                        memorySize: UInt64 = 0, alignment: UInt64 = 8) -> ELFProgramHeader {
        ELFProgramHeader(type: type, flags: permissions.rawValue, offset: offset, virtualAddress: address,
                         fileSize: fileSize, memorySize: memorySize, alignment: alignment)
    }

    /// A static executable shaped like musl's: headers, text, data + bss.
    static var executable: ELFBuilder {
        var builder = ELFBuilder()
        builder.entry = 0x401010
        builder.headers = [
            load([.read], offset: 0, address: 0x400000, fileSize: 0x158, memorySize: 0x158),
            load([.read, .execute], offset: 0x1000, address: 0x401000, fileSize: 0x234, memorySize: 0x234),
            load([.read, .write], offset: 0x1f00, address: 0x402f00, fileSize: 0x80, memorySize: 0x1200),
            segment(.gnuStack, [.read, .write], alignment: 16),
        ]
        return builder
    }

    /// A static-PIE linked at 0, shaped like musl's rcrt1 output.
    static var positionIndependent: ELFBuilder {
        var builder = ELFBuilder()
        builder.fileType = 3
        builder.entry = 0x1074
        builder.fileSize = 0x2010
        builder.headers = [
            load([.read], offset: 0, address: 0, fileSize: 0x200, memorySize: 0x200),
            load([.read, .execute], offset: 0x1000, address: 0x1000, fileSize: 0x234, memorySize: 0x234),
            load([.read, .write], offset: 0x1e54, address: 0x2e54, fileSize: 0x1bc, memorySize: 0x424),
            segment(.dynamic, [.read, .write], offset: 0x1e64, address: 0x2e64, fileSize: 0x100, memorySize: 0x100),
            segment(.gnuStack, [.read, .write], alignment: 16),
            segment(.threadLocalStorage, offset: 0x1e54, address: 0x2e54, fileSize: 4, memorySize: 8, alignment: 4),
        ]
        return builder
    }

    /// The pattern byte at file offset `offset`.
    static func pattern(_ offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: offset &* 31 &+ 7) }

    var bytes: [UInt8] {
        var bytes = (0..<fileSize).map(ELFBuilder.pattern)
        func put(_ value: UInt64, width: Int, at offset: Int) {
            for index in 0..<width where offset + index < bytes.count {
                bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))
            }
        }
        for (index, byte) in magic.enumerated() { put(UInt64(byte), width: 1, at: index) }
        put(UInt64(elfClass), width: 1, at: 4)
        put(UInt64(dataEncoding), width: 1, at: 5)
        put(UInt64(identVersion), width: 1, at: 6)
        put(UInt64(osABI), width: 1, at: 7)
        put(0, width: 8, at: 8)
        put(UInt64(fileType), width: 2, at: 16)
        put(UInt64(machine), width: 2, at: 18)
        put(UInt64(version), width: 4, at: 20)
        put(entry, width: 8, at: 24)
        put(programHeaderOffset, width: 8, at: 32)
        put(0, width: 8, at: 40)      // e_shoff: no section headers
        put(0, width: 4, at: 48)      // e_flags
        put(64, width: 2, at: 52)     // e_ehsize
        put(UInt64(programHeaderEntrySize), width: 2, at: 54)
        put(UInt64(programHeaderCount ?? UInt16(headers.count)), width: 2, at: 56)
        put(0, width: 6, at: 58)      // e_shentsize, e_shnum, e_shstrndx
        if programHeaderOffset < UInt64(fileSize) {
            for (index, header) in headers.enumerated() {
                let base = Int(programHeaderOffset) + index * 56
                put(UInt64(header.type.rawValue), width: 4, at: base)
                put(UInt64(header.flags), width: 4, at: base + 4)
                put(header.offset, width: 8, at: base + 8)
                put(header.virtualAddress, width: 8, at: base + 16)
                put(header.virtualAddress, width: 8, at: base + 24)
                put(header.fileSize, width: 8, at: base + 32)
                put(header.memorySize, width: 8, at: base + 40)
                put(header.alignment, width: 8, at: base + 48)
            }
        }
        return bytes
    }

    func parse() throws(ELFError) -> ELFImage { try ELFImage(bytes: bytes) }
}

/// User memory filled the way the kernel loads a plan: zeroed pages for
/// every mapping, then each segment's file bytes copied in.
struct LoadedImage {
    private var pages: [UInt64: [UInt8]] = [:]
    private(set) var permissions: [UInt64: SegmentPermissions] = [:]

    init(plan: ELFLoadPlan, file: [UInt8]) {
        for mapping in plan.mappings {
            for page in stride(from: mapping.start, to: mapping.end, by: 4096) {
                precondition(pages[page] == nil, "page mapped twice")
                pages[page] = [UInt8](repeating: 0, count: 4096)
                permissions[page] = mapping.permissions
            }
        }
        for segment in plan.segments {
            for index in 0..<Int(segment.fileByteCount) {
                let address = segment.virtualAddress + UInt64(index)
                pages[address & ~4095]![Int(address & 4095)] = file[Int(segment.fileOffset) + index]
            }
        }
    }

    /// The byte at `address`, or nil when it is not mapped.
    func byte(at address: UInt64) -> UInt8? { pages[address & ~4095]?[Int(address & 4095)] }
}

/// Reads a whole file with the C library, or nil when it cannot be read.
func readHostFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count == 0 { break }
        bytes += chunk[0..<count]
    }
    return bytes
}

@Suite("ELF images")
struct ELFImageTests {
    // MARK: Valid images

    @Test func staticExecutableLoadsAtItsLinkedAddresses() throws {
        let image = try ELFBuilder.executable.parse()
        #expect(image.fileType == .executable)
        #expect(image.loadIndices == [0, 1, 2])
        let plan = try image.loadPlan()
        #expect(plan.loadBias == 0)
        #expect(plan.entry == 0x401010)
        #expect(plan.programHeaderAddress == 0x400040)
        #expect(plan.programHeaderCount == 4)
        #expect(plan.programHeaderEntrySize == 56)
        #expect(plan.imageStart == 0x400000)
        #expect(plan.initialBreak == 0x405000)
        #expect(plan.threadLocalStorage == nil)
        #expect(!plan.requestsExecutableStack)
        #expect(plan.mappings == [
            LoadMapping(start: 0x400000, end: 0x401000, permissions: [.read]),
            LoadMapping(start: 0x401000, end: 0x402000, permissions: [.read, .execute]),
            LoadMapping(start: 0x402000, end: 0x405000, permissions: [.read, .write]),
        ])
        let data = plan.segments[2]
        #expect(data.programHeader == 2)
        #expect(data.virtualAddress == 0x402f00)
        #expect(data.pageStart == 0x402000)
        #expect(data.pageEnd == 0x405000)
        #expect(data.fileOffset == 0x1f00)
        #expect(data.pageFileOffset == 0x1000)
        #expect(data.fileByteCount == 0x80)
        #expect(data.zeroStart == 0x402f80)
        #expect(data.zeroEnd == 0x404100)
        #expect(data.permissions == [.read, .write])
    }

    @Test func loadingCopiesFileBytesAndLeavesTheBssZero() throws {
        let builder = ELFBuilder.executable
        let file = builder.bytes
        let plan = try ELFImage(bytes: file).loadPlan()
        let memory = LoadedImage(plan: plan, file: file)
        #expect(memory.byte(at: 0x400000) == 0x7f)   // the ELF header is mapped
        #expect(memory.byte(at: 0x401010) == file[0x1010])
        #expect(memory.byte(at: 0x402f7f) == file[0x1f7f])
        #expect(memory.byte(at: 0x402f80) == 0)      // first bss byte
        #expect(memory.byte(at: 0x404fff) == 0)
        #expect(memory.byte(at: 0x402eff) == 0)      // before the segment, same page
        #expect(memory.byte(at: 0x405000) == nil)
        #expect(memory.byte(at: 0x3fffff) == nil)
    }

    @Test func executableStackAndThreadLocalStorageAreReported() throws {
        var builder = ELFBuilder.executable
        builder.headers[3] = ELFBuilder.segment(.gnuStack, [.read, .write, .execute], alignment: 16)
        builder.headers.append(ELFBuilder.segment(.threadLocalStorage, offset: 0x1f00, address: 0x402f00,
                                                  fileSize: 0x10, memorySize: 0x30, alignment: 16))
        let plan = try builder.parse().loadPlan()
        #expect(plan.requestsExecutableStack)
        #expect(plan.threadLocalStorage == ThreadLocalTemplate(address: 0x402f00, fileSize: 0x10,
                                                               memorySize: 0x30, alignment: 16))
    }

    @Test func programHeaderSegmentGivesTheTableAddress() throws {
        var builder = ELFBuilder.executable
        // PT_PHDR wins over the e_phoff lookup (here: a copy at a different place).
        builder.headers.insert(ELFBuilder.segment(.programHeaders, offset: 0x40, address: 0x400080,
                                                  fileSize: 5 * 56, memorySize: 5 * 56), at: 0)
        builder.programHeaderOffset = 64
        builder.headers[1].fileSize = 0x200
        builder.headers[1].memorySize = 0x200
        let plan = try builder.parse().loadPlan()
        #expect(plan.programHeaderAddress == 0x400080)
        #expect(plan.programHeaderCount == 5)
    }

    @Test func staticPIEGoesToTheDefaultBase() throws {
        let image = try ELFBuilder.positionIndependent.parse()
        #expect(image.fileType == .positionIndependent)
        let plan = try image.loadPlan()
        let base: UInt64 = 0x2aaa_aaaa_a000
        #expect(base == ELFLoadPlan.defaultPIEBase)
        #expect(base == Alignment.alignDown((ELFLoadPlan.userSpaceEnd / 3) * 2, to: 4096))
        #expect(plan.loadBias == base)
        #expect(plan.entry == base + 0x1074)
        #expect(plan.programHeaderAddress == base + 0x40)
        #expect(plan.imageStart == base)
        #expect(plan.initialBreak == base + 0x4000)
        #expect(plan.threadLocalStorage?.address == base + 0x2e54)
        #expect(plan.segments.map(\.virtualAddress) == [base, base + 0x1000, base + 0x2e54])
        #expect(plan.segments.map(\.fileOffset) == [0, 0x1000, 0x1e54])
        #expect(plan.mappings.map(\.start) == [base, base + 0x1000, base + 0x2000])
        #expect(plan.mappings.last?.end == base + 0x4000)
    }

    @Test func staticPIEGoesWhereTheCallerSays() throws {
        let plan = try ELFBuilder.positionIndependent.parse().loadPlan(pieBase: 0x10000)
        #expect(plan.loadBias == 0x10000)
        #expect(plan.entry == 0x11074)
        // The lowest user page is allowed; the null page is not.
        let low = try ELFBuilder.positionIndependent.parse().loadPlan(pieBase: 0x1000)
        #expect(low.imageStart == 0x1000)
        #expect(throws: ELFError.loadBaseOutOfRange(base: 0)) {
            try ELFBuilder.positionIndependent.parse().loadPlan(pieBase: 0)
        }
    }

    @Test func staticPIELinkedAboveZeroStartsAtTheBase() throws {
        var builder = ELFBuilder.positionIndependent
        for index in builder.headers.indices where builder.headers[index].type != .gnuStack {
            builder.headers[index].virtualAddress += 0x20_0000
        }
        builder.entry += 0x20_0000
        let plan = try builder.parse().loadPlan(pieBase: 0x7000_0000)
        #expect(plan.imageStart == 0x7000_0000)
        #expect(plan.loadBias == 0x7000_0000 - 0x20_0000)
        #expect(plan.entry == 0x7000_1074)
    }

    @Test func staticPIEBaseHonoursLargeSegmentAlignment() throws {
        var builder = ELFBuilder.positionIndependent
        builder.headers[1].alignment = 0x20_0000
        let plan = try builder.parse().loadPlan(pieBase: 0x2aaa_aaaa_a000)
        #expect(plan.imageStart == 0x2aaa_aac0_0000)
        // A p_align that is not a power of two is ignored, as Linux does.
        builder.headers[1].alignment = 0x3000
        #expect(try builder.parse().loadPlan(pieBase: 0x2aaa_aaaa_a000).imageStart == 0x2aaa_aaaa_a000)
    }

    @Test func staticPIEThatDoesNotFitAtTheBaseIsRefused() throws {
        let image = try ELFBuilder.positionIndependent.parse()
        let lastBase = ELFLoadPlan.userSpaceEnd - 0x4000
        #expect(try image.loadPlan(pieBase: lastBase).initialBreak == ELFLoadPlan.userSpaceEnd)
        #expect(throws: ELFError.loadBaseOutOfRange(base: lastBase + 0x1000)) {
            try image.loadPlan(pieBase: lastBase + 0x1000)
        }
        #expect(throws: ELFError.loadBaseOutOfRange(base: 0xffff_ffff_ffff_f000)) {
            try image.loadPlan(pieBase: 0xffff_ffff_ffff_f000)
        }
        var aligned = ELFBuilder.positionIndependent
        aligned.headers[0].alignment = 1 << 63
        #expect(throws: ELFError.loadBaseOutOfRange(base: 1 << 63)) {
            try aligned.parse().loadPlan(pieBase: 0x1000)
        }
    }

    @Test func executableBaseArgumentIsIgnored() throws {
        let plan = try ELFBuilder.executable.parse().loadPlan(pieBase: 0x7000_0000)
        #expect(plan.loadBias == 0)
        #expect(plan.imageStart == 0x400000)
    }

    @Test func imageMayEndExactlyAtTheTopOfUserSpace() throws {
        var builder = ELFBuilder.executable
        builder.headers[2] = ELFBuilder.load([.read, .write], offset: 0x1f00,
                                             address: ELFLoadPlan.userSpaceEnd - 0x1100,
                                             fileSize: 0x80, memorySize: 0x1100)
        #expect(try builder.parse().loadPlan().initialBreak == ELFLoadPlan.userSpaceEnd)
    }

    // MARK: Shared pages

    /// Text ends and data starts inside page 0x401000, from unrelated file
    /// offsets; a third tiny segment lands in the same page.
    static var sharedPage: ELFBuilder {
        var builder = ELFBuilder()
        builder.entry = 0x400100
        builder.fileSize = 0x3000
        builder.headers = [
            ELFBuilder.load([.read, .execute], offset: 0, address: 0x400000, fileSize: 0x1800, memorySize: 0x1800),
            ELFBuilder.load([.read, .write], offset: 0x2900, address: 0x401900, fileSize: 0x100, memorySize: 0x300),
            ELFBuilder.load([.read], offset: 0x2c00, address: 0x401c00, fileSize: 0x10, memorySize: 0x10),
        ]
        return builder
    }

    @Test func sharedPageGetsTheUnionOfPermissionsOnce() throws {
        let plan = try Self.sharedPage.parse().loadPlan()
        #expect(plan.mappings == [
            LoadMapping(start: 0x400000, end: 0x401000, permissions: [.read, .execute]),
            LoadMapping(start: 0x401000, end: 0x402000, permissions: [.read, .write, .execute]),
        ])
        #expect(plan.segments.map(\.pageStart) == [0x400000, 0x401000, 0x401000])
        #expect(plan.initialBreak == 0x402000)
    }

    @Test func sharedPageKeepsEverySegmentsBytes() throws {
        let builder = Self.sharedPage
        let file = builder.bytes
        let memory = LoadedImage(plan: try ELFImage(bytes: file).loadPlan(), file: file)
        #expect(memory.byte(at: 0x4017ff) == file[0x17ff])   // last text byte
        #expect(memory.byte(at: 0x401800) == 0)              // gap between them
        #expect(memory.byte(at: 0x4018ff) == 0)
        #expect(memory.byte(at: 0x401900) == file[0x2900])   // first data byte
        #expect(memory.byte(at: 0x4019ff) == file[0x29ff])
        #expect(memory.byte(at: 0x401a00) == 0)              // bss
        #expect(memory.byte(at: 0x401bff) == 0)
        #expect(memory.byte(at: 0x401c00) == file[0x2c00])   // the tiny segment
        #expect(memory.byte(at: 0x401c10) == 0)
    }

    @Test func sharedLastPageOfALongerMappingIsSplitOff() throws {
        var builder = ELFBuilder()
        builder.entry = 0x400100
        builder.fileSize = 0x4000
        builder.headers = [
            ELFBuilder.load([.read, .execute], offset: 0, address: 0x400000, fileSize: 0x2800, memorySize: 0x2800),
            ELFBuilder.load([.read, .write], offset: 0x3900, address: 0x402900, fileSize: 0x100, memorySize: 0x2000),
        ]
        let plan = try builder.parse().loadPlan()
        #expect(plan.mappings == [
            LoadMapping(start: 0x400000, end: 0x402000, permissions: [.read, .execute]),
            LoadMapping(start: 0x402000, end: 0x403000, permissions: [.read, .write, .execute]),
            LoadMapping(start: 0x403000, end: 0x405000, permissions: [.read, .write]),
        ])
    }

    // MARK: Malformed headers

    @Test func truncatedHeaderIsRefused() {
        let bytes = ELFBuilder.executable.bytes
        for length in [0, 1, 4, 16, 63] {
            #expect(throws: ELFError.truncated) { try ELFImage(bytes: bytes.prefix(length)) }
        }
    }

    @Test func identificationIsChecked() {
        var builder = ELFBuilder.executable
        builder.magic = [0x7f, 0x45, 0x4c, 0x47]
        #expect(throws: ELFError.badMagic) { try builder.parse() }
        builder = .executable
        builder.magic = [0x4d, 0x5a, 0x90, 0x00]   // a PE file
        #expect(throws: ELFError.badMagic) { try builder.parse() }
        builder = .executable
        builder.elfClass = 1
        #expect(throws: ELFError.not64Bit) { try builder.parse() }
        builder = .executable
        builder.dataEncoding = 2
        #expect(throws: ELFError.notLittleEndian) { try builder.parse() }
        builder = .executable
        builder.identVersion = 0
        #expect(throws: ELFError.badVersion) { try builder.parse() }
        builder = .executable
        builder.version = 2
        #expect(throws: ELFError.badVersion) { try builder.parse() }
    }

    @Test func gnuLinuxABIIsAccepted() throws {
        var builder = ELFBuilder.executable
        builder.osABI = 3   // ELFOSABI_GNU, as in Debian's busybox
        #expect(try builder.parse().entry == 0x401010)
    }

    @Test func otherMachinesAndFileTypesAreRefused() {
        var builder = ELFBuilder.executable
        builder.machine = 3   // EM_386
        #expect(throws: ELFError.notX86_64(machine: 3)) { try builder.parse() }
        builder.machine = 183   // EM_AARCH64
        #expect(throws: ELFError.notX86_64(machine: 183)) { try builder.parse() }
        for type: UInt16 in [0, 1, 4, 0xfe00] {
            builder = .executable
            builder.fileType = type
            #expect(throws: ELFError.notExecutable(type: type)) { try builder.parse() }
        }
    }

    @Test func programHeaderTableMustBeWholeAndInsideTheFile() {
        var builder = ELFBuilder.executable
        builder.programHeaderEntrySize = 32
        #expect(throws: ELFError.badProgramHeaderSize(32)) { try builder.parse() }

        builder = .executable
        builder.programHeaderCount = 0
        #expect(throws: ELFError.noLoadableSegments) { try builder.parse() }

        builder = .executable
        builder.programHeaderCount = 74   // 74 * 56 > 4096
        #expect(throws: ELFError.tooManyProgramHeaders(count: 74)) { try builder.parse() }

        builder = .executable
        builder.programHeaderOffset = UInt64(builder.fileSize) - 100
        #expect(throws: ELFError.programHeadersOutsideFile) { try builder.parse() }

        builder = .executable
        builder.programHeaderOffset = 0xffff_ffff_ffff_ff00   // offset + size wraps
        #expect(throws: ELFError.programHeadersOutsideFile) { try builder.parse() }

        // The table itself is cut off by the end of the file.
        let whole = ELFBuilder.executable.bytes
        #expect(throws: ELFError.programHeadersOutsideFile) { try ELFImage(bytes: whole.prefix(64 + 3 * 56)) }
    }

    @Test func interpreterMeansDynamicallyLinked() {
        var builder = ELFBuilder.positionIndependent
        builder.headers.insert(ELFBuilder.segment(.interpreter, offset: 0x238, address: 0x238,
                                                  fileSize: 0x19, memorySize: 0x19, alignment: 1), at: 0)
        #expect(throws: ELFError.dynamicallyLinked) { try builder.parse() }
        builder.fileType = 2
        #expect(throws: ELFError.dynamicallyLinked) { try builder.parse() }
    }

    // MARK: Malformed segments

    @Test func fileSizeAboveMemorySizeIsRefused() {
        var builder = ELFBuilder.executable
        builder.headers[2].fileSize = 0x1201
        #expect(throws: ELFError.fileSizeExceedsMemorySize(programHeader: 2)) { try builder.parse() }
    }

    @Test func segmentBytesMustBeInsideTheFile() {
        var builder = ELFBuilder.executable
        builder.headers[2].fileSize = 0x101   // 0x1f00 + 0x101 > 0x2000
        #expect(throws: ELFError.segmentOutsideFile(programHeader: 2)) { try builder.parse() }

        builder = .executable
        builder.headers[2].offset = 0xffff_ffff_ffff_ff00   // offset + size wraps
        builder.headers[2].virtualAddress = 0x402f00
        #expect(throws: ELFError.segmentOutsideFile(programHeader: 2)) { try builder.parse() }

        // Exactly up to the end of the file is fine.
        builder = .executable
        builder.headers[2].fileSize = 0x100
        #expect(throws: Never.self) { try builder.parse() }
    }

    @Test func addressAndOffsetMustAgreeWithinAPage() {
        var builder = ELFBuilder.executable
        builder.headers[2].virtualAddress = 0x402f08
        #expect(throws: ELFError.misalignedSegment(programHeader: 2)) { try builder.parse() }
    }

    @Test func segmentsMustAscendWithoutOverlapping() {
        var builder = ELFBuilder.executable
        builder.headers.swapAt(1, 2)
        #expect(throws: ELFError.segmentsOutOfOrder(programHeader: 2)) { try builder.parse() }

        builder = .executable
        builder.headers[2].virtualAddress = 0x401200   // inside text (0x401000 + 0x234)
        builder.headers[2].offset = 0x1200
        #expect(throws: ELFError.overlappingSegments(programHeader: 2)) { try builder.parse() }

        // Touching is not overlapping.
        builder = .executable
        builder.headers[2].virtualAddress = 0x401234
        builder.headers[2].offset = 0x1234
        #expect(throws: Never.self) { try builder.parse() }
    }

    @Test func executableSegmentsMustLieInUserSpace() {
        var builder = ELFBuilder.executable
        builder.headers[2].virtualAddress = ELFLoadPlan.userSpaceEnd + 0xf00   // the kernel half
        #expect(throws: ELFError.addressOutOfRange(programHeader: 2)) { try builder.parse() }

        builder = .executable
        builder.headers[2].virtualAddress = ELFLoadPlan.userSpaceEnd - 0x100   // runs into it
        #expect(throws: ELFError.addressOutOfRange(programHeader: 2)) { try builder.parse() }

        builder = .executable
        builder.headers[0].virtualAddress = 0   // the null page
        #expect(throws: ELFError.addressOutOfRange(programHeader: 0)) { try builder.parse() }

        builder = .executable
        builder.headers[2].virtualAddress = 0xffff_ffff_ffff_ff00   // Linux's kernel half, wraps
        #expect(throws: ELFError.addressOutOfRange(programHeader: 2)) { try builder.parse() }

        builder = .executable
        builder.headers[2].virtualAddress = 0xffff_ffff_ffff_ef00   // end rounds up past 2^64
        builder.headers[2].memorySize = 0x1000
        #expect(throws: ELFError.addressOutOfRange(programHeader: 2)) { try builder.parse() }
    }

    @Test func positionIndependentSegmentsMustNotWrapOrExceedUserSpace() {
        var builder = ELFBuilder.positionIndependent
        builder.headers[2].memorySize = UInt64.max - 0x2e00
        #expect(throws: ELFError.addressOutOfRange(programHeader: 2)) { try builder.parse() }

        builder = .positionIndependent
        builder.headers[2].virtualAddress = ELFLoadPlan.userSpaceEnd + 0xe54
        #expect(throws: ELFError.addressOutOfRange(programHeader: 2)) { try builder.parse() }
    }

    @Test func imagesWithoutLoadableSegmentsAreRefused() {
        var builder = ELFBuilder.executable
        builder.headers = [ELFBuilder.segment(.gnuStack, [.read, .write], alignment: 16)]
        #expect(throws: ELFError.noLoadableSegments) { try builder.parse() }
        builder.headers.append(ELFBuilder.load([.read, .execute], offset: 0, address: 0x400000,
                                               fileSize: 0, memorySize: 0))
        #expect(throws: ELFError.noLoadableSegments) { try builder.parse() }
    }

    @Test func emptyLoadSegmentsAreSkipped() throws {
        var builder = ELFBuilder.executable
        builder.headers.append(ELFBuilder.load([.read], offset: 0x100, address: 0x10100,
                                               fileSize: 0, memorySize: 0))
        let plan = try builder.parse().loadPlan()
        #expect(plan.segments.map(\.programHeader) == [0, 1, 2])
    }

    @Test func entryMustBeInExecutableFileBytes() {
        var builder = ELFBuilder.executable
        builder.entry = 0x402f10   // data
        #expect(throws: ELFError.entryOutsideText(entry: 0x402f10)) { try builder.parse() }
        builder.entry = 0x401234   // one past the text
        #expect(throws: ELFError.entryOutsideText(entry: 0x401234)) { try builder.parse() }
        builder.entry = 0
        #expect(throws: ELFError.entryOutsideText(entry: 0)) { try builder.parse() }
        builder.entry = 0x401233   // last text byte
        #expect(throws: Never.self) { try builder.parse() }

        // Code in the zero-filled tail of an executable segment is not code.
        builder = .executable
        builder.headers[1].memorySize = 0x1000
        builder.entry = 0x401300
        #expect(throws: ELFError.entryOutsideText(entry: 0x401300)) { try builder.parse() }
    }

    @Test func programHeaderTableMustBeInMemory() {
        var builder = ELFBuilder.executable
        builder.headers[0].fileSize = 0x100   // table is 0x40 ..< 0x120
        builder.headers[0].memorySize = 0x100
        #expect(throws: ELFError.programHeadersNotLoaded) { try builder.parse() }

        builder = .executable
        builder.headers.append(ELFBuilder.segment(.programHeaders, address: 0x500000,
                                                  fileSize: 5 * 56, memorySize: 5 * 56))
        #expect(throws: ELFError.programHeadersNotLoaded) { try builder.parse() }

        // PT_PHDR inside the bss is not the table either.
        builder = .executable
        builder.headers.append(ELFBuilder.segment(.programHeaders, address: 0x403000,
                                                  fileSize: 5 * 56, memorySize: 5 * 56))
        #expect(throws: ELFError.programHeadersNotLoaded) { try builder.parse() }
    }

    @Test func threadLocalTemplateMustBeSane() {
        var builder = ELFBuilder.positionIndependent
        builder.headers[5].fileSize = 9
        #expect(throws: ELFError.badTLSSegment(programHeader: 5)) { try builder.parse() }

        builder = .positionIndependent
        builder.headers[5].alignment = 12
        #expect(throws: ELFError.badTLSSegment(programHeader: 5)) { try builder.parse() }

        builder = .positionIndependent
        builder.headers[5].virtualAddress = 0x8000   // outside the image
        #expect(throws: ELFError.badTLSSegment(programHeader: 5)) { try builder.parse() }

        builder = .positionIndependent
        builder.headers[5].memorySize = UInt64.max
        builder.headers[5].fileSize = 0
        #expect(throws: ELFError.badTLSSegment(programHeader: 5)) { try builder.parse() }
    }

    // MARK: Errors

    static let everyError: [ELFError] = [
        .truncated, .badMagic, .not64Bit, .notLittleEndian, .badVersion, .notX86_64(machine: 1),
        .notExecutable(type: 1), .badProgramHeaderSize(1), .tooManyProgramHeaders(count: 1),
        .programHeadersOutsideFile, .dynamicallyLinked, .noLoadableSegments,
        .fileSizeExceedsMemorySize(programHeader: 1), .segmentOutsideFile(programHeader: 1),
        .misalignedSegment(programHeader: 1), .segmentsOutOfOrder(programHeader: 1),
        .overlappingSegments(programHeader: 1), .addressOutOfRange(programHeader: 1),
        .loadBaseOutOfRange(base: 1), .entryOutsideText(entry: 1), .programHeadersNotLoaded,
        .badTLSSegment(programHeader: 1),
    ]

    @Test func everyErrorIsENOEXEC() {
        for error in Self.everyError { #expect(error.errno == .execFormat) }
        #expect(Errno.execFormat.rawValue == 8)
    }

    @Test func everyErrorHasADistinctDescription() {
        let descriptions = Set(Self.everyError.map(\.description))
        #expect(descriptions.count == Self.everyError.count)
        #expect(ELFError.notX86_64(machine: 0xb7).description == "ELF: machine 0x00b7 is not x86_64")
        #expect(ELFError.entryOutsideText(entry: 0x401000).description
            == "ELF: entry 0x0000000000401000 outside executable file bytes")
    }

    // MARK: Hostile input

    @Test func randomCorruptionNeverTraps() {
        var random = SplitMix64(seed: 0xE1F)
        let original = ELFBuilder.positionIndependent.bytes
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = original
            // Corrupt a few bytes in the headers, where every field matters.
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let offset = Int(random.next() % UInt64(64 + 6 * 56))
                bytes[offset] = UInt8(truncatingIfNeeded: random.next())
            }
            if let image = try? ELFImage(bytes: bytes) {
                accepted += 1
                // Whatever is accepted can be placed, or is refused with a typed error.
                if let plan = try? image.loadPlan() {
                    for segment in plan.segments {
                        #expect(segment.pageStart >= ELFLoadPlan.userSpaceStart)
                        #expect(segment.pageEnd <= ELFLoadPlan.userSpaceEnd)
                        #expect(segment.fileOffset + segment.fileByteCount <= UInt64(bytes.count))
                    }
                }
            }
        }
        #expect(accepted > 0)   // corrupting padding/unused fields is harmless
    }
}

@Suite("ELF images from real linkers")
struct ELFRealBinaryTests {
    @Test func muslStaticExecutable() throws {
        let file = ELFFixtures.muslStatic
        #expect(file.count == 13448)
        let image = try ELFImage(bytes: file)
        #expect(image.fileType == .executable)
        #expect(image.entry == 0x401054)
        let plan = try image.loadPlan()
        #expect(plan.loadBias == 0)
        #expect(plan.programHeaderAddress == 0x400040)
        #expect(plan.programHeaderCount == 7)   // 4 PT_LOAD, PT_TLS, PT_GNU_STACK, PT_GNU_RELRO
        #expect(plan.segments.map(\.virtualAddress) == [0x400000, 0x401000, 0x402000, 0x403fcc])
        #expect(plan.segments.map(\.permissions) == [[.read], [.read, .execute], [.read], [.read, .write]])
        #expect(plan.segments[3].fileByteCount == 0x44)
        #expect(plan.segments[3].zeroEnd == 0x403fcc + 0x2ac)
        #expect(plan.threadLocalStorage == ThreadLocalTemplate(address: 0x403fcc, fileSize: 4, memorySize: 4, alignment: 4))
        #expect(!plan.requestsExecutableStack)
        #expect(plan.initialBreak == 0x405000)
        // The program header table is readable where AT_PHDR says.
        let memory = LoadedImage(plan: plan, file: file)
        #expect(memory.byte(at: plan.programHeaderAddress) == 1)   // phdr[0].p_type == PT_LOAD
        #expect(memory.byte(at: plan.entry) == file[Int(plan.entry - 0x400000)])
        // The TLS template holds the initial value 42 of the thread-local counter.
        #expect(memory.byte(at: 0x403fcc) == 42)
    }

    @Test func muslStaticPIE() throws {
        let file = ELFFixtures.muslStaticPIE
        #expect(file.count == 14104)
        let image = try ELFImage(bytes: file)
        #expect(image.fileType == .positionIndependent)
        #expect(image.programHeaders.contains { $0.type == .dynamic })
        let plan = try image.loadPlan()
        let base = ELFLoadPlan.defaultPIEBase
        #expect(plan.loadBias == base)
        #expect(plan.entry == base + 0x1074)
        #expect(plan.programHeaderAddress == base + 0x40)
        #expect(plan.segments.map(\.virtualAddress) == [base, base + 0x1000, base + 0x2000, base + 0x3e54])
        let memory = LoadedImage(plan: plan, file: file)
        #expect(memory.byte(at: base + 0x3e54) == 42)
        #expect(memory.byte(at: plan.entry) == file[0x1074])
    }

    @Test func everyTruncationOfARealBinaryIsRefusedUntilItsSegmentsFit() {
        let file = ELFFixtures.muslStatic
        let segmentsEnd = 0x2fcc + 0x44
        for length in stride(from: 0, through: file.count, by: 61) {
            let accepted = (try? ELFImage(bytes: file.prefix(length))) != nil
            #expect(accepted == (length >= segmentsEnd), "length \(length)")
        }
    }

    @Test(.enabled(if: access("/bin/busybox", R_OK) == 0, "busybox-static is not installed"))
    func debianBusyboxStatic() throws {
        let file = try #require(readHostFile("/bin/busybox"))
        let image = try ELFImage(bytes: file)
        #expect(image.fileType == .executable)
        let plan = try image.loadPlan()
        #expect(plan.loadBias == 0)
        #expect(plan.segments.count >= 2)
        #expect(plan.segments.contains { $0.permissions.contains(.execute) })
        #expect(plan.threadLocalStorage != nil)   // glibc always has TLS
        #expect(plan.imageStart >= 0x400000)
        // The plan is self-consistent: mappings ascend, are disjoint, and
        // cover every page of every segment with at least its permissions.
        for (left, right) in zip(plan.mappings, plan.mappings.dropFirst()) { #expect(left.end <= right.start) }
        for segment in plan.segments {
            for page in stride(from: segment.pageStart, to: segment.pageEnd, by: 4096) {
                let mapping = plan.mappings.first { $0.start <= page && page < $0.end }
                #expect(mapping?.permissions.isSuperset(of: segment.permissions) == true)
            }
        }
        // AT_PHDR points at the table: its first entry is the first header.
        let memory = LoadedImage(plan: plan, file: file)
        #expect(memory.byte(at: plan.programHeaderAddress) == UInt8(image.programHeaders[0].type.rawValue))
    }
}
