/// One 16-byte IDT entry in long mode (Intel SDM vol. 3, 6.14.1).
///
/// Layout: offset[15:0] | selector | IST (3 bits) | type, DPL, P |
/// offset[31:16] | offset[63:32] | reserved.
public struct GateDescriptor: Equatable, Sendable {
    public let low: UInt64
    public let high: UInt64

    /// Interrupt gates clear IF on entry; trap gates leave it alone.
    public enum Kind: UInt8, Sendable {
        case interrupt = 0xE
        case trap = 0xF
    }

    /// An absent gate: any vector that reaches it raises #NP/#GP.
    public static let absent = GateDescriptor(low: 0, high: 0)

    public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    /// A present gate to `handler` in code segment `selector`.
    /// `stackIndex` 1...7 switches to that IST stack on entry (0 = none);
    /// `privilegeLevel` is the lowest ring allowed to raise it with `int n`.
    public init(handler: UInt64, selector: SegmentSelector, kind: Kind,
                privilegeLevel: PrivilegeLevel, stackIndex: UInt8 = 0) {
        precondition(stackIndex <= 7, "the IST has 7 entries")
        let attributes = UInt64(0x80 | (privilegeLevel.rawValue << 5) | kind.rawValue)
        var low = handler & 0xFFFF
        low |= UInt64(selector.rawValue) << 16
        low |= UInt64(stackIndex) << 32
        low |= attributes << 40
        low |= ((handler >> 16) & 0xFFFF) << 48
        self.low = low
        self.high = handler >> 32
    }

    public var handler: UInt64 { (low & 0xFFFF) | (((low >> 48) & 0xFFFF) << 16) | (high << 32) }
    public var selector: SegmentSelector { SegmentSelector(rawValue: UInt16(truncatingIfNeeded: low >> 16)) }
    public var stackIndex: UInt8 { UInt8((low >> 32) & 7) }
    public var isPresent: Bool { low & (1 << 47) != 0 }
    public var privilegeLevel: UInt8 { UInt8((low >> 45) & 3) }
    public var kind: Kind? { Kind(rawValue: UInt8((low >> 40) & 0xF)) }
}
