/// The registers saved on an exception or interrupt, in the order the
/// entry code in traps.S leaves them (lowest address first). Changing the
/// order here means changing the push order there, and `exo_capture_registers`
/// in probes.S, which fills the same shape for panic reports.
struct TrapFrame {
    var r15: UInt64 = 0, r14: UInt64 = 0, r13: UInt64 = 0, r12: UInt64 = 0
    var r11: UInt64 = 0, r10: UInt64 = 0, r9: UInt64 = 0, r8: UInt64 = 0
    var rbp: UInt64 = 0, rdi: UInt64 = 0, rsi: UInt64 = 0, rdx: UInt64 = 0
    var rcx: UInt64 = 0, rbx: UInt64 = 0, rax: UInt64 = 0
    /// Pushed by the stub.
    var vector: UInt64 = 0
    /// Pushed by the CPU for some vectors, else a 0 pushed by the stub.
    var errorCode: UInt64 = 0
    // Pushed by the CPU.
    var rip: UInt64 = 0, cs: UInt64 = 0, rflags: UInt64 = 0, rsp: UInt64 = 0, ss: UInt64 = 0

    /// 22 quadwords: a multiple of 16 bytes keeps the stack aligned for the
    /// call into Swift.
    static let expectedSize = 176
}
