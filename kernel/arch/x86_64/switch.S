/*
 * The windowed context switch: only what the System V calling convention
 * makes the callee preserve (rbx, rbp, r12-r15) is saved, on the outgoing
 * thread's own stack; everything else the caller of exo_switch_context has
 * already given up. The return address on the stack is the resume point.
 * The x87/SSE state is switched here too, eagerly (the policy is written in
 * Threads.swift): fxsave into the outgoing thread's 512-byte area, fxrstor
 * from the incoming one's (both 16-byte aligned, as fxsave requires).
 *
 *   void exo_switch_context(uint64_t *save_rsp, uint64_t new_rsp,
 *                           void *save_fpu, const void *load_fpu)
 */
    .section .text.switch, "ax"
    .global exo_switch_context
exo_switch_context:
    fxsave64 (%rdx)
    fxrstor64 (%rcx)
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/*
 * First code a new thread runs: Threads.prepareStack leaves the thread's id
 * in r12 and this address as the return address of the initial frame.
 * Calls the Swift entry (which never returns) with rdi = thread id; rbp = 0
 * ends backtraces here. rsp is 16-byte aligned at the call.
 */
    .global exo_thread_trampoline
exo_thread_trampoline:
    movq %r12, %rdi
    xorl %ebp, %ebp
    call exo_thread_entry
    ud2
