/*
 * Small routines whose exact instruction addresses matter: deliberate faults
 * for the exception tests, register capture for panic reports, and the empty
 * function the call benchmark measures.
 *
 * Exception table: each entry is (faulting instruction, resume address).
 * When a fault's RIP is in the table, the trap handler records it and
 * resumes at the paired address instead of reporting a crash. The user-copy
 * routines will use the same table to turn bad pointers into EFAULT.
 */
#define EXTABLE(fault, resume) \
    .pushsection .exo_extable, "a"; .balign 8; .quad fault, resume; .popsection

    .section .text.probes, "ax"

    /* uint64_t exo_probe_int3(void): returns the address after the int3. */
    .global exo_probe_int3, exo_probe_int3_next
exo_probe_int3:
    int3
exo_probe_int3_next:
    leaq exo_probe_int3_next(%rip), %rax
    ret

    /* void exo_probe_ud2(void): #UD at exo_probe_ud2_fault, resumes after it. */
    .global exo_probe_ud2, exo_probe_ud2_fault
exo_probe_ud2:
exo_probe_ud2_fault:
    ud2
exo_probe_ud2_resume:
    ret
    EXTABLE(exo_probe_ud2_fault, exo_probe_ud2_resume)

    /* uint64_t exo_probe_read(uint64_t address): loads from address; a fault
     * resumes with rax = 0xdead (the caller knows whether one happened from
     * the trap record). */
    .global exo_probe_read, exo_probe_read_fault
exo_probe_read:
    movq $0xdead, %rax
exo_probe_read_fault:
    movq (%rdi), %rax
exo_probe_read_resume:
    ret
    EXTABLE(exo_probe_read_fault, exo_probe_read_resume)

    /* void exo_probe_write(uint64_t address, uint64_t value) */
    .global exo_probe_write, exo_probe_write_fault
exo_probe_write:
exo_probe_write_fault:
    movq %rsi, (%rdi)
exo_probe_write_resume:
    ret
    EXTABLE(exo_probe_write_fault, exo_probe_write_resume)

    /* uint64_t exo_probe_divide(uint64_t dividend, uint64_t divisor) */
    .global exo_probe_divide, exo_probe_divide_fault
exo_probe_divide:
    movq %rdi, %rax
    xorl %edx, %edx
exo_probe_divide_fault:
    divq %rsi
exo_probe_divide_resume:
    ret
    EXTABLE(exo_probe_divide_fault, exo_probe_divide_resume)

    /* uint64_t exo_probe_call(uint64_t address): calls code at address (for
     * the NX tests: executing a data page must fault). */
    .global exo_probe_call, exo_probe_call_fault
exo_probe_call:
    movq $0xdead, %rax
exo_probe_call_fault:
    callq *%rdi
exo_probe_call_resume:
    ret
    EXTABLE(exo_probe_call_fault, exo_probe_call_resume)

    /* void exo_capture_registers(struct frame *): fills a TrapFrame-shaped
     * record with the caller's registers; RIP is the return address and
     * RSP the caller's stack pointer after the return. */
    .global exo_capture_registers
exo_capture_registers:
    movq %r15, 0(%rdi)
    movq %r14, 8(%rdi)
    movq %r13, 16(%rdi)
    movq %r12, 24(%rdi)
    movq %r11, 32(%rdi)
    movq %r10, 40(%rdi)
    movq %r9, 48(%rdi)
    movq %r8, 56(%rdi)
    movq %rbp, 64(%rdi)
    movq %rdi, 72(%rdi)
    movq %rsi, 80(%rdi)
    movq %rdx, 88(%rdi)
    movq %rcx, 96(%rdi)
    movq %rbx, 104(%rdi)
    movq %rax, 112(%rdi)
    movq $0, 120(%rdi)            /* vector: none */
    movq $0, 128(%rdi)            /* error code: none */
    movq (%rsp), %rax
    movq %rax, 136(%rdi)          /* rip: the caller's resume point */
    movq %cs, %rax
    movq %rax, 144(%rdi)
    pushfq
    popq %rax
    movq %rax, 152(%rdi)
    leaq 8(%rsp), %rax
    movq %rax, 160(%rdi)
    movq %ss, %rax
    movq %rax, 168(%rdi)
    movq 112(%rdi), %rax
    ret

    /* The empty function the empty_call benchmark calls. */
    .global exo_empty_function
exo_empty_function:
    ret

    /* void exo_probe_exhaust_stack(void): pushes until the stack runs into
     * its guard page. The #PF cannot be delivered on the exhausted stack, so
     * the CPU raises #DF, which runs on its IST stack and reports the
     * overflow (exo.debug=stack-overflow). Never returns. */
    .global exo_probe_exhaust_stack
exo_probe_exhaust_stack:
1:  pushq $0
    jmp 1b

    /* uint64_t exo_stack_overflow_probe(uint64_t stack_top): switches to the
     * given stack and pushes until it runs into its guard page. The #PF
     * cannot be delivered on that stack, so the CPU raises #DF on its IST
     * stack; the handler (Traps.swift) sees exo_stack_probe_saved_rsp set
     * and resumes at exo_stack_probe_resume on the original stack, which
     * returns 1 to the caller. */
    .global exo_stack_overflow_probe, exo_stack_probe_resume
exo_stack_overflow_probe:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, exo_stack_probe_saved_rsp(%rip)
    movq %rdi, %rsp
1:  pushq $0
    jmp 1b
exo_stack_probe_resume:
    movq $0, exo_stack_probe_saved_rsp(%rip)
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    movl $1, %eax
    ret

    .section .data
    .balign 8
    .global exo_stack_probe_saved_rsp
exo_stack_probe_saved_rsp:
    .quad 0
