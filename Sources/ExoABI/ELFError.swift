import ExoKit

/// Every reason `ELFImage` refuses a file or `ELFImage.loadPlan(pieBase:)`
/// refuses a placement.
///
/// `programHeader` values are indices into the file's program header table,
/// so a report can be matched against `readelf -l`. `execve` turns every case
/// into ENOEXEC (`errno`); the case itself is for the kernel log.
public enum ELFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file is shorter than the 64-byte ELF64 header.
    case truncated
    /// The first four bytes are not `\x7fELF`.
    case badMagic
    /// `EI_CLASS` is not `ELFCLASS64`.
    case not64Bit
    /// `EI_DATA` is not `ELFDATA2LSB`.
    case notLittleEndian
    /// `EI_VERSION` or `e_version` is not `EV_CURRENT` (1).
    case badVersion
    /// `e_machine` is not `EM_X86_64` (62).
    case notX86_64(machine: UInt16)
    /// `e_type` is neither `ET_EXEC` nor `ET_DYN` (relocatable objects, core
    /// files).
    case notExecutable(type: UInt16)
    /// `e_phentsize` is not 56, the size of an `Elf64_Phdr`.
    case badProgramHeaderSize(UInt16)
    /// The program header table is larger than one page (Linux's limit:
    /// more than 73 entries).
    case tooManyProgramHeaders(count: UInt16)
    /// The program header table extends past the end of the file.
    case programHeadersOutsideFile
    /// A `PT_INTERP` header asks for a dynamic linker; only static binaries
    /// (including static-PIE) are supported.
    case dynamicallyLinked
    /// No `PT_LOAD` header has a non-zero memory size.
    case noLoadableSegments
    /// A `PT_LOAD` with `p_filesz > p_memsz`.
    case fileSizeExceedsMemorySize(programHeader: Int)
    /// A `PT_LOAD` whose file bytes `[p_offset, p_offset + p_filesz)` wrap or
    /// extend past the end of the file.
    case segmentOutsideFile(programHeader: Int)
    /// A `PT_LOAD` whose `p_vaddr` and `p_offset` differ modulo the page size,
    /// so its pages cannot be backed by file pages.
    case misalignedSegment(programHeader: Int)
    /// A `PT_LOAD` whose `p_vaddr` is below the previous one's (the ELF
    /// specification requires ascending order).
    case segmentsOutOfOrder(programHeader: Int)
    /// A `PT_LOAD` that starts before the previous one ends.
    case overlappingSegments(programHeader: Int)
    /// A `PT_LOAD` whose range wraps or leaves user space
    /// `[ELFLoadPlan.userSpaceStart, ELFLoadPlan.userSpaceEnd)`; for `ET_DYN`,
    /// whose image is larger than user space.
    case addressOutOfRange(programHeader: Int)
    /// A position-independent image placed at `base` would not fit in user
    /// space (`base` is the page-aligned address of its first page).
    case loadBaseOutOfRange(base: UInt64)
    /// `e_entry` is not inside the file bytes of an executable `PT_LOAD`.
    case entryOutsideText(entry: UInt64)
    /// Neither `PT_PHDR` nor any `PT_LOAD` places the program header table in
    /// memory, so there is no address for `AT_PHDR` (libc reads its TLS
    /// template from there).
    case programHeadersNotLoaded
    /// A `PT_TLS` with `p_filesz > p_memsz`, a wrapping range, or an
    /// alignment that is not a power of two.
    case badTLSSegment(programHeader: Int)

    /// What `execve` returns for this image: always ENOEXEC, as Linux does
    /// for any file its ELF loader rejects.
    public var errno: Errno { .execFormat }

    /// One line for the kernel log.
    public var description: String {
        switch self {
        case .truncated: return "ELF: file shorter than the ELF header"
        case .badMagic: return "ELF: bad magic"
        case .not64Bit: return "ELF: not ELFCLASS64"
        case .notLittleEndian: return "ELF: not little endian"
        case .badVersion: return "ELF: bad version"
        case .notX86_64(let machine):
            return "ELF: machine " + Hex.string(UInt64(machine), digits: 4) + " is not x86_64"
        case .notExecutable(let type):
            return "ELF: type " + Hex.string(UInt64(type), digits: 4) + " is not ET_EXEC or ET_DYN"
        case .badProgramHeaderSize(let size):
            return "ELF: program header size " + Hex.string(UInt64(size), digits: 4) + " is not 56"
        case .tooManyProgramHeaders(let count):
            return "ELF: " + Hex.string(UInt64(count), digits: 4) + " program headers exceed a page"
        case .programHeadersOutsideFile: return "ELF: program headers extend past the file"
        case .dynamicallyLinked: return "ELF: PT_INTERP present (dynamic binaries unsupported)"
        case .noLoadableSegments: return "ELF: no loadable segments"
        case .fileSizeExceedsMemorySize(let index):
            return "ELF: phdr " + Hex.string(UInt64(index), digits: 2) + " p_filesz > p_memsz"
        case .segmentOutsideFile(let index):
            return "ELF: phdr " + Hex.string(UInt64(index), digits: 2) + " extends past the file"
        case .misalignedSegment(let index):
            return "ELF: phdr " + Hex.string(UInt64(index), digits: 2) + " p_vaddr and p_offset differ mod page"
        case .segmentsOutOfOrder(let index):
            return "ELF: phdr " + Hex.string(UInt64(index), digits: 2) + " below the previous PT_LOAD"
        case .overlappingSegments(let index):
            return "ELF: phdr " + Hex.string(UInt64(index), digits: 2) + " overlaps the previous PT_LOAD"
        case .addressOutOfRange(let index):
            return "ELF: phdr " + Hex.string(UInt64(index), digits: 2) + " outside user space"
        case .loadBaseOutOfRange(let base):
            return "ELF: image at " + Hex.string(base) + " does not fit in user space"
        case .entryOutsideText(let entry):
            return "ELF: entry " + Hex.string(entry) + " outside executable file bytes"
        case .programHeadersNotLoaded: return "ELF: program headers not in any loaded segment"
        case .badTLSSegment(let index):
            return "ELF: phdr " + Hex.string(UInt64(index), digits: 2) + " bad PT_TLS"
        }
    }
}
