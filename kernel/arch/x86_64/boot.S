/*
 * Exo boot entry: the loader's 32-bit protected mode to Swift's kmain.
 *
 * Both loaders enter here with paging off, EAX = magic, EBX = physical
 * address of the boot information:
 *   - QEMU -kernel reads the multiboot1 header (a.out kludge: the addresses
 *     below tell it where to load the file, since it refuses ELF64);
 *   - GRUB reads the multiboot2 header and loads the ELF by physical address.
 *
 * The kernel is linked at KERNEL_BASE + 1 MiB (low canonical half, see
 * docs/memory-map.md) and loaded at physical 1 MiB, so until paging is on
 * every symbol is used as (symbol - KERNEL_BASE): the linker resolves those
 * to 32-bit physical addresses.
 *
 * Boot page tables: one PDPT, shared by PML4[0] (identity, needed while the
 * instruction pointer is still physical) and PML4[128] (the direct map at
 * KERNEL_BASE), maps the first 4 GiB with 2 MiB pages. The identity entry is
 * removed before Swift runs, so the null page and all user space are unmapped.
 */
#include "layout.h"

    .section .multiboot1, "a"
    .balign 4
multiboot1_header:
    .long MB1_MAGIC
    .long MB1_FLAGS
    .long -(MB1_MAGIC + MB1_FLAGS)
    .long multiboot1_header - KERNEL_BASE      /* header_addr */
    .long __image_start - KERNEL_BASE          /* load_addr */
    .long __load_end - KERNEL_BASE             /* load_end_addr: file-backed part */
    .long __image_end - KERNEL_BASE            /* bss_end_addr: loader zeroes up to here */
    .long exo_entry32 - KERNEL_BASE            /* entry_addr */

    .section .multiboot2, "a"
    .balign 8
multiboot2_header:
    .long MB2_MAGIC
    .long 0                                    /* architecture: i386 protected mode */
    .long multiboot2_header_end - multiboot2_header
    .long -(MB2_MAGIC + 0 + (multiboot2_header_end - multiboot2_header))
    /* entry address tag: the 32-bit physical entry, whatever e_entry says */
    .balign 8
    .short 3, 0
    .long 12
    .long exo_entry32 - KERNEL_BASE
    /* module alignment tag: modules page-aligned */
    .balign 8
    .short 6, 0
    .long 8
    /* end tag */
    .balign 8
    .short 0, 0
    .long 8
multiboot2_header_end:

    .section .boot.text, "ax"
    .code32
    .global exo_entry32
exo_entry32:
    cli
    cld
    /* Save the loader's registers first: cpuid and rep stos clobber them. */
    movl %eax, boot_magic - KERNEL_BASE
    movl %ebx, boot_info_address - KERNEL_BASE
    /* The TSC at our first instruction: under -icount, the guest
     * instructions firmware and loader took (see the boot-time figures). */
    rdtsc
    movl %eax, boot_entry_timestamp - KERNEL_BASE
    movl %edx, boot_entry_timestamp - KERNEL_BASE + 4

    /* Zero the BSS. Boot page tables and stacks live in .bootstrap (below
     * __bss_start) and the early heap above __bss_end, so neither is wiped
     * later nor costs time here. */
    movl $(__bss_start - KERNEL_BASE), %edi
    movl $(__bss_end - KERNEL_BASE), %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb

    movl $(boot_stack_top - KERNEL_BASE), %esp

    /* Long mode needs CPUID leaf 0x80000001 EDX.LM (bit 29). */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    btl $29, %edx
    jnc no_long_mode

    /* PML4[0] and PML4[128] -> boot_pdpt; boot_pdpt[0..3] -> boot_pd[0..3]. */
    movl $(boot_pdpt - KERNEL_BASE + PTE_PRESENT + PTE_WRITABLE), %eax
    movl %eax, boot_pml4 - KERNEL_BASE
    movl %eax, boot_pml4 - KERNEL_BASE + KERNEL_PML4_INDEX * 8
    movl $(boot_pd - KERNEL_BASE + PTE_PRESENT + PTE_WRITABLE), %eax
    movl $(boot_pdpt - KERNEL_BASE), %edi
    movl $4, %ecx
1:  movl %eax, (%edi)
    addl $4096, %eax
    addl $8, %edi
    loop 1b

    /* 2048 PD entries of 2 MiB each: 4 GiB. The high dword of the physical
     * address is zero below 4 GiB, and the tables are zero already. */
    movl $(boot_pd - KERNEL_BASE), %edi
    movl $(PTE_PRESENT + PTE_WRITABLE + PTE_HUGE), %eax
    movl $2048, %ecx
2:  movl %eax, (%edi)
    addl $0x200000, %eax
    addl $8, %edi
    loop 2b

    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $(boot_pml4 - KERNEL_BASE), %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_PE), %eax
    movl %eax, %cr0

    lgdt boot_gdt_pointer - KERNEL_BASE
    ljmp $BOOT_CODE_SELECTOR, $(exo_entry64_low - KERNEL_BASE)

no_long_mode:
    /* Say why on COM1 (the loader left it usable at its default rate). */
    movl $(no_long_mode_message - KERNEL_BASE), %esi
3:  movb (%esi), %al
    testb %al, %al
    jz 4f
    movw $0x3f8, %dx
    outb %al, %dx
    incl %esi
    jmp 3b
4:  hlt
    jmp 4b

    .code64
exo_entry64_low:
    /* Still running at the physical address: jump to the linked one. */
    movabsq $exo_entry64, %rax
    jmp *%rax

    .section .text.boot64, "ax"
    .global exo_entry64
exo_entry64:
    movw $BOOT_DATA_SELECTOR, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs

    movabsq $boot_stack_top, %rsp
    /* The GDTR must hold a linked (direct-map) base before the identity map goes. */
    movabsq $boot_gdt, %rax
    movabsq $boot_gdt_pointer, %rbx
    movq %rax, 2(%rbx)
    lgdt (%rbx)

    /* Drop the identity map: from here on only the kernel half is mapped. */
    movabsq $boot_pml4, %rax
    movq $0, (%rax)
    movq %cr3, %rax
    movq %rax, %cr3

    xorl %ebp, %ebp              /* backtraces stop at a zero frame pointer */
    movabsq $boot_magic, %rax
    movl (%rax), %edi
    movabsq $boot_info_address, %rax
    movl (%rax), %esi
    call kmain
5:  cli
    hlt
    jmp 5b

    .section .rodata
no_long_mode_message:
    .asciz "Exo: this CPU has no 64-bit long mode; halting.\r\n"

    .section .data
    .balign 8
    .global boot_magic, boot_info_address, boot_entry_timestamp
boot_entry_timestamp:
    .quad 0
boot_magic:
    .long 0
boot_info_address:
    .long 0

    /* The boot CPU's per-CPU record until SMP.initializeBootCPU builds the
     * table: GS base points here from kmain's first line, so per-CPU reads
     * (CPU index for the heap cache) work before the heap exists.
     * Layout of SMP.PerCPU: self address, index, APIC ID, ... — 128 bytes
     * here, at least MemoryLayout<SMP.PerCPU>.size (useBootRecord checks). */
    .balign 64
    .global exo_boot_percpu
exo_boot_percpu:
    .quad 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0

    /* Temporary GDT for the switch: null, 64-bit code, data. Swift installs
     * the real one (with user segments and the TSS) in kmain. */
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
boot_gdt_end:
    .balign 16
boot_gdt_pointer:
    .short boot_gdt_end - boot_gdt - 1
    .quad boot_gdt - KERNEL_BASE

    /*
     * .bootstrap: page-aligned, not file-backed, not zeroed by the entry code
     * (the loader hands over zeroed memory up to bss_end_addr / p_memsz).
     */
    .section .bootstrap, "aw", @nobits
    .balign 4096
    .global boot_pml4, boot_pdpt, boot_pd, boot_stack_guard_page, boot_stack_bottom, boot_stack_top
    .global boot_split_pt
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4096 * 4
    /* A page table Swift uses to split the 2 MiB page holding the stack guard. */
boot_split_pt:
    .skip 4096
    /* Unmapped by Swift at boot: an overflow of the boot stack faults here. */
boot_stack_guard_page:
    .skip 4096
boot_stack_bottom:
    .skip BOOT_STACK_SIZE
boot_stack_top:

    /* Interrupt Stack Table stacks: double fault, NMI, machine check each get
     * a known-good stack, so a kernel stack overflow still reaches a handler.
     * Each is [guard page][IST_STACK_SIZE]; the kernel address space leaves
     * the guard pages unmapped (DescriptorTables.interruptStackTop). */
    .balign 4096
    .global exo_ist_stacks
exo_ist_stacks:
    .skip (4096 + IST_STACK_SIZE) * 3

    /* The early heap arena (mm/EarlyHeap.swift): not zeroed, not file-backed. */
    .section .early_heap, "aw", @nobits
    .balign 4096
    .global exo_early_heap_start, exo_early_heap_end
exo_early_heap_start:
    .skip EARLY_HEAP_SIZE
exo_early_heap_end:
