/*
 * args.c - the initial process stack: argv, envp and the auxiliary vector.
 *
 * runall.c starts every test as
 *     argv = { "/tests/args", "alpha", "beta gamma", "" }
 *     envp = { "UTEST=1", "PATH=/bin", "HOME=/" }
 * and this program checks that exact layout (Linux's order: argc, argv[],
 * NULL, envp[], NULL, auxv pairs ending in AT_NULL), plus the auxv entries
 * musl and glibc start-up code read: AT_PAGESZ, AT_RANDOM, AT_PHDR/AT_PHNUM/
 * AT_PHENT, AT_ENTRY, AT_EXECFN.
 */
#include "utest.h"

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>

extern char **environ;
extern void _start(void);

static void check_argv(int argc, char **argv)
{
    static const char *want[] = {"/tests/args", "alpha", "beta gamma", ""};
    CHECK("args_argc", argc == 4);
    if (argc != 4)
        return;
    for (int i = 0; i < 4; i++) {
        if (strcmp(argv[i], want[i]) != 0) {
            utest_fail("args_argv", "argv[%d] is \"%s\", want \"%s\"", i, argv[i], want[i]);
            return;
        }
    }
    utest_pass("args_argv");
    CHECK("args_argv_null", argv[argc] == NULL);
    for (int i = 0; i < argc; i++)
        utest_print("args: argv[%d] = \"%s\"\n", i, argv[i]);
}

static void check_envp(int argc, char **argv, char **envp)
{
    CHECK("args_envp_follows_argv", envp == argv + argc + 1);
    CHECK("args_environ", environ == envp);
    const char *u = getenv("UTEST"), *p = getenv("PATH"), *h = getenv("HOME");
    CHECK("args_env_utest", u && strcmp(u, "1") == 0);
    CHECK("args_env_path", p && strcmp(p, "/bin") == 0);
    CHECK("args_env_home", h && strcmp(h, "/") == 0);
    int n = 0;
    while (envp[n])
        n++;
    CHECK("args_envc", n == 3);
    if (u)
        utest_print("args: UTEST=%s PATH=%s HOME=%s\n", u, p ? p : "(null)", h ? h : "(null)");
}

/* The auxv starts right after envp's NULL; walk it by hand too, so the raw
 * layout is checked and not only musl's copy of it. */
static void check_auxv(char **envp)
{
    char **e = envp;
    while (*e)
        e++;
    Elf64_auxv_t *aux = (Elf64_auxv_t *)(e + 1);
    int count = 0, saw_pagesz = 0;
    for (; aux->a_type != AT_NULL && count < 64; aux++, count++)
        if (aux->a_type == AT_PAGESZ && aux->a_un.a_val == 4096)
            saw_pagesz = 1;
    CHECK("args_auxv_terminated", count < 64);
    CHECK("args_auxv_raw_pagesz", saw_pagesz);

    CHECK("args_at_pagesz", getauxval(AT_PAGESZ) == 4096);

    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    CHECK("args_at_random", rnd != NULL);
    if (rnd) {
        int nonzero = 0;
        for (int i = 0; i < 16; i++)
            nonzero |= rnd[i];
        CHECK("args_at_random_bytes", nonzero);
    }

    const Elf64_Phdr *phdr = (const Elf64_Phdr *)getauxval(AT_PHDR);
    unsigned long phnum = getauxval(AT_PHNUM);
    CHECK("args_at_phent", getauxval(AT_PHENT) == sizeof(Elf64_Phdr));
    CHECK("args_at_phnum", phnum >= 2 && phnum < 64);
    CHECK("args_at_phdr", phdr != NULL);
    if (phdr && phnum < 64) {
        /* AT_PHDR must point at this program's own headers: a PT_LOAD
         * segment covers the headers themselves and another covers main. */
        int covers_phdr = 0, covers_text = 0;
        uintptr_t self = (uintptr_t)phdr, text = (uintptr_t)&check_auxv;
        for (unsigned long i = 0; i < phnum; i++) {
            if (phdr[i].p_type != PT_LOAD)
                continue;
            uintptr_t lo = phdr[i].p_vaddr, hi = lo + phdr[i].p_memsz;
            covers_phdr |= self >= lo && self < hi;
            covers_text |= text >= lo && text < hi && (phdr[i].p_flags & PF_X);
        }
        CHECK("args_at_phdr_self", covers_phdr);
        CHECK("args_at_phdr_text", covers_text);
    }
    CHECK("args_at_entry", getauxval(AT_ENTRY) == (unsigned long)&_start);
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    CHECK("args_at_execfn", execfn && strcmp(execfn, "/tests/args") == 0);
    CHECK("args_at_uid", getauxval(AT_UID) == (unsigned long)getuid());
}

/* The ABI requires %rsp % 16 == 0 at _start, so 16-byte aligned locals are
 * aligned in main; misaligned stacks break SSE spills in libc. */
static void check_stack_alignment(void)
{
    _Alignas(16) volatile char probe[16];
    CHECK("args_stack_aligned", ((uintptr_t)probe & 15) == 0);
}

int main(int argc, char **argv, char **envp)
{
    check_argv(argc, argv);
    check_envp(argc, argv, envp);
    check_auxv(envp);
    check_stack_alignment();
    return utest_exit();
}
