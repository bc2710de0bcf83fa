/*
 * Exception entry: one stub per vector, one common path into Swift.
 *
 * Every stub leaves the same frame on the stack (kernel/Sources/arch/
 * TrapFrame.swift mirrors it; change both together):
 *
 *   ss, rsp, rflags, cs, rip      pushed by the CPU
 *   error code                    pushed by the CPU, or a 0 by the stub
 *   vector                        pushed by the stub
 *   rax rbx rcx rdx rsi rdi rbp r8 ... r15   pushed by exo_trap_common
 *
 * so r15 is at the lowest address. The CPU aligns RSP to 16 before pushing
 * its part; 22 quadwords keep that alignment for the call into Swift.
 * Swift may change the frame (RIP for fixups); iretq resumes from it.
 * From ring 3 (the saved CS has RPL 3) the entry swaps GS to the kernel's
 * per-CPU record first and the exit swaps back last; from ring 0 GS is
 * already the kernel's. The CPU took the stack from TSS.rsp0 (the thread's
 * kernel stack) for a ring change.
 */
#include "frame.h"
    .section .text.traps, "ax"

.macro STUB_ADDRESS vector
    .quad exo_trap_stub_\vector
.endm

.macro TRAP_STUB vector, has_error_code
    .balign 16
exo_trap_stub_\vector:
    .if \has_error_code == 0
    pushq $0
    .endif
    pushq $\vector
    jmp exo_trap_common
.endm

    TRAP_STUB 0, 0
    TRAP_STUB 1, 0
    TRAP_STUB 2, 0
    TRAP_STUB 3, 0
    TRAP_STUB 4, 0
    TRAP_STUB 5, 0
    TRAP_STUB 6, 0
    TRAP_STUB 7, 0
    TRAP_STUB 8, 1
    TRAP_STUB 9, 0
    TRAP_STUB 10, 1
    TRAP_STUB 11, 1
    TRAP_STUB 12, 1
    TRAP_STUB 13, 1
    TRAP_STUB 14, 1
    TRAP_STUB 15, 0
    TRAP_STUB 16, 0
    TRAP_STUB 17, 1
    TRAP_STUB 18, 0
    TRAP_STUB 19, 0
    TRAP_STUB 20, 0
    TRAP_STUB 21, 1
    TRAP_STUB 22, 0
    TRAP_STUB 23, 0
    TRAP_STUB 24, 0
    TRAP_STUB 25, 0
    TRAP_STUB 26, 0
    TRAP_STUB 27, 0
    TRAP_STUB 28, 0
    TRAP_STUB 29, 1
    TRAP_STUB 30, 1
    TRAP_STUB 31, 0
    /* Vectors 32-255: device interrupts, IPIs, APIC timer/error/spurious.
     * None pushes an error code. */
    .altmacro
    .set vector, 32
    .rept 224
    TRAP_STUB %vector, 0
    .set vector, vector + 1
    .endr
    .noaltmacro

exo_trap_common:
    testb $3, 24(%rsp)            /* CS above vector and error code */
    jz 1f
    swapgs
1:  PUSH_GPRS
    cld
    movq %rsp, %rdi
    call exo_trap                 /* Swift: arch/Traps.swift */
    POP_GPRS
    addq $16, %rsp                /* vector and error code */
    testb $3, 8(%rsp)             /* CS above RIP */
    jz 2f
    cli                           /* nothing may run between swapgs and iretq */
    swapgs
2:  iretq

    /* The stub addresses, in vector order, for Swift to build the IDT. */
    .section .rodata
    .balign 8
    .global exo_trap_stubs
exo_trap_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exo_trap_stub_\v
    .endr

    .global exo_interrupt_stubs
exo_interrupt_stubs:
    .altmacro
    .set vector, 32
    .rept 224
    STUB_ADDRESS %vector
    .set vector, vector + 1
    .endr
    .noaltmacro
