/// The GDT layout Exo uses on every CPU, and the selectors into it.
///
/// The order is forced by SYSCALL/SYSRET (Intel SDM vol. 2, SYSRET): with
/// STAR[63:48] = userBase, SYSRET loads SS = userBase + 8 and
/// CS = userBase + 16 (64-bit), so user data must sit directly below user
/// code; SYSCALL loads CS = STAR[47:32] and SS = CS + 8, so kernel data must
/// follow kernel code.
public enum GDTLayout {
    /// Index of each descriptor slot (8 bytes each; the TSS takes two).
    public static let nullIndex = 0
    public static let kernelCodeIndex = 1
    public static let kernelDataIndex = 2
    public static let userDataIndex = 3
    public static let userCodeIndex = 4
    public static let taskStateIndex = 5
    /// Number of 8-byte slots, counting the TSS's two.
    public static let slotCount = 7

    public static let kernelCode = SegmentSelector(index: kernelCodeIndex, privilegeLevel: .kernel)
    public static let kernelData = SegmentSelector(index: kernelDataIndex, privilegeLevel: .kernel)
    public static let userData = SegmentSelector(index: userDataIndex, privilegeLevel: .user)
    public static let userCode = SegmentSelector(index: userCodeIndex, privilegeLevel: .user)
    public static let taskState = SegmentSelector(index: taskStateIndex, privilegeLevel: .kernel)

    /// The STAR MSR value: SYSCALL selector base in [47:32], SYSRET base in
    /// [63:48] (user data - 8, with RPL 3).
    public static var starValue: UInt64 {
        let syscallBase = UInt64(kernelCode.rawValue)
        let sysretBase = UInt64(userData.rawValue - 8) | 3
        return (syscallBase << 32) | (sysretBase << 48)
    }
}

/// A segment selector: descriptor index, table indicator (always GDT here)
/// and requested privilege level.
public struct SegmentSelector: Equatable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(index: Int, privilegeLevel: PrivilegeLevel) {
        rawValue = UInt16(index << 3) | UInt16(privilegeLevel.rawValue)
    }
    public var index: Int { Int(rawValue >> 3) }
    public var requestedPrivilegeLevel: UInt8 { UInt8(rawValue & 3) }
}
