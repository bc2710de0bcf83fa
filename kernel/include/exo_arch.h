/*
 * The raw x86_64 operations Swift cannot express: port I/O, MSRs, control
 * registers, descriptor-table loads, TLB and interrupt-flag control.
 *
 * This is the only C header the kernel imports (as module CExoArch). Swift
 * code calls these through the typed wrappers in kernel/Sources/arch/CPU.swift;
 * nothing else should call them directly.
 */
#ifndef EXO_ARCH_H
#define EXO_ARCH_H

#include <stdint.h>

/* Every wrapper must inline into its Swift caller: Swift's optimizer at
 * -Osize otherwise calls them out of line, turning `cli` into a call. */
#define EXO_INLINE static inline __attribute__((always_inline))

/* ---- Port I/O ---- */
EXO_INLINE void exo_outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
EXO_INLINE uint8_t exo_inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
EXO_INLINE void exo_outl(uint16_t port, uint32_t value) {
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}
EXO_INLINE uint32_t exo_inl(uint16_t port) {
    uint32_t value;
    __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

/* ---- Memory-mapped device registers ----
 * Volatile and exactly 32 bits wide: without this the optimizer may merge,
 * drop or narrow accesses (it turned `reg & 0xFF` into a byte load, which
 * the APIC does not answer). */
EXO_INLINE uint32_t exo_mmio_read32(uint64_t address) {
    return *(volatile uint32_t *)(uintptr_t)address;
}
EXO_INLINE void exo_mmio_write32(uint64_t address, uint32_t value) {
    *(volatile uint32_t *)(uintptr_t)address = value;
}

/* ---- Model-specific registers ---- */
EXO_INLINE uint64_t exo_rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
EXO_INLINE void exo_wrmsr(uint32_t msr, uint64_t value) {
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

/* ---- Control registers ---- */
EXO_INLINE uint64_t exo_read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
EXO_INLINE uint64_t exo_read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
EXO_INLINE uint64_t exo_read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
EXO_INLINE uint64_t exo_read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
EXO_INLINE void exo_write_cr0(uint64_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
EXO_INLINE void exo_write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
EXO_INLINE void exo_write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

/* ---- Descriptor tables ---- */
struct __attribute__((packed)) exo_table_pointer { uint16_t limit; uint64_t base; };

EXO_INLINE void exo_lgdt(uint64_t base, uint16_t limit) {
    struct exo_table_pointer p = { limit, base };
    __asm__ volatile("lgdt %0" : : "m"(p) : "memory");
}
EXO_INLINE void exo_lidt(uint64_t base, uint16_t limit) {
    struct exo_table_pointer p = { limit, base };
    __asm__ volatile("lidt %0" : : "m"(p) : "memory");
}
EXO_INLINE uint64_t exo_sgdt_base(void) { struct exo_table_pointer p; __asm__ volatile("sgdt %0" : "=m"(p)); return p.base; }
EXO_INLINE uint16_t exo_sgdt_limit(void) { struct exo_table_pointer p; __asm__ volatile("sgdt %0" : "=m"(p)); return p.limit; }
EXO_INLINE uint64_t exo_sidt_base(void) { struct exo_table_pointer p; __asm__ volatile("sidt %0" : "=m"(p)); return p.base; }
EXO_INLINE uint16_t exo_sidt_limit(void) { struct exo_table_pointer p; __asm__ volatile("sidt %0" : "=m"(p)); return p.limit; }
EXO_INLINE void exo_ltr(uint16_t selector) { __asm__ volatile("ltr %0" : : "r"(selector) : "memory"); }
EXO_INLINE uint16_t exo_str(void) { uint16_t s; __asm__ volatile("str %0" : "=r"(s)); return s; }
EXO_INLINE uint16_t exo_read_cs(void) { uint16_t s; __asm__ volatile("mov %%cs, %0" : "=r"(s)); return s; }
EXO_INLINE uint16_t exo_read_ss(void) { uint16_t s; __asm__ volatile("mov %%ss, %0" : "=r"(s)); return s; }

/* Reload CS (far return) and the data segment registers after a new GDT. */
EXO_INLINE void exo_reload_segments(uint16_t code, uint16_t data) {
    __asm__ volatile(
        "pushq %q0\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw %w1, %%ds\n\t"
        "movw %w1, %%es\n\t"
        "movw %w1, %%ss\n\t"
        : : "r"((uint64_t)code), "r"(data) : "rax", "memory");
}

/* ---- TLB, interrupts, timing ---- */
EXO_INLINE void exo_invlpg(uint64_t address) { __asm__ volatile("invlpg (%0)" : : "r"(address) : "memory"); }
EXO_INLINE void exo_cli(void) { __asm__ volatile("cli" : : : "memory"); }
EXO_INLINE void exo_sti(void) { __asm__ volatile("sti" : : : "memory"); }
EXO_INLINE void exo_hlt(void) { __asm__ volatile("hlt" : : : "memory"); }
/* sti; hlt as one pair: an interrupt arriving between them still wakes hlt. */
EXO_INLINE void exo_sti_hlt(void) { __asm__ volatile("sti; hlt" : : : "memory"); }
EXO_INLINE void exo_pause(void) { __asm__ volatile("pause"); }
EXO_INLINE uint64_t exo_read_rflags(void) { uint64_t f; __asm__ volatile("pushfq; popq %0" : "=r"(f)); return f; }
EXO_INLINE uint64_t exo_read_rbp(void) { uint64_t v; __asm__ volatile("mov %%rbp, %0" : "=r"(v)); return v; }
EXO_INLINE uint64_t exo_read_rsp(void) { uint64_t v; __asm__ volatile("mov %%rsp, %0" : "=r"(v)); return v; }

/* rdtsc after lfence, so earlier instructions have finished (on real CPUs;
 * under QEMU icount it counts guest instructions either way). */
EXO_INLINE uint64_t exo_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

struct exo_cpuid_result { uint32_t eax, ebx, ecx, edx; };
EXO_INLINE struct exo_cpuid_result exo_cpuid(uint32_t leaf, uint32_t subleaf) {
    struct exo_cpuid_result r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

/* A breakpoint trap at the call site (the exception_roundtrip benchmark). */
EXO_INLINE void exo_int3(void) { __asm__ volatile("int3" : : : "memory"); }

/* RDRAND: returns 1 and stores a random value when the CPU delivered one. */
EXO_INLINE int exo_rdrand64(uint64_t *value) {
    unsigned char ok;
    __asm__ volatile("rdrand %0; setc %1" : "=r"(*value), "=qm"(ok));
    return ok;
}

/* FPU/SSE state save and restore (512-byte, 16-byte aligned area). */
EXO_INLINE void exo_fxsave(void *area) { __asm__ volatile("fxsave64 (%0)" : : "r"(area) : "memory"); }
EXO_INLINE void exo_fxrstor(const void *area) { __asm__ volatile("fxrstor64 (%0)" : : "r"(area) : "memory"); }

/* x87 state: Swift's Dictionary growth computes with x87 (the kernel is built
 * without SSE), so the FPU must be initialised before any Dictionary grows. */
EXO_INLINE void exo_fninit(void) { __asm__ volatile("fninit"); }

/* ---- Symbols from assembly and the linker script ----
 * Swift cannot import `extern char sym[]` (incomplete arrays come in as
 * invalid declarations), so each symbol gets an accessor returning its
 * address. */
#define EXO_LINKER_SYMBOL(name) \
    extern char name[]; \
    EXO_INLINE uint64_t name##_address(void) { return (uint64_t)(uintptr_t)name; }

EXO_LINKER_SYMBOL(__image_start)
EXO_LINKER_SYMBOL(__image_end)
EXO_LINKER_SYMBOL(__text_start)
EXO_LINKER_SYMBOL(__text_end)
EXO_LINKER_SYMBOL(__rodata_start)
EXO_LINKER_SYMBOL(__rodata_end)
EXO_LINKER_SYMBOL(__data_start)
EXO_LINKER_SYMBOL(__bss_start)
EXO_LINKER_SYMBOL(__bss_end)
EXO_LINKER_SYMBOL(__ksyms_start)
EXO_LINKER_SYMBOL(__ksyms_end)
EXO_LINKER_SYMBOL(__extable_start)
EXO_LINKER_SYMBOL(__extable_end)
EXO_LINKER_SYMBOL(boot_pd)
EXO_LINKER_SYMBOL(boot_split_pt)
EXO_LINKER_SYMBOL(boot_stack_guard_page)
EXO_LINKER_SYMBOL(boot_stack_bottom)
EXO_LINKER_SYMBOL(boot_stack_top)
EXO_LINKER_SYMBOL(exo_early_heap_start)
EXO_LINKER_SYMBOL(exo_early_heap_end)
EXO_LINKER_SYMBOL(exo_ist_stacks)
/* Probe instruction addresses (probes.S). */
EXO_LINKER_SYMBOL(exo_probe_int3_next)
EXO_LINKER_SYMBOL(exo_probe_ud2_fault)
EXO_LINKER_SYMBOL(exo_probe_read_fault)
EXO_LINKER_SYMBOL(exo_probe_write_fault)
EXO_LINKER_SYMBOL(exo_probe_divide_fault)
EXO_LINKER_SYMBOL(exo_probe_call_fault)
EXO_LINKER_SYMBOL(exo_stack_probe_resume)

extern const uint64_t exo_trap_stubs[32];
extern uint64_t boot_entry_timestamp;   /* TSC at exo_entry32 (boot.S) */
extern const uint64_t exo_interrupt_stubs[224];   /* vectors 32..255 */

/* Probes (probes.S): deliberate faults at the addresses above. */
extern uint64_t exo_probe_int3(void);
extern void exo_probe_ud2(void);
extern uint64_t exo_probe_read(uint64_t address);
extern void exo_probe_write(uint64_t address, uint64_t value);
extern uint64_t exo_probe_divide(uint64_t dividend, uint64_t divisor);
extern uint64_t exo_probe_call(uint64_t address);
extern void exo_capture_registers(void *frame);
extern void exo_empty_function(void);
extern void exo_probe_exhaust_stack(void);
/*
 * The windowed context switch, inline at each switch site.
 *
 * Saves the outgoing thread's x87/SSE state, loads the incoming one's
 * (both areas 512 bytes, 16-byte aligned, as fxsave requires), pushes the
 * frame pointer and this site's resume address (label 1) on the outgoing
 * stack, parks that stack pointer in *save_rsp, and returns into the
 * incoming thread through the resume address on its stack. When another
 * thread later switches back, execution continues at label 1 with every
 * general register but rsp and rbp holding the other thread's values:
 * the clobber list says exactly that, so the compiler keeps across the
 * switch only the values that are live here, in this frame — the window
 * is what the site needs, not every callee-saved register. rbp is the
 * frame pointer, which cannot be a clobber, so it rides on the stack.
 *
 * Stack contract (Threads.prepareStack builds it for a new thread):
 *   *save_rsp -> [resume address][saved rbp]
 * The kernel has no red zone (-mno-red-zone), so the pushes are safe.
 */
EXO_INLINE void exo_switch_context(uint64_t *save_rsp, uint64_t new_rsp, void *save_fpu, const void *load_fpu) {
    __asm__ volatile(
        "fxsave64 (%[save_fpu])\n\t"
        "fxrstor64 (%[load_fpu])\n\t"
        "pushq %%rbp\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "movq %%rsp, (%[save_rsp])\n\t"
        "movq %[new_rsp], %%rsp\n\t"
        "ret\n"
        "1:\n\t"
        "popq %%rbp"
        : [save_rsp] "+D"(save_rsp), [new_rsp] "+S"(new_rsp), [save_fpu] "+d"(save_fpu), [load_fpu] "+c"(load_fpu)
        :
        : "rax", "rbx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "memory", "cc");
}
EXO_LINKER_SYMBOL(exo_thread_trampoline)
EXO_LINKER_SYMBOL(exo_ap_trampoline_start)
EXO_LINKER_SYMBOL(exo_ap_trampoline_end)
EXO_LINKER_SYMBOL(exo_ap_parameters)
EXO_LINKER_SYMBOL(exo_boot_percpu)
/* The Swift entry of application processors (@_cdecl in SMP.swift). */
extern void exo_ap_entry(uint64_t cpu_index);
EXO_INLINE uint64_t exo_ap_entry_address(void) { return (uint64_t)(uintptr_t)&exo_ap_entry; }

/* Per-CPU data: GS base points at the CPU's record, whose first word is its
 * own address (so one gs-relative load finds it). */
EXO_INLINE uint64_t exo_read_gs_self(void) { uint64_t v; __asm__ volatile("movq %%gs:0, %0" : "=r"(v)); return v; }
/* The running thread's id (PerCPU.currentThread, offset 48) in ONE
 * instruction: an interrupt, and with it a preemption that moves the caller
 * to another CPU, can come before or after it but not inside, so the value
 * read is the caller's own on whichever CPU it ran. A read through
 * exo_read_gs_self and then a table could pair one CPU with another's
 * running thread. */
EXO_INLINE uint32_t exo_read_gs_current_thread(void) { uint32_t v; __asm__ volatile("movl %%gs:48, %0" : "=r"(v)); return v; }
/* This CPU's index (PerCPU.index, offset 8) in one load. */
EXO_INLINE uint64_t exo_read_gs_index(void) { uint64_t v; __asm__ volatile("movq %%gs:8, %0" : "=r"(v)); return v; }
extern uint64_t exo_stack_overflow_probe(uint64_t stack_top);
extern uint64_t exo_stack_probe_saved_rsp;

/* Ring 3 (syscall.S). */
EXO_LINKER_SYMBOL(exo_syscall_entry)
/* The numbers syscall.S answers on its fast paths (getpid, gettid,
 * fring_wake_wait, fring_call, fring_grant_call, fring_grant_wake_wait),
 * -1 each while they are off (Syscalls.fastPaths). */
extern int64_t exo_fast_syscall_numbers[6];
/* A Fusion Ring fast path's answer to syscall.S, in RAX and RDX: the
 * call's result, and how to leave (0 done, 1 done but the end goes the
 * general way, 2 declined: IPCFastCall.Outcome). */
typedef struct {
    int64_t result;
    uint64_t outcome;
} exo_fast_answer;
extern void exo_enter_user(const void *frame) __attribute__((noreturn));
extern uint64_t exo_copy_user(void *dst, const void *src, uint64_t n);
extern uint64_t exo_copy_user_smap(void *dst, const void *src, uint64_t n);
extern int64_t exo_copy_string_user(char *dst, const char *src, uint64_t max);
extern int64_t exo_copy_string_user_smap(char *dst, const char *src, uint64_t max);

#endif
