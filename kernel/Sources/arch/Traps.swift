import CExoArch
import ExoKit
import ExoX86

/// What the last recovered exception looked like. The exception tests
/// clear it, provoke a fault, and compare.
struct TrapRecord: Equatable {
    var vector: UInt64
    var errorCode: UInt64
    var rip: UInt64
    var cr2: UInt64
}

/// Exception dispatch: every vector below 32 arrives in `handleException`.
///
/// Policy, in order:
/// 1. #BP (int3) is a trap: note it and continue after the instruction.
/// 2. A fault at an instruction listed in the exception table (probes.S;
///    later the user-copy routines) resumes at its fixup address.
/// 3. A double fault from the stack-overflow probe resumes its caller.
/// 4. Anything else in the kernel is fatal: print the full report
///    (`CrashReport`) and end the run with the failure code.
enum Traps {
    nonisolated(unsafe) static var lastRecovered: TrapRecord? = nil
    nonisolated(unsafe) static var breakpointCount: UInt64 = 0
    /// When false (benchmarks), breakpoints are counted but not logged.
    nonisolated(unsafe) static var logBreakpoints = true
    /// When false, recovered faults are not logged (the user-copy paths
    /// will turn this off: a bad user pointer is routine, not news).
    nonisolated(unsafe) static var logRecoveries = true

    static func handleException(_ frame: inout TrapFrame) {
        let vector = ExceptionVector(UInt8(truncatingIfNeeded: frame.vector))
        if frame.cs & 3 == 3 {                   // ring 3: the process's problem
            UserFaults.handle(&frame, vector: vector)
            return
        }
        if vector == .breakpoint {
            breakpointCount &+= 1
            lastRecovered = TrapRecord(vector: frame.vector, errorCode: frame.errorCode, rip: frame.rip, cr2: 0)
            if logBreakpoints {
                Log.debug("breakpoint at \(Hex.string(frame.rip)); continuing")
            }
            return
        }
        // A stack-overflow probe ran its stack into the guard page: the #PF
        // became a #DF on the IST stack. Resume on the probe's saved stack.
        if vector == .doubleFault && exo_stack_probe_saved_rsp != 0 && KernelStacks.guarded(by: CPU.cr2) != nil {
            lastRecovered = TrapRecord(vector: frame.vector, errorCode: frame.errorCode, rip: frame.rip, cr2: CPU.cr2)
            logRecovery(frame, vector: vector, how: "kernel stack overflow into a guard page; resumed the probe's caller")
            frame.rip = exo_stack_probe_resume_address()
            frame.rsp = exo_stack_probe_saved_rsp
            return
        }
        // A user-copy routine touched a user page that is not there yet (or
        // is copy-on-write): make it good and retry the instruction.
        if vector == .pageFault, CPU.cr2 < UserMode.userEnd, ExceptionTable.fixup(for: frame.rip) != nil,
           UserFaults.resolveForKernel(address: CPU.cr2, errorCode: frame.errorCode) {
            return
        }
        if let resume = ExceptionTable.fixup(for: frame.rip) {
            let cr2 = vector == .pageFault ? CPU.cr2 : 0
            lastRecovered = TrapRecord(vector: frame.vector, errorCode: frame.errorCode, rip: frame.rip, cr2: cr2)
            // A bad user pointer in a system call is routine (EFAULT), not news.
            if !(vector == .pageFault && cr2 < UserMode.userEnd) {
                logRecovery(frame, vector: vector, how: "resumed at the exception-table fixup")
            }
            frame.rip = resume
            return
        }
        // An instruction fetch that faulted right at the target of a listed
        // call: RIP is the target, so find the call by its return address.
        if vector == .pageFault, PageFaultErrorCode(rawValue: frame.errorCode).contains(.instructionFetch),
           frame.rip == CPU.cr2, KernelStacks.containing(frame.rsp) != nil,
           let resume = ExceptionTable.fixup(forReturnAddress: UnsafePointer<UInt64>(bitPattern: UInt(frame.rsp))!.pointee) {
            lastRecovered = TrapRecord(vector: frame.vector, errorCode: frame.errorCode, rip: frame.rip, cr2: CPU.cr2)
            logRecovery(frame, vector: vector, how: "resumed after the faulting call")
            frame.rip = resume
            frame.rsp += 8                        // pop the return address the call pushed
            return
        }
        CrashReport.exception(frame)
    }

    /// One log line for a fault the kernel expected and survived: vector,
    /// where, the faulting address and what the error code says.
    static func logRecovery(_ frame: TrapFrame, vector: ExceptionVector, how: StaticString) {
        guard logRecoveries else { return }
        var detail = ""
        if vector == .pageFault || vector == .doubleFault {
            detail = " CR2=\(Hex.string(CPU.cr2))"
            if vector == .pageFault { detail += " (\(PageFaultErrorCode(rawValue: frame.errorCode).summary))" }
        }
        Log.info("trap: caught \(vector.mnemonic.description) \(vector.name.description) at RIP=\(Hex.string(frame.rip))\(detail): \(how.description)")
    }
}

/// The kernel's exception table: (faulting instruction, resume address)
/// pairs emitted by the EXTABLE macro into section .exo_extable.
enum ExceptionTable {
    static func fixup(for rip: UInt64) -> UInt64? {
        let start = __extable_start_address()
        let end = __extable_end_address()
        // Safety: the linker script places only 16-byte (fault, resume)
        // pairs between these symbols, 8-byte aligned.
        let entries = UnsafePointer<UInt64>(bitPattern: UInt(start))!
        let count = Int(truncatingIfNeeded: (end &- start) >> 4)
        for index in 0..<count where entries[2 * index] == rip {
            return entries[2 * index + 1]
        }
        return nil
    }

    /// The fixup of a listed call instruction whose return address (the
    /// next instruction, within 15 bytes) is `returnAddress`.
    static func fixup(forReturnAddress returnAddress: UInt64) -> UInt64? {
        let start = __extable_start_address()
        let end = __extable_end_address()
        let entries = UnsafePointer<UInt64>(bitPattern: UInt(start))!
        let count = Int(truncatingIfNeeded: (end &- start) >> 4)
        for index in 0..<count {
            let fault = entries[2 * index], resume = entries[2 * index + 1]
            if resume == returnAddress && fault < returnAddress && returnAddress - fault <= 15 { return resume }
        }
        return nil
    }
}

/// Entry from traps.S for every vector, with interrupts off.
@_cdecl("exo_trap")
func exoTrap(_ rawFrame: UnsafeMutableRawPointer) {
    // Safety: traps.S passes the stack address of the frame it just built,
    // laid out as TrapFrame (checked by cpu.trap_frame_matches_the_entry_code).
    let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
    if frame.pointee.vector < 32 {
        Traps.handleException(&frame.pointee)
    } else {
        Interrupts.dispatch(vector: UInt8(truncatingIfNeeded: frame.pointee.vector))
    }
    // Back to ring 3: act on signals first (a timer tick is where a
    // CPU-bound program notices a kill).
    if frame.pointee.cs & 3 == 3 {
        CPU.enableInterrupts()
        SignalDelivery.deliverPending(frame)
        CPU.disableInterrupts()
    }
}
