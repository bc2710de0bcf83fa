import CExoArch
/// Interrupt vectors and their handlers.
///
/// ```
///   0- 31  CPU exceptions (Traps)
///  32- 47  legacy 8259 PIC (remapped there and masked; only spurious IRQs arrive)
///  48- 71  IOAPIC global system interrupts 0-23 (ISA IRQs after overrides)
///  72-239  free for MSI and later devices
///  240     local APIC timer
///  241     reschedule IPI
///  242     TLB shootdown IPI
///  243     stop IPI (panic on another CPU)
///  254     local APIC error
///  255     local APIC spurious
/// ```
/// Handlers run with interrupts off on the interrupted stack (or the
/// thread's kernel stack). Every vector from the APIC gets its EOI before
/// the handler runs, except the spurious vector, which must not.
enum Interrupts {
    static let legacyPICBase: UInt8 = 32
    static let ioAPICBase: UInt8 = 48
    static let timer: UInt8 = 240
    static let reschedule: UInt8 = 241
    static let tlbShootdown: UInt8 = 242
    static let stop: UInt8 = 243
    static let apicError: UInt8 = 254
    static let spurious: UInt8 = 255

    nonisolated(unsafe) private static var handlers = [(() -> Void)?](repeating: nil, count: 256)
    nonisolated(unsafe) private(set) static var counts = [UInt64](repeating: 0, count: 256)
    nonisolated(unsafe) private(set) static var unexpected: UInt64 = 0

    /// Runs `handler` (interrupts off) whenever `vector` arrives.
    static func register(vector: UInt8, handler: @escaping () -> Void) {
        precondition(vector >= 32, "vectors below 32 are exceptions")
        handlers[Int(vector)] = handler
    }

    static func unregister(vector: UInt8) { handlers[Int(vector)] = nil }

    /// The IOAPIC vector for global system interrupt `gsi`.
    static func vector(forGSI gsi: UInt32) -> UInt8 {
        precondition(gsi < 24, "only the first IOAPIC's 24 inputs are routed")
        return ioAPICBase + UInt8(gsi)
    }

    static func stubAddress(vector: Int) -> UInt64 {
        withUnsafePointer(to: exo_interrupt_stubs) { tuple in
            tuple.withMemoryRebound(to: UInt64.self, capacity: 224) { $0[vector - 32] }
        }
    }

    /// Called by `exo_trap` for vectors 32-255.
    static func dispatch(vector: UInt8) {
        counts[Int(vector)] &+= 1
        if vector >= legacyPICBase && vector < legacyPICBase + 16 {
            // Every PIC line is masked: only spurious IRQ 7/15 get here.
            LegacyPIC.acknowledgeSpurious(line: Int(vector - legacyPICBase))
            return
        }
        if vector == spurious { return }
        // EOI first: a handler may switch threads (the timer preempts), and
        // the APIC must not wait for that thread to run again before it
        // delivers the next interrupt. Interrupts stay off until iretq, and
        // every line in use is edge-triggered, so nothing re-enters.
        LocalAPIC.endOfInterrupt()
        if let handler = handlers[Int(vector)] {
            handler()
        } else {
            unexpected &+= 1
        }
    }
}
