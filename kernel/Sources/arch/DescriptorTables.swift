import CExoArch
import ExoX86

/// The GDT, TSS and IDT of the boot CPU.
///
/// Invariants the hardware relies on:
/// - the tables live at fixed addresses for as long as they are loaded
///   (allocated once, never freed or moved);
/// - GDT slots follow `GDTLayout` (SYSCALL/SYSRET depend on the order);
/// - the TSS descriptor's limit covers the 104-byte TSS, and the TSS's I/O
///   bitmap base points past the limit (no user port access);
/// - double fault, NMI and machine check run on IST stacks, so they work
///   even when the interrupted stack is exhausted.
enum DescriptorTables {
    /// IST slot numbers (1-based, as in the gate descriptor).
    enum InterruptStack: UInt8 {
        case doubleFault = 1
        case nonMaskableInterrupt = 2
        case machineCheck = 3
    }
    static let istStackSize: UInt64 = 16 * 1024
    static let vectorCount = 256

    nonisolated(unsafe) private(set) static var gdt: UnsafeMutablePointer<UInt64>? = nil
    nonisolated(unsafe) private(set) static var tss: UnsafeMutablePointer<TaskStateSegment>? = nil
    nonisolated(unsafe) private(set) static var idt: UnsafeMutablePointer<GateDescriptor>? = nil
    /// Builds and loads the GDT (with TSS) and the IDT with all 32 exception
    /// vectors. Called once, early in kmain, with interrupts off.
    static func install() {
        precondition(!CPU.interruptsEnabled, "descriptor tables are replaced with interrupts off")
        installGlobalDescriptorTable()
        installInterruptDescriptorTable()
    }

    /// Top of IST stack `slot`. `exo_ist_stacks` holds, per slot, a guard
    /// page then the stack (boot.S).
    static func interruptStackTop(_ slot: InterruptStack) -> UInt64 {
        exo_ist_stacks_address() + UInt64(slot.rawValue) * (KernelLayout.pageSize + istStackSize)
    }

    /// The unmapped page below IST stack `slot`.
    static func interruptStackGuard(_ slot: InterruptStack) -> UInt64 {
        interruptStackTop(slot) - istStackSize - KernelLayout.pageSize
    }

    /// Loads a GDT and TSS of the AP's own (with fresh IST stacks, guard
    /// pages below each) and the shared IDT. Called on the AP itself.
    static func installOnApplicationProcessor() {
        var tops: [UInt64] = []
        for _ in 0..<3 {
            guard let stack = try? KernelVirtualMemory.allocateStack(pages: Int(istStackSize / KernelLayout.pageSize),
                                                                   name: "AP IST stack") else {
                panic("no memory for an AP's IST stacks")
            }
            tops.append(stack.top)
        }
        loadGlobalDescriptorTable(interruptStackTops: tops)
        exo_lidt(UInt64(UInt(bitPattern: idt)), UInt16(vectorCount * 16 - 1))
    }

    private static func installGlobalDescriptorTable() {
        let (gdt, tss) = loadGlobalDescriptorTable(interruptStackTops: [interruptStackTop(.doubleFault),
                                                                         interruptStackTop(.nonMaskableInterrupt),
                                                                         interruptStackTop(.machineCheck)])
        self.gdt = gdt
        self.tss = tss
    }

    /// Builds and loads a GDT with a TSS whose IST 1-3 are `tops`.
    @discardableResult
    private static func loadGlobalDescriptorTable(interruptStackTops tops: [UInt64])
        -> (UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<TaskStateSegment>) {
        let tss = UnsafeMutablePointer<TaskStateSegment>.allocate(capacity: 1)
        tss.initialize(to: TaskStateSegment())
        for (index, top) in tops.enumerated() { tss.pointee.setInterruptStack(index + 1, to: top) }
        let tssDescriptor = SystemSegmentDescriptor(
            taskStateAt: UInt64(UInt(bitPattern: tss)), limit: UInt32(TaskStateSegment.size - 1))

        let gdt = UnsafeMutablePointer<UInt64>.allocate(capacity: GDTLayout.slotCount)
        gdt[GDTLayout.nullIndex] = SegmentDescriptor.null.rawValue
        gdt[GDTLayout.kernelCodeIndex] = SegmentDescriptor.kernelCode.rawValue
        gdt[GDTLayout.kernelDataIndex] = SegmentDescriptor.kernelData.rawValue
        gdt[GDTLayout.userDataIndex] = SegmentDescriptor.userData.rawValue
        gdt[GDTLayout.userCodeIndex] = SegmentDescriptor.userCode.rawValue
        gdt[GDTLayout.taskStateIndex] = tssDescriptor.low
        gdt[GDTLayout.taskStateIndex + 1] = tssDescriptor.high

        exo_lgdt(UInt64(UInt(bitPattern: gdt)), UInt16(GDTLayout.slotCount * 8 - 1))
        exo_reload_segments(GDTLayout.kernelCode.rawValue, GDTLayout.kernelData.rawValue)
        exo_ltr(GDTLayout.taskState.rawValue)
        SMP.current.pointee.taskState = tss        // rsp0 changes at every switch (UserMode.setKernelStack)
        return (gdt, tss)
    }

    private static func installInterruptDescriptorTable() {
        let idt = UnsafeMutablePointer<GateDescriptor>.allocate(capacity: vectorCount)
        idt.initialize(repeating: .absent, count: vectorCount)
        for vector in 0..<32 {
            let stack: UInt8 = switch vector {
            case 2: InterruptStack.nonMaskableInterrupt.rawValue
            case 8: InterruptStack.doubleFault.rawValue
            case 18: InterruptStack.machineCheck.rawValue
            default: 0
            }
            // #BP may be raised with `int3` from ring 3 (debuggers rely on it);
            // every other exception gate is kernel-only.
            let level: PrivilegeLevel = vector == 3 ? .user : .kernel
            idt[vector] = GateDescriptor(handler: stubAddress(exceptionVector: vector),
                                         selector: GDTLayout.kernelCode, kind: .interrupt,
                                         privilegeLevel: level, stackIndex: stack)
        }
        for vector in 32..<vectorCount {
            idt[vector] = GateDescriptor(handler: Interrupts.stubAddress(vector: vector), selector: GDTLayout.kernelCode,
                                         kind: .interrupt, privilegeLevel: .kernel)
        }
        exo_lidt(UInt64(UInt(bitPattern: idt)), UInt16(vectorCount * 16 - 1))
        self.idt = idt
    }

    static func stubAddress(exceptionVector vector: Int) -> UInt64 {
        withUnsafePointer(to: exo_trap_stubs) { tuple in
            tuple.withMemoryRebound(to: UInt64.self, capacity: 32) { $0[vector] }
        }
    }
}
