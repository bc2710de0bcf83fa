import ExoKit

/// `mmap`/`mprotect` protection (`PROT_*`, Linux `asm-generic/mman-common.h`).
public struct MemoryProtection: KnownFlagSet {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `PROT_NONE` (0): any access faults (guard pages, reservations).
    public static let none: MemoryProtection = []
    /// `PROT_READ` (1).
    public static let read = MemoryProtection(rawValue: 0x1)
    /// `PROT_WRITE` (2). On x86 a writable page is also readable.
    public static let write = MemoryProtection(rawValue: 0x2)
    /// `PROT_EXEC` (4). Without NX a readable page is also executable.
    public static let execute = MemoryProtection(rawValue: 0x4)
    /// `PROT_GROWSDOWN` (0x0100_0000): `mprotect` extends the change down
    /// to the start of a grows-down mapping.
    public static let growsDown = MemoryProtection(rawValue: 0x0100_0000)
    /// `PROT_GROWSUP` (0x0200_0000): never valid on x86_64.
    public static let growsUp = MemoryProtection(rawValue: 0x0200_0000)

    /// What `mmap` accepts (the grows bits are `mprotect`-only; GROWSUP is
    /// not supported on x86_64 at all).
    public static let known: MemoryProtection = [.read, .write, .execute]
    /// What `mprotect` accepts.
    public static let knownForMprotect: MemoryProtection = [.read, .write, .execute, .growsDown]
}

/// How a mapping is shared: the `MAP_TYPE` field (low four bits) of
/// `mmap`'s flags. Exactly one must be given.
public enum MapSharing: UInt32, Sendable {
    /// `MAP_SHARED` (1): writes reach the file and other mappers.
    case shared = 1
    /// `MAP_PRIVATE` (2): copy on write.
    case `private` = 2
    /// `MAP_SHARED_VALIDATE` (3): `shared`, but unknown flags are EOPNOTSUPP
    /// instead of ignored.
    case sharedValidate = 3
}

/// `mmap` flags (`MAP_*`, x86_64 values).
public struct MapFlags: KnownFlagSet {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `MAP_TYPE` (0xf): the sharing-type field; read it with `sharing`.
    public static let sharingMask: UInt32 = 0xf
    /// `MAP_SHARED` (0x1).
    public static let shared = MapFlags(rawValue: 0x1)
    /// `MAP_PRIVATE` (0x2).
    public static let `private` = MapFlags(rawValue: 0x2)
    /// `MAP_FIXED` (0x10): map exactly at `addr`, replacing what is there.
    public static let fixed = MapFlags(rawValue: 0x10)
    /// `MAP_ANONYMOUS` (0x20): zero-filled memory, no file (fd ignored).
    public static let anonymous = MapFlags(rawValue: 0x20)
    /// `MAP_32BIT` (0x40): place the mapping in the low 2 GiB.
    public static let below2GiB = MapFlags(rawValue: 0x40)
    /// `MAP_GROWSDOWN` (0x100): a stack that grows down on faults below it.
    public static let growsDown = MapFlags(rawValue: 0x100)
    /// `MAP_DENYWRITE` (0x800): ignored by Linux; accepted.
    public static let denyWrite = MapFlags(rawValue: 0x800)
    /// `MAP_EXECUTABLE` (0x1000): ignored by Linux; accepted.
    public static let executable = MapFlags(rawValue: 0x1000)
    /// `MAP_LOCKED` (0x2000): lock the pages in memory (`mlock`).
    public static let locked = MapFlags(rawValue: 0x2000)
    /// `MAP_NORESERVE` (0x4000): do not reserve swap for it.
    public static let noReserve = MapFlags(rawValue: 0x4000)
    /// `MAP_POPULATE` (0x8000): fault every page in now.
    public static let populate = MapFlags(rawValue: 0x8000)
    /// `MAP_NONBLOCK` (0x10000): with `populate`, do not block on I/O.
    public static let nonBlocking = MapFlags(rawValue: 0x10000)
    /// `MAP_STACK` (0x20000): a thread stack (a hint; no effect).
    public static let stack = MapFlags(rawValue: 0x20000)
    /// `MAP_HUGETLB` (0x40000): back it with huge pages.
    public static let hugeTLB = MapFlags(rawValue: 0x40000)
    /// `MAP_SYNC` (0x80000): synchronous page faults for DAX files.
    public static let sync = MapFlags(rawValue: 0x80000)
    /// `MAP_FIXED_NOREPLACE` (0x100000): like `fixed`, but EEXIST instead
    /// of replacing an existing mapping.
    public static let fixedNoReplace = MapFlags(rawValue: 0x100000)
    /// `MAP_UNINITIALIZED` (0x4000000): do not clear anonymous pages; only
    /// honoured on no-MMU kernels, accepted and ignored elsewhere.
    public static let uninitialized = MapFlags(rawValue: 0x400_0000)

    /// Every flag Linux x86_64 accepts, with the whole sharing field.
    public static let known: MapFlags = [
        MapFlags(rawValue: sharingMask), .fixed, .anonymous, .below2GiB, .growsDown,
        .denyWrite, .executable, .locked, .noReserve, .populate, .nonBlocking, .stack,
        .hugeTLB, .sync, .fixedNoReplace, .uninitialized,
    ]

    /// The sharing type, or nil (EINVAL) when the field holds 0 or a value
    /// Linux does not define.
    public var sharing: MapSharing? { MapSharing(rawValue: rawValue & Self.sharingMask) }
}

/// `mremap` flags (`MREMAP_*`).
public struct RemapFlags: KnownFlagSet {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `MREMAP_MAYMOVE` (1): the mapping may move to grow.
    public static let mayMove = RemapFlags(rawValue: 1)
    /// `MREMAP_FIXED` (2): move to exactly `new_address` (needs `mayMove`).
    public static let fixed = RemapFlags(rawValue: 2)
    /// `MREMAP_DONTUNMAP` (4): leave the old range mapped (needs `mayMove`).
    public static let dontUnmap = RemapFlags(rawValue: 4)
    /// All three.
    public static let known: RemapFlags = [.mayMove, .fixed, .dontUnmap]

    /// EINVAL for unknown bits, and for `fixed` or `dontUnmap` without
    /// `mayMove` (Linux's rule).
    public func validatedForRemap() throws(Errno) -> RemapFlags {
        let flags = try validated()
        if !flags.contains(.mayMove) && !flags.isDisjoint(with: [.fixed, .dontUnmap]) {
            throw .invalidArgument
        }
        return flags
    }
}
