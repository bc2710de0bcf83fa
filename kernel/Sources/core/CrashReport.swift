import CExoArch
import ExoX86

/// Fatal reports: an unhandled exception or a kernel panic, printed to the
/// console in a fixed format, then the run ends with the failure code.
///
/// ```
/// PANIC: <message>            or   EXCEPTION 14 #PF page fault (error code 0x…: …)
///   at <file>:<line>               <explanation, e.g. kernel stack overflow>
/// registers:
///   RIP RSP CR2 RFLAGS CS SS and all sixteen general registers
/// backtrace: #n address symbol+offset
/// exo: halted after a fatal error
/// ```
enum CrashReport {
    /// Set while a report is being printed: a fault inside the reporter
    /// must not recurse forever.
    nonisolated(unsafe) private static var reporting = false

    static func exception(_ frame: TrapFrame) -> Never {
        beginReport()
        let vector = ExceptionVector(UInt8(truncatingIfNeeded: frame.vector))
        let cr2 = CPU.cr2
        Console.write("\nEXCEPTION ")
        Console.writeDecimal(frame.vector)
        Console.write(" ")
        Console.write(vector.mnemonic)
        Console.write(" ")
        Console.write(vector.name)
        Console.write(" (error code ")
        Console.writeHex(frame.errorCode, digits: 4)
        if vector == .pageFault {
            Console.write(": ")
            Console.write(PageFaultErrorCode(rawValue: frame.errorCode).summary)
        }
        Console.write(")\n")
        explain(vector: vector, frame: frame, cr2: cr2)
        registers(frame, cr2: cr2)
        Backtrace.print(Backtrace.collect(rip: frame.rip, rbp: frame.rbp))
        endReport()
    }

    static func panic(_ message: String, file: StaticString, line: UInt, frame: TrapFrame) -> Never {
        beginReport()
        Console.write("\nPANIC: ")
        Console.write(message)
        Console.write("\n  at ")
        Console.write(file)
        Console.write(":")
        Console.writeDecimal(UInt64(line))
        Console.write("\n")
        registers(frame, cr2: CPU.cr2)
        Backtrace.print(Backtrace.collect(rip: frame.rip, rbp: frame.rbp))
        endReport()
    }

    private static func beginReport() {
        CPU.disableInterrupts()
        if reporting {
            Console.write("\nexo: fault while reporting a fault; stopping\n")
            DebugExit.exit(.failure)
        }
        reporting = true
    }

    private static func endReport() -> Never {
        Console.write("exo: halted after a fatal error\n")
        DebugExit.exit(.failure)
    }

    /// One line saying what most likely happened, where the facts allow.
    private static func explain(vector: ExceptionVector, frame: TrapFrame, cr2: UInt64) {
        if vector == .pageFault || vector == .doubleFault, let stack = KernelStacks.guarded(by: cr2) {
            Console.write("kernel stack overflow: ")
            Console.write(stack.name)
            Console.write(" ran into its guard page at ")
            Console.writeHex(cr2)
            Console.write("\n")
        } else if vector == .pageFault && cr2 < KernelLayout.pageSize {
            Console.write("null pointer dereference\n")
        } else if vector == .invalidOpcode && KernelLayout.isText(frame.rip),
                  UnsafePointer<UInt16>(bitPattern: UInt(frame.rip))!.pointee == 0x0B0F {
            // Swift compiles precondition failures, overflow and forced
            // unwrapping of nil to ud2 (0F 0B) in optimized builds.
            Console.write("ud2 in kernel code: a Swift runtime trap (precondition, overflow, nil unwrap, bounds)\n")
        }
    }

    private static func registers(_ f: TrapFrame, cr2: UInt64) {
        Console.write("registers:\n")
        row("RIP", f.rip, "RSP", f.rsp, "CR2", cr2)
        row("RFLAGS", f.rflags, "CS", f.cs, "SS", f.ss)
        row("RAX", f.rax, "RBX", f.rbx, "RCX", f.rcx)
        row("RDX", f.rdx, "RSI", f.rsi, "RDI", f.rdi)
        row("RBP", f.rbp, "R8", f.r8, "R9", f.r9)
        row("R10", f.r10, "R11", f.r11, "R12", f.r12)
        row("R13", f.r13, "R14", f.r14, "R15", f.r15)
    }

    private static func row(_ a: StaticString, _ x: UInt64, _ b: StaticString, _ y: UInt64,
                            _ c: StaticString, _ z: UInt64) {
        for (name, value) in [(a, x), (b, y), (c, z)] {
            Console.write("  ")
            Console.write(name)
            Console.write("=")
            Console.writeHex(value)
        }
        Console.write("\n")
    }
}

/// Stops the kernel with a report: the message, where, the registers at
/// the call and a backtrace. Ends a QEMU run with the failure status.
func panic(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    var frame = TrapFrame()
    exo_capture_registers(&frame)
    CrashReport.panic(message, file: file, line: line, frame: frame)
}
