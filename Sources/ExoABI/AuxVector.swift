/// An auxiliary vector key (`AT_*`), with Linux x86_64's values.
public enum AuxKey: UInt64, Sendable {
    /// `AT_NULL`: ends the vector; `InitialStack` writes it, callers never pass it.
    case null = 0
    /// `AT_IGNORE`: an entry to skip.
    case ignore = 1
    /// `AT_EXECFD`: file descriptor of the program (for interpreters).
    case executableFileDescriptor = 2
    /// `AT_PHDR`: address of the program header table in memory.
    case programHeaders = 3
    /// `AT_PHENT`: size of one program header.
    case programHeaderEntrySize = 4
    /// `AT_PHNUM`: number of program headers.
    case programHeaderCount = 5
    /// `AT_PAGESZ`: the page size.
    case pageSize = 6
    /// `AT_BASE`: the interpreter's base (0: no interpreter).
    case interpreterBase = 7
    /// `AT_FLAGS`: unused flags, 0.
    case flags = 8
    /// `AT_ENTRY`: the program's entry point.
    case entry = 9
    /// `AT_NOTELF`: the program is not ELF (never, here).
    case notELF = 10
    /// `AT_UID`: real user id.
    case userID = 11
    /// `AT_EUID`: effective user id.
    case effectiveUserID = 12
    /// `AT_GID`: real group id.
    case groupID = 13
    /// `AT_EGID`: effective group id.
    case effectiveGroupID = 14
    /// `AT_PLATFORM`: address of the platform string (`"x86_64"`).
    case platform = 15
    /// `AT_HWCAP`: CPU feature bits (CPUID.1:EDX on x86).
    case hardwareCapabilities = 16
    /// `AT_CLKTCK`: `times()` ticks per second.
    case clockTicks = 17
    /// `AT_SECURE`: non-zero when the program runs with privileges its
    /// invoker lacks, so libc ignores dangerous environment variables.
    case secure = 23
    /// `AT_RANDOM`: address of 16 random bytes (libc's stack protector and
    /// pointer guard seeds).
    case random = 25
    /// `AT_HWCAP2`: more CPU feature bits (on x86: ring-3 MONITOR/MWAIT, FSGSBASE).
    case hardwareCapabilities2 = 26
    /// `AT_EXECFN`: address of the path the program was executed by.
    case executableFileName = 31
    /// `AT_SYSINFO_EHDR`: address of the vDSO's ELF header.
    case systemInfoELFHeader = 33
    /// `AT_MINSIGSTKSZ`: the minimum signal stack size this CPU's signal frame needs.
    case minimumSignalStackSize = 51
}

/// One auxiliary vector entry: a key and its value.
///
/// For `.random`, `.platform` and `.executableFileName` the value is an
/// address on the new stack that only `InitialStack` knows: it fills those
/// values in and ignores what the caller put there.
public struct AuxEntry: Equatable, Sendable {
    /// What the value means.
    public var key: AuxKey
    /// The value (an address for the pointer-valued keys).
    public var value: UInt64

    /// An entry.
    public init(_ key: AuxKey, _ value: UInt64) {
        self.key = key
        self.value = value
    }
}

/// Building the auxiliary vector Linux gives a static program.
public enum AuxVector {
    /// `sysconf(_SC_CLK_TCK)` on Linux x86_64 (USER_HZ).
    public static let clockTicksPerSecond: UInt64 = 100

    /// The entries Linux's `create_elf_tables` writes for a static binary,
    /// in its order, for the image `plan` describes.
    ///
    /// Optional entries appear only when given: `AT_SYSINFO_EHDR` (no vDSO:
    /// libc falls back to system calls), `AT_MINSIGSTKSZ`, `AT_HWCAP2`.
    /// `AT_SECURE` is 1 when the real and effective ids differ, as for a
    /// set-user-id program on Linux. `AT_RANDOM`, `AT_EXECFN` and
    /// `AT_PLATFORM` carry placeholder zeros that `InitialStack` fills in.
    public static func standard(
        plan: ELFLoadPlan,
        userID: UInt64 = 0, effectiveUserID: UInt64 = 0,
        groupID: UInt64 = 0, effectiveGroupID: UInt64 = 0,
        hardwareCapabilities: UInt64,
        hardwareCapabilities2: UInt64? = nil,
        vdsoAddress: UInt64? = nil,
        minimumSignalStackSize: UInt64? = nil
    ) -> [AuxEntry] {
        var entries: [AuxEntry] = []
        entries.reserveCapacity(20)
        if let vdsoAddress { entries.append(AuxEntry(.systemInfoELFHeader, vdsoAddress)) }
        if let minimumSignalStackSize { entries.append(AuxEntry(.minimumSignalStackSize, minimumSignalStackSize)) }
        entries.append(AuxEntry(.hardwareCapabilities, hardwareCapabilities))
        entries.append(AuxEntry(.pageSize, UserPage.size))
        entries.append(AuxEntry(.clockTicks, clockTicksPerSecond))
        entries.append(AuxEntry(.programHeaders, plan.programHeaderAddress))
        entries.append(AuxEntry(.programHeaderEntrySize, plan.programHeaderEntrySize))
        entries.append(AuxEntry(.programHeaderCount, UInt64(plan.programHeaderCount)))
        entries.append(AuxEntry(.interpreterBase, 0))
        entries.append(AuxEntry(.flags, 0))
        entries.append(AuxEntry(.entry, plan.entry))
        entries.append(AuxEntry(.userID, userID))
        entries.append(AuxEntry(.effectiveUserID, effectiveUserID))
        entries.append(AuxEntry(.groupID, groupID))
        entries.append(AuxEntry(.effectiveGroupID, effectiveGroupID))
        let secure = userID != effectiveUserID || groupID != effectiveGroupID
        entries.append(AuxEntry(.secure, secure ? 1 : 0))
        entries.append(AuxEntry(.random, 0))
        if let hardwareCapabilities2 { entries.append(AuxEntry(.hardwareCapabilities2, hardwareCapabilities2)) }
        entries.append(AuxEntry(.executableFileName, 0))
        entries.append(AuxEntry(.platform, 0))
        return entries
    }
}
