import ExoKit

/// `struct utsname` for `uname` (390 bytes): six NUL-terminated fields of
/// 65 bytes each, in the order below.
///
/// `sysname` must be "Linux": glibc, busybox and configure scripts branch
/// on it, and musl's `uname -s` is what shells print. The release must
/// look like a Linux version (glibc refuses to run on kernels it thinks are
/// older than its minimum), so the default is "6.1.0-exo".
public struct UtsName: Equatable, Sendable {
    /// `sysname`.
    public var systemName: String
    /// `nodename`: the host name (`sethostname`).
    public var nodeName: String
    /// `release`.
    public var release: String
    /// `version`.
    public var version: String
    /// `machine`.
    public var machine: String
    /// `domainname`: the NIS domain (`setdomainname`).
    public var domainName: String

    /// Bytes per field, NUL included (`__NEW_UTS_LEN + 1`); longer text is
    /// truncated to 64 bytes.
    public static let fieldSize = 65
    /// 6 × 65.
    public static let byteSize = 6 * 65

    /// The given fields, defaulting to what Exo reports.
    public init(systemName: String = "Linux", nodeName: String = "exo",
                release: String = "6.1.0-exo", version: String = "#1 SMP Exo",
                machine: String = "x86_64", domainName: String = "(none)") {
        self.systemName = systemName
        self.nodeName = nodeName
        self.release = release
        self.version = version
        self.machine = machine
        self.domainName = domainName
    }

    /// Writes the 390 bytes at `bytes[offset...]`.
    public func encode(into bytes: inout [UInt8], at offset: Int) {
        let fields = [systemName, nodeName, release, version, machine, domainName]
        for (index, field) in fields.enumerated() {
            LinuxLayout.storeCString(field, capacity: Self.fieldSize, into: &bytes,
                                     at: offset + index * Self.fieldSize)
        }
    }

    /// The 390 bytes.
    public var encoded: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.byteSize)
        encode(into: &bytes, at: 0)
        return bytes
    }
}

/// `struct sysinfo` for `sysinfo` (112 bytes on x86_64).
///
/// Memory sizes are in units of `memoryUnit` bytes; Exo reports bytes
/// (unit 1), which fits every real machine in 64 bits.
public struct SystemInfo: LinuxABIStruct, Equatable, Sendable {
    /// `uptime` (0): seconds since boot.
    public var uptime: Int64 = 0
    /// `loads[3]` (8, 16, 24): 1, 5, 15-minute load averages, fixed point
    /// with 16 fraction bits (`SI_LOAD_SHIFT`).
    public var loads: (UInt64, UInt64, UInt64) = (0, 0, 0)
    /// `totalram` (32).
    public var totalRAM: UInt64 = 0
    /// `freeram` (40).
    public var freeRAM: UInt64 = 0
    /// `sharedram` (48).
    public var sharedRAM: UInt64 = 0
    /// `bufferram` (56).
    public var bufferRAM: UInt64 = 0
    /// `totalswap` (64).
    public var totalSwap: UInt64 = 0
    /// `freeswap` (72).
    public var freeSwap: UInt64 = 0
    /// `procs` (80): number of processes.
    public var processCount: UInt16 = 0
    /// `totalhigh` (88): always 0 on 64-bit.
    public var totalHigh: UInt64 = 0
    /// `freehigh` (96): always 0 on 64-bit.
    public var freeHigh: UInt64 = 0
    /// `mem_unit` (104): bytes per memory unit.
    public var memoryUnit: UInt32 = 1

    /// 112 bytes (108 used, padded to 8).
    public static let byteSize = 112

    /// All zero except `memoryUnit` = 1.
    public init() {}

    public static func == (lhs: SystemInfo, rhs: SystemInfo) -> Bool {
        lhs.encoded == rhs.encoded
    }

    public func encode(into bytes: inout [UInt8], at offset: Int) {
        for index in offset..<(offset + Self.byteSize) { bytes[index] = 0 }
        LinuxLayout.store(uptime, into: &bytes, at: offset)
        LinuxLayout.store(loads.0, into: &bytes, at: offset + 8)
        LinuxLayout.store(loads.1, into: &bytes, at: offset + 16)
        LinuxLayout.store(loads.2, into: &bytes, at: offset + 24)
        LinuxLayout.store(totalRAM, into: &bytes, at: offset + 32)
        LinuxLayout.store(freeRAM, into: &bytes, at: offset + 40)
        LinuxLayout.store(sharedRAM, into: &bytes, at: offset + 48)
        LinuxLayout.store(bufferRAM, into: &bytes, at: offset + 56)
        LinuxLayout.store(totalSwap, into: &bytes, at: offset + 64)
        LinuxLayout.store(freeSwap, into: &bytes, at: offset + 72)
        LinuxLayout.store(processCount, into: &bytes, at: offset + 80)
        LinuxLayout.store(totalHigh, into: &bytes, at: offset + 88)
        LinuxLayout.store(freeHigh, into: &bytes, at: offset + 96)
        LinuxLayout.store(memoryUnit, into: &bytes, at: offset + 104)
    }

    public init(decoding bytes: [UInt8], at offset: Int) throws(Errno) {
        try Self.checkBounds(bytes, at: offset)
        uptime = LinuxLayout.load(Int64.self, from: bytes, at: offset)
        loads = (LinuxLayout.load(UInt64.self, from: bytes, at: offset + 8),
                 LinuxLayout.load(UInt64.self, from: bytes, at: offset + 16),
                 LinuxLayout.load(UInt64.self, from: bytes, at: offset + 24))
        totalRAM = LinuxLayout.load(UInt64.self, from: bytes, at: offset + 32)
        freeRAM = LinuxLayout.load(UInt64.self, from: bytes, at: offset + 40)
        sharedRAM = LinuxLayout.load(UInt64.self, from: bytes, at: offset + 48)
        bufferRAM = LinuxLayout.load(UInt64.self, from: bytes, at: offset + 56)
        totalSwap = LinuxLayout.load(UInt64.self, from: bytes, at: offset + 64)
        freeSwap = LinuxLayout.load(UInt64.self, from: bytes, at: offset + 72)
        processCount = LinuxLayout.load(UInt16.self, from: bytes, at: offset + 80)
        totalHigh = LinuxLayout.load(UInt64.self, from: bytes, at: offset + 88)
        freeHigh = LinuxLayout.load(UInt64.self, from: bytes, at: offset + 96)
        memoryUnit = LinuxLayout.load(UInt32.self, from: bytes, at: offset + 104)
    }
}

/// The resources of `getrlimit`/`setrlimit`/`prlimit64` (`RLIMIT_*`).
public enum ResourceLimitKind: UInt32, CaseIterable, Sendable {
    /// `RLIMIT_CPU` (0): CPU seconds (SIGXCPU at the soft limit).
    case cpuTime = 0
    /// `RLIMIT_FSIZE` (1): largest file a process may write (SIGXFSZ).
    case fileSize = 1
    /// `RLIMIT_DATA` (2): data segment (brk plus private mappings).
    case dataSize = 2
    /// `RLIMIT_STACK` (3): main thread stack; also shapes the mmap layout.
    case stackSize = 3
    /// `RLIMIT_CORE` (4): core file size.
    case coreSize = 4
    /// `RLIMIT_RSS` (5): resident set (not enforced by Linux).
    case residentSetSize = 5
    /// `RLIMIT_NPROC` (6): processes per user.
    case processCount = 6
    /// `RLIMIT_NOFILE` (7): one past the highest descriptor number.
    case openFiles = 7
    /// `RLIMIT_MEMLOCK` (8): locked memory.
    case lockedMemory = 8
    /// `RLIMIT_AS` (9): address space size.
    case addressSpace = 9
    /// `RLIMIT_LOCKS` (10): file locks.
    case fileLocks = 10
    /// `RLIMIT_SIGPENDING` (11): queued signals.
    case pendingSignals = 11
    /// `RLIMIT_MSGQUEUE` (12): POSIX message queue bytes.
    case messageQueueBytes = 12
    /// `RLIMIT_NICE` (13): ceiling for raising the nice value.
    case nicePriority = 13
    /// `RLIMIT_RTPRIO` (14): real-time priority ceiling.
    case realtimePriority = 14
    /// `RLIMIT_RTTIME` (15): real-time CPU microseconds without blocking.
    case realtimeTimeout = 15

    /// `RLIM_NLIMITS`: the number of resources.
    public static let count = 16

    /// The resource from its argument register (`unsigned int`: the low 32
    /// bits), or nil (EINVAL).
    public init?(argument: UInt64) {
        self.init(rawValue: UInt32(truncatingIfNeeded: argument))
    }
}

/// `struct rlimit` (16 bytes): `rlim_cur` at 0, `rlim_max` at 8.
public struct ResourceLimit: LinuxABIStruct, Equatable, Sendable {
    /// The soft limit, which the kernel enforces.
    public var current: UInt64
    /// The hard limit: the ceiling for `current`; only privileged processes raise it.
    public var maximum: UInt64

    /// 16 bytes.
    public static let byteSize = 16
    /// `RLIM_INFINITY`: no limit.
    public static let infinity: UInt64 = ~0

    /// A limit pair.
    public init(current: UInt64, maximum: UInt64) {
        self.current = current
        self.maximum = maximum
    }

    /// No limit at all.
    public static let unlimited = ResourceLimit(current: infinity, maximum: infinity)

    /// `self`, or EINVAL when the soft limit exceeds the hard one.
    public func validated() throws(Errno) -> ResourceLimit {
        guard current <= maximum else { throw .invalidArgument }
        return self
    }

    /// The limits the first process starts with: Linux's `INIT_RLIMITS`
    /// (an 8 MiB stack, 1024 descriptors with a hard limit of 4096, no core
    /// files, 8 MiB of locked memory, no nice or real-time boost). Linux
    /// sizes the process and pending-signal limits from memory; Exo fixes
    /// them at 4096.
    public static func initial(for kind: ResourceLimitKind) -> ResourceLimit {
        switch kind {
        case .stackSize: ResourceLimit(current: 8 << 20, maximum: infinity)
        case .openFiles: ResourceLimit(current: 1024, maximum: 4096)
        case .coreSize: ResourceLimit(current: 0, maximum: infinity)
        case .lockedMemory: ResourceLimit(current: 8 << 20, maximum: 8 << 20)
        case .messageQueueBytes: ResourceLimit(current: 819_200, maximum: 819_200)
        case .nicePriority, .realtimePriority: ResourceLimit(current: 0, maximum: 0)
        case .pendingSignals, .processCount: ResourceLimit(current: 4096, maximum: 4096)
        default: .unlimited
        }
    }

    public func encode(into bytes: inout [UInt8], at offset: Int) {
        LinuxLayout.store(current, into: &bytes, at: offset)
        LinuxLayout.store(maximum, into: &bytes, at: offset + 8)
    }

    public init(decoding bytes: [UInt8], at offset: Int) throws(Errno) {
        try Self.checkBounds(bytes, at: offset)
        current = LinuxLayout.load(UInt64.self, from: bytes, at: offset)
        maximum = LinuxLayout.load(UInt64.self, from: bytes, at: offset + 8)
    }
}
