/*
 * fuzz.c - random syscalls with hostile arguments: the kernel must answer
 * every one with a result or an error, never crash, hang or corrupt the
 * calling process.
 *
 * Usage: fuzz [SEED [COUNT]]     (defaults 1 and 100000)
 *
 * The calls run in child processes, CHUNK at a time, each chunk with its own
 * generator seeded from (SEED, chunk index), so any chunk can be replayed.
 * The parent only watches: it reaps each chunk, kills one that outlives
 * WATCHDOG_SECONDS, prints progress every 10000 calls and finally
 *     fuzz: done <count> calls (<ok> succeeded, <chunks> chunks, <hung> hung, <died> died)
 *     utest: pass fuzz | utest: fail fuzz <reason>
 * and exits 0 iff no chunk died of a signal (a fault in our own code, which
 * would mean the kernel corrupted us) and none hung.
 *
 * Sandbox in each chunk: fds 0-2 are dead pipes; SIGPIPE, SIGXFSZ and SIGIO
 * ignored; RLIMIT_AS 128 MiB, RLIMIT_FSIZE 1 MiB, RLIMIT_NOFILE 256 bound
 * what a call can consume; an interval timer (SIGALRM, handler without
 * SA_RESTART) interrupts any call that blocks.
 *
 * What is never fuzzed, because a correct kernel would still end the test:
 * exit/exit_group, kill/tkill/tgkill/rt_sigqueueinfo/pidfd_send_signal,
 * reboot/mount/swapon/settimeofday and other machine-wide state, execve of
 * a real path (only bad path pointers), clone (fork only rarely, as a
 * special action whose child exits at once), rt_sigreturn, rseq, prctl,
 * arch_prctl, setrlimit/prlimit64, setitimer/alarm/timer_create, signal
 * handlers (rt_sigaction only with NULL or bad new actions), SIGALRM in any
 * mask given to the kernel, scheduling policy/priority changes, SysV IPC
 * and message queues (they outlive the chunk), ptrace and process_vm_*,
 * bind (an AF_UNIX bind creates files wherever the cwd is). Memory calls
 * (mmap MAP_FIXED, munmap, mprotect, mremap, madvise, mlock, msync) and
 * moving Fusion Ring grants only touch a region the fuzzer mapped itself; paths that create, change or
 * link files all lie under /tmp/fz, so the ramdisk's own files survive.
 */
#include "utest.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define PAGE 4096
#define CHUNK 1000
#define WATCHDOG_SECONDS 60
#define SCRATCH_SIZE (1 << 20)
#define REGION_PAGES 64
#define FORK_ONE_IN 2000

/* ---- generator: SplitMix64, as ExoKit's, so seeds mean the same thing ---- */

static uint64_t rng_state;

static uint64_t next64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n) { return n ? next64() % n : 0; }

/* ---- the sandbox: memory and files the fuzzed calls may use ---- */

static unsigned char *scratch;  /* SCRATCH_SIZE, then an inaccessible guard page */
static unsigned char *region;   /* REGION_PAGES pages the memory calls may change */
static struct iovec *iovs;      /* 16 iovecs, rebuilt per call */
static unsigned char *small;    /* timespecs and signal sets, rebuilt per call */
static int own_fds[16];
static int own_count;
static int own_rings[2];
static uintptr_t high_user_fixed = 0x00007fff00000000;

static const char *const paths_ro[] = {
    "/", "/etc/motd", "/etc", "/bin/sh", "/tests", "/nonexistent", "", ".", "..",
    "/etc/motd/x", "/dev/console", "/tmp/fz/a", "/tmp/fz", "/init",
};
static const char *const paths_mut[] = {
    "/tmp/fz/a", "/tmp/fz/b", "/tmp/fz/d", "/tmp/fz/d/e", "/tmp/fz", "/tmp/fz/nonexistent/x",
    "", "/tmp/fz/a/x", "/tmp/fz/d/../c", "/tmp/fz/l",
};
static char long_path[4200];

/* The call in progress, in memory shared with the parent, so a chunk that
 * hangs or dies can be reported with the exact call that did it. */
struct last_call {
    uint64_t succeeded; /* table calls that returned >= 0, over all chunks */
    uint64_t index;
    const char *name;
    uint64_t arg[6];
};
static volatile struct last_call *last;

enum kind {
    K_NONE, K_FD, K_PTR, K_BADPTR, K_LEN, K_INT, K_FLAGS, K_MODE, K_OFF, K_WHICH,
    K_PATH_RO, K_PATH_MUT, K_PID, K_SIGNO, K_SIGSET, K_SIGSETSIZE, K_TIMEOUT,
    K_TSPEC, K_IOV, K_FDNEW,
};

static uintptr_t bad_pointer(void)
{
    switch (below(9)) {
    case 0: return 0;
    case 1: return 1 + below(PAGE);
    case 2: return 0x0000400000000000 + (below(0x300000000000) & ~(uintptr_t)7);
    case 3: return high_user_fixed;
    case 4: return 0xffff800000000000 + below(0x7f0000000000);
    case 5: return 0xffffffff80000000 + below(0x7f000000);
    case 6: return 0x0000800000000000 + below(0xfffe000000000000);
    case 7: return (uintptr_t)scratch + SCRATCH_SIZE + below(PAGE); /* the guard page */
    default: return (uintptr_t)-1 - below(16);
    }
}

static uintptr_t pointer(void)
{
    switch (below(4)) {
    case 0: return (uintptr_t)scratch + (below(32) << 3);      /* valid, aligned */
    case 1: return (uintptr_t)scratch + below(256);            /* valid, misaligned */
    case 2: return (uintptr_t)scratch + SCRATCH_SIZE - below(64); /* runs into the guard */
    default: return bad_pointer();
    }
}

static uint64_t length(void)
{
    static const uint64_t huge[] = {
        0x7fffffff, 0x80000000, 0xffffffff, 1ull << 31, 1ull << 40, (uint64_t)-1,
        0x7fffffffffffffff, 0x8000000000000000,
    };
    switch (below(7)) {
    case 0: return 0;
    case 1: return 1 + below(64);
    case 2: return PAGE;
    case 3: return below(65536);
    case 4: return huge[below(8)];
    case 5: return (uint64_t)-(int64_t)below(4096);
    default: return next64();
    }
}

static uint64_t integer(void)
{
    static const uint64_t edges[] = {
        0, 1, (uint64_t)-1, 0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffff,
        0x8000000000000000,
    };
    switch (below(4)) {
    case 0: return edges[below(8)];
    case 1: return below(64);
    case 2: return (uint32_t)next64();
    default: return next64();
    }
}

static uint64_t flags(void)
{
    switch (below(4)) {
    case 0: return 0;
    case 1: return 1ull << below(32);
    case 2: return (1ull << below(32)) | (1ull << below(32)) | (1ull << below(32));
    default: return (uint32_t)next64();
    }
}

static int fd(void)
{
    static const int bad[] = {-1, 1000, 0x7fffffff, (int)0x80000000, 255, 256};
    switch (below(5)) {
    case 0: return bad[below(6)];
    case 1: return (int)below(24);
    case 2: return (int)(uint32_t)next64();
    default: return own_count ? own_fds[below(own_count)] : -1;
    }
}

static const char *path(const char *const *list, int n)
{
    switch (below(10)) {
    case 0: return (const char *)bad_pointer();
    case 1: return long_path;
    default: return list[below(n)];
    }
}

static uint64_t timespec_pointer(void)
{
    if (below(5) == 0)
        return bad_pointer();
    int64_t *ts = (int64_t *)(small + 64 * below(2));
    switch (below(4)) {
    case 0: ts[0] = 0; ts[1] = 0; break;
    case 1: ts[0] = 0; ts[1] = below(1000000); break;
    case 2: ts[0] = (int64_t)integer(); ts[1] = (int64_t)integer(); break;
    default: ts[0] = -1; ts[1] = 1000000000; break;
    }
    return (uintptr_t)ts;
}

/* A signal set that never holds SIGALRM, so blocked calls stay interruptible. */
static uint64_t sigset_pointer(void)
{
    if (below(4) == 0)
        return below(2) ? 0 : bad_pointer();
    uint64_t *set = (uint64_t *)(small + 128);
    set[0] = next64() & ~(1ull << (SIGALRM - 1));
    set[1] = next64();
    return (uintptr_t)set;
}

static uint64_t iov_pointer(void)
{
    if (below(6) == 0)
        return bad_pointer();
    for (int i = 0; i < 16; i++) {
        iovs[i].iov_base = (void *)pointer();
        iovs[i].iov_len = below(3) ? below(512) : length();
    }
    return (uintptr_t)iovs;
}

static uint64_t pid(void)
{
    static const int64_t pids[] = {0, 99999, -99999, 0x7fffffff};
    return below(3) == 0 ? (uint64_t)getpid() : (uint64_t)pids[below(4)];
}

static uint64_t gen(enum kind k)
{
    switch (k) {
    case K_NONE: return next64(); /* unused argument registers get garbage too */
    case K_FD: return (uint64_t)(int64_t)fd();
    case K_PTR: return pointer();
    case K_BADPTR: return bad_pointer();
    case K_LEN: return length();
    case K_INT: return integer();
    case K_FLAGS: return flags();
    case K_MODE: return below(2) ? below(01000) : next64();
    case K_OFF: return below(2) ? below(8192) : integer();
    case K_WHICH: return below(8) == 0 ? integer() : below(6);
    case K_PATH_RO: return (uintptr_t)path(paths_ro, sizeof paths_ro / sizeof paths_ro[0]);
    case K_PATH_MUT: return (uintptr_t)path(paths_mut, sizeof paths_mut / sizeof paths_mut[0]);
    case K_PID: return pid();
    case K_SIGNO: return below(8) == 0 ? integer() : below(72);
    case K_SIGSET: return sigset_pointer();
    case K_SIGSETSIZE: return below(4) ? 8 : integer();
    case K_TIMEOUT: return below(8) == 0 ? (uint64_t)-1 : below(3);
    case K_TSPEC: return timespec_pointer();
    case K_IOV: return iov_pointer();
    case K_FDNEW: return below(2) ? 3 + below(60) : (uint64_t)(int64_t)fd();
    }
    return 0;
}

/* ---- the syscall table ---- */

struct call {
    long nr;
    const char *name;
    enum kind arg[6];
};

#define C(n, ...) {SYS_##n, #n, {__VA_ARGS__}}
static const struct call calls[] = {
    C(read, K_FD, K_PTR, K_LEN),
    C(write, K_FD, K_PTR, K_LEN),
    C(open, K_PATH_MUT, K_FLAGS, K_MODE),
    C(close, K_FD),
    C(stat, K_PATH_RO, K_PTR),
    C(fstat, K_FD, K_PTR),
    C(lstat, K_PATH_RO, K_PTR),
    C(poll, K_PTR, K_INT, K_TIMEOUT),
    C(lseek, K_FD, K_OFF, K_WHICH),
    C(rt_sigaction, K_SIGNO, K_BADPTR, K_PTR, K_SIGSETSIZE),
    C(rt_sigprocmask, K_WHICH, K_SIGSET, K_PTR, K_SIGSETSIZE),
    C(ioctl, K_FD, K_INT, K_PTR),
    C(pread64, K_FD, K_PTR, K_LEN, K_OFF),
    C(pwrite64, K_FD, K_PTR, K_LEN, K_OFF),
    C(readv, K_FD, K_IOV, K_INT),
    C(writev, K_FD, K_IOV, K_INT),
    C(access, K_PATH_RO, K_INT),
    C(pipe, K_PTR),
    C(select, K_INT, K_PTR, K_PTR, K_PTR, K_TSPEC),
    C(sched_yield),
    C(dup, K_FD),
    C(dup2, K_FD, K_FDNEW),
    C(nanosleep, K_TSPEC, K_PTR),
    C(getitimer, K_WHICH, K_PTR),
    C(getpid),
    C(sendfile, K_FD, K_FD, K_PTR, K_LEN),
    C(socket, K_INT, K_INT, K_INT),
    C(connect, K_FD, K_PTR, K_LEN),
    C(accept, K_FD, K_PTR, K_PTR),
    C(sendto, K_FD, K_PTR, K_LEN, K_FLAGS, K_PTR, K_LEN),
    C(recvfrom, K_FD, K_PTR, K_LEN, K_FLAGS, K_PTR, K_PTR),
    C(sendmsg, K_FD, K_PTR, K_FLAGS),
    C(recvmsg, K_FD, K_PTR, K_FLAGS),
    C(shutdown, K_FD, K_INT),
    C(listen, K_FD, K_INT),
    C(getsockname, K_FD, K_PTR, K_PTR),
    C(getpeername, K_FD, K_PTR, K_PTR),
    C(socketpair, K_INT, K_INT, K_INT, K_PTR),
    C(setsockopt, K_FD, K_INT, K_INT, K_PTR, K_LEN),
    C(getsockopt, K_FD, K_INT, K_INT, K_PTR, K_PTR),
    C(wait4, K_PID, K_PTR, K_FLAGS, K_PTR),
    C(uname, K_PTR),
    C(fcntl, K_FD, K_INT, K_INT),
    C(flock, K_FD, K_INT),
    C(fsync, K_FD),
    C(fdatasync, K_FD),
    C(truncate, K_PATH_MUT, K_OFF),
    C(ftruncate, K_FD, K_OFF),
    C(getdents, K_FD, K_PTR, K_LEN),
    C(getcwd, K_PTR, K_LEN),
    C(chdir, K_PATH_RO),
    C(fchdir, K_FD),
    C(rename, K_PATH_MUT, K_PATH_MUT),
    C(mkdir, K_PATH_MUT, K_MODE),
    C(rmdir, K_PATH_MUT),
    C(creat, K_PATH_MUT, K_MODE),
    C(link, K_PATH_MUT, K_PATH_MUT),
    C(unlink, K_PATH_MUT),
    C(symlink, K_PATH_MUT, K_PATH_MUT),
    C(readlink, K_PATH_RO, K_PTR, K_LEN),
    C(chmod, K_PATH_MUT, K_MODE),
    C(fchmod, K_FD, K_MODE),
    C(chown, K_PATH_MUT, K_INT, K_INT),
    C(fchown, K_FD, K_INT, K_INT),
    C(lchown, K_PATH_MUT, K_INT, K_INT),
    C(umask, K_MODE),
    C(gettimeofday, K_PTR, K_PTR),
    C(getrlimit, K_WHICH, K_PTR),
    C(getrusage, K_WHICH, K_PTR),
    C(sysinfo, K_PTR),
    C(times, K_PTR),
    C(getuid), C(getgid), C(geteuid), C(getegid), C(getppid), C(getpgrp), C(gettid),
    C(setsid),
    C(setpgid, K_PID, K_PID),
    C(getgroups, K_INT, K_PTR),
    C(getresuid, K_PTR, K_PTR, K_PTR),
    C(getresgid, K_PTR, K_PTR, K_PTR),
    C(getpgid, K_PID),
    C(getsid, K_PID),
    C(capget, K_PTR, K_PTR),
    C(rt_sigpending, K_PTR, K_SIGSETSIZE),
    C(rt_sigtimedwait, K_SIGSET, K_PTR, K_TSPEC, K_SIGSETSIZE),
    C(rt_sigsuspend, K_SIGSET, K_SIGSETSIZE),
    C(sigaltstack, K_PTR, K_PTR),
    C(utime, K_PATH_MUT, K_PTR),
    C(statfs, K_PATH_RO, K_PTR),
    C(fstatfs, K_FD, K_PTR),
    C(getpriority, K_WHICH, K_PID),
    C(sched_getparam, K_PID, K_PTR),
    C(sched_getscheduler, K_PID),
    C(sched_get_priority_max, K_INT),
    C(sched_get_priority_min, K_INT),
    C(sched_rr_get_interval, K_PID, K_PTR),
    C(sched_getaffinity, K_PID, K_LEN, K_PTR),
    C(sync),
    C(syncfs, K_FD),
    C(readahead, K_FD, K_OFF, K_LEN),
    C(setxattr, K_PATH_MUT, K_PTR, K_PTR, K_LEN, K_FLAGS),
    C(getxattr, K_PATH_RO, K_PTR, K_PTR, K_LEN),
    C(listxattr, K_PATH_RO, K_PTR, K_LEN),
    C(removexattr, K_PATH_MUT, K_PTR),
    C(fgetxattr, K_FD, K_PTR, K_PTR, K_LEN),
    C(flistxattr, K_FD, K_PTR, K_LEN),
    C(time, K_PTR),
    C(futex, K_PTR, K_INT, K_INT, K_TSPEC, K_PTR, K_INT),
    C(epoll_create, K_INT),
    C(epoll_ctl, K_FD, K_INT, K_FD, K_PTR),
    C(epoll_wait, K_FD, K_PTR, K_INT, K_TIMEOUT),
    C(getdents64, K_FD, K_PTR, K_LEN),
    C(set_tid_address, K_PTR),
    C(fadvise64, K_FD, K_OFF, K_LEN, K_INT),
    C(clock_gettime, K_WHICH, K_PTR),
    C(clock_getres, K_WHICH, K_PTR),
    C(clock_nanosleep, K_WHICH, K_FLAGS, K_TSPEC, K_PTR),
    C(utimes, K_PATH_MUT, K_PTR),
    C(waitid, K_WHICH, K_PID, K_PTR, K_FLAGS, K_PTR),
    C(inotify_init),
    C(inotify_add_watch, K_FD, K_PATH_RO, K_FLAGS),
    C(inotify_rm_watch, K_FD, K_INT),
    C(openat, K_FD, K_PATH_MUT, K_FLAGS, K_MODE),
    C(mkdirat, K_FD, K_PATH_MUT, K_MODE),
    C(fchownat, K_FD, K_PATH_MUT, K_INT, K_INT, K_FLAGS),
    C(futimesat, K_FD, K_PATH_MUT, K_PTR),
    C(newfstatat, K_FD, K_PATH_RO, K_PTR, K_FLAGS),
    C(unlinkat, K_FD, K_PATH_MUT, K_FLAGS),
    C(renameat, K_FD, K_PATH_MUT, K_FD, K_PATH_MUT),
    C(linkat, K_FD, K_PATH_MUT, K_FD, K_PATH_MUT, K_FLAGS),
    C(symlinkat, K_PATH_MUT, K_FD, K_PATH_MUT),
    C(readlinkat, K_FD, K_PATH_RO, K_PTR, K_LEN),
    C(fchmodat, K_FD, K_PATH_MUT, K_MODE),
    C(faccessat, K_FD, K_PATH_RO, K_INT),
    C(pselect6, K_INT, K_PTR, K_PTR, K_PTR, K_TSPEC, K_PTR),
    C(ppoll, K_PTR, K_INT, K_TSPEC, K_SIGSET, K_SIGSETSIZE),
    C(splice, K_FD, K_PTR, K_FD, K_PTR, K_LEN, K_FLAGS),
    C(tee, K_FD, K_FD, K_LEN, K_FLAGS),
    C(sync_file_range, K_FD, K_OFF, K_OFF, K_FLAGS),
    C(vmsplice, K_FD, K_IOV, K_INT, K_FLAGS),
    C(utimensat, K_FD, K_PATH_MUT, K_PTR, K_FLAGS),
    C(epoll_pwait, K_FD, K_PTR, K_INT, K_TIMEOUT, K_SIGSET, K_SIGSETSIZE),
    C(signalfd, K_FD, K_PTR, K_SIGSETSIZE),
    C(timerfd_create, K_WHICH, K_FLAGS),
    C(eventfd, K_INT),
    C(fallocate, K_FD, K_INT, K_OFF, K_OFF),
    C(timerfd_settime, K_FD, K_FLAGS, K_PTR, K_PTR),
    C(timerfd_gettime, K_FD, K_PTR),
    C(accept4, K_FD, K_PTR, K_PTR, K_FLAGS),
    C(signalfd4, K_FD, K_PTR, K_SIGSETSIZE, K_FLAGS),
    C(eventfd2, K_INT, K_FLAGS),
    C(epoll_create1, K_FLAGS),
    C(dup3, K_FD, K_FDNEW, K_FLAGS),
    C(pipe2, K_PTR, K_FLAGS),
    C(inotify_init1, K_FLAGS),
    C(preadv, K_FD, K_IOV, K_INT, K_OFF),
    C(pwritev, K_FD, K_IOV, K_INT, K_OFF),
    C(recvmmsg, K_FD, K_PTR, K_INT, K_FLAGS, K_TSPEC),
    C(sendmmsg, K_FD, K_PTR, K_INT, K_FLAGS),
    C(getcpu, K_PTR, K_PTR, K_PTR),
    C(getrandom, K_PTR, K_LEN, K_FLAGS),
    C(memfd_create, K_PTR, K_FLAGS),
    C(copy_file_range, K_FD, K_PTR, K_FD, K_PTR, K_LEN, K_FLAGS),
    C(preadv2, K_FD, K_IOV, K_INT, K_OFF, K_NONE, K_FLAGS),
    C(pwritev2, K_FD, K_IOV, K_INT, K_OFF, K_NONE, K_FLAGS),
    C(statx, K_FD, K_PATH_RO, K_FLAGS, K_INT, K_PTR),
    C(membarrier, K_INT, K_INT, K_INT),
    C(get_robust_list, K_PID, K_PTR, K_PTR),
    C(set_robust_list, K_PTR, K_LEN),
    C(execve, K_BADPTR, K_PTR, K_PTR),
    C(pidfd_open, K_PID, K_FLAGS),
    C(faccessat2, K_FD, K_PATH_RO, K_INT, K_FLAGS),
};
#define NCALLS (sizeof calls / sizeof calls[0])

/* ---- memory calls: confined to the fuzzer's own region ---- */

static uintptr_t region_address(void)
{
    switch (below(6)) {
    case 0: return bad_pointer();
    case 1: return (uintptr_t)region + below(REGION_PAGES * PAGE); /* misaligned */
    default: return (uintptr_t)region + below(REGION_PAGES) * PAGE;
    }
}

static uint64_t region_length(void)
{
    return below(6) == 0 ? length() : below(REGION_PAGES + 1) * PAGE + (below(4) == 0 ? below(PAGE) : 0);
}

/* inside: [addr, addr+len) lies in the region, or addr is not a user address
 * a mapping could exist at (so the call can only fail). */
static int inside(uintptr_t addr, uint64_t len)
{
    uintptr_t lo = (uintptr_t)region, hi = lo + REGION_PAGES * PAGE;
    if (addr >= 0x0000800000000000)
        return 1;
    return addr >= lo && addr <= hi && len <= hi - addr;
}

static long memory_call(int which)
{
    uintptr_t addr = region_address();
    uint64_t len = region_length();
    if (!inside(addr, len)) {
        /* Clip to the region's end, or fall back to its first page. */
        uintptr_t lo = (uintptr_t)region, hi = lo + REGION_PAGES * PAGE;
        if (addr >= lo && addr < hi) {
            len = hi - addr;
        } else {
            addr = lo;
            len = PAGE;
        }
    }
    switch (which) {
    case 0: {
        uint64_t f = flags();
        /* MAP_FIXED and MAP_FIXED_NOREPLACE only where we may replace. */
        if (!inside(addr, len) || addr < 0x1000)
            f &= ~(uint64_t)(MAP_FIXED | MAP_FIXED_NOREPLACE);
        uintptr_t hint = (f & (MAP_FIXED | MAP_FIXED_NOREPLACE)) ? addr : 0;
        if (!(f & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && below(2))
            hint = bad_pointer() | 0x0000800000000000; /* a hint no mapping can honour */
        return syscall(SYS_mmap, hint, len, integer(), f, fd(), gen(K_OFF));
    }
    case 1: return syscall(SYS_munmap, addr, len);
    case 2: return syscall(SYS_mprotect, addr, len, below(2) ? below(8) : integer());
    case 3: {
        uint64_t f = below(4);
        uintptr_t to = region_address();
        uint64_t newlen = region_length();
        if ((f & MREMAP_FIXED) && !inside(to, newlen))
            f &= ~(uint64_t)MREMAP_FIXED;
        return syscall(SYS_mremap, addr, len, newlen, f, to);
    }
    case 4: return syscall(SYS_madvise, addr, len, below(2) ? below(24) : integer());
    case 5: return syscall(SYS_msync, addr, len, below(8));
    case 6: return syscall(SYS_mincore, addr, len, pointer());
    case 7: return syscall(SYS_mlock, addr, len);
    default: return syscall(SYS_munlock, addr, len);
    }
}

static long brk_call(void)
{
    uintptr_t now = syscall(SYS_brk, 0);
    /* Grow only: a lower break would free heap that libc may be using. */
    uintptr_t want = below(2) ? now + below(64) * PAGE : bad_pointer();
    if (want < now && want != 0)
        want = now;
    return syscall(SYS_brk, want);
}

/* fork, rarely: the child exits at once; the parent reaps it. */
static void fork_call(void)
{
    long pid = syscall(SYS_fork);
    if (pid == 0)
        syscall(SYS_exit_group, 0);
    if (pid > 0)
        syscall(SYS_wait4, pid, NULL, 0, NULL);
}

/* ---- one chunk, in a child ---- */

static void on_alarm(int sig) { (void)sig; }

static void sandbox(void)
{
    int dead_in[2], dead_out[2];
    pipe(dead_in);
    pipe(dead_out);
    close(dead_in[1]);
    close(dead_out[0]);
    dup2(dead_in[0], 0);
    dup2(dead_out[1], 1);
    dup2(dead_out[1], 2);
    close(dead_in[0]);
    close(dead_out[1]);

    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    signal(SIGIO, SIG_IGN);
    signal(SIGURG, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: blocked calls return EINTR */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_REAL, &it, NULL);

    struct rlimit as = {128 << 20, 128 << 20}, fsize = {1 << 20, 1 << 20}, nofile = {256, 256};
    setrlimit(RLIMIT_AS, &as);
    setrlimit(RLIMIT_FSIZE, &fsize);
    setrlimit(RLIMIT_NOFILE, &nofile);

    scratch = mmap(NULL, SCRATCH_SIZE + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* PROT_NONE rather than unmapped: an mmap without MAP_FIXED could
     * otherwise fill the hole with readable memory. */
    mprotect(scratch + SCRATCH_SIZE, PAGE, PROT_NONE);
    region = mmap(NULL, REGION_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    iovs = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    small = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (scratch == MAP_FAILED || region == MAP_FAILED || iovs == MAP_FAILED || small == MAP_FAILED)
        _exit(3);

    /* Our own descriptors, all on things the fuzzer may change freely. */
    own_count = 0;
    int p[2], s[2];
    if (pipe(p) == 0) {
        own_fds[own_count++] = p[0];
        own_fds[own_count++] = p[1];
    }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0) {
        own_fds[own_count++] = s[0];
        own_fds[own_count++] = s[1];
    }
    int f = open("/tmp/fz/a", O_RDWR | O_CREAT, 0644);
    if (f >= 0)
        own_fds[own_count++] = f;
    f = open("/tmp/fz", O_RDONLY | O_DIRECTORY);
    if (f >= 0)
        own_fds[own_count++] = f;
    f = syscall(SYS_eventfd2, 0, 0);
    if (f >= 0)
        own_fds[own_count++] = f;
    f = syscall(SYS_memfd_create, "fuzz", 0);
    if (f >= 0)
        own_fds[own_count++] = f;
    own_fds[own_count++] = AT_FDCWD;
    /* Two Fusion Rings (Exo; ENOSYS on Linux) for the fring calls. */
    own_rings[0] = (int)syscall(400, 8, 2);      /* maps grants at receive */
    own_rings[1] = (int)syscall(400, 4, 1);
}

/* Exo's Fusion Ring calls (400-417) with hostile arguments. A moving grant
 * (flag 2) unmaps what it sends, so it may only name the fuzzer's region,
 * like the memory calls. */
static long fring_call_random(void)
{
    long nr = 400 + (long)below(18);
    uint64_t handle = below(4) ? (uint64_t)own_rings[below(2)] : (uint64_t)(int64_t)fd();
    uint64_t a[6] = {handle, pointer(), length(), below(2) ? below(4) : integer(), pointer(), length()};
    switch (nr) {
    case 400: /* create */
        a[0] = below(2) ? 1u << below(18) : integer();
        a[1] = below(2) ? below(4) : integer();
        break;
    case 404: /* call: the reply handle */
    case 416: /* grant_call: the reply handle */
    case 417: /* grant_wake_wait: the ring waited on */
        a[3] = below(4) ? (uint64_t)own_rings[below(2)] : integer();
        break;
    case 415: /* wake_wait: the ring waited on */
        a[1] = below(4) ? (uint64_t)own_rings[below(2)] : integer();
        break;
    case 407: /* dup: rights */
    case 411: /* send_handle: other handle, rights */
        a[1] = below(2) ? (uint64_t)own_rings[below(2)] : integer();
        a[2] = below(2) ? below(16) : integer();
        break;
    case 409: /* grant */
        if (a[3] & 2) {
            uintptr_t addr = region_address();
            uint64_t len = region_length();
            if (!inside(addr, len))
                a[3] &= ~(uint64_t)2;
            a[1] = addr;
            a[2] = len;
        }
        break;
    case 410: /* grant_map */
    case 412: /* accept_handle: transfer ids */
        a[1] = below(2) ? below(64) : integer();
        break;
    }
    return syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static void run_chunk(uint64_t seed, uint64_t chunk, uint64_t calls_in_chunk)
{
    rng_state = seed * 0x100000001b3ull ^ (chunk + 1) * 0x9e3779b97f4a7c15ull;
    sandbox();
    for (uint64_t i = 0; i < calls_in_chunk; i++) {
        /* Fresh random bytes where valid pointers point, so structures the
         * kernel reads never hold pointers back into this process. */
        uint64_t *words = (uint64_t *)scratch;
        for (int w = 0; w < 128; w++)
            words[w] = next64();
        uint64_t pick = below(NCALLS + 13);
        last->index = i;
        if (below(FORK_ONE_IN) == 0) {
            last->name = "fork";
            fork_call();
        } else if (pick == NCALLS + 12) {
            last->name = "fring";
            if (fring_call_random() >= 0)
                last->succeeded++;
        } else if (pick >= NCALLS + 2) {
            last->name = "memory";
            memory_call((int)(pick - NCALLS - 2));
        } else if (pick == NCALLS + 1) {
            last->name = "brk";
            brk_call();
        } else if (pick == NCALLS) {
            last->name = "restore-region";
            /* restore the region so memory calls keep finding something */
            syscall(SYS_mmap, region, REGION_PAGES * PAGE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        } else {
            const struct call *c = &calls[pick];
            uint64_t a[6];
            for (int k = 0; k < 6; k++)
                last->arg[k] = a[k] = gen(c->arg[k]);
            last->name = c->name;
            long r = syscall(c->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
            if (r >= 0)
                last->succeeded++;
            /* Keep a few of the descriptors the calls create, for later calls. */
            if (r > 2 && r < 256 && own_count < 16
                && (c->nr == SYS_open || c->nr == SYS_openat || c->nr == SYS_socket
                    || c->nr == SYS_epoll_create1 || c->nr == SYS_eventfd2 || c->nr == SYS_dup))
                own_fds[own_count++] = (int)r;
        }
    }
    _exit(0);
}

/* ---- the parent: chunks, watchdog, report ---- */

static volatile sig_atomic_t watchdog_fired;
static void on_watchdog(int sig) { (void)sig; watchdog_fired = 1; }

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end)
        return 0;
    *out = v;
    return 1;
}

int main(int argc, char **argv)
{
    utest_console();
    uint64_t seed = 1, count = 100000;
    if ((argc > 1 && !parse_u64(argv[1], &seed)) || (argc > 2 && !parse_u64(argv[2], &count))) {
        utest_print("usage: fuzz [SEED [COUNT]]\n");
        return 2;
    }
    for (size_t i = 0; i + 2 < sizeof long_path; i += 2)
        memcpy(long_path + i, "a/", 2);
    mkdir("/tmp", 0755);
    mkdir("/tmp/fz", 0755);
    unsigned char vec;
    if (mincore((void *)high_user_fixed, PAGE, &vec) == 0)
        high_user_fixed = 0x0000500000000000; /* mapped on this run: use another */

    last = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (last == MAP_FAILED) {
        utest_print("utest: fail fuzz mmap: %s\n", strerror(errno));
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watchdog;
    sigaction(SIGALRM, &sa, NULL);

    utest_print("fuzz: seed %llu, %llu calls, %zu syscalls in the table\n", (unsigned long long)seed,
                (unsigned long long)count, NCALLS);
    uint64_t done = 0, chunks = 0, hung = 0, died = 0, next_report = 10000;
    char what[96], first_bad[160] = "";
    while (done < count) {
        uint64_t n = count - done < CHUNK ? count - done : CHUNK;
        pid_t pid = fork();
        if (pid < 0) {
            utest_print("utest: fail fuzz fork: %s\n", strerror(errno));
            return 1;
        }
        last->name = "(start-up)";
        if (pid == 0)
            run_chunk(seed, chunks, n);
        watchdog_fired = 0;
        alarm(WATCHDOG_SECONDS);
        int status;
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR)
                break;
            if (watchdog_fired) {
                kill(pid, SIGKILL);
                watchdog_fired = 0;
            }
        }
        alarm(0);
        while (waitpid(-1, NULL, WNOHANG) > 0) {
            /* grandchildren orphaned by a killed chunk are ours when we are init */
        }
        int bad = 0;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
            hung++;
            bad = 1;
            snprintf(what, sizeof what, "chunk %llu hung", (unsigned long long)chunks);
        } else if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) {
            died++;
            bad = 1;
            snprintf(what, sizeof what, "chunk %llu %s %d", (unsigned long long)chunks,
                     WIFSIGNALED(status) ? "killed by signal" : "exit status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        }
        if (bad) {
            utest_print("fuzz: %s at call %llu: %s(0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx)\n", what,
                        (unsigned long long)last->index, last->name, (unsigned long long)last->arg[0],
                        (unsigned long long)last->arg[1], (unsigned long long)last->arg[2],
                        (unsigned long long)last->arg[3], (unsigned long long)last->arg[4],
                        (unsigned long long)last->arg[5]);
            if (!first_bad[0])
                snprintf(first_bad, sizeof first_bad, "%s in %s", what, last->name);
        }
        done += n;
        chunks++;
        if (done >= next_report) {
            utest_print("fuzz: %llu calls\n", (unsigned long long)done);
            next_report += 10000;
        }
    }
    utest_print("fuzz: done %llu calls (%llu succeeded, %llu chunks, %llu hung, %llu died)\n",
                (unsigned long long)done, (unsigned long long)last->succeeded, (unsigned long long)chunks,
                (unsigned long long)hung, (unsigned long long)died);
    if (died || hung)
        utest_fail("fuzz", "%llu chunks died, %llu hung; first: %s", (unsigned long long)died,
                   (unsigned long long)hung, first_bad);
    else
        utest_pass("fuzz");
    return utest_exit();
}
