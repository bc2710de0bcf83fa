/*
 * The general registers of a TrapFrame (kernel/Sources/arch/TrapFrame.swift),
 * pushed so that r15 ends at the lowest address. traps.S and syscall.S both
 * build and unwind this shape; change it only together with TrapFrame.
 */
.macro PUSH_GPRS
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

/* Everything from r15 down to rdx: the SYSRET exit stops here, because it
 * must look at a flag in ECX before popping RCX (the user RIP). */
.macro POP_GPRS_THROUGH_RDX
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
.endm

.macro POP_GPRS
    POP_GPRS_THROUGH_RDX
    popq %rcx
    popq %rbx
    popq %rax
.endm
