/*
 * bench.c - the benchmark ramdisk's /init: user-visible costs of the
 * process model, in guest instructions.
 *
 * Under QEMU's `-icount shift=0` the TSC advances by one per guest
 * instruction and starts at 0 at reset, so rdtsc differences count
 * instructions (kernel and user, this process and any other that runs in
 * between) and repeat exactly from run to run. Each figure is the median
 * over many iterations, after a warm-up, so a timer interrupt landing in a
 * few of them does not move it. Figures include the two rdtsc reads
 * (`rdtsc_overhead`, printed too); nothing else is subtracted.
 *
 *   first_user_tsc      TSC at the top of main: machine reset -> kernel boot
 *                       -> exec of /init -> libc start-up (not a median)
 *   getpid              getpid as one SYSCALL instruction (inline asm, no
 *                       libc wrapper): the bare kernel round trip
 *   clock_gettime       CLOCK_MONOTONIC through the SYSCALL instruction
 *   sched_yield_alone   sched_yield with no other runnable thread
 *   fork_exit_wait      fork(); child _exit(0); parent waitpid()
 *   execve              fork(); child execve("/tests/true") which returns 0
 *                       at once; parent waitpid(): exec + exit + fork + wait
 *                       (subtract fork_exit_wait for exec alone)
 *   mmap_touch_munmap   4 KiB anonymous mmap, one write, munmap
 *   pipe_pingpong_56b   56 bytes to another process and back through two
 *                       pipes, halved: one one-way message
 *   unix_socket_pingpong_56b  the same over socketpair(AF_UNIX) (Linux only)
 *   ipc_inline_56       Fusion Ring call/reply, 56 bytes inline, through the
 *                       mapped rings + fring_wake_wait, halved (Exo only)
 *   ipc_call_copy_56    the same with fring_call: the kernel copies the
 *                       payload in and out (Exo only)
 *   ipc_zerocopy_4k/64k a 4 KiB / 64 KiB grant (mapped in the receiver) +
 *                       1-byte reply through the mapped rings, halved (Exo only)
 *   ipc_grant_call_4k/64k  the same with fring_grant_call, answered with
 *                       fring_call (Exo only)
 *   ipc_ring_batch1/16  per message through the mapped ring, batches of 1/16
 *                       (Exo only; messages per second = 10^9 / this)
 *   ipc_syscall_batch1/16  per message with fring_send_batch/fring_recv_batch,
 *                       batches of 1/16 (Exo only)
 *   sched_yield_switch  two processes calling sched_yield in turn, one
 *                       parent yield round trip halved: one yield + switch
 *
 * Prints `ubench <name> <value> guest-instructions` lines, then
 * `ubench: done`, and exits 0. Arguments, if any, name the groups to run
 * (by their first figure), e.g. `bench ipc_inline_56` to profile one.
 */
#include "fring.h"
#include "utest.h"

#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define MAX_SAMPLES 2001

static inline __attribute__((always_inline)) uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (uint64_t)hi << 32 | lo;
}

static uint64_t samples[MAX_SAMPLES];

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t median(int n)
{
    qsort(samples, n, sizeof samples[0], compare_u64);
    return samples[n / 2];
}

static void report(const char *name, uint64_t value)
{
    utest_print("ubench %s %llu guest-instructions\n", name, (unsigned long long)value);
}

/* The warm-up iterations fault in code, stack and libc state first. */
#define WARMUP 5

/* Runs `body` WARMUP + n times; sample i (after the warm-up) is the rdtsc
 * difference around it divided by `per` (2: a round trip, one way). A
 * macro rather than a function taking a callback: an indirect call would
 * be part of every figure. */
#define TIME_SAMPLES(n, per, ...)                      \
    for (int i_ = -WARMUP; i_ < (n); i_++) {           \
        uint64_t t0_ = rdtsc();                        \
        __VA_ARGS__;                                   \
        uint64_t t1_ = rdtsc();                        \
        if (i_ >= 0)                                   \
            samples[i_] = (t1_ - t0_) / (per);         \
    }

static void bench_rdtsc(void)
{
    for (int i = 0; i < 1001; i++) {
        uint64_t t0 = rdtsc();
        uint64_t t1 = rdtsc();
        samples[i] = t1 - t0;
    }
    report("rdtsc_overhead", median(1001));
}

/* One SYSCALL with up to two arguments, as the ABI has it (RCX and R11
 * clobbered): musl's variadic syscall() would add its own ~30 instructions. */
static inline long raw_syscall2(long number, long a, long b)
{
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return result;
}

/* The median of one bare system call with up to two arguments. */
static uint64_t time_raw_syscall(long number, long a, long b)
{
    enum { N = 2001 };
    TIME_SAMPLES(N, 1, raw_syscall2(number, a, b));
    return median(N);
}

static void bench_getpid(void)
{
    report("getpid", time_raw_syscall(SYS_getpid, 0, 0));
}

/* clock_gettime(CLOCK_MONOTONIC) as a system call on both kernels (musl
 * would take Linux's vDSO instead, which is no system call at all), and
 * sched_yield with nothing else to run. */
static void bench_hot_calls(void)
{
    struct timespec ts;
    report("clock_gettime", time_raw_syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts));
    report("sched_yield_alone", time_raw_syscall(SYS_sched_yield, 0, 0));
}

static void bench_fork(void)
{
    enum { N = 201 };
    TIME_SAMPLES(N, 1, {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        waitpid(pid, NULL, 0);
    });
    report("fork_exit_wait", median(N));
}

static void bench_execve(void)
{
    enum { N = 101 };
    static char *argv[] = {"/tests/true", NULL};
    static char *envp[] = {NULL};
    for (int i = -WARMUP; i < N; i++) {
        uint64_t t0 = rdtsc();
        pid_t pid = fork();
        if (pid == 0) {
            execve(argv[0], argv, envp);
            _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        uint64_t t1 = rdtsc();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            utest_print("ubench: execve of /tests/true failed (status 0x%x)\n", status);
            return;
        }
        if (i >= 0)
            samples[i] = t1 - t0;
    }
    report("execve", median(N));
}

static void bench_mmap(void)
{
    enum { N = 2001 };
    TIME_SAMPLES(N, 1, {
        volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p[0] = 1;
        munmap((void *)p, 4096);
    });
    report("mmap_touch_munmap", median(N));
}

static void bench_pipe(void)
{
    enum { N = 2001, SIZE = 56 };
    int to_child[2], to_parent[2];
    pipe(to_child);
    pipe(to_parent);
    pid_t pid = fork();
    char msg[SIZE];
    memset(msg, 'm', sizeof msg);
    if (pid == 0) {
        for (int i = -WARMUP; i < N; i++) {
            if (read(to_child[0], msg, SIZE) != SIZE || write(to_parent[1], msg, SIZE) != SIZE)
                _exit(1);
        }
        _exit(0);
    }
    TIME_SAMPLES(N, 2, {
        write(to_child[1], msg, SIZE);
        read(to_parent[0], msg, SIZE);
    });
    waitpid(pid, NULL, 0);
    for (int i = 0; i < 2; i++) {
        close(to_child[i]);
        close(to_parent[i]);
    }
    report("pipe_pingpong_56b", median(N));
}

/* The same ping-pong over a Unix stream socket pair (Linux's nearest IPC to
 * a Fusion Ring call/reply; Exo has no sockets yet and skips it). */
static void bench_socketpair(void)
{
    enum { N = 2001, SIZE = 56 };
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
        return;
    char msg[SIZE];
    memset(msg, 's', sizeof msg);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = -WARMUP; i < N; i++)
            if (read(pair[1], msg, SIZE) != SIZE || write(pair[1], msg, SIZE) != SIZE)
                _exit(1);
        _exit(0);
    }
    TIME_SAMPLES(N, 2, {
        write(pair[0], msg, SIZE);
        read(pair[0], msg, SIZE);
    });
    waitpid(pid, NULL, 0);
    close(pair[0]);
    close(pair[1]);
    report("unix_socket_pingpong_56b", median(N));
}

/* Fusion Ring call/reply between two processes on one CPU, 56 bytes each
 * way, with fring_call (the kernel copies the payload from the caller's
 * buffer into the slot, hands the CPU to the waiting receiver, and copies
 * the reply out), halved: one one-way message. Exo only: Linux has no such
 * call (ENOSYS), and pipe_pingpong_56b is its nearest equivalent. */
static void bench_ipc(void)
{
    enum { N = 2001, SIZE = 56 };
    int requests = fring_create(4, 0), replies = fring_create(4, 0);
    if (requests < 0 || replies < 0)
        return;
    char msg[SIZE];
    memset(msg, 'm', sizeof msg);
    pid_t pid = fork();
    if (pid == 0) {
        if (fring_recv(requests, msg, SIZE, FRING_BLOCK, NULL) != SIZE)
            _exit(1);
        for (int i = -WARMUP; i < N; i++)
            if (fring_call(replies, msg, SIZE, requests, msg, SIZE) != SIZE)
                _exit(0);
        fring_send(replies, msg, SIZE, FRING_BLOCK);
        _exit(0);
    }
    TIME_SAMPLES(N, 2, fring_call(requests, msg, SIZE, replies, msg, SIZE));
    fring_send(requests, msg, SIZE, FRING_BLOCK);   /* lets the child finish */
    waitpid(pid, NULL, 0);
    fring_close(requests);
    fring_close(replies);
    report("ipc_call_copy_56", median(N));
}

/* The inline path as the Fusion Ring design has it: call/reply through the
 * mapped rings, each side copying its 56 bytes once into a slot and taking
 * the other's out itself, fring_wake_wait handing the CPU to the peer and
 * sleeping until the reply is there (one system call per message, no copy
 * in the kernel). Halved. Exo only. */
static void bench_ring_call(void)
{
    enum { N = 2001, SIZE = 56 };
    int requests = fring_create(4, 0), replies = fring_create(4, 0);
    if (requests < 0 || replies < 0)
        return;
    unsigned char *request_ring = fring_map(requests), *reply_ring = fring_map(replies);
    char msg[SIZE];
    memset(msg, 'r', sizeof msg);
    pid_t pid = fork();
    if (pid == 0) {
        while (fring_ring_recv(requests, request_ring, msg, SIZE) != SIZE)
            fring_wait(requests, 0);
        for (int i = -WARMUP; i < N; i++)
            if (fring_ring_call(replies, reply_ring, msg, SIZE, requests, request_ring, msg, SIZE) != SIZE)
                _exit(1);
        fring_ring_send(replies, reply_ring, msg, SIZE);
        _exit(0);
    }
    TIME_SAMPLES(N, 2, fring_ring_call(requests, request_ring, msg, SIZE, replies, reply_ring, msg, SIZE));
    fring_ring_send(requests, request_ring, msg, SIZE);   /* lets the child finish */
    waitpid(pid, NULL, 0);
    fring_close(requests);
    fring_close(replies);
    report("ipc_inline_56", median(N));
}

/* Zero-copy: the parent grants a 4 KiB / 64 KiB buffer as a call
 * (fring_grant_call: the CPU goes straight to the waiting child); the
 * ring maps grants (FRING_MAP_GRANTS), so the child finds the pages mapped
 * in its grant window, reads their first and last byte, and replies with
 * one byte. Round trip halved, like the inline figures. Exo only.
 *
 * ipc_grant_call_*: the parent grants with fring_grant_call and the child
 * replies and waits with fring_call (the kernel copies the reply in and out
 * and the next grant's descriptor out).
 * ipc_zerocopy_*: both sides on the mapped rings, as in ipc_inline_56: the
 * parent grants with fring_grant_wake_wait and takes
 * the reply from its mapped ring (fring_ring_grant_call); the child puts
 * its one-byte reply in the reply ring, then fring_wake_wait; the grant
 * arrives mapped, its descriptor read from the mapped ring
 * (fring_ring_recv_grant). */
static void bench_grant(const char *name, size_t size, int mapped_rings)
{
    enum { N = 501 };
    int ring = fring_create(4, FRING_MAP_GRANTS), acks = fring_create(4, 0);
    if (ring < 0 || acks < 0)
        return;
    unsigned char *request_ring = fring_map(ring), *ack_ring = fring_map(acks);
    unsigned char *buffer = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(buffer, 7, size);
    pid_t pid = fork();
    if (pid == 0) {
        struct fring_grant g;
        if (fring_recv(ring, &g, sizeof g, FRING_BLOCK, NULL) != sizeof g)
            _exit(1);
        for (int i = -WARMUP; i < N; i++) {
            volatile unsigned char *data = (volatile unsigned char *)g.address;
            if (!data || g.length != size)
                _exit(2);
            char ack = (char)(data[0] + data[g.length - 1]);
            if (!mapped_rings) {
                if (fring_call(acks, &ack, 1, ring, &g, sizeof g) != sizeof g)
                    _exit(3);
                continue;
            }
            if (fring_ring_put(ack_ring, &ack, 1) < 0)
                _exit(4);
            do {
                if (fring_wake_wait(acks, ring) < 0)
                    _exit(5);
            } while (fring_ring_recv_grant(ring, request_ring, &g) < 0 && errno == EAGAIN);
        }
        _exit(0);
    }
    char ack;
    if (mapped_rings) {
        TIME_SAMPLES(N, 2, fring_ring_grant_call(ring, buffer, size, acks, ack_ring, &ack, 1));
    } else {
        TIME_SAMPLES(N, 2, fring_grant_call(ring, buffer, size, acks, &ack, 1));
    }
    fring_grant(ring, buffer, size, FRING_BLOCK);   /* the last one the child waits for: it finishes */
    int status = 0;
    waitpid(pid, &status, 0);
    munmap(buffer, size);
    fring_close(ring);
    fring_close(acks);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        utest_print("ubench %s: the receiver failed (status %d)\n", name, status);
        return;
    }
    report(name, median(N));
}

/* Throughput through the mapped ring (user-space slots, the kernel only to
 * sleep and wake): COUNT messages of 56 bytes, sent in batches of `batch`
 * (the receiver drains whatever is there). Guest instructions per message
 * over the whole run; under icount a guest instruction is one nanosecond,
 * so messages per second = 10^9 / that. Exo only. */
static void bench_ring_batch(const char *name, int batch)
{
    enum { COUNT = 20000 };
    int ring = fring_create(64, 0);
    if (ring < 0)
        return;
    unsigned char *mapped = fring_map(ring);
    char msg[56];
    memset(msg, 'b', sizeof msg);
    pid_t pid = fork();
    if (pid == 0) {
        for (int got = 0; got < COUNT;) {
            if (fring_ring_recv(ring, mapped, msg, sizeof msg) == sizeof msg)
                got++;
            else
                fring_wait(ring, 0);
        }
        _exit(0);
    }
    uint64_t t0 = rdtsc();
    for (int sent = 0; sent < COUNT;) {
        int n = 0;
        while (n < batch && sent < COUNT && fring_ring_send(ring, mapped, msg, sizeof msg) == 0) {
            n++;
            sent++;
        }
        if (n < batch && sent < COUNT)
            fring_wait(ring, 1);    /* full: sleep until the receiver frees a slot */
        else
            sched_yield();          /* a batch is out: let the receiver drain it */
    }
    waitpid(pid, NULL, 0);
    uint64_t t1 = rdtsc();
    fring_close(ring);
    uint64_t per_message = (t1 - t0) / COUNT;
    report(name, per_message);
}

/* Per message through the kernel with batched system calls: the parent
 * sends 56-byte messages with fring_send_batch, the child takes them with
 * fring_recv_batch, both blocking, batches of `batch` (1 is plain
 * fring_send/fring_recv cost with the batch calls' bookkeeping). */
static void bench_syscall_batch(const char *name, unsigned batch)
{
    enum { COUNT = 20000 };
    int ring = fring_create(64, 0);
    if (ring < 0)
        return;
    static char msg[56];
    memset(msg, 's', sizeof msg);
    pid_t pid = fork();
    if (pid == 0) {
        static struct fring_msg records[FRING_BATCH_MAX];
        for (int got = 0; got < COUNT;) {
            long n = fring_recv_batch(ring, records, batch, FRING_BLOCK);
            if (n <= 0)
                _exit(1);
            got += (int)n;
        }
        _exit(0);
    }
    struct fring_iov iov[FRING_BATCH_MAX];
    for (unsigned i = 0; i < batch; i++) {
        iov[i].base = msg;
        iov[i].length = sizeof msg;
    }
    uint64_t t0 = rdtsc();
    for (int sent = 0; sent < COUNT;) {
        unsigned n = COUNT - sent < (int)batch ? (unsigned)(COUNT - sent) : batch;
        long r = fring_send_batch(ring, iov, n, FRING_BLOCK);
        if (r <= 0)
            break;
        sent += (int)r;
    }
    waitpid(pid, NULL, 0);
    uint64_t t1 = rdtsc();
    fring_close(ring);
    report(name, (t1 - t0) / COUNT);
}

static void bench_yield(void)
{
    enum { N = 2001 };
    volatile int *flags = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    flags[0] = 0; /* child running */
    flags[1] = 0; /* stop */
    pid_t pid = fork();
    if (pid == 0) {
        flags[0] = 1;
        while (!flags[1])
            sched_yield();
        _exit(0);
    }
    while (!flags[0])
        sched_yield();
    TIME_SAMPLES(N, 2, sched_yield());
    flags[1] = 1;
    waitpid(pid, NULL, 0);
    munmap((void *)flags, 4096);
    report("sched_yield_switch", median(N));
}

/* Which groups run: all by default, or those named as arguments (the
 * group's first figure, e.g. `bench ipc_inline_56`), for profiling one. */
static int wanted_count;
static char **wanted;

static int selected(const char *name)
{
    if (wanted_count == 0)
        return 1;
    for (int i = 0; i < wanted_count; i++)
        if (strcmp(wanted[i], name) == 0)
            return 1;
    return 0;
}

#define RUN(name, call) do { if (selected(name)) call; } while (0)

int main(int argc, char **argv)
{
    uint64_t first = rdtsc();
    utest_console();
    wanted_count = argc - 1;
    wanted = argv + 1;
    report("first_user_tsc", first);
    RUN("rdtsc_overhead", bench_rdtsc());
    RUN("getpid", bench_getpid());
    RUN("clock_gettime", bench_hot_calls());
    RUN("fork_exit_wait", bench_fork());
    RUN("execve", bench_execve());
    RUN("mmap_touch_munmap", bench_mmap());
    RUN("pipe_pingpong_56b", bench_pipe());
    RUN("unix_socket_pingpong_56b", bench_socketpair());
    RUN("ipc_inline_56", bench_ring_call());
    RUN("ipc_call_copy_56", bench_ipc());
    RUN("ipc_zerocopy_4k", bench_grant("ipc_zerocopy_4k", 4096, 1));
    RUN("ipc_zerocopy_64k", bench_grant("ipc_zerocopy_64k", 65536, 1));
    RUN("ipc_grant_call_4k", bench_grant("ipc_grant_call_4k", 4096, 0));
    RUN("ipc_grant_call_64k", bench_grant("ipc_grant_call_64k", 65536, 0));
    RUN("ipc_ring_batch1", bench_ring_batch("ipc_ring_batch1", 1));
    RUN("ipc_ring_batch16", bench_ring_batch("ipc_ring_batch16", 16));
    RUN("ipc_syscall_batch1", bench_syscall_batch("ipc_syscall_batch1", 1));
    RUN("ipc_syscall_batch16", bench_syscall_batch("ipc_syscall_batch16", 16));
    RUN("sched_yield_switch", bench_yield());
    utest_print("ubench: done\n");
    return 0;
}
