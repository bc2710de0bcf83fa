import CExoArch
import ExoKit
import ExoMemory

/// This CPU's local APIC: interrupt acceptance and EOI, inter-processor
/// interrupts, and the per-CPU timer.
///
/// Two register interfaces: x2APIC (MSRs 0x800 + offset/16, used whenever
/// CPUID offers it) and xAPIC (4 KiB of MMIO at the address in
/// IA32_APIC_BASE, mapped uncached; the same physical page on every CPU
/// reaches that CPU's own APIC). Register offsets below are the xAPIC ones.
enum LocalAPIC {
    enum Register: UInt32 {
        case id = 0x20, version = 0x30, taskPriority = 0x80, endOfInterrupt = 0xB0
        case spuriousVector = 0xF0, errorStatus = 0x280
        case interruptCommandLow = 0x300, interruptCommandHigh = 0x310
        case timerVector = 0x320, lint0 = 0x350, lint1 = 0x360, errorVector = 0x370
        case timerInitialCount = 0x380, timerCurrentCount = 0x390, timerDivide = 0x3E0
    }

    enum Mode { case disabled, xAPIC, x2APIC }

    static let baseMSR: UInt32 = 0x1B
    private static let globalEnable: UInt64 = 1 << 11
    private static let x2APICEnable: UInt64 = 1 << 10
    static let masked: UInt32 = 1 << 16

    nonisolated(unsafe) private(set) static var mode = Mode.disabled
    nonisolated(unsafe) private static var mmio: UInt64 = 0
    /// Timer ticks (after the divide-by-16 prescaler) per millisecond.
    nonisolated(unsafe) private(set) static var timerTicksPerMillisecond: UInt64 = 0
    nonisolated(unsafe) private(set) static var errorCount: UInt64 = 0

    static var cpuHasX2APIC: Bool { CPU.cpuid(1).ecx & (1 << 21) != 0 }

    /// Enables this CPU's APIC: spurious vector, error vector, LINT0 masked
    /// (no PIC), LINT1 as NMI, timer masked, task priority 0. The boot CPU
    /// maps the xAPIC page first; application CPUs reuse the mapping.
    static func enable() throws(MemoryError) {
        var base = CPU.read(CPU.MSR(rawValue: baseMSR))
        if cpuHasX2APIC {
            base |= globalEnable
            CPU.write(CPU.MSR(rawValue: baseMSR), base)          // xAPIC first, then x2APIC (SDM 10.12.5)
            CPU.write(CPU.MSR(rawValue: baseMSR), base | x2APICEnable)
            mode = .x2APIC
        } else {
            if mmio == 0 {
                mmio = try KernelVirtualMemory.mapDevice(physical: base & 0xF_FFFF_F000, size: 4096)
            }
            CPU.write(CPU.MSR(rawValue: baseMSR), base | globalEnable)
            mode = .xAPIC
        }
        write(.taskPriority, 0)
        write(.errorVector, UInt32(Interrupts.apicError))
        write(.errorStatus, 0)
        write(.errorStatus, 0)
        write(.lint0, masked)
        write(.lint1, 0x400)                                      // delivery mode NMI
        write(.timerVector, masked | UInt32(Interrupts.timer))
        write(.spuriousVector, 0x100 | UInt32(Interrupts.spurious))
        Interrupts.register(vector: Interrupts.apicError) {
            write(.errorStatus, 0)
            errorCount &+= 1
        }
    }

    static func read(_ register: Register) -> UInt32 {
        switch mode {
        case .x2APIC: UInt32(truncatingIfNeeded: CPU.read(CPU.MSR(rawValue: 0x800 + register.rawValue >> 4)))
        case .xAPIC: exo_mmio_read32(mmio + UInt64(register.rawValue))
        case .disabled: 0
        }
    }

    static func write(_ register: Register, _ value: UInt32) {
        switch mode {
        case .x2APIC: CPU.write(CPU.MSR(rawValue: 0x800 + register.rawValue >> 4), UInt64(value))
        case .xAPIC: exo_mmio_write32(mmio + UInt64(register.rawValue), value)
        case .disabled: break
        }
    }

    /// This CPU's APIC ID (8 bits in xAPIC mode, 32 in x2APIC).
    static var id: UInt32 {
        mode == .x2APIC ? read(.id) : read(.id) >> 24
    }

    static var version: UInt32 { read(.version) & 0xFF }

    @inline(__always)
    static func endOfInterrupt() { write(.endOfInterrupt, 0) }

    // MARK: Inter-processor interrupts

    enum DeliveryMode: UInt32 {
        case fixed = 0, nmi = 0x400, initialize = 0x500, startup = 0x600
    }

    /// Sends `vector` (or an INIT/SIPI) to the CPU with APIC ID `target`,
    /// and waits until the APIC has accepted it for delivery.
    static func sendInterrupt(to target: UInt32, vector: UInt8, mode delivery: DeliveryMode = .fixed) {
        let low = delivery.rawValue | UInt32(vector) | (delivery == .initialize ? 0x4000 : 0)   // INIT: level assert
        switch mode {
        case .x2APIC:
            CPU.write(CPU.MSR(rawValue: 0x830), UInt64(target) << 32 | UInt64(low))
        case .xAPIC:
            write(.interruptCommandHigh, target << 24)
            write(.interruptCommandLow, low)
            var spins = 0
            while read(.interruptCommandLow) & (1 << 12) != 0 && spins < 1_000_000 { spins += 1 }
        case .disabled: break
        }
    }

    // MARK: Timer

    /// Measures the timer's rate against the PIT (divide by 16, counting
    /// down from the maximum over the shortest of three 1 ms windows).
    static func calibrateTimer() {
        write(.timerDivide, 0x3)                                  // divide by 16
        write(.timerVector, masked | UInt32(Interrupts.timer))
        var shortest = UInt64.max
        for _ in 0..<3 {
            write(.timerInitialCount, UInt32.max)
            let start = read(.timerCurrentCount)
            // The PIT window is measured in TSC ticks; convert the APIC
            // ticks seen in the same window.
            let tscTicks = PIT.measureTimestampTicks(overMicroseconds: 1_000)
            let end = read(.timerCurrentCount)
            let apicTicks = UInt64(start - end)
            // Normalise to exactly 1 ms of TSC time.
            let perMillisecond = apicTicks * (Clock.timestampHz / 1000) / max(tscTicks, 1)
            shortest = min(shortest, perMillisecond == 0 ? UInt64.max : perMillisecond)
        }
        write(.timerInitialCount, 0)
        timerTicksPerMillisecond = shortest == UInt64.max ? 0 : shortest
    }

    /// Arms a one-shot timer interrupt `nanoseconds` from now (0 cancels).
    static func armOneShot(nanoseconds: UInt64) {
        write(.timerVector, UInt32(Interrupts.timer))             // one-shot, unmasked
        // Past one second the count is capped (it is 32 bits anyway): the
        // early interrupt finds its event not yet due and re-arms.
        let ticks = min(nanoseconds, 1_000_000_000) * timerTicksPerMillisecond / 1_000_000
        write(.timerInitialCount, UInt32(clamping: max(ticks, nanoseconds == 0 ? 0 : 1)))
    }

    /// Fires every `nanoseconds` until stopped.
    static func startPeriodic(nanoseconds: UInt64) {
        write(.timerVector, (1 << 17) | UInt32(Interrupts.timer))
        write(.timerInitialCount, UInt32(clamping: max(1, nanoseconds * timerTicksPerMillisecond / 1_000_000)))
    }

    static func stopTimer() {
        write(.timerVector, masked | UInt32(Interrupts.timer))
        write(.timerInitialCount, 0)
    }
}
