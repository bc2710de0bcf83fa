import ExoKit

/// Why a memory-management operation was refused.
///
/// Every allocator and mapper in ExoMemory throws these (typed throws), so
/// callers can tell exhaustion from misuse; `errno` maps each to the Linux
/// error a system call would return.
public enum MemoryError: Error, Equatable, Sendable {
    /// No free block large enough (the allocator's state is unchanged).
    case outOfMemory
    /// An address or size that must be aligned was not.
    case misaligned(UInt64)
    /// An address outside what the allocator or address space manages.
    case outOfRange(UInt64)
    /// Freeing something that is already free.
    case doubleFree(UInt64)
    /// Freeing an address the allocator never handed out (or with the wrong size).
    case notAllocated(UInt64)
    /// Adding or reserving memory that is currently allocated.
    case inUse(UInt64)
    /// Mapping over an existing translation.
    case alreadyMapped(UInt64)
    /// Unmapping, protecting or translating an address with no translation.
    case notMapped(UInt64)
    /// A 4 KiB operation inside a 2 MiB mapping (or the reverse).
    case pageSizeConflict(UInt64)
    /// A virtual address that is not canonical (bits 63..47 not all equal).
    case nonCanonical(UInt64)
    /// A request that can never succeed (zero size, impossible order...).
    case invalidRequest

    /// The Linux errno a system call reports for this error.
    public var errno: Errno {
        switch self {
        case .outOfMemory: .outOfMemory
        case .misaligned, .outOfRange, .nonCanonical, .invalidRequest, .pageSizeConflict: .invalidArgument
        case .doubleFree, .notAllocated, .notMapped: .invalidArgument
        case .alreadyMapped: .exists
        case .inUse: .busy
        }
    }

    /// A short description for logs and panic reports.
    public var description: String {
        switch self {
        case .outOfMemory: "out of memory"
        case .misaligned(let a): "misaligned address or size \(Hex.string(a))"
        case .outOfRange(let a): "address out of range \(Hex.string(a))"
        case .doubleFree(let a): "double free of \(Hex.string(a))"
        case .notAllocated(let a): "free of \(Hex.string(a)), which was not allocated here"
        case .inUse(let a): "\(Hex.string(a)) is allocated"
        case .alreadyMapped(let a): "\(Hex.string(a)) is already mapped"
        case .notMapped(let a): "\(Hex.string(a)) is not mapped"
        case .pageSizeConflict(let a): "page-size conflict at \(Hex.string(a))"
        case .nonCanonical(let a): "non-canonical address \(Hex.string(a))"
        case .invalidRequest: "invalid request"
        }
    }
}
