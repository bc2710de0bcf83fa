import Testing
@testable import ExoX86

@Suite("Segment descriptors")
struct SegmentDescriptorTests {
    @Test func flatSegmentsMatchTheConventionalEncodings() {
        // The values every long-mode kernel's GDT carries (flat, 4 KiB granularity).
        #expect(SegmentDescriptor.kernelCode.rawValue == 0x00AF_9A00_0000_FFFF)
        #expect(SegmentDescriptor.kernelData.rawValue == 0x00CF_9200_0000_FFFF)
        #expect(SegmentDescriptor.userData.rawValue == 0x00CF_F200_0000_FFFF)
        #expect(SegmentDescriptor.userCode.rawValue == 0x00AF_FA00_0000_FFFF)
    }

    @Test func accessorsDecodeWhatWasEncoded() {
        let code = SegmentDescriptor.userCode
        #expect(code.isPresent)
        #expect(code.isExecutable)
        #expect(code.isLongMode)
        #expect(code.privilegeLevel == .user)
        let data = SegmentDescriptor.kernelData
        #expect(!data.isExecutable)
        #expect(!data.isLongMode)
        #expect(data.privilegeLevel == .kernel)
        #expect(!SegmentDescriptor.null.isPresent)
    }

    @Test func descriptorIsEightBytes() {
        #expect(MemoryLayout<SegmentDescriptor>.size == 8)
        #expect(MemoryLayout<SystemSegmentDescriptor>.size == 16)
    }

    @Test func taskStateDescriptorEncodesAHighBase() {
        let base: UInt64 = 0x0000_4000_0012_3450
        let descriptor = SystemSegmentDescriptor(taskStateAt: base, limit: 103)
        #expect(descriptor.base == base)
        #expect(descriptor.type == 0x9)
        #expect(descriptor.low & 0xFFFF == 103)
        #expect(descriptor.high == 0x4000)
        #expect(descriptor.low >> 47 & 1 == 1)
    }
}

@Suite("GDT layout and selectors")
struct GDTLayoutTests {
    @Test func selectorsFollowTheSyscallOrder() {
        #expect(GDTLayout.kernelCode.rawValue == 0x08)
        #expect(GDTLayout.kernelData.rawValue == 0x10)
        #expect(GDTLayout.userData.rawValue == 0x1B)
        #expect(GDTLayout.userCode.rawValue == 0x23)
        #expect(GDTLayout.taskState.rawValue == 0x28)
    }

    @Test func starMakesSysretLoadUserSelectors() {
        let star = GDTLayout.starValue
        let sysretBase = UInt16(truncatingIfNeeded: star >> 48)
        let syscallBase = UInt16(truncatingIfNeeded: star >> 32)
        // SYSRET (64-bit): CS = base + 16, SS = base + 8, both with RPL 3.
        #expect(sysretBase &+ 16 == GDTLayout.userCode.rawValue)
        #expect(sysretBase &+ 8 == GDTLayout.userData.rawValue)
        // SYSCALL: CS = base, SS = base + 8.
        #expect(syscallBase == GDTLayout.kernelCode.rawValue)
        #expect(syscallBase + 8 == GDTLayout.kernelData.rawValue)
    }

    @Test func taskStateTakesTheLastTwoSlots() {
        #expect(GDTLayout.taskStateIndex + 2 == GDTLayout.slotCount)
    }
}

@Suite("Gate descriptors")
struct GateDescriptorTests {
    @Test func gateSplitsAHighHandlerAddress() {
        let handler: UInt64 = 0x0000_4000_0010_1234
        let gate = GateDescriptor(handler: handler, selector: GDTLayout.kernelCode,
                                  kind: .interrupt, privilegeLevel: .kernel, stackIndex: 1)
        #expect(gate.handler == handler)
        #expect(gate.selector == GDTLayout.kernelCode)
        #expect(gate.stackIndex == 1)
        #expect(gate.kind == .interrupt)
        #expect(gate.isPresent)
        #expect(gate.privilegeLevel == 0)
        // Byte-level: offset[15:0] = 0x1234, selector 0x0008, IST 1, attributes 0x8E.
        #expect(gate.low & 0xFFFF_FFFF_FFFF == 0x8E01_0008_1234)
        #expect(gate.low >> 48 == 0x0010)
        #expect(gate.high == 0x4000)
    }

    @Test func userCallableTrapGate() {
        let gate = GateDescriptor(handler: 0x1000, selector: GDTLayout.kernelCode,
                                  kind: .trap, privilegeLevel: .user)
        #expect((gate.low >> 40) & 0xFF == 0xEF)
        #expect(gate.privilegeLevel == 3)
    }

    @Test func gateIsSixteenBytes() {
        #expect(MemoryLayout<GateDescriptor>.size == 16)
        #expect(MemoryLayout<GateDescriptor>.stride == 16)
        #expect(!GateDescriptor.absent.isPresent)
    }
}

@Suite("Task state segment")
struct TaskStateSegmentTests {
    @Test func layoutIsTheHardwareOne() {
        #expect(MemoryLayout<TaskStateSegment>.size == 104)
        #expect(MemoryLayout<TaskStateSegment>.alignment == 4)
    }

    @Test func fieldsLandAtTheirHardwareOffsets() {
        var tss = TaskStateSegment()
        tss.rsp0 = 0x1122_3344_5566_7788
        tss.setInterruptStack(1, to: 0xAAAA_BBBB_CCCC_DDDD)
        tss.setInterruptStack(7, to: 0x0102_0304_0506_0708)
        let bytes = withUnsafeBytes(of: tss) { Array($0) }
        func load64(_ offset: Int) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
        }
        #expect(load64(TaskStateSegment.rsp0Offset) == 0x1122_3344_5566_7788)
        #expect(load64(TaskStateSegment.istOffset) == 0xAAAA_BBBB_CCCC_DDDD)
        #expect(load64(TaskStateSegment.istOffset + 6 * 8) == 0x0102_0304_0506_0708)
        let ioBase = UInt16(bytes[102]) | UInt16(bytes[103]) << 8
        #expect(ioBase == 104)
        #expect(tss.interruptStack(1) == 0xAAAA_BBBB_CCCC_DDDD)
        #expect(tss.rsp0 == 0x1122_3344_5566_7788)
    }
}

@Suite("Exception vectors")
struct ExceptionVectorTests {
    @Test func errorCodeVectorsAreTheArchitecturalOnes() {
        let withCode = (0..<32).filter { ExceptionVector(UInt8($0)).pushesErrorCode }
        #expect(withCode == [8, 10, 11, 12, 13, 14, 17, 21, 29, 30])
    }

    @Test func namesAndMnemonics() {
        #expect(ExceptionVector.pageFault.mnemonic.description == "#PF")
        #expect(ExceptionVector.divideError.name.description == "divide error")
        #expect(ExceptionVector.breakpoint.isTrap)
        #expect(!ExceptionVector.invalidOpcode.isTrap)
    }

    @Test func pageFaultCodeSummary() {
        let code = PageFaultErrorCode(rawValue: 0x2)
        #expect(code.summary == "write to non-present page in kernel mode")
        let fetch = PageFaultErrorCode(rawValue: 0x15)
        #expect(fetch.summary == "instruction fetch from protected page in user mode")
    }
}
