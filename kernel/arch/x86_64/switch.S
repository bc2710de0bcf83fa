    .section .text.switch, "ax"

/*
 * First code a new thread runs. The context switch (exo_switch_context in
 * exo_arch.h) returns here through the resume-address slot of the frame
 * Threads.prepareStack built; the next slot, where a switched-out thread
 * keeps its rbp, holds the new thread's id. Calls the Swift entry (which
 * never returns) with rdi = thread id; rbp = 0 ends backtraces here. rsp
 * is 16-byte aligned at the call (the frame sits at the stack's top).
 */
    .global exo_thread_trampoline
exo_thread_trampoline:
    popq %rdi
    xorl %ebp, %ebp
    call exo_thread_entry
    ud2
