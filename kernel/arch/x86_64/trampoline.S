/*
 * Application-processor start-up code. The boot CPU copies the bytes
 * between exo_ap_trampoline_start and _end to physical AP_TRAMPOLINE
 * (0x8000, inside the first MiB the frame allocator never hands out),
 * fills in the parameter block at its end, and sends INIT-SIPI-SIPI with
 * vector 0x08: the AP starts in real mode at 0800:0000.
 *
 * Real mode -> protected mode (own tiny GDT) -> PAE, EFER.LME/NXE, the
 * kernel's CR3 -> long mode, still executing at 0x8xxx (the boot CPU
 * identity-maps that page in the kernel tables for the duration) -> jump to
 * the linked address of exo_ap_entry64 on the stack the boot CPU chose.
 *
 * Everything here is addressed as AP_TRAMPOLINE + (label - start), because
 * the code runs at the copy, not where it was linked.
 */
#define AP_TRAMPOLINE 0x8000
#define REL(label) (AP_TRAMPOLINE + (label - exo_ap_trampoline_start))

    .section .rodata.trampoline, "a"
    .global exo_ap_trampoline_start, exo_ap_trampoline_end, exo_ap_parameters
    .code16
exo_ap_trampoline_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl REL(trampoline_gdt_pointer)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $REL(protected_mode)

    .code32
protected_mode:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $0x20, %eax                      /* PAE */
    movl %eax, %cr4
    movl REL(ap_cr3), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx               /* EFER: LME, plus NXE if asked */
    rdmsr
    orl $0x100, %eax
    orl REL(ap_efer_extra), %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax                /* PG | WP | PE */
    movl %eax, %cr0
    ljmpl $0x18, $REL(long_mode)

    .code64
long_mode:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movq REL(ap_stack), %rsp
    movq REL(ap_cpu_index), %rdi
    movq REL(ap_entry), %rax
    xorl %ebp, %ebp
    jmp *%rax

    .balign 16
trampoline_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF              /* 0x08: 32-bit code */
    .quad 0x00CF92000000FFFF              /* 0x10: data */
    .quad 0x00AF9A000000FFFF              /* 0x18: 64-bit code */
trampoline_gdt_pointer:
    .short 4 * 8 - 1
    .long REL(trampoline_gdt)

    /* Parameter block, written by Swift (SMP.swift) before each start. */
    .balign 8
exo_ap_parameters:
ap_cr3:         .quad 0
ap_stack:       .quad 0
ap_entry:       .quad 0
ap_cpu_index:   .quad 0
ap_efer_extra:  .quad 0
exo_ap_trampoline_end:
