/*
 * badptr.c - hostile pointers handed to syscalls must come back as -1/EFAULT
 * (or EINVAL where Linux checks another argument first), never crash the
 * kernel or the process, and never write anywhere.
 *
 * Bad pointers tried for every pointer argument:
 *   NULL, 0x1, a page this program unmapped, the top user page,
 *   0x0000400000000000 and 0x00007fff00000000 (the upper part of the lower
 *   half, where Exo may keep kernel mappings; unmapped user space on Linux),
 *   0x8000000000000000 (non-canonical), 0xffff800000000000 and
 *   0xffffffff81000000 (kernel half), and a buffer that runs off the end of
 *   a mapping. Addresses that happen to be mapped on this run are skipped
 *   (mincore tells), so the check stays exact.
 * Misaligned pointers into valid memory must work: no syscall requires
 * alignment of user buffers.
 *
 * Raw syscalls throughout: libc wrappers (and the vDSO) would touch the
 * pointers themselves and fault in user space first.
 */
#include "utest.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#define PAGE 4096

struct bad {
    const char *name;
    uintptr_t addr;
};

static struct bad bads[16];
static int nbads;
static char *edge; /* last 8 bytes of a mapping followed by an unmapped page */

static int page_mapped(uintptr_t addr)
{
    unsigned char vec;
    return syscall(SYS_mincore, addr & ~(uintptr_t)(PAGE - 1), PAGE, &vec) == 0;
}

static void add_bad(const char *name, uintptr_t addr)
{
    /* Canonical user addresses must be unmapped here (and the next page, for
     * structures that straddle); the others cannot be mapped at all. */
    if (addr < 0x0000800000000000 && addr >= PAGE && (page_mapped(addr) || page_mapped(addr + PAGE))) {
        utest_print("badptr: skipping %s 0x%lx (mapped on this run)\n", name, (unsigned long)addr);
        return;
    }
    bads[nbads].name = name;
    bads[nbads].addr = addr;
    nbads++;
}

/* bads[0] must be NULL: EACH_BAD_NONNULL starts at index 1. */
static void setup(void)
{
    char *two = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(two + PAGE, 2 * PAGE);
    edge = two + PAGE - 8;
    add_bad("null", 0);
    add_bad("one", 1);
    add_bad("unmapped", (uintptr_t)(two + PAGE));
    add_bad("high_user_4000", 0x0000400000000000);
    add_bad("high_user_7fff", 0x00007fff00000000);
    add_bad("top_user_page", 0x00007ffffffff000);
    add_bad("noncanonical", 0x8000000000000000);
    add_bad("kernel_ffff8", 0xffff800000000000);
    add_bad("kernel_text", 0xffffffff81000000);
    add_bad("minus_one", (uintptr_t)-1);
}

/* expect: one result; counted per syscall, reported once per syscall with
 * the first offending pointer class, to keep the output short. */
static char first_bad[160];
static void expect(const char *bad_name, long r, int want)
{
    if (r == -1 && errno == want)
        return;
    if (!first_bad[0])
        snprintf(first_bad, sizeof first_bad, "%s: returned %ld errno %d (%s), want %s", bad_name, r,
                 errno, strerror(errno), strerror(want));
}

static void report(const char *name)
{
    if (first_bad[0])
        utest_fail(name, "%s", first_bad);
    else
        utest_pass(name);
    first_bad[0] = 0;
}

/* For each bad pointer p: run `call` with errno cleared and expect `err`.
 * EACH_BAD_NONNULL skips NULL, for arguments where NULL means "none". */
#define EACH_BAD_FROM(test, err, call, first)                                 \
    do {                                                                      \
        for (int i_ = (first); i_ < nbads; i_++) {                            \
            void *p = (void *)bads[i_].addr;                                  \
            errno = 0;                                                        \
            long r_ = (long)(call);                                           \
            expect(bads[i_].name, r_, err);                                   \
        }                                                                     \
        report(test);                                                         \
    } while (0)
#define EACH_BAD(test, err, call) EACH_BAD_FROM(test, err, call, 0)
#define EACH_BAD_NONNULL(test, err, call) EACH_BAD_FROM(test, err, call, 1)

static void io(void)
{
    int file = open("/etc/motd", O_RDONLY);
    int fds[2];
    pipe(fds);
    EACH_BAD("badptr_read_file", EFAULT, syscall(SYS_read, file, p, 16));
    write(fds[1], "0123456789abcdef", 16);
    EACH_BAD("badptr_read_pipe", EFAULT, syscall(SYS_read, fds[0], p, 16));
    EACH_BAD("badptr_write_pipe", EFAULT, syscall(SYS_write, fds[1], p, 16));
    EACH_BAD("badptr_pread", EFAULT, syscall(SYS_pread64, file, p, 16, 0));
    EACH_BAD("badptr_pwrite", EFAULT, syscall(SYS_pwrite64, fds[1], p, 16, 0) == -1 && errno == ESPIPE
                                          ? (errno = EFAULT, -1) : -2);

    struct iovec iov = {.iov_len = 16};
    EACH_BAD("badptr_readv_iov", EFAULT, syscall(SYS_readv, file, p, 1));
    EACH_BAD("badptr_readv_base", EFAULT, (iov.iov_base = p, syscall(SYS_readv, file, &iov, 1)));
    EACH_BAD("badptr_writev_iov", EFAULT, syscall(SYS_writev, fds[1], p, 1));
    EACH_BAD("badptr_writev_base", EFAULT, (iov.iov_base = p, syscall(SYS_writev, fds[1], &iov, 1)));
    char ok[32];
    iov.iov_base = ok;
    CHECK_ERR("badptr_readv_negative_count", syscall(SYS_readv, file, &iov, -1), EINVAL);
    CHECK_ERR("badptr_readv_huge_count", syscall(SYS_readv, file, &iov, 1025), EINVAL);
    iov.iov_len = (size_t)-1;
    CHECK_ERR("badptr_readv_huge_len", syscall(SYS_readv, file, &iov, 1), EINVAL);

    /* A short buffer ending at an unmapped page: what fits is written. */
    lseek(file, 0, SEEK_SET);
    long n = syscall(SYS_read, file, edge, 16);
    CHECK("badptr_read_edge_partial", n == 8 && memcmp(edge, "Welcome ", 8) == 0);

    /* Misaligned but valid pointers work. */
    lseek(file, 0, SEEK_SET);
    CHECK("badptr_read_misaligned_ok", syscall(SYS_read, file, ok + 3, 7) == 7 && memcmp(ok + 3, "Welcome", 7) == 0);
    close(file);
    close(fds[0]);
    close(fds[1]);
}

static void paths(void)
{
    struct stat st;
    EACH_BAD("badptr_open", EFAULT, syscall(SYS_open, p, O_RDONLY));
    EACH_BAD("badptr_openat", EFAULT, syscall(SYS_openat, AT_FDCWD, p, O_RDONLY));
    EACH_BAD("badptr_stat_path", EFAULT, syscall(SYS_stat, p, &st));
    EACH_BAD("badptr_stat_buf", EFAULT, syscall(SYS_stat, "/etc/motd", p));
    EACH_BAD("badptr_newfstatat", EFAULT, syscall(SYS_newfstatat, AT_FDCWD, "/etc/motd", p, 0));
    EACH_BAD("badptr_fstat", EFAULT, syscall(SYS_fstat, 0, p));
    EACH_BAD("badptr_access", EFAULT, syscall(SYS_access, p, F_OK));
    EACH_BAD("badptr_chdir", EFAULT, syscall(SYS_chdir, p));
    EACH_BAD("badptr_readlink_path", EFAULT, syscall(SYS_readlink, p, (char[16]){0}, 16));
    EACH_BAD("badptr_readlink_buf", EFAULT, syscall(SYS_readlink, "/bin/sh", p, 16));
    EACH_BAD("badptr_execve_path", EFAULT, syscall(SYS_execve, p, (char *[]){"x", NULL}, (char *[]){NULL}));
    EACH_BAD_NONNULL("badptr_execve_argv", EFAULT, syscall(SYS_execve, "/tests/true", p, (char *[]){NULL}));
    EACH_BAD_NONNULL("badptr_execve_arg", EFAULT, syscall(SYS_execve, "/tests/true", (char *[]){p, NULL}, (char *[]){NULL}));
    EACH_BAD("badptr_getcwd", EFAULT, syscall(SYS_getcwd, p, 256));
    int dir = open("/etc", O_RDONLY | O_DIRECTORY);
    EACH_BAD("badptr_getdents64", EFAULT, syscall(SYS_getdents64, dir, p, 4096));
    close(dir);

    /* A path running into an unmapped page with no terminating NUL. */
    memcpy(edge, "/etc/mot", 8);
    CHECK_ERR("badptr_open_unterminated", syscall(SYS_open, edge, O_RDONLY), EFAULT);
}

static void time_and_info(void)
{
    EACH_BAD("badptr_clock_gettime", EFAULT, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p));
    EACH_BAD_NONNULL("badptr_clock_getres", EFAULT, syscall(SYS_clock_getres, CLOCK_MONOTONIC, p));
    EACH_BAD_NONNULL("badptr_gettimeofday", EFAULT, syscall(SYS_gettimeofday, p, NULL));
    EACH_BAD_NONNULL("badptr_time", EFAULT, syscall(SYS_time, p));
    EACH_BAD("badptr_nanosleep", EFAULT, syscall(SYS_nanosleep, p, NULL));
    EACH_BAD("badptr_clock_nanosleep", EFAULT, syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, p, NULL));
    EACH_BAD("badptr_uname", EFAULT, syscall(SYS_uname, p));
    EACH_BAD("badptr_sysinfo", EFAULT, syscall(SYS_sysinfo, p));
    EACH_BAD_NONNULL("badptr_times", EFAULT, syscall(SYS_times, p));
    EACH_BAD("badptr_getrusage", EFAULT, syscall(SYS_getrusage, RUSAGE_SELF, p));
    EACH_BAD("badptr_getrlimit", EFAULT, syscall(SYS_getrlimit, RLIMIT_NOFILE, p));
    EACH_BAD_NONNULL("badptr_prlimit64_old", EFAULT, syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, p));
    EACH_BAD_NONNULL("badptr_prlimit64_new", EFAULT, syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, p, NULL));
    EACH_BAD("badptr_getrandom", EFAULT, syscall(SYS_getrandom, p, 16, 0));
    EACH_BAD("badptr_sched_getaffinity", EFAULT, syscall(SYS_sched_getaffinity, 0, 128, p));
    EACH_BAD("badptr_arch_prctl_get_fs", EFAULT, syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, p));

    struct rlimit rl;
    CHECK_ERR("badptr_prlimit64_bad_resource", syscall(SYS_prlimit64, 0, 1000, NULL, &rl), EINVAL);
    struct timespec bad_ts = {.tv_sec = 0, .tv_nsec = 1000000000};
    CHECK_ERR("badptr_nanosleep_bad_nsec", syscall(SYS_nanosleep, &bad_ts, NULL), EINVAL);
    CHECK_ERR("badptr_clock_gettime_bad_clock", syscall(SYS_clock_gettime, 12345, &bad_ts), EINVAL);
    char buf[64];
    CHECK("badptr_clock_gettime_misaligned_ok", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, buf + 1) == 0);
    /* The values (Exo answers these on its fast path): monotonic never goes
     * back, nanoseconds stay below a second, realtime is past 2024-01-01. */
    struct timespec before, now;
    int monotonic_ok = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &before) == 0;
    for (int i = 0; i < 1000 && monotonic_ok; i++) {
        monotonic_ok = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now) == 0 && now.tv_nsec >= 0
                       && now.tv_nsec < 1000000000
                       && (now.tv_sec > before.tv_sec || (now.tv_sec == before.tv_sec && now.tv_nsec >= before.tv_nsec));
        before = now;
    }
    CHECK("clock_gettime_monotonic_never_goes_back", monotonic_ok);
    CHECK("clock_gettime_realtime_after_2024", syscall(SYS_clock_gettime, CLOCK_REALTIME, &now) == 0
                                                   && now.tv_sec >= 1704067200 && now.tv_nsec < 1000000000);
    CHECK("badptr_uname_edge_efault", syscall(SYS_uname, edge) == -1 && errno == EFAULT);
}

static void processes_and_signals(void)
{
    int status;
    EACH_BAD("badptr_pipe", EFAULT, syscall(SYS_pipe, p));
    EACH_BAD("badptr_pipe2", EFAULT, syscall(SYS_pipe2, p, 0));

    /* wait4 reaps the child and then fails to store the status: EFAULT. */
    EACH_BAD_NONNULL("badptr_wait4_status", EFAULT, ({
                 pid_t c = fork();
                 if (c == 0)
                     _exit(7);
                 syscall(SYS_wait4, c, p, 0, NULL);
             }));
    EACH_BAD_NONNULL("badptr_wait4_rusage", EFAULT, ({
                 pid_t c = fork();
                 if (c == 0)
                     _exit(7);
                 syscall(SYS_wait4, c, &status, 0, p);
             }));
    CHECK_ERR("badptr_wait4_reaped", syscall(SYS_wait4, -1, &status, 0, NULL), ECHILD);

    /* NULL act and NULL oldact are legal for rt_sigaction / rt_sigprocmask. */
    EACH_BAD_NONNULL("badptr_rt_sigaction_act", EFAULT, syscall(SYS_rt_sigaction, SIGUSR1, p, NULL, 8));
    EACH_BAD_NONNULL("badptr_rt_sigaction_old", EFAULT, syscall(SYS_rt_sigaction, SIGUSR1, NULL, p, 8));
    EACH_BAD_NONNULL("badptr_rt_sigprocmask", EFAULT, syscall(SYS_rt_sigprocmask, SIG_BLOCK, p, NULL, 8));
    EACH_BAD("badptr_rt_sigpending", EFAULT, syscall(SYS_rt_sigpending, p, 8));
    EACH_BAD_NONNULL("badptr_sigaltstack", EFAULT, syscall(SYS_sigaltstack, p, NULL));
    /* futex checks alignment first: a misaligned word is EINVAL. */
    EACH_BAD("badptr_futex", ((uintptr_t)p & 3) ? EINVAL : EFAULT, syscall(SYS_futex, p, 0 /* FUTEX_WAIT */, 0, NULL, NULL, 0));
    EACH_BAD("badptr_poll", EFAULT, syscall(SYS_poll, p, 1, 0));

    char set[8] = {0};
    CHECK_ERR("badptr_rt_sigaction_sigsetsize", syscall(SYS_rt_sigaction, SIGUSR1, NULL, set, 4), EINVAL);
    CHECK_ERR("badptr_rt_sigprocmask_how", syscall(SYS_rt_sigprocmask, 99, set, NULL, 8), EINVAL);
}

static void memory(void)
{
    CHECK_ERR("badptr_mmap_fixed_misaligned", syscall(SYS_mmap, 0x10001, PAGE, PROT_READ,
                                                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
              EINVAL);
    CHECK_ERR("badptr_mmap_fixed_kernel", syscall(SYS_mmap, 0xffff800000000000, PAGE, PROT_READ,
                                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
              ENOMEM);
    CHECK_ERR("badptr_munmap_kernel", syscall(SYS_munmap, 0xffff800000000000, PAGE), EINVAL);
    CHECK_ERR("badptr_mprotect_kernel", syscall(SYS_mprotect, 0xffff800000000000, PAGE, PROT_READ), ENOMEM);
    CHECK_ERR("badptr_mincore_unmapped", syscall(SYS_mincore, 0x0000400000000000, PAGE, (char[1]){0}), ENOMEM);
    EACH_BAD("badptr_mincore_vec", EFAULT, ({
                 /* mincore of our own stack page into a bad vector */
                 char here;
                 syscall(SYS_mincore, (uintptr_t)&here & ~(uintptr_t)(PAGE - 1), PAGE, p);
             }));
}

int main(void)
{
    setup();
    io();
    paths();
    time_and_info();
    processes_and_signals();
    memory();
    return utest_exit();
}
