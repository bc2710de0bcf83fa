import CExoArch

/// Typed access to the processor's registers and instructions.
///
/// Every raw intrinsic from exo_arch.h is wrapped here (and in
/// `PortIO`) so the rest of the kernel reads as named operations.
enum CPU {
    /// A model-specific register number.
    struct MSR: RawRepresentable {
        let rawValue: UInt32
        static let efer = MSR(rawValue: 0xC000_0080)
        static let fsBase = MSR(rawValue: 0xC000_0100)
        static let gsBase = MSR(rawValue: 0xC000_0101)
    }

    static func read(_ msr: MSR) -> UInt64 { exo_rdmsr(msr.rawValue) }
    static func write(_ msr: MSR, _ value: UInt64) { exo_wrmsr(msr.rawValue, value) }

    /// CR0 bits the kernel sets.
    enum CR0 {
        static let monitorCoprocessor: UInt64 = 1 << 1
        static let emulation: UInt64 = 1 << 2
        static let taskSwitched: UInt64 = 1 << 3
        static let numericError: UInt64 = 1 << 5
        static let writeProtect: UInt64 = 1 << 16
    }

    static var cr0: UInt64 {
        get { exo_read_cr0() }
        set { exo_write_cr0(newValue) }
    }
    /// The linear address of the last page fault.
    static var cr2: UInt64 { exo_read_cr2() }
    static var cr3: UInt64 {
        get { exo_read_cr3() }
        set { exo_write_cr3(newValue) }
    }
    static var cr4: UInt64 {
        get { exo_read_cr4() }
        set { exo_write_cr4(newValue) }
    }

    /// The time-stamp counter. Under QEMU `-icount shift=0` it advances by
    /// one per guest instruction.
    @inline(__always)
    static func timestamp() -> UInt64 { exo_rdtsc() }

    static func cpuid(_ leaf: UInt32, _ subleaf: UInt32 = 0) -> (eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        let r = exo_cpuid(leaf, subleaf)
        return (r.eax, r.ebx, r.ecx, r.edx)
    }

    static var hasRDRAND: Bool { cpuid(1).ecx & (1 << 30) != 0 }

    /// A hardware random number, or nil when the CPU has no RDRAND or it
    /// failed ten times in a row (Intel's recommended retry count).
    static func hardwareRandom() -> UInt64? {
        guard hasRDRAND else { return nil }
        var value: UInt64 = 0
        for _ in 0..<10 where exo_rdrand64(&value) != 0 { return value }
        return nil
    }

    static func disableInterrupts() { exo_cli() }
    static func enableInterrupts() { exo_sti() }
    static var interruptsEnabled: Bool { exo_read_rflags() & (1 << 9) != 0 }

    /// Runs `body` with interrupts off, restoring the previous state after.
    /// For short critical sections shared with interrupt handlers on this CPU.
    @inline(__always)
    static func withInterruptsDisabled<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        let wasEnabled = interruptsEnabled
        exo_cli()
        defer { if wasEnabled { exo_sti() } }
        return try body()
    }

    /// Enables interrupts and halts until one arrives (atomically: an
    /// interrupt between the two instructions still ends the halt).
    static func waitForInterrupt() { exo_sti_hlt() }

    /// Stops this CPU for good.
    static func haltForever() -> Never {
        while true {
            exo_cli()
            exo_hlt()
        }
    }

    /// Prepares the x87 FPU. The kernel is compiled without SSE, and the
    /// Swift runtime's Dictionary growth uses x87 arithmetic, so the FPU
    /// must be usable (no emulation, native error reporting) before any
    /// Dictionary grows.
    static func initializeFloatingPoint() {
        var value = cr0
        value &= ~(CR0.emulation | CR0.taskSwitched)
        value |= CR0.monitorCoprocessor | CR0.numericError
        cr0 = value
        // OSFXSR: fxsave/fxrstor include the SSE registers and user code
        // may use SSE; OSXMMEXCPT: SIMD exceptions raise #XM, not #UD.
        cr4 = cr4 | (1 << 9) | (1 << 10)
        exo_fninit()
    }
}

/// x86 I/O-port access.
enum PortIO {
    @inline(__always) static func read8(_ port: UInt16) -> UInt8 { exo_inb(port) }
    @inline(__always) static func write8(_ port: UInt16, _ value: UInt8) { exo_outb(port, value) }
    @inline(__always) static func read32(_ port: UInt16) -> UInt32 { exo_inl(port) }
    @inline(__always) static func write32(_ port: UInt16, _ value: UInt32) { exo_outl(port, value) }
}
