/// The 32 architecturally defined exception vectors (Intel SDM vol. 3, 6.3.1).
public struct ExceptionVector: Equatable, Sendable {
    public let number: UInt8

    public init(_ number: UInt8) {
        precondition(number < 32, "exception vectors are 0...31")
        self.number = number
    }

    public static let divideError = ExceptionVector(0)
    public static let debug = ExceptionVector(1)
    public static let nonMaskableInterrupt = ExceptionVector(2)
    public static let breakpoint = ExceptionVector(3)
    public static let overflow = ExceptionVector(4)
    public static let boundRange = ExceptionVector(5)
    public static let invalidOpcode = ExceptionVector(6)
    public static let deviceNotAvailable = ExceptionVector(7)
    public static let doubleFault = ExceptionVector(8)
    public static let invalidTSS = ExceptionVector(10)
    public static let segmentNotPresent = ExceptionVector(11)
    public static let stackSegmentFault = ExceptionVector(12)
    public static let generalProtection = ExceptionVector(13)
    public static let pageFault = ExceptionVector(14)
    public static let x87FloatingPoint = ExceptionVector(16)
    public static let alignmentCheck = ExceptionVector(17)
    public static let machineCheck = ExceptionVector(18)
    public static let simdFloatingPoint = ExceptionVector(19)
    public static let virtualization = ExceptionVector(20)
    public static let controlProtection = ExceptionVector(21)

    /// Whether the CPU pushes an error code for this vector. The entry stubs
    /// push a zero for the others so every frame has the same shape.
    public var pushesErrorCode: Bool {
        switch number {
        case 8, 10, 11, 12, 13, 14, 17, 21, 29, 30: true
        default: false
        }
    }

    /// The SDM mnemonic: "#PF".
    public var mnemonic: StaticString {
        switch number {
        case 0: "#DE"
        case 1: "#DB"
        case 2: "NMI"
        case 3: "#BP"
        case 4: "#OF"
        case 5: "#BR"
        case 6: "#UD"
        case 7: "#NM"
        case 8: "#DF"
        case 9: "#MF9"
        case 10: "#TS"
        case 11: "#NP"
        case 12: "#SS"
        case 13: "#GP"
        case 14: "#PF"
        case 16: "#MF"
        case 17: "#AC"
        case 18: "#MC"
        case 19: "#XM"
        case 20: "#VE"
        case 21: "#CP"
        case 28: "#HV"
        case 29: "#VC"
        case 30: "#SX"
        default: "#RES"
        }
    }

    /// The SDM name: "page fault".
    public var name: StaticString {
        switch number {
        case 0: "divide error"
        case 1: "debug"
        case 2: "non-maskable interrupt"
        case 3: "breakpoint"
        case 4: "overflow"
        case 5: "BOUND range exceeded"
        case 6: "invalid opcode"
        case 7: "device not available"
        case 8: "double fault"
        case 9: "coprocessor segment overrun"
        case 10: "invalid TSS"
        case 11: "segment not present"
        case 12: "stack-segment fault"
        case 13: "general protection"
        case 14: "page fault"
        case 16: "x87 floating-point error"
        case 17: "alignment check"
        case 18: "machine check"
        case 19: "SIMD floating-point exception"
        case 20: "virtualization exception"
        case 21: "control protection"
        case 28: "hypervisor injection"
        case 29: "VMM communication"
        case 30: "security exception"
        default: "reserved"
        }
    }

    /// Traps report the address of the next instruction; faults report the
    /// faulting one, so returning retries it.
    public var isTrap: Bool { number == 3 || number == 4 }
}

/// The error code the CPU pushes for a page fault (Intel SDM vol. 3, 4.7).
public struct PageFaultErrorCode: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Set: protection violation on a present page. Clear: page not present.
    public static let present = PageFaultErrorCode(rawValue: 1 << 0)
    /// The access was a write.
    public static let write = PageFaultErrorCode(rawValue: 1 << 1)
    /// The access came from ring 3.
    public static let user = PageFaultErrorCode(rawValue: 1 << 2)
    /// A reserved bit was set in a paging structure.
    public static let reservedBit = PageFaultErrorCode(rawValue: 1 << 3)
    /// The access was an instruction fetch (NX or SMEP).
    public static let instructionFetch = PageFaultErrorCode(rawValue: 1 << 4)
    /// A protection-key violation.
    public static let protectionKey = PageFaultErrorCode(rawValue: 1 << 5)
    /// A shadow-stack access.
    public static let shadowStack = PageFaultErrorCode(rawValue: 1 << 6)

    /// A short description: "write to non-present page in kernel mode".
    public var summary: String {
        let access = contains(.instructionFetch) ? "instruction fetch from" : (contains(.write) ? "write to" : "read from")
        let page = contains(.reservedBit) ? "page with reserved bits set" :
            (contains(.present) ? "protected page" : "non-present page")
        let mode = contains(.user) ? "user mode" : "kernel mode"
        return access + " " + page + " in " + mode
    }
}
