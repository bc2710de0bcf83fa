/*
 * mmap.c - address spaces: anonymous and file mappings, mprotect, munmap,
 * MAP_FIXED, mremap, brk, copy-on-write and MAP_SHARED across fork, and the
 * argument errors Linux reports.
 */
#include "utest.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>

#define PAGE 4096

/* is_mapped: mincore fails with ENOMEM exactly when the page is unmapped. */
static int is_mapped(void *p)
{
    unsigned char vec;
    return mincore((void *)((uintptr_t)p & ~(uintptr_t)(PAGE - 1)), PAGE, &vec) == 0;
}

/* child_faults: run `touch` in a child; true when SIGSEGV killed it. */
static int child_faults(void (*touch)(volatile char *), volatile char *p)
{
    pid_t pid = fork();
    if (pid == 0) {
        touch(p);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static void write_byte(volatile char *p) { *p = 1; }
static void read_byte(volatile char *p) { (void)*p; }

static void anonymous(void)
{
    enum { PAGES = 16 };
    char *p = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap_anon", p != MAP_FAILED);
    if (p == MAP_FAILED)
        return;
    CHECK("mmap_anon_page_aligned", ((uintptr_t)p & (PAGE - 1)) == 0);
    int zero = 1;
    for (int i = 0; i < PAGES * PAGE; i++)
        zero &= p[i] == 0;
    CHECK("mmap_anon_zeroed", zero);
    for (int i = 0; i < PAGES * PAGE; i++)
        p[i] = (char)(i * 7);
    int same = 1;
    for (int i = 0; i < PAGES * PAGE; i++)
        same &= p[i] == (char)(i * 7);
    CHECK("mmap_anon_readback", same);

    CHECK("mmap_mprotect_ro", mprotect(p, PAGE, PROT_READ) == 0);
    CHECK("mmap_mprotect_ro_readable", p[1] == 7);
    CHECK("mmap_mprotect_ro_write_faults", child_faults(write_byte, p));
    CHECK("mmap_mprotect_none_read_faults",
          mprotect(p + PAGE, PAGE, PROT_NONE) == 0 && child_faults(read_byte, p + PAGE));
    CHECK("mmap_mprotect_rw_again", mprotect(p, 2 * PAGE, PROT_READ | PROT_WRITE) == 0
                                        && (p[0] = 5, p[0] == 5) && p[PAGE + 1] == (char)((PAGE + 1) * 7));

    /* Unmap a hole in the middle: the neighbours survive. */
    CHECK("mmap_munmap_middle", munmap(p + 4 * PAGE, 2 * PAGE) == 0);
    CHECK("mmap_munmap_gone", !is_mapped(p + 4 * PAGE) && !is_mapped(p + 5 * PAGE));
    CHECK("mmap_munmap_neighbours", is_mapped(p + 3 * PAGE) && is_mapped(p + 6 * PAGE)
                                        && p[6 * PAGE] == (char)(6 * PAGE * 7));
    CHECK("mmap_munmap_access_faults", child_faults(read_byte, p + 4 * PAGE));
    CHECK("mmap_munmap_all", munmap(p, PAGES * PAGE) == 0 && !is_mapped(p));
    CHECK("mmap_munmap_unmapped_ok", munmap(p, PAGE) == 0);
}

static void fixed(void)
{
    char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        utest_fail("mmap_fixed", "mmap: %s", strerror(errno));
        return;
    }
    memset(p, 'a', 4 * PAGE);
    char *q = mmap(p + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK("mmap_fixed_address", q == p + PAGE);
    CHECK("mmap_fixed_replaces", q[0] == 0 && q[PAGE - 1] == 0);
    CHECK("mmap_fixed_neighbours", p[0] == 'a' && p[2 * PAGE] == 'a' && p[4 * PAGE - 1] == 'a');
    CHECK_ERR("mmap_fixed_noreplace_eexist",
              (long)mmap(p, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
              EEXIST);
    CHECK_ERR("mmap_fixed_misaligned", (long)mmap(p + 1, PAGE, PROT_READ,
                                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
              EINVAL);
    munmap(p, 4 * PAGE);
}

static void errors(void)
{
    CHECK_ERR("mmap_len_zero", (long)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    CHECK_ERR("mmap_no_type", (long)mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
    CHECK_ERR("mmap_bad_fd", (long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 999, 0), EBADF);
    CHECK_ERR("mmap_huge_len", (long)mmap(NULL, (size_t)1 << 62, PROT_READ,
                                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
    CHECK_ERR("munmap_misaligned", munmap((void *)0x10001, PAGE), EINVAL);
    CHECK_ERR("munmap_len_zero", munmap((void *)0x10000, 0), EINVAL);
    CHECK_ERR("mprotect_misaligned", syscall(SYS_mprotect, 0x10001, PAGE, PROT_READ), EINVAL);
    CHECK_ERR("mprotect_unmapped", mprotect((void *)0x200000000000, PAGE, PROT_READ), ENOMEM);
    int fd = open("/etc/motd", O_RDONLY);
    CHECK_ERR("mmap_shared_write_rdonly_fd",
              (long)mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES);
    CHECK_ERR("mmap_misaligned_offset", (long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 1), EINVAL);
    close(fd);
}

/* A read-only private mapping of a ramdisk file shows the bytes read(2)
 * returns, and zeros past end of file up to the page end. */
static void file_backed(void)
{
    int fd = open("/etc/motd", O_RDONLY);
    CHECK("mmap_file_open", fd >= 0);
    if (fd < 0)
        return;
    char buf[256];
    ssize_t len = read(fd, buf, sizeof buf);
    char *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK("mmap_file", p != MAP_FAILED && len > 0);
    if (p == MAP_FAILED)
        return;
    CHECK("mmap_file_content", memcmp(p, buf, len) == 0 && memcmp(p, "Welcome to Exo.\n", 16) == 0);
    int tail_zero = 1;
    for (int i = len; i < PAGE; i++)
        tail_zero &= p[i] == 0;
    CHECK("mmap_file_tail_zero", tail_zero);
    CHECK("mmap_file_ro_write_faults", child_faults(write_byte, p));
    close(fd);
    CHECK("mmap_file_outlives_fd", p[0] == 'W');
    munmap(p, PAGE);

    /* A private writable mapping of the executable: writes stay private. */
    fd = open("/tests/mmap", O_RDONLY);
    char *e = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK("mmap_file_private_write", e != MAP_FAILED && memcmp(e, "\177ELF", 4) == 0
                                         && (e[0] = 'X', e[0] == 'X'));
    char head[4];
    CHECK("mmap_file_private_not_written_back", pread(fd, head, 4, 0) == 4 && memcmp(head, "\177ELF", 4) == 0);
    if (e != MAP_FAILED)
        munmap(e, PAGE);
    close(fd);
}

static void remap(void)
{
    char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 'r', 2 * PAGE);
    char *q = mremap(p, 2 * PAGE, 64 * PAGE, MREMAP_MAYMOVE);
    CHECK("mremap_grow", q != MAP_FAILED && q[0] == 'r' && q[2 * PAGE - 1] == 'r' && q[2 * PAGE] == 0);
    if (q != MAP_FAILED) {
        q[64 * PAGE - 1] = 1;
        char *r = mremap(q, 64 * PAGE, PAGE, 0);
        CHECK("mremap_shrink", r == q && r[0] == 'r' && !is_mapped(q + PAGE));
        munmap(r, PAGE);
    }
}

static void brk_growth(void)
{
    uintptr_t start = syscall(SYS_brk, 0);
    CHECK("brk_query", start != 0 && start != (uintptr_t)-1);
    uintptr_t want = start + 64 * 1024;
    uintptr_t got = syscall(SYS_brk, want);
    CHECK("brk_grow", got == want);
    if (got == want) {
        volatile char *p = (volatile char *)start;
        p[0] = 1;
        p[64 * 1024 - 1] = 2;
        CHECK("brk_touch", p[0] == 1 && p[64 * 1024 - 1] == 2);
        CHECK("brk_shrink", (uintptr_t)syscall(SYS_brk, start + PAGE) == start + PAGE);
        CHECK("brk_shrunk_unmapped", !is_mapped((void *)(start + 2 * PAGE)));
        CHECK("brk_regrow_zeroed", (uintptr_t)syscall(SYS_brk, want) == want && p[64 * 1024 - 1] == 0);
    }
    /* Asking for an absurd break leaves it unchanged (brk returns the old one). */
    CHECK("brk_huge_refused", (uintptr_t)syscall(SYS_brk, (uintptr_t)1 << 62) == want);
}

static void across_fork(void)
{
    int *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *private = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *shared = 1;
    *private = 1;
    pid_t pid = fork();
    if (pid == 0) {
        *shared = 2;
        *private = 2;
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK("mmap_shared_anon_fork", *shared == 2);
    CHECK("mmap_private_cow_fork", *private == 1);
    munmap(shared, PAGE);
    munmap(private, PAGE);
}

static void malloc_big(void)
{
    size_t n = 4 << 20;
    unsigned char *p = malloc(n);
    CHECK("malloc_4m", p != NULL);
    if (!p)
        return;
    for (size_t i = 0; i < n; i += PAGE)
        p[i] = (unsigned char)i;
    p = realloc(p, 2 * n);
    int ok = p != NULL;
    for (size_t i = 0; ok && i < n; i += PAGE)
        ok = p[i] == (unsigned char)i;
    CHECK("realloc_8m", ok);
    free(p);
}

/* Processes that scatter pages over a wide range (a page table per 2 MiB)
 * give every frame back when they exit, page tables included: free memory
 * after 50 of them is where it was after the first. A leak would be about
 * 33 frames a process, 6.4 MiB in all. */
static void tables_returned(void)
{
    enum { ROUNDS = 50, SPAN = 64 << 20 };
    struct sysinfo before, after;
    for (int round = 0; round <= ROUNDS; round++) {
        if (round == 1)
            sysinfo(&before);       /* after one warm-up round */
        pid_t pid = fork();
        if (pid == 0) {
            char *span = mmap(NULL, SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (span == MAP_FAILED)
                _exit(1);
            for (size_t offset = 0; offset < SPAN; offset += 2 << 20)
                span[offset] = 1;
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    sysinfo(&after);
    long long lost = ((long long)before.freeram - (long long)after.freeram) * (long long)before.mem_unit;
    CHECK("exit_returns_page_tables", lost < (4 << 20));
    if (lost >= (4 << 20))
        utest_print("mmap: %lld bytes not returned after %d processes\n", lost, ROUNDS);
}

int main(void)
{
    anonymous();
    fixed();
    errors();
    file_backed();
    remap();
    brk_growth();
    across_fork();
    malloc_big();
    tables_returned();
    return utest_exit();
}
