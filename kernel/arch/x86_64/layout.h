/*
 * Constants shared by the boot and entry assembly. The Swift side has the
 * same values in kernel/Sources/arch/MemoryLayout.swift; tests check they agree.
 */
#ifndef EXO_LAYOUT_H
#define EXO_LAYOUT_H

#define KERNEL_BASE         0x0000400000000000
#define KERNEL_PML4_INDEX   128                 /* KERNEL_BASE >> 39 */

#define MB1_MAGIC           0x1BADB002
/* page-align modules | memory info | a.out kludge address fields */
#define MB1_FLAGS           0x00010003
#define MB2_MAGIC           0xE85250D6

#define PTE_PRESENT         0x1
#define PTE_WRITABLE        0x2
#define PTE_HUGE            0x80

#define CR0_PE              0x00000001
#define CR0_PG              0x80000000
#define CR4_PAE             0x00000020
#define MSR_EFER            0xC0000080
#define EFER_LME            0x00000100

#define BOOT_CODE_SELECTOR  0x08
#define BOOT_DATA_SELECTOR  0x10

#define BOOT_STACK_SIZE     (64 * 1024)
#define IST_STACK_SIZE      (16 * 1024)
#define EARLY_HEAP_SIZE     (2 * 1024 * 1024)

#endif
