import CExoArch
import ExoKit
import ExoMemory

/// The I/O APIC: routes device interrupt lines (global system interrupts)
/// to vectors on local APICs.
///
/// Registers are reached indirectly: write the index to IOREGSEL (offset
/// 0), then read or write IOWIN (offset 0x10). Redirection entry n is the
/// 64-bit pair at indices 0x10 + 2n (low) and 0x11 + 2n (high).
enum IOAPIC {
    nonisolated(unsafe) private static var mmio: UInt64 = 0
    nonisolated(unsafe) private(set) static var inputCount = 0
    nonisolated(unsafe) private(set) static var gsiBase: UInt32 = 0

    static let defaultAddress: UInt64 = 0xFEC0_0000

    /// An ISA IRQ's line and signalling after the firmware's overrides
    /// (MADT type 2); ISA is edge-triggered, active-high unless overridden.
    struct Route {
        var gsi: UInt32
        var activeLow = false
        var levelTriggered = false
    }

    /// Overrides from the MADT, by ISA IRQ. QEMU's PC wires IRQ 0 to GSI 2.
    nonisolated(unsafe) static var isaOverrides: [UInt8: Route] = [0: Route(gsi: 2)]

    static func route(isaIRQ irq: UInt8) -> Route {
        isaOverrides[irq] ?? Route(gsi: UInt32(irq))
    }

    /// Maps the registers and masks every input.
    static func initialize(physical: UInt64 = defaultAddress, gsiBase base: UInt32 = 0) throws(MemoryError) {
        mmio = try KernelVirtualMemory.mapDevice(physical: physical, size: 0x20)
        gsiBase = base
        inputCount = Int((read(1) >> 16) & 0xFF) + 1
        for input in 0..<inputCount { write(0x10 + 2 * UInt32(input), 1 << 16) }
    }

    static var id: UInt32 { read(0) >> 24 }

    /// Delivers `gsi` as `vector` to the CPU with APIC ID `destination`.
    static func route(gsi: UInt32, vector: UInt8, destination: UInt32, activeLow: Bool = false, levelTriggered: Bool = false) {
        let input = gsi - gsiBase
        precondition(Int(input) < inputCount, "GSI beyond this IOAPIC")
        var low = UInt32(vector)                                  // fixed delivery, physical destination
        if activeLow { low |= 1 << 13 }
        if levelTriggered { low |= 1 << 15 }
        write(0x11 + 2 * input, destination << 24)
        write(0x10 + 2 * input, low)
    }

    /// Routes an ISA IRQ (through the overrides) to its IOAPIC vector on
    /// `destination`, and returns that vector.
    @discardableResult
    static func enable(isaIRQ irq: UInt8, destination: UInt32) -> UInt8 {
        let line = route(isaIRQ: irq)
        let vector = Interrupts.vector(forGSI: line.gsi)
        route(gsi: line.gsi, vector: vector, destination: destination,
              activeLow: line.activeLow, levelTriggered: line.levelTriggered)
        return vector
    }

    static func mask(gsi: UInt32) {
        let index = 0x10 + 2 * (gsi - gsiBase)
        write(index, read(index) | (1 << 16))
    }

    private static func read(_ index: UInt32) -> UInt32 {
        exo_mmio_write32(mmio, index)
        return exo_mmio_read32(mmio + 0x10)
    }

    private static func write(_ index: UInt32, _ value: UInt32) {
        exo_mmio_write32(mmio, index)
        exo_mmio_write32(mmio + 0x10, value)
    }
}
