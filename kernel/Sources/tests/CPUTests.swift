import CExoArch
import ExoX86

/// Exceptions are caught and reported with the right vector and RIP, and
/// the descriptor tables the CPU uses are the ones Swift built.
enum CPUTests {
    static let suite = KernelTestSuite(name: "cpu", tests: [
        KernelTest(name: "breakpoint_reports_vector_and_rip_then_continues", body: breakpoint),
        KernelTest(name: "invalid_opcode_reports_rip_and_resumes", body: invalidOpcode),
        KernelTest(name: "divide_error_reports_rip_and_resumes", body: divideError),
        KernelTest(name: "page_fault_on_read_reports_cr2_and_code", body: pageFaultRead),
        KernelTest(name: "page_fault_on_write_reports_cr2_and_code", body: pageFaultWrite),
        KernelTest(name: "null_page_is_unmapped", body: nullPage),
        KernelTest(name: "non_canonical_address_raises_general_protection", body: nonCanonical),
        KernelTest(name: "boot_stack_guard_page_faults", body: stackGuard),
        KernelTest(name: "gdt_is_loaded_with_the_layout", body: globalDescriptorTable),
        KernelTest(name: "task_register_holds_the_busy_tss", body: taskRegister),
        KernelTest(name: "idt_routes_every_exception_to_its_stub", body: interruptDescriptorTable),
        KernelTest(name: "trap_frame_matches_the_entry_code", body: trapFrameLayout),
        KernelTest(name: "exception_table_points_into_text", body: exceptionTable),
    ])

    static func breakpoint(_ t: TestContext) {
        Traps.lastRecovered = nil
        let before = Traps.breakpointCount
        let next = exo_probe_int3()
        let record = Traps.lastRecovered
        t.expectEqual(record?.vector, 3, "vector is 3 (#BP)")
        // #BP is a trap: the saved RIP is the instruction after int3.
        t.expectEqual(record?.rip, exo_probe_int3_next_address(), "RIP is the instruction after int3")
        t.expectEqual(next, exo_probe_int3_next_address(), "execution continued after int3")
        t.expectEqual(Traps.breakpointCount, before + 1, "one breakpoint counted")
    }

    static func invalidOpcode(_ t: TestContext) {
        Traps.lastRecovered = nil
        exo_probe_ud2()
        t.expectEqual(Traps.lastRecovered?.vector, 6, "vector is 6 (#UD)")
        t.expectEqual(Traps.lastRecovered?.rip, exo_probe_ud2_fault_address(), "RIP is the ud2")
    }

    static func divideError(_ t: TestContext) {
        Traps.lastRecovered = nil
        let good = exo_probe_divide(84, 2)
        t.expectEqual(good, 42, "division still works")
        t.expect(Traps.lastRecovered == nil, "a good division raises nothing")
        _ = exo_probe_divide(1, 0)
        t.expectEqual(Traps.lastRecovered?.vector, 0, "vector is 0 (#DE)")
        t.expectEqual(Traps.lastRecovered?.rip, exo_probe_divide_fault_address(), "RIP is the div")
    }

    static func pageFaultRead(_ t: TestContext) {
        Traps.lastRecovered = nil
        let target: UInt64 = 0x0000_0000_dead_b008
        let value = exo_probe_read(target)
        let record = Traps.lastRecovered
        t.expectEqual(record?.vector, 14, "vector is 14 (#PF)")
        t.expectEqual(record?.cr2, target, "CR2 is the faulting address")
        t.expectEqual(record?.errorCode, 0, "error code: read, not present, kernel")
        t.expectEqual(record?.rip, exo_probe_read_fault_address(), "RIP is the load")
        t.expectEqual(value, 0xdead, "the fixup path ran")
    }

    static func pageFaultWrite(_ t: TestContext) {
        Traps.lastRecovered = nil
        exo_probe_write(0x0000_1234_5678_9000, 1)
        let record = Traps.lastRecovered
        t.expectEqual(record?.vector, 14, "vector is 14 (#PF)")
        t.expectEqual(record?.cr2, 0x0000_1234_5678_9000, "CR2 is the faulting address")
        t.expectEqual(record.map { PageFaultErrorCode(rawValue: $0.errorCode).contains(.write) }, true, "error code says write")
        t.expectEqual(record?.rip, exo_probe_write_fault_address(), "RIP is the store")
    }

    static func nullPage(_ t: TestContext) {
        Traps.lastRecovered = nil
        _ = exo_probe_read(0)
        t.expectEqual(Traps.lastRecovered?.vector, 14, "reading address 0 faults")
        t.expectEqual(Traps.lastRecovered?.cr2, 0, "CR2 is 0")
    }

    static func nonCanonical(_ t: TestContext) {
        Traps.lastRecovered = nil
        _ = exo_probe_read(0x8000_0000_0000_0000)
        t.expectEqual(Traps.lastRecovered?.vector, 13, "vector is 13 (#GP)")
        t.expectEqual(Traps.lastRecovered?.rip, exo_probe_read_fault_address(), "RIP is the load")
    }

    static func stackGuard(_ t: TestContext) {
        Traps.lastRecovered = nil
        let guardPage = boot_stack_guard_page_address()
        _ = exo_probe_read(guardPage + 8)
        t.expectEqual(Traps.lastRecovered?.vector, 14, "the guard page is unmapped")
        t.expectEqual(Traps.lastRecovered?.cr2, guardPage + 8, "CR2 is in the guard page")
        t.expect(KernelStacks.guarded(by: guardPage + 8) != nil, "the reporter recognises the guard page")
        Traps.lastRecovered = nil
        _ = exo_probe_read(boot_stack_bottom_address())
        t.expect(Traps.lastRecovered == nil, "the stack's lowest page is mapped")
    }

    static func globalDescriptorTable(_ t: TestContext) {
        let base = exo_sgdt_base()
        t.expectEqual(base, UInt64(UInt(bitPattern: DescriptorTables.gdt)), "GDTR base is the Swift table")
        t.expectEqual(Int(exo_sgdt_limit()), GDTLayout.slotCount * 8 - 1, "GDTR limit covers 7 slots")
        guard let gdt = DescriptorTables.gdt else { return t.expect(false, "GDT installed") }
        // The CPU sets the accessed bit (40) when it loads a descriptor.
        let accessed: UInt64 = 1 << 40
        t.expectEqual(gdt[GDTLayout.nullIndex], 0, "null descriptor")
        t.expectEqual(gdt[GDTLayout.kernelCodeIndex] & ~accessed, SegmentDescriptor.kernelCode.rawValue, "kernel code descriptor")
        t.expectEqual(gdt[GDTLayout.kernelDataIndex] & ~accessed, SegmentDescriptor.kernelData.rawValue, "kernel data descriptor")
        t.expectEqual(gdt[GDTLayout.userDataIndex] & ~accessed, SegmentDescriptor.userData.rawValue, "user data descriptor")
        t.expectEqual(gdt[GDTLayout.userCodeIndex] & ~accessed, SegmentDescriptor.userCode.rawValue, "user code descriptor")
        t.expectEqual(exo_read_cs(), GDTLayout.kernelCode.rawValue, "CS is kernel code")
        t.expectEqual(exo_read_ss(), GDTLayout.kernelData.rawValue, "SS is kernel data")
    }

    static func taskRegister(_ t: TestContext) {
        t.expectEqual(exo_str(), GDTLayout.taskState.rawValue, "TR holds the TSS selector")
        guard let gdt = DescriptorTables.gdt, let tss = DescriptorTables.tss else { return t.expect(false, "TSS installed") }
        let low = gdt[GDTLayout.taskStateIndex]
        // ltr marks the descriptor busy: type 0x9 becomes 0xB.
        t.expectEqual((low >> 40) & 0xF, 0xB, "TSS descriptor is busy")
        t.expectEqual(tss.pointee.interruptStack(1), DescriptorTables.interruptStackTop(.doubleFault), "IST1 is the double-fault stack")
        t.expectEqual(tss.pointee.interruptStack(2), DescriptorTables.interruptStackTop(.nonMaskableInterrupt), "IST2 is the NMI stack")
        t.expectEqual(tss.pointee.interruptStack(3), DescriptorTables.interruptStackTop(.machineCheck), "IST3 is the machine-check stack")
        t.expectEqual(tss.pointee.ioMapBase, UInt16(TaskStateSegment.size), "no I/O bitmap")
    }

    static func interruptDescriptorTable(_ t: TestContext) {
        t.expectEqual(exo_sidt_base(), UInt64(UInt(bitPattern: DescriptorTables.idt)), "IDTR base is the Swift table")
        t.expectEqual(Int(exo_sidt_limit()), 256 * 16 - 1, "IDTR limit covers 256 gates")
        guard let idt = DescriptorTables.idt else { return t.expect(false, "IDT installed") }
        for vector in 0..<32 {
            let gate = idt[vector]
            t.expect(gate.isPresent, "gate \(vector) present")
            t.expectEqual(gate.handler, DescriptorTables.stubAddress(exceptionVector: vector), "gate \(vector) handler is its stub")
            t.expectEqual(gate.selector, GDTLayout.kernelCode, "gate \(vector) selector")
            let expectedStack: UInt8 = vector == 8 ? 1 : vector == 2 ? 2 : vector == 18 ? 3 : 0
            t.expectEqual(gate.stackIndex, expectedStack, "gate \(vector) IST")
        }
        for vector in 32..<256 where idt[vector].handler != Interrupts.stubAddress(vector: vector) {
            t.expect(false, "vector \(vector) routed to its stub")
        }
    }

    static func trapFrameLayout(_ t: TestContext) {
        t.expectEqual(MemoryLayout<TrapFrame>.size, TrapFrame.expectedSize, "TrapFrame is 22 quadwords")
        var frame = TrapFrame()
        exo_capture_registers(&frame)
        t.expectEqual(frame.cs, UInt64(GDTLayout.kernelCode.rawValue), "captured CS lands in the cs field")
        t.expectEqual(frame.ss, UInt64(GDTLayout.kernelData.rawValue), "captured SS lands in the ss field")
        t.expect(KernelLayout.isText(frame.rip), "captured RIP is in kernel text")
        t.expect(frame.rflags & 2 != 0, "RFLAGS bit 1 (always set) is in the rflags field")
    }

    static func exceptionTable(_ t: TestContext) {
        let probes = [exo_probe_ud2_fault_address(), exo_probe_read_fault_address(), exo_probe_write_fault_address(),
                      exo_probe_divide_fault_address(), exo_probe_call_fault_address()]
        for probe in probes {
            let resume = ExceptionTable.fixup(for: probe)
            t.expect(resume.map { KernelLayout.isText($0) && $0 > probe } ?? false, "probe has a fixup after it in text")
        }
        t.expect(ExceptionTable.fixup(for: exo_probe_int3_next_address()) == nil, "ordinary code has no fixup")
    }
}
