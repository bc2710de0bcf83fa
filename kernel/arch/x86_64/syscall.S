/*
 * Ring 3 <-> ring 0: the SYSCALL entry, the first entry to user mode, and
 * the user-memory copy routines.
 *
 * Per-CPU record (GS base in the kernel; SMP.swift's PerCPU mirrors it):
 *   0 self address, 8 index, 16 APIC id, 24 user RSP scratch,
 *   32 kernel stack top of the running thread (also TSS.rsp0),
 *   40 the running user thread's process id, 44 its thread id,
 *   48 the running thread (Scheduler.current, read in exo_arch.h).
 *
 * A system call leaves on the thread's kernel stack the same frame an
 * exception from ring 3 does (TrapFrame.swift), with vector 0x100, so
 * signals, fork and execve see one shape of saved user state. The Fusion
 * Ring calls' fast paths (LEAN_ENTRY) build part of it and complete it
 * when they leave the fast path.
 */
#define PERCPU_USER_RSP     24
#define PERCPU_KERNEL_STACK 32
#define PERCPU_USER_PID     40
#define PERCPU_USER_TID     44
#define USER_DS             0x1b    /* GDT slot 3, RPL 3 */
#define USER_CS             0x23    /* GDT slot 4, RPL 3 */
#define SYSCALL_VECTOR      0x100
/* TrapFrame offsets (frame.h's push order); the registers' as assembler
 * symbols frame_<register>, so that .irp lists can name them. */
    .equ frame_r15, 0
    .equ frame_r14, 8
    .equ frame_r13, 16
    .equ frame_r12, 24
    .equ frame_r11, 32
    .equ frame_r10, 40
    .equ frame_r9, 48
    .equ frame_r8, 56
    .equ frame_rbp, 64
    .equ frame_rdi, 72
    .equ frame_rsi, 80
    .equ frame_rdx, 88
    .equ frame_rcx, 96
    .equ frame_rbx, 104
    .equ frame_rax, 112
#define FRAME_VECTOR        120
#define FRAME_ERROR         128
#define FRAME_RIP           136
#define FRAME_CS            144
#define FRAME_RFLAGS        152
#define FRAME_RSP           160
#define FRAME_SS            168
#define FRAME_SIZE          176

#define EXTABLE(fault, resume) \
    .pushsection .exo_extable, "a"; .balign 8; .quad fault, resume; .popsection

#include "frame.h"
    .section .text.syscall, "ax"

/*
 * SYSCALL: RCX = user RIP, R11 = user RFLAGS, IF cleared by FMASK, still on
 * the user stack with the user's GS. Nothing may touch memory through RSP
 * until the stack switch.
 */
    .global exo_syscall_entry
exo_syscall_entry:
    swapgs
    /* The fast paths' numbers come from memory: all -1 (never a call)
     * while they are off, so no flag needs testing. One compare per entry
     * of exo_fast_syscall_numbers, in its order. */
    .set fast_index, 0
    .irp target, .Lfast_getpid, .Lfast_gettid, .Lfast_fring_wake_wait, .Lfast_fring_call, \
                 .Lfast_fring_grant_call, .Lfast_fring_grant_wake_wait
    cmpq exo_fast_syscall_numbers+8*fast_index(%rip), %rax
    je \target
    .set fast_index, fast_index + 1
    .endr
.Lslow_path:
    movq %rsp, %gs:PERCPU_USER_RSP
    movq %gs:PERCPU_KERNEL_STACK, %rsp
    pushq $USER_DS
    pushq %gs:PERCPU_USER_RSP
    pushq %r11
    pushq $USER_CS
    pushq %rcx
    pushq $0
    pushq $SYSCALL_VECTOR
    PUSH_GPRS
    cld
    movq %rsp, %rdi
    xorl %ebp, %ebp                /* backtraces end here */
    call exo_syscall               /* Swift: returns whether SYSRET may return */
.Lsyscall_exit:
    cli
    movl %eax, %ecx
    POP_GPRS_THROUGH_RDX
    testl %ecx, %ecx
    jz exo_return_by_iret_after_rdx
    popq %rcx                      /* = RIP: Swift checked it is canonical user */
    popq %rbx
    popq %rax
    /* SYSRET: RCX and R11 equal the frame's RIP and RFLAGS (Swift checked). */
    movq 40(%rsp), %rsp            /* vector, error, rip, cs, rflags, then rsp */
    swapgs
    sysretq

/*
 * Fast path: calls that only read the running thread's ids are answered
 * here, as checks, then commit. Checks: RCX (the user RIP SYSRET returns
 * to) has bit 47 clear, so SYSRET cannot fault in ring 0 on a
 * non-canonical address (the call's number matching is what says the
 * fast paths are on: exo_fast_syscall_numbers). Commit: RAX
 * from the per-CPU record (set at every switch to a user thread), back by
 * SYSRET with RCX and R11 as SYSCALL left them. No other register is
 * touched, and nothing can be pending that the slow path would act on:
 * signals posted to a running thread reach it by IPI.
 */
.macro FAST_ID_CALL label, field
\label:
    btq $47, %rcx
    jc .Lslow_path
    movl %gs:\field, %eax
    swapgs
    sysretq
.endm
    FAST_ID_CALL .Lfast_getpid, PERCPU_USER_PID
    FAST_ID_CALL .Lfast_gettid, PERCPU_USER_TID

/*
 * The Fusion Ring fast paths (IPCFastCall): fring_call, fring_wake_wait,
 * fring_grant_call and fring_grant_wake_wait, where a whole call/reply round is a few hundred
 * instructions and the frame a sizeable share of them. The frame here is
 * lean: the return state and the registers C may clobber (with the
 * arguments), stored into the TrapFrame's own slots; RBX, RBP and R12-R15
 * stay in their registers, which the Swift code preserves (SysV ABI), and
 * SYSRET returns with every register but RAX, RCX and R11 as it was. The
 * Swift function gets the arguments in the C ABI's registers, except the
 * fourth (R10, in the frame), whose place (RCX) takes the frame's address.
 * It answers the result in RAX and in RDX 0 (done), 1 (done, but the end
 * goes the general way: a signal to deliver) or 2 (declined, nothing
 * changed: the general path runs the call); for 1 and 2 the frame is
 * completed here first, so the rest sees the usual shape. Interrupts are
 * off on entry and exit (FMASK cleared IF); Swift turns them on only
 * around what can fault or block.
 */
/* What the lean frame stores on entry and loads on exit: the registers C
 * may clobber besides RAX, RCX and R11 (which SYSCALL and SYSRET own).
 * The rest stay in place while the Swift code runs (it preserves them)
 * and are stored only to complete the frame. */
#define LEAN_KEPT rdi, rsi, rdx, r8, r9, r10
#define LEAN_LEFT_IN_PLACE rbx, rbp, r12, r13, r14, r15

.macro LEAN_ENTRY label, function
\label:
    btq $47, %rcx                  /* SYSRET to a non-canonical RIP faults in ring 0 */
    jc .Lslow_path
    movq %rsp, %gs:PERCPU_USER_RSP
    movq %gs:PERCPU_KERNEL_STACK, %rsp
    subq $FRAME_SIZE, %rsp
    movq %rax, frame_rax(%rsp)
    movq %gs:PERCPU_USER_RSP, %rax
    movq %rax, FRAME_RSP(%rsp)
    movq %rcx, FRAME_RIP(%rsp)
    movq %r11, FRAME_RFLAGS(%rsp)
    .irp r, LEAN_KEPT
    movq %\r, frame_\r(%rsp)
    .endr
    cld
    movq %rsp, %rcx
    call \function
    jmp .Llean_exit
.endm
    LEAN_ENTRY .Lfast_fring_call, exo_fring_call_fast
    LEAN_ENTRY .Lfast_fring_wake_wait, exo_fring_wake_wait_fast
    LEAN_ENTRY .Lfast_fring_grant_call, exo_fring_grant_call_fast
    LEAN_ENTRY .Lfast_fring_grant_wake_wait, exo_fring_grant_wake_wait_fast

.Llean_exit:                       /* RAX = result, RDX = outcome */
    testl %edx, %edx
    jnz .Llean_slowly
    .irp r, LEAN_KEPT
    movq frame_\r(%rsp), %\r
    .endr
    movq FRAME_RIP(%rsp), %rcx
    movq FRAME_RFLAGS(%rsp), %r11
    movq FRAME_RSP(%rsp), %rsp
    swapgs
    sysretq

.Llean_slowly:
    cmpl $1, %edx
    jne 1f
    movq %rax, frame_rax(%rsp)     /* done: the result; declined: RAX stays the call's number */
1:  movq $USER_DS, FRAME_SS(%rsp)
    movq $USER_CS, FRAME_CS(%rsp)
    movq $SYSCALL_VECTOR, FRAME_VECTOR(%rsp)
    movq $0, FRAME_ERROR(%rsp)
    movq FRAME_RIP(%rsp), %rcx     /* RCX and R11 as SYSCALL left them */
    movq FRAME_RFLAGS(%rsp), %r11
    .irp r, rcx, r11, LEAN_LEFT_IN_PLACE
    movq %\r, frame_\r(%rsp)
    .endr
    movq %rsp, %rdi
    xorl %ebp, %ebp
    cmpl $1, %edx
    je 2f
    call exo_syscall               /* declined: the general path, from the start */
    jmp .Lsyscall_exit
2:  call exo_syscall_finish        /* done: only the end of the call is left */
    jmp .Lsyscall_exit

exo_return_by_iret_after_rdx:
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    swapgs
    iretq

/*
 * void exo_enter_user(const TrapFrame *frame): the first entry of a thread
 * to ring 3: RSP := frame (anywhere on the thread's kernel stack; entries
 * from ring 3 start again at its top), restore everything, IRETQ. Never
 * returns.
 */
    .global exo_enter_user
exo_enter_user:
    cli
    movq %rdi, %rsp
    POP_GPRS
    addq $16, %rsp
    swapgs
    iretq

/*
 * User-memory copies. Each returns 0 on success and nonzero if a fault
 * stopped it: the trap handler first tries to resolve the fault (demand
 * paging, copy-on-write) and resumes the instruction; only a fault it
 * cannot resolve lands on the fixup, which the caller turns into EFAULT.
 * The callers have already checked that the user range lies in user space.
 * The _smap variants open user access (STAC) for exactly the copy.
 *
 *   uint64_t exo_copy_user(void *dst, const void *src, uint64_t n)
 *   int64_t  exo_copy_string_user(char *dst, const char *src, uint64_t max)
 *       length without the NUL, or max if none within max bytes, or -1
 */
.macro COPY_USER name, open, close
    .global \name
\name:
    \open
    movq %rdx, %rcx
    shrq $3, %rcx
1:  rep movsq
    movq %rdx, %rcx
    andq $7, %rcx
2:  rep movsb
    \close
    xorl %eax, %eax
    ret
3:  \close
    movl $1, %eax
    ret
    EXTABLE(1b, 3b)
    EXTABLE(2b, 3b)
.endm

.macro COPY_STRING_USER name, open, close
    .global \name
\name:
    \open
    xorl %eax, %eax
1:  cmpq %rdx, %rax
    je 2f
3:  movb (%rsi,%rax), %cl
    movb %cl, (%rdi,%rax)
    testb %cl, %cl
    je 2f
    incq %rax
    jmp 1b
2:  \close
    ret
4:  \close
    movq $-1, %rax
    ret
    EXTABLE(3b, 4b)
.endm

    COPY_USER exo_copy_user, , 
    COPY_USER exo_copy_user_smap, stac, clac
    COPY_STRING_USER exo_copy_string_user, , 
    COPY_STRING_USER exo_copy_string_user_smap, stac, clac

    .section .data.syscall_fast_path, "aw"
/*
 * The system calls the entry answers on its own fast paths, in the order
 * of its compares: getpid, gettid, fring_wake_wait, fring_call,
 * fring_grant_call, fring_grant_wake_wait. -1 (no call has it) while the fast paths are off, as
 * until the kernel turns them on (SyscallDispatch.initialize).
 */
    .balign 8
    .global exo_fast_syscall_numbers
exo_fast_syscall_numbers:
    .quad -1, -1, -1, -1, -1, -1
