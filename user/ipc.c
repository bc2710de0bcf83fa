/*
 * ipc.c - Fusion Rings (Exo's IPC) from an unmodified musl program: inline
 * messages between processes with checksums, blocking and non-blocking
 * calls, call/reply, rights checked on every call, a dying peer seen as
 * EPIPE, hostile arguments answered with errors. On Linux the calls do not
 * exist (ENOSYS), which is the one thing checked there.
 */
#include "fring.h"
#include "utest.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void arguments(void)
{
    CHECK_ERR("fring_create_capacity_not_power_of_two", fring_create(3, 0), EINVAL);
    CHECK_ERR("fring_create_capacity_huge", fring_create(1u << 30, 0), EINVAL);
    CHECK_ERR("fring_create_bad_flags", fring_create(8, 0x80), EINVAL);
    CHECK_ERR("fring_send_bad_handle", fring_send(12345, "x", 1, 0), EBADF);
    CHECK_ERR("fring_send_negative_handle", fring_send(-1, "x", 1, 0), EBADF);
    int ring = fring_create(8, 0);
    CHECK("fring_create", ring > 0);
    char big[64] = {0};
    CHECK_ERR("fring_send_57_bytes", fring_send(ring, big, 57, 0), EMSGSIZE);
    CHECK_ERR("fring_send_bad_pointer", fring_send(ring, (void *)16, 8, 0), EFAULT);
    CHECK_ERR("fring_send_kernel_pointer", fring_send(ring, (void *)0x400000001000, 8, 0), EFAULT);
    CHECK_ERR("fring_recv_empty_nonblocking", fring_recv(ring, big, sizeof big, 0, NULL), EAGAIN);
    fring_send(ring, "abc", 3, 0);
    CHECK_ERR("fring_recv_bad_pointer", fring_recv(ring, (void *)16, 56, 0, NULL), EFAULT);
    CHECK_ERR("fring_dup_bad_rights", fring_dup(ring, 0x100), EINVAL);
    CHECK("fring_close", fring_close(ring) == 0);
    CHECK_ERR("fring_close_twice", fring_close(ring), EBADF);
    CHECK_ERR("fring_use_after_close", fring_send(ring, "x", 1, 0), EBADF);
}

static void same_process(void)
{
    int ring = fring_create(4, 0);
    char out[56];
    int type = 0;
    CHECK("fring_send_empty_message", fring_send(ring, "", 0, 0) == 0);
    CHECK("fring_send_56", fring_send(ring, "0123456789012345678901234567890123456789012345678901234", 56, 0) == 0);
    CHECK("fring_recv_empty_message", fring_recv(ring, out, sizeof out, 0, &type) == 0 && type == FRING_TYPE_DATA);
    CHECK("fring_recv_56", fring_recv(ring, out, sizeof out, 0, NULL) == 56 && memcmp(out, "0123456789", 10) == 0);
    for (int i = 0; i < 4; i++)
        fring_send(ring, &i, sizeof i, 0);
    CHECK_ERR("fring_send_full_nonblocking", fring_send(ring, "x", 1, 0), EAGAIN);
    int value = -1, order_ok = 1;
    for (int i = 0; i < 4; i++)
        order_ok &= fring_recv(ring, &value, sizeof value, 0, NULL) == sizeof value && value == i;
    CHECK("fring_fifo_order", order_ok);

    unsigned char *mapped = fring_map(ring);
    CHECK("fring_map", mapped != NULL && *(uint32_t *)mapped == FRING_MAGIC && *(uint32_t *)(mapped + 8) == 4
                        && *(uint32_t *)(mapped + FRING_OFF_SLOT_MASK) == 3);
    fring_close(ring);
}

static void rights(void)
{
    int ring = fring_create(8, 0);
    int sender = fring_dup(ring, FRING_SEND);
    int receiver = fring_dup(ring, FRING_RECEIVE);
    char c;
    CHECK("fring_dup", sender > 0 && receiver > 0 && sender != receiver);
    CHECK_ERR("fring_recv_without_receive_right", fring_recv(sender, &c, 1, 0, NULL), EPERM);
    CHECK_ERR("fring_send_without_send_right", fring_send(receiver, "x", 1, 0), EPERM);
    CHECK_ERR("fring_dup_cannot_add_rights", fring_dup(sender, FRING_SEND | FRING_RECEIVE), EPERM);
    CHECK("fring_send_with_send_right", fring_send(sender, "y", 1, 0) == 0);
    CHECK("fring_recv_with_receive_right", fring_recv(receiver, &c, 1, 0, NULL) == 1 && c == 'y');
    fring_close(sender);
    fring_close(receiver);
    fring_close(ring);
}

/* 10^5 messages of random sizes 0-56 bytes from a child to its parent over
 * a ring of 16 slots (blocking both ways), each stamped with its index; the
 * parent checks order, sizes and a running checksum the child also sends. */
static void between_processes(void)
{
    enum { COUNT = 100000 };
    int ring = fring_create(16, 0);
    pid_t pid = fork();
    if (pid == 0) {
        int tx = fring_dup(ring, FRING_SEND);
        fring_close(ring);
        uint64_t sum = 0;
        unsigned char message[56];
        for (uint32_t i = 0; i < COUNT; i++) {
            size_t length = 4 + next_random() % 53;
            memcpy(message, &i, 4);
            for (size_t b = 4; b < length; b++)
                message[b] = (unsigned char)next_random();
            for (size_t b = 0; b < length; b++)
                sum = sum * 31 + message[b];
            if (fring_send(tx, message, length, FRING_BLOCK) != 0)
                _exit(2);
        }
        fring_send(tx, &sum, sizeof sum, FRING_BLOCK);
        _exit(0);
    }
    int rx = fring_dup(ring, FRING_RECEIVE);
    fring_close(ring);
    uint64_t sum = 0, theirs = 0;
    unsigned char message[56];
    int in_order = 1;
    for (uint32_t i = 0; i < COUNT; i++) {
        long length = fring_recv(rx, message, sizeof message, FRING_BLOCK, NULL);
        uint32_t index;
        memcpy(&index, message, 4);
        if (length < 4 || index != i) {
            in_order = 0;
            break;
        }
        for (long b = 0; b < length; b++)
            sum = sum * 31 + message[b];
    }
    fring_recv(rx, &theirs, sizeof theirs, FRING_BLOCK, NULL);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK("fring_100k_messages_in_order", in_order);
    CHECK("fring_100k_messages_checksum", sum == theirs && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char c;
    CHECK_ERR("fring_recv_after_sender_exit_epipe", fring_recv(rx, &c, 1, FRING_BLOCK, NULL), EPIPE);
    fring_close(rx);
}

/* Call/reply: the child answers each request with its value + 1. */
static void call_reply(void)
{
    int requests = fring_create(4, 0), replies = fring_create(4, 0);
    pid_t pid = fork();
    if (pid == 0) {
        long value;
        if (fring_recv(requests, &value, sizeof value, FRING_BLOCK, NULL) != sizeof value)
            _exit(1);
        for (;;) {
            value++;
            if (fring_call(replies, &value, sizeof value, requests, &value, sizeof value) != sizeof value)
                _exit(0); /* the parent is gone: done */
        }
    }
    int ok = 1;
    long value = 0;
    for (int i = 0; i < 1000 && ok; i++) {
        long sent = value;
        ok = fring_call(requests, &sent, sizeof sent, replies, &value, sizeof value) == sizeof value
             && value == sent + 1;
    }
    CHECK("fring_call_reply_1000", ok && value == 1000);
    /* A reply longer than the caller's buffer stays on its ring. */
    long sent = value;
    int small = 0;
    CHECK_ERR("fring_call_reply_too_long_emsgsize",
              fring_call(requests, &sent, sizeof sent, replies, &small, sizeof small), EMSGSIZE);
    CHECK("fring_call_reply_kept_after_emsgsize",
          fring_recv(replies, &value, sizeof value, FRING_BLOCK, NULL) == sizeof value && value == sent + 1);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fring_close(requests);
    fring_close(replies);
}

/* fring_call's edges, which the kernel's fast path must answer as the
 * general path does: a caller parked for its reply wakes for a signal
 * (EINTR) or for the last sender of its reply ring closing (EPIPE); an
 * unwritable reply buffer gives EFAULT; an unreadable message sends
 * nothing. */
static volatile sig_atomic_t alarm_seen;
static void on_alarm(int signal) { (void)signal; alarm_seen = 1; }

static void call_edges(void)
{
    int requests = fring_create(4, 0), replies = fring_create(4, 0);
    long value = 7;
    char buffer[56];

    CHECK_ERR("fring_call_bad_message_efault", fring_call(requests, (void *)16, 8, replies, buffer, sizeof buffer),
              EFAULT);
    CHECK_ERR("fring_call_bad_message_sent_nothing", fring_recv(requests, buffer, sizeof buffer, 0, NULL), EAGAIN);

    /* EINTR: the receiver takes the request and never replies. */
    pid_t pid = fork();
    if (pid == 0) {
        fring_recv(requests, buffer, sizeof buffer, FRING_BLOCK, NULL);
        pause();
        _exit(0);
    }
    struct sigaction action = { .sa_handler = on_alarm };      /* no SA_RESTART */
    sigaction(SIGALRM, &action, NULL);
    struct itimerval timer = { .it_value = { .tv_sec = 0, .tv_usec = 50000 } };
    alarm_seen = 0;
    setitimer(ITIMER_REAL, &timer, NULL);
    CHECK_ERR("fring_call_waiting_reply_eintr", fring_call(requests, &value, sizeof value, replies, buffer, sizeof buffer),
              EINTR);
    CHECK("fring_call_eintr_ran_handler", alarm_seen == 1);
    signal(SIGALRM, SIG_DFL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    /* EFAULT: the reply arrives, the buffer is read-only. */
    pid = fork();
    if (pid == 0) {
        fring_recv(requests, buffer, sizeof buffer, FRING_BLOCK, NULL);
        fring_send(replies, "reply", 5, FRING_BLOCK);
        _exit(0);
    }
    void *read_only = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK_ERR("fring_call_read_only_reply_efault", fring_call(requests, &value, sizeof value, replies, read_only, 56),
              EFAULT);
    munmap(read_only, 4096);
    waitpid(pid, NULL, 0);

    /* EPIPE: the caller keeps only the receive right to its reply ring,
     * and the only sender closes its end after taking the request. */
    pid = fork();
    if (pid == 0) {
        fring_recv(requests, buffer, sizeof buffer, FRING_BLOCK, NULL);
        fring_close(replies);
        pause();
        _exit(0);
    }
    int reply_rx = fring_dup(replies, FRING_RECEIVE);
    fring_close(replies);
    CHECK_ERR("fring_call_reply_senders_gone_epipe",
              fring_call(requests, &value, sizeof value, reply_rx, buffer, sizeof buffer), EPIPE);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fring_close(reply_rx);
    fring_close(requests);
}

/* Another thread of the caller closes the reply ring's last handle while
 * the caller is parked in fring_call on it: the ring goes away under the
 * sleeper, which must wake with an error and not touch the freed ring.
 * Woken in the kernel's fast path it finds its handle gone (EBADF); the
 * general path (exo.syscall_fast_path=off) holds the ring while it waits
 * and sees no sender left (EPIPE). Either is the clear error wanted. */
static int closer_ring;
static void *close_after_a_moment(void *argument)
{
    (void)argument;
    usleep(50000);
    fring_close(closer_ring);
    return NULL;
}

static void reply_ring_closed_under_caller(void)
{
    int requests = fring_create(4, 0), replies = fring_create(4, 0), ready = fring_create(2, 0);
    char buffer[56];
    pid_t pid = fork();
    if (pid == 0) {
        fring_close(replies);                    /* the parent's handle is the last */
        fring_send(ready, "r", 1, FRING_BLOCK);
        fring_recv(requests, buffer, sizeof buffer, FRING_BLOCK, NULL);
        pause();
        _exit(0);
    }
    fring_recv(ready, buffer, sizeof buffer, FRING_BLOCK, NULL);
    closer_ring = replies;
    pthread_t closer;
    pthread_create(&closer, NULL, close_after_a_moment, NULL);
    long value = 1;
    errno = 0;
    long result = fring_call(requests, &value, sizeof value, replies, buffer, sizeof buffer);
    int error = errno;
    utest_print("ipc: reply ring closed under the caller: %s\n", strerror(error));
    errno = error;
    CHECK("fring_call_reply_ring_closed_by_other_thread", result == -1 && (errno == EBADF || errno == EPIPE));
    pthread_join(closer, NULL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fring_close(requests);
    fring_close(ready);
}

/* Call/reply through the mapped rings with fring_wake_wait: each side
 * puts its message in a slot itself and the kernel only hands over the
 * CPU and sleeps. 10,000 round trips with values checked, then the call's
 * own answers: a reply already there (no sleep), EPIPE, EINTR, bad
 * handles and rights. */
static void wake_wait(void)
{
    enum { COUNT = 10000 };
    int requests = fring_create(4, 0), replies = fring_create(4, 0);
    unsigned char *request_ring = fring_map(requests), *reply_ring = fring_map(replies);
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t value;
        while (fring_ring_recv(requests, request_ring, &value, sizeof value) != sizeof value)
            fring_wait(requests, 0);
        for (;;) {
            value++;
            if (fring_ring_call(replies, reply_ring, &value, sizeof value, requests, request_ring, &value,
                                sizeof value) != sizeof value)
                _exit(0); /* the parent is gone: done */
        }
    }
    int ok = 1;
    uint64_t value = 0;
    for (int i = 0; i < COUNT && ok; i++) {
        uint64_t sent = value;
        ok = fring_ring_call(requests, request_ring, &sent, sizeof sent, replies, reply_ring, &value,
                             sizeof value) == sizeof value && value == sent + 1;
    }
    CHECK("fring_wake_wait_10k_calls_through_mapped_rings", ok && value == COUNT);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    /* A message already waiting: back at once, the message still there. */
    fring_ring_send(replies, reply_ring, "x", 1);
    CHECK("fring_wake_wait_message_already_there", fring_wake_wait(requests, replies) == 0);
    char c;
    CHECK("fring_wake_wait_leaves_the_message", fring_ring_recv(replies, reply_ring, &c, 1) == 1 && c == 'x');

    /* EINTR: nobody will answer. */
    struct sigaction action = { .sa_handler = on_alarm };      /* no SA_RESTART */
    sigaction(SIGALRM, &action, NULL);
    struct itimerval timer = { .it_value = { .tv_sec = 0, .tv_usec = 50000 } };
    alarm_seen = 0;
    setitimer(ITIMER_REAL, &timer, NULL);
    CHECK_ERR("fring_wake_wait_signal_eintr", fring_wake_wait(requests, replies), EINTR);
    CHECK("fring_wake_wait_eintr_ran_handler", alarm_seen == 1);
    signal(SIGALRM, SIG_DFL);

    /* EPIPE: only a receive right left on the ring waited on. */
    int receive_only = fring_dup(replies, FRING_RECEIVE);
    fring_close(replies);
    CHECK_ERR("fring_wake_wait_no_sender_epipe", fring_wake_wait(requests, receive_only), EPIPE);

    CHECK_ERR("fring_wake_wait_bad_handle", fring_wake_wait(requests, 0x7fff), EBADF);
    CHECK_ERR("fring_wake_wait_negative_handle", fring_wake_wait(-1, receive_only), EBADF);
    CHECK_ERR("fring_wake_wait_wake_needs_send_right", fring_wake_wait(receive_only, requests), EPERM);
    int send_only = fring_dup(requests, FRING_SEND);
    CHECK_ERR("fring_wake_wait_wait_needs_receive_right", fring_wake_wait(requests, send_only), EPERM);
    fring_close(send_only);
    fring_close(receive_only);
    fring_close(requests);
}

/* ---- The fast paths' lean frame ----
 * fring_call, fring_wake_wait and fring_grant_call enter the kernel's fast
 * paths with a lean frame (only the registers C may clobber are saved;
 * the rest stay in the CPU) and complete it when they leave the fast path
 * (declined, or a signal to deliver). Either way every register the
 * system-call ABI preserves (all but rax, rcx and r11) must come back as
 * it was: a raw SYSCALL with known values, checked after. */
struct register_probe {
    long number;
    long args[6];           /* rdi, rsi, rdx, r10, r8, r9 */
    uint64_t after[12];     /* rbx, rdx, rsi, rdi, r8, r9, r10, r12, r13, r14, r15, rbp */
};

static __attribute__((noinline)) long syscall_probing_registers(struct register_probe *probe)
{
    long ret;
    __asm__ volatile(
        "pushq %%rbp\n\t"
        "pushq %%rax\n\t"
        "movq 8(%%rax), %%rdi\n\t"
        "movq 16(%%rax), %%rsi\n\t"
        "movq 24(%%rax), %%rdx\n\t"
        "movq 32(%%rax), %%r10\n\t"
        "movq 40(%%rax), %%r8\n\t"
        "movq 48(%%rax), %%r9\n\t"
        "movabsq $0x0101010101010101, %%rbx\n\t"
        "movabsq $0x0808080808080808, %%r12\n\t"
        "movabsq $0x0909090909090909, %%r13\n\t"
        "movabsq $0x0a0a0a0a0a0a0a0a, %%r14\n\t"
        "movabsq $0x0b0b0b0b0b0b0b0b, %%r15\n\t"
        "movabsq $0x0c0c0c0c0c0c0c0c, %%rbp\n\t"
        "movq 0(%%rax), %%rax\n\t"
        "syscall\n\t"
        "xchgq %%rax, (%%rsp)\n\t"          /* rax = probe, the result on the stack */
        "movq %%rbx, 56(%%rax)\n\t"
        "movq %%rdx, 64(%%rax)\n\t"
        "movq %%rsi, 72(%%rax)\n\t"
        "movq %%rdi, 80(%%rax)\n\t"
        "movq %%r8, 88(%%rax)\n\t"
        "movq %%r9, 96(%%rax)\n\t"
        "movq %%r10, 104(%%rax)\n\t"
        "movq %%r12, 112(%%rax)\n\t"
        "movq %%r13, 120(%%rax)\n\t"
        "movq %%r14, 128(%%rax)\n\t"
        "movq %%r15, 136(%%rax)\n\t"
        "movq %%rbp, 144(%%rax)\n\t"
        "popq %%rax\n\t"
        "popq %%rbp"
        : "=a"(ret)
        : "0"(probe)
        : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "memory");
    return ret;
}

static int probe_kept(const struct register_probe *p)
{
    const uint64_t *a = (const uint64_t *)p->args, pattern = 0x0101010101010101ull;
    return p->after[0] == pattern && p->after[1] == a[2] && p->after[2] == a[1] && p->after[3] == a[0]
        && p->after[4] == a[4] && p->after[5] == a[5] && p->after[6] == a[3] && p->after[7] == 8 * pattern
        && p->after[8] == 9 * pattern && p->after[9] == 10 * pattern && p->after[10] == 11 * pattern
        && p->after[11] == 12 * pattern;
}

/* A server for the probes: answers each request on `requests` with its
 * first byte plus one on `replies` (fring_call, so it waits in the fast
 * path's receive); a request starting with 'S' is answered only after
 * 200 ms. */
static pid_t start_echo_server(int requests, int replies)
{
    pid_t pid = fork();
    if (pid == 0) {
        unsigned char request[56], reply = 0;
        if (fring_recv(requests, request, sizeof request, FRING_BLOCK, NULL) < 1)
            _exit(1);
        for (;;) {
            if (request[0] == 'S') {
                struct timespec pause_for = { .tv_sec = 0, .tv_nsec = 200000000 };
                nanosleep(&pause_for, NULL);
            }
            reply = (unsigned char)(request[0] + 1);
            if (fring_call(replies, &reply, 1, requests, request, sizeof request) < 1)
                _exit(0);
        }
    }
    return pid;
}

/* A grant receiver for the tests: takes grants off `ring` (a ring that
 * maps them at receive) and answers each with its first byte on `acks`
 * through fring_call, whose receive maps the next; exits once the sender
 * is gone. */
static __attribute__((noreturn)) void serve_grants(int ring, int acks)
{
    struct fring_grant g;
    if (fring_recv(ring, &g, sizeof g, FRING_BLOCK, NULL) != sizeof g)
        _exit(1);
    for (;;) {
        unsigned char seen = g.address ? *(volatile unsigned char *)g.address : 0;
        if (fring_call(acks, &seen, 1, ring, &g, sizeof g) != sizeof g)
            _exit(0);
    }
}

static void fast_path_frames(void)
{
    int requests = fring_create(4, 0), replies = fring_create(4, 0);
    unsigned char message[56], reply = 0;
    memset(message, 'a', sizeof message);
    pid_t pid = start_echo_server(requests, replies);
    /* The first round may find the server not yet waiting (general path);
     * the next ones find it waiting in its fring_call (fast path). */
    int kept = 1, answered = 1;
    for (int i = 0; i < 4; i++) {
        struct register_probe probe = { SYS_fring_call,
            { requests, (long)message, sizeof message, replies, (long)&reply, 1 }, {0} };
        long ret = syscall_probing_registers(&probe);
        kept &= probe_kept(&probe);
        answered &= (ret & 0xFFFF) == 1 && reply == 'b';
        reply = 0;
    }
    CHECK("fring_call_fast_keeps_registers", kept);
    CHECK("fring_call_fast_answers", answered);

    /* The pair of rings the fast path remembers holds only while the
     * handle table stands: a handle closed after fast calls through it is
     * refused at once, and one without the grant right cannot grant. */
    int copy = fring_dup(requests, FRING_SEND);
    answered = 1;
    for (int i = 0; i < 3; i++)
        answered &= fring_call(copy, message, sizeof message, replies, &reply, 1) == 1 && reply == 'b';
    CHECK("fring_call_fast_through_copy", answered);
    static unsigned char granted[4096] __attribute__((aligned(4096)));
    CHECK_ERR("fring_grant_call_fast_pair_needs_grant_right",
              fring_grant_call(copy, granted, sizeof granted, replies, &reply, 1), EPERM);
    fring_close(copy);
    sched_yield();      /* the close woke the server (a send end went): let it wait again */
    CHECK_ERR("fring_call_fast_closed_handle_refused",
              fring_call(copy, message, sizeof message, replies, &reply, 1), EBADF);

    /* Declined by the fast path (a message over 56 bytes): the general
     * path answers from the completed frame. */
    struct register_probe too_long = { SYS_fring_call,
        { requests, (long)message, 57, replies, (long)&reply, 1 }, {0} };
    long ret = syscall_probing_registers(&too_long);
    CHECK("fring_call_declined_keeps_registers", ret == -EMSGSIZE && probe_kept(&too_long));

    /* A signal while the caller sleeps in the fast path: the reply comes
     * 200 ms late, the alarm after 30 ms; the call answers EINTR, the
     * handler runs (the frame completed for the delivery), the registers
     * are kept, and the late reply waits on its ring. */
    struct sigaction action = { .sa_handler = on_alarm };      /* no SA_RESTART */
    sigaction(SIGALRM, &action, NULL);
    struct itimerval timer = { .it_value = { .tv_sec = 0, .tv_usec = 30000 } };
    alarm_seen = 0;
    setitimer(ITIMER_REAL, &timer, NULL);
    message[0] = 'S';
    struct register_probe slow = { SYS_fring_call,
        { requests, (long)message, sizeof message, replies, (long)&reply, 1 }, {0} };
    ret = syscall_probing_registers(&slow);
    CHECK("fring_call_fast_sleep_signal_eintr", ret == -EINTR && alarm_seen == 1);
    CHECK("fring_call_fast_sleep_signal_keeps_registers", probe_kept(&slow));
    signal(SIGALRM, SIG_DFL);
    CHECK("fring_call_fast_sleep_late_reply_kept",
          fring_recv(replies, &reply, 1, FRING_BLOCK, NULL) == 1 && reply == 'T');
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fring_close(requests);
    fring_close(replies);

    /* fring_wake_wait: the server answers through the mapped rings. */
    requests = fring_create(4, 0);
    replies = fring_create(4, 0);
    unsigned char *request_ring = fring_map(requests), *reply_ring = fring_map(replies);
    pid = fork();
    if (pid == 0) {
        unsigned char value = 0;
        while (fring_ring_recv(requests, request_ring, &value, 1) != 1)
            fring_wait(requests, 0);
        for (;;) {
            value++;
            if (fring_ring_call(replies, reply_ring, &value, 1, requests, request_ring, &value, 1) != 1)
                _exit(0);
        }
    }
    kept = 1, answered = 1;
    for (int i = 0; i < 4; i++) {
        unsigned char value = (unsigned char)(10 * i);
        fring_ring_put(request_ring, &value, 1);
        long got = -1;
        for (int tries = 0; tries < 4 && got < 0; tries++) {
            struct register_probe probe = { SYS_fring_wake_wait, { requests, replies, 3, 4, 5, 6 }, {0} };
            long woke = syscall_probing_registers(&probe);
            kept &= woke == 0 && probe_kept(&probe);
            got = fring_ring_recv(replies, reply_ring, &value, 1);
        }
        answered &= got == 1 && value == (unsigned char)(10 * i + 1);
    }
    CHECK("fring_wake_wait_fast_keeps_registers", kept);
    CHECK("fring_wake_wait_fast_answers", answered);

    /* A pending signal the caller blocks does not interrupt the call (the
     * fast path leaves it to the general one, which answers as usual). */
    sigset_t usr1, old_mask;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old_mask);
    raise(SIGUSR1);
    unsigned char value = 77;
    fring_ring_put(request_ring, &value, 1);
    long got = -1;
    int woke = 0;
    for (int tries = 0; tries < 4 && got < 0 && woke == 0; tries++) {
        woke = fring_wake_wait(requests, replies);
        got = fring_ring_recv(replies, reply_ring, &value, 1);
    }
    CHECK("fring_wake_wait_blocked_signal_no_eintr", woke == 0 && got == 1 && value == 78);
    signal(SIGUSR1, SIG_IGN);          /* discards the pending one */
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    signal(SIGUSR1, SIG_DFL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fring_close(requests);
    fring_close(replies);

    /* fring_grant_call to a ring that maps grants. */
    int ring = fring_create(4, FRING_MAP_GRANTS), acks = fring_create(4, 0);
    static unsigned char page[4096] __attribute__((aligned(4096)));
    memset(page, 0x42, sizeof page);
    pid = fork();
    if (pid == 0)
        serve_grants(ring, acks);
    kept = 1, answered = 1;
    for (int i = 0; i < 4; i++) {
        unsigned char seen = 0;
        struct register_probe probe = { SYS_fring_grant_call,
            { ring, (long)page, sizeof page, acks, (long)&seen, 1 }, {0} };
        long ret = syscall_probing_registers(&probe);
        kept &= probe_kept(&probe);
        answered &= (ret & 0xFFFF) == 1 && seen == 0x42;
    }
    CHECK("fring_grant_call_fast_keeps_registers", kept);
    CHECK("fring_grant_call_fast_answers", answered);

    /* fring_grant_wake_wait to the same server: the reply is taken from
     * the mapped ring. */
    unsigned char *ack_ring = fring_map(acks);
    kept = 1, answered = 1;
    for (int i = 0; i < 4; i++) {
        unsigned char seen = 0;
        struct register_probe probe = { SYS_fring_grant_wake_wait, { ring, (long)page, sizeof page, acks, 5, 6 },
                                        {0} };
        long woke = syscall_probing_registers(&probe);
        kept &= woke == 0 && probe_kept(&probe);
        long got;
        while ((got = fring_ring_recv(acks, ack_ring, &seen, 1)) < 0 && errno == EAGAIN)
            fring_wait(acks, 0);
        answered &= got == 1 && seen == 0x42;
    }
    CHECK("fring_grant_wake_wait_fast_keeps_registers", kept);
    CHECK("fring_grant_wake_wait_fast_answers", answered);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fring_close(ring);
    fring_close(acks);
}

/* Two receiver processes on one ring (on several CPUs in the multi-CPU
 * runs): each message is taken by exactly one of them; the counts and sums
 * they report add up to what was sent. */
static void two_receivers(void)
{
    enum { N = 20000 };
    int ring = fring_create(8, 0), results = fring_create(4, 0);
    pid_t pids[2];
    for (int r = 0; r < 2; r++) {
        pids[r] = fork();
        if (pids[r] == 0) {
            uint64_t total[2] = { 0, 0 }, value;
            while (fring_recv(ring, &value, sizeof value, FRING_BLOCK, NULL) == sizeof value && value != 0) {
                total[0]++;
                total[1] += value;
            }
            fring_send(results, total, sizeof total, FRING_BLOCK);
            _exit(0);
        }
    }
    for (uint64_t value = 1; value <= N; value++)
        fring_send(ring, &value, sizeof value, FRING_BLOCK);
    uint64_t stop = 0;
    fring_send(ring, &stop, sizeof stop, FRING_BLOCK);
    fring_send(ring, &stop, sizeof stop, FRING_BLOCK);
    uint64_t count = 0, sum = 0, total[2];
    for (int r = 0; r < 2; r++) {
        if (fring_recv(results, total, sizeof total, FRING_BLOCK, NULL) == sizeof total) {
            count += total[0];
            sum += total[1];
        }
    }
    for (int r = 0; r < 2; r++)
        waitpid(pids[r], NULL, 0);
    CHECK("fring_two_receivers_each_message_once", count == N && sum == (uint64_t)N * (N + 1) / 2);
    fring_close(ring);
    fring_close(results);
}

/* A receiver killed while the sender is blocked on a full ring: EPIPE. */
static void dying_peer(void)
{
    int ring = fring_create(2, 0);
    pid_t pid = fork();
    if (pid == 0) {
        int rx = fring_dup(ring, FRING_RECEIVE);
        fring_close(ring);
        pause();
        (void)rx;
        _exit(0);
    }
    int tx = fring_dup(ring, FRING_SEND);
    fring_close(ring);
    fring_send(tx, "a", 1, 0);
    fring_send(tx, "b", 1, 0);
    kill(pid, SIGKILL);
    CHECK_ERR("fring_send_to_dead_receiver_epipe", fring_send(tx, "c", 1, FRING_BLOCK), EPIPE);
    waitpid(pid, NULL, 0);
    fring_close(tx);
}

/* Messages of random sizes 0 B - 64 KiB from a child to its parent: up to
 * 56 bytes inline, larger ones as zero-copy grants. Every message carries a
 * checksum the parent recomputes from what it received or mapped. */
/* A checksum that sees every byte and their order, a word at a time (the
 * 10^5-message run moves about 2.4 GB through grants). */
static uint64_t checksum(const unsigned char *data, size_t length)
{
    uint64_t sum = length;
    size_t b = 0;
    for (; b + 8 <= length; b += 8) {
        uint64_t word;
        memcpy(&word, data + b, 8);
        sum = (sum ^ word) * 0x100000001B3u;
    }
    for (; b < length; b++)
        sum = (sum ^ data[b]) * 0x100000001B3u;
    return sum;
}

/* 10^5 messages of random sizes, 0 B to 64 KiB, between two processes:
 * about a quarter fit a slot (<= 56 bytes, inline), the rest go as grants
 * the receiver maps read-only. Each is preceded by an inline message with
 * its checksum, which the receiver recomputes from what it got. The bytes
 * come from a pool of random pages filled before the fork (a granted buffer
 * must not change until the receiver is done, and the pool never does). */
static void mixed_sizes(void)
{
    enum { COUNT = 100000, MAX = 64 * 1024, POOL = 4 * MAX };
    unsigned char *pool = mmap(NULL, POOL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("fring_mixed_sizes_pool", pool != MAP_FAILED);
    if (pool == MAP_FAILED)
        return;
    for (size_t b = 0; b < POOL; b += 8) {
        uint64_t word = next_random();
        memcpy(pool + b, &word, 8);
    }
    int ring = fring_create(16, 0), done = fring_create(2, 0);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < COUNT; i++) {
            size_t length = next_random() % 4 == 0 ? next_random() % 57 : next_random() % (MAX + 1);
            const unsigned char *data = pool + next_random() % (POOL - length + 1);
            uint64_t sum = checksum(data, length);
            /* the checksum first (inline), then the data */
            if (fring_send(ring, &sum, sizeof sum, FRING_BLOCK) != 0)
                _exit(2);
            long r = length <= 56 ? fring_send(ring, data, length, FRING_BLOCK)
                                  : fring_grant(ring, data, length, FRING_BLOCK);
            if (r < 0)
                _exit(3);
        }
        /* Stay until the receiver is done: a sender's exit withdraws the
         * grants nobody has mapped yet. */
        char c;
        fring_recv(done, &c, 1, FRING_BLOCK, NULL);
        _exit(0);
    }
    int ok = 1, grants = 0, received = 0;
    uint64_t bytes = 0;
    for (int i = 0; i < COUNT && ok; i++) {
        uint64_t expected = 0, sum = 0;
        unsigned char message[56];
        int type = 0;
        ok = fring_recv(ring, &expected, sizeof expected, FRING_BLOCK, NULL) == sizeof expected;
        long length = fring_recv(ring, message, sizeof message, FRING_BLOCK, &type);
        if (!ok || length < 0)
            break;
        if (type == FRING_TYPE_GRANT) {
            struct fring_grant g;
            memcpy(&g, message, sizeof g);
            const unsigned char *data = fring_grant_map(ring, g.id);
            if (!data) {
                ok = 0;
                break;
            }
            sum = checksum(data, g.length);
            bytes += g.length;
            uintptr_t page = (uintptr_t)data & ~(uintptr_t)4095;
            munmap((void *)page, ((uintptr_t)data + g.length - page + 4095) & ~(uintptr_t)4095);
            grants++;
        } else {
            sum = checksum(message, (size_t)length);
            bytes += (uint64_t)length;
        }
        ok = sum == expected;
        received += ok;
    }
    int status = -1;
    if (!ok)
        kill(pid, SIGKILL); /* it may be blocked on a full ring */
    fring_send(done, "d", 1, 0);
    waitpid(pid, &status, 0);
    utest_print("ipc: mixed sizes: %d messages (%d grants, %llu bytes) checked\n", received, grants,
                (unsigned long long)bytes);
    CHECK("fring_100k_mixed_sizes_checksums", ok && received == COUNT && grants > COUNT / 2);
    CHECK("fring_mixed_sizes_sender_ok", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fring_close(ring);
    fring_close(done);
    munmap(pool, POOL);
}

/* Batched system calls: many messages per call, one wakeup per batch. */
static void batches(void)
{
    int ring = fring_create(16, 0);
    char texts[16][FRING_INLINE_MAX];
    struct fring_iov iov[FRING_BATCH_MAX + 1];
    for (int i = 0; i < 16; i++) {
        memset(texts[i], 'a' + i, sizeof texts[i]);
        iov[i].base = texts[i];
        iov[i].length = (uint64_t)(i * 3);
    }
    CHECK("fring_send_batch_16", fring_send_batch(ring, iov, 16, 0) == 16);
    struct fring_msg out[FRING_BATCH_MAX];
    memset(out, 0xEE, sizeof out);
    long got = fring_recv_batch(ring, out, FRING_BATCH_MAX, 0);
    int same = got == 16;
    for (int i = 0; i < 16 && same; i++)
        same = out[i].length == i * 3 && out[i].type == FRING_TYPE_DATA && memcmp(out[i].data, texts[i], out[i].length) == 0;
    CHECK("fring_recv_batch_16_in_order", same);
    CHECK_ERR("fring_recv_batch_empty_nonblocking", fring_recv_batch(ring, out, 4, 0), EAGAIN);
    CHECK("fring_send_batch_zero", fring_send_batch(ring, iov, 0, 0) == 0);
    CHECK_ERR("fring_send_batch_too_many", fring_send_batch(ring, iov, FRING_BATCH_MAX + 1, 0), EINVAL);
    CHECK_ERR("fring_recv_batch_too_many", fring_recv_batch(ring, out, FRING_BATCH_MAX + 1, 0), EINVAL);
    CHECK_ERR("fring_send_batch_bad_descriptors", fring_send_batch(ring, (void *)16, 2, 0), EFAULT);
    CHECK_ERR("fring_send_batch_kernel_descriptors", fring_send_batch(ring, (void *)0x400000001000, 2, 0), EFAULT);
    struct fring_iov bad[3] = {{texts[0], 4}, {texts[1], 4}, {(void *)16, 4}};
    CHECK_ERR("fring_send_batch_first_bad", fring_send_batch(ring, bad + 2, 1, 0), EFAULT);
    CHECK("fring_send_batch_partial_on_fault", fring_send_batch(ring, bad, 3, 0) == 2);
    struct fring_iov big = {texts[0], 57};
    CHECK_ERR("fring_send_batch_57_bytes", fring_send_batch(ring, &big, 1, 0), EMSGSIZE);
    CHECK_ERR("fring_recv_batch_bad_records", fring_recv_batch(ring, (void *)16, 2, 0), EFAULT);
    CHECK("fring_recv_batch_fault_loses_nothing", fring_recv_batch(ring, out, 2, 0) == 2
              && out[0].length == 4 && out[1].length == 4 && out[1].data[0] == 'b');
    fring_close(ring);

    /* A ring of 4: non-blocking batches stop when it is full. */
    ring = fring_create(4, 0);
    CHECK("fring_send_batch_stops_when_full", fring_send_batch(ring, iov, 6, 0) == 4);
    CHECK_ERR("fring_send_batch_full_nonblocking", fring_send_batch(ring, iov, 2, 0), EAGAIN);
    fring_close(ring);

    /* 10,000 messages in blocking batches of 16 through 8 slots: both sides
     * sleep and wake; order and checksums hold. */
    enum { COUNT = 10000 };
    ring = fring_create(8, 0);
    pid_t pid = fork();
    if (pid == 0) {
        uint32_t stamps[16][14];
        struct fring_iov batch[16];
        for (int sent = 0; sent < COUNT;) {
            int n = COUNT - sent < 16 ? COUNT - sent : 16;
            for (int i = 0; i < n; i++) {
                for (int w = 0; w < 14; w++)
                    stamps[i][w] = (uint32_t)(sent + i) * 2654435761u + (uint32_t)w;
                batch[i].base = stamps[i];
                batch[i].length = 4 + (uint64_t)((sent + i) % 13) * 4;
            }
            long r = fring_send_batch(ring, batch, (unsigned)n, FRING_BLOCK);
            if (r <= 0)
                _exit(1);
            sent += (int)r;
        }
        _exit(0);
    }
    int ok = 1, received = 0;
    while (received < COUNT && ok) {
        long n = fring_recv_batch(ring, out, FRING_BATCH_MAX, FRING_BLOCK);
        if (n <= 0) {
            ok = 0;
            break;
        }
        for (long i = 0; i < n && ok; i++, received++) {
            uint32_t words[14];
            memcpy(words, out[i].data, out[i].length);
            ok = out[i].length == 4 + (received % 13) * 4;
            for (unsigned w = 0; w < out[i].length / 4 && ok; w++)
                ok = words[w] == (uint32_t)received * 2654435761u + w;
        }
    }
    if (!ok)
        kill(pid, SIGKILL);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK("fring_batches_10k_between_processes", ok && received == COUNT && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fring_close(ring);
}

/* Four producer processes put messages into one mapped multi-producer ring
 * at once (compare-and-swap claims); the consumer sees each producer's
 * messages complete and in its order. */
static void multi_producer(void)
{
    enum { PRODUCERS = 4, EACH = 5000 };
    int ring = fring_create(16, FRING_MULTI_PRODUCER);
    unsigned char *mapped = fring_map(ring);
    CHECK("fring_map_multi_producer", mapped != NULL);
    if (!mapped)
        return;
    pid_t pids[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            unsigned char *mine = fring_map(ring);
            if (!mine)
                _exit(3);
            for (uint32_t i = 0; i < EACH;) {
                uint32_t message[3] = {(uint32_t)p, i, (uint32_t)p * 7919u + i * 104729u};
                if (fring_ring_send_mp(ring, mine, message, sizeof message) == 0)
                    i++;
                else if (errno == EAGAIN)
                    fring_wait(ring, 1);
                else
                    _exit(1);
            }
            _exit(0);
        }
    }
    uint32_t next[PRODUCERS] = {0};
    int ok = 1;
    for (int received = 0; received < PRODUCERS * EACH && ok;) {
        uint32_t message[3];
        long length = fring_ring_recv(ring, mapped, message, sizeof message);
        if (length == sizeof message) {
            ok = message[0] < PRODUCERS && message[1] == next[message[0]]
                 && message[2] == message[0] * 7919u + message[1] * 104729u;
            if (ok)
                next[message[0]]++;
            received++;
        } else if (errno == EAGAIN) {
            fring_wait(ring, 0);
        } else {
            ok = 0;
        }
    }
    int exits_ok = 1;
    for (int p = 0; p < PRODUCERS; p++) {
        int status = -1;
        if (!ok)
            kill(pids[p], SIGKILL);
        waitpid(pids[p], &status, 0);
        exits_ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    CHECK("fring_multi_producer_4x5000_each_in_order", ok && exits_ok);
    /* The kernel's own send claims the same way on this ring. */
    CHECK("fring_send_on_multi_producer_ring", fring_send(ring, "k", 1, 0) == 0
              && fring_ring_recv(ring, mapped, next, sizeof next) == 1);
    fring_close(ring);
}

/* The last receive end closing: a sender gets EPIPE at once, like a pipe
 * with no reader (grants parked for it are withdrawn: the in-kernel suite
 * checks the frames come back). */
static void receiver_gone(void)
{
    int ring = fring_create(4, 0);
    int tx = fring_dup(ring, FRING_SEND | FRING_GRANT);
    static char page[4096] __attribute__((aligned(4096))) = "parked";
    CHECK("fring_grant_parked", fring_grant(tx, page, 100, 0) > 0);
    fring_close(ring);
    CHECK_ERR("fring_send_without_receivers_epipe", fring_send(tx, "x", 1, 0), EPIPE);
    CHECK_ERR("fring_grant_without_receivers_epipe", fring_grant(tx, page, 100, 0), EPIPE);
    fring_close(tx);
}

/* FRING_GRANT_MOVE: the pages leave the sender (its next touch faults) and
 * the receiver maps them writable; pages the receiver itself still shares
 * with the sender's parent (fork) are copied on its write, so the parent's
 * own buffer keeps its bytes. */
static void grant_move(void)
{
    enum { PAGES = 3, SIZE = PAGES * 4096 };
    int ring = fring_create(4, 0), go = fring_create(2, 0);
    unsigned char *buffer = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(buffer, 'A', SIZE);
    CHECK_ERR("fring_grant_move_unaligned", fring_grant(ring, buffer + 1, 4096, FRING_GRANT_MOVE), EINVAL);
    CHECK_ERR("fring_grant_move_partial_page", fring_grant(ring, buffer, 100, FRING_GRANT_MOVE), EINVAL);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child's buffer shares its frames with the parent's (fork). */
        if (fring_grant(ring, buffer, SIZE, FRING_GRANT_MOVE | FRING_BLOCK) <= 0)
            _exit(1);
        char c;
        fring_recv(go, &c, 1, FRING_BLOCK, NULL);
        (void)*(volatile unsigned char *)buffer; /* moved away: SIGSEGV */
        _exit(2);
    }
    struct fring_grant g;
    int type = 0;
    long got = fring_recv(ring, &g, sizeof g, FRING_BLOCK, &type);
    unsigned char *moved = got == sizeof g && type == FRING_TYPE_GRANT ? fring_grant_map(ring, g.id) : NULL;
    int same = moved != NULL && g.length == SIZE;
    for (int b = 0; same && b < SIZE; b++)
        same = moved[b] == 'A';
    CHECK("fring_grant_move_bytes_arrive", same);
    if (moved) {
        moved[0] = 'Z';
        moved[SIZE - 1] = 'Z';
    }
    CHECK("fring_grant_move_receiver_writes", moved && moved[0] == 'Z' && moved[SIZE - 1] == 'Z');
    CHECK("fring_grant_move_copy_on_write_keeps_parent_bytes", buffer[0] == 'A' && buffer[SIZE - 1] == 'A');
    fring_send(go, "g", 1, 0);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK("fring_grant_move_leaves_the_sender", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    if (moved)
        munmap(moved, SIZE);
    munmap(buffer, SIZE);
    fring_close(ring);
    fring_close(go);
}

/* Ring memory is bounded per process (about 8 MiB: four of the largest rings),
 * and comes back when a ring closes. */
static void ring_memory_bounded(void)
{
    int rings[8], made = 0;
    while (made < 8 && (rings[made] = fring_create(32768, 0)) >= 0)
        made++;
    int err = errno;
    CHECK("fring_create_ring_memory_bounded", made == 4 && err == ENOMEM);
    if (made > 0) {
        fring_close(rings[--made]);
        rings[made] = fring_create(32768, 0);
        CHECK("fring_ring_memory_returns_on_close", rings[made] >= 0);
        if (rings[made] >= 0)
            made++;
    }
    while (made > 0)
        fring_close(rings[--made]);
}

/* Whether reading (or writing) `address` kills a forked child with SIGSEGV. */
static int access_faults(volatile char *address, int write)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (write)
            *address = 'X';
        else
            (void)*address;
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

/* fring_grant_map as a raw call (-1 and errno on failure), for CHECK_ERR. */
static long grant_map_raw(int ring, uint32_t id)
{
    void *mapped = fring_grant_map(ring, id);
    return mapped ? (long)mapped : -1;
}

static void grant_rules(void)
{
    static char page[8192] __attribute__((aligned(4096)));
    int ring = fring_create(8, 0);
    int no_grant = fring_dup(ring, FRING_SEND | FRING_RECEIVE);
    CHECK_ERR("fring_grant_without_grant_right", fring_grant(no_grant, page, 100, 0), EPERM);
    CHECK_ERR("fring_grant_zero_length", fring_grant(ring, page, 0, 0), EINVAL);
    CHECK_ERR("fring_grant_unmapped", fring_grant(ring, (void *)0x10000, 100, 0), EFAULT);
    CHECK_ERR("fring_grant_kernel_address", fring_grant(ring, (void *)0x400000000000, 100, 0), EFAULT);
    strcpy(page + 100, "granted bytes");
    long id = fring_grant(ring, page + 100, 14, 0);
    struct fring_grant g = {0};
    int type = 0;
    CHECK("fring_grant_message", id > 0 && fring_recv(ring, &g, sizeof g, 0, &type) == sizeof g
                                     && type == FRING_TYPE_GRANT && g.id == id && g.length == 14);
    const char *seen = fring_grant_map(ring, g.id);
    CHECK("fring_grant_map_same_bytes", seen && strcmp(seen, "granted bytes") == 0 && seen != page + 100);
    CHECK_ERR("fring_grant_map_twice", grant_map_raw(ring, g.id), EBADF);
    CHECK_ERR("fring_grant_map_no_mprotect_write",
              mprotect((void *)((uintptr_t)seen & ~4095ul), 4096, PROT_READ | PROT_WRITE), EACCES);
    CHECK_ERR("fring_grant_map_never_sent", grant_map_raw(ring, 999999), EBADF);
    /* read-only for the receiver: a write kills a child that tries */
    CHECK("fring_grant_mapping_read_only", access_faults((volatile char *)seen, 1));
    fring_close(no_grant);
    fring_close(ring);
}

/* The sender dies after granting, before the receiver maps: EPIPE, and the
 * pages are released (the receiver never sees them). */
static void grant_sender_dies(void)
{
    int ring = fring_create(8, 0);
    pid_t pid = fork();
    if (pid == 0) {
        static char data[4096] __attribute__((aligned(4096))) = "doomed";
        fring_grant(ring, data, sizeof data, FRING_BLOCK);
        pause();
        _exit(0);
    }
    struct fring_grant g = {0};
    fring_recv(ring, &g, sizeof g, FRING_BLOCK, NULL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK_ERR("fring_grant_after_sender_killed_epipe", grant_map_raw(ring, g.id), EPIPE);
    fring_close(ring);
}

/* fring_grant_call to a FRING_MAP_GRANTS ring: the receiver finds each
 * grant mapped (address in the descriptor), in one window per ring that
 * the next grant of the same size reuses in place; a grant of another size
 * moves the window, a data message revokes it. Read-only: neither a write
 * nor mprotect(PROT_WRITE) gets through. The pages outlive their sender. */
static void grant_call_mapped(void)
{
    enum { ROUNDS = 200 };
    int ring = fring_create(4, FRING_MAP_GRANTS), acks = fring_create(4, 0);
    CHECK("fring_create_map_grants", ring > 0 && acks > 0);
    static unsigned char small[4096] __attribute__((aligned(4096)));
    static unsigned char large[3 * 4096] __attribute__((aligned(4096)));
    pid_t pid = fork();
    if (pid == 0) {
        /* The sender: ROUNDS grants of one page, each with its own byte,
         * then one of three pages; each ack carries what the receiver saw.
         * Then the count of wrong acks as a data message. */
        int bad = 0;
        for (int i = 0; i < ROUNDS; i++) {
            memset(small, i & 0xFF, sizeof small);
            unsigned char seen = 0;
            if (fring_grant_call(ring, small + 10, 4000, acks, &seen, 1) != 1 || seen != (unsigned char)(i ^ 0x5A))
                bad++;
        }
        memset(large, 0xC3, sizeof large);
        unsigned char seen = 0;
        if (fring_grant_call(ring, large, sizeof large, acks, &seen, 1) != 1 || seen != 0xC3)
            bad++;
        fring_send(ring, &bad, sizeof bad, FRING_BLOCK);
        _exit(0);
    }
    struct fring_grant g = {0};
    int type = 0;
    long got = fring_recv(ring, &g, sizeof g, FRING_BLOCK, &type);
    CHECK("fring_map_grants_descriptor", got == sizeof g && type == FRING_TYPE_GRANT && g.length == 4000
                                          && g.address != 0 && (g.address & 4095) == 10);
    uint64_t first = g.address;
    int same_window = 1, right_bytes = 1;
    for (int i = 0; i < ROUNDS; i++) {
        const volatile unsigned char *data = (const volatile unsigned char *)g.address;
        if (g.address != first)
            same_window = 0;
        if (data[0] != (unsigned char)i || data[3999] != (unsigned char)i)
            right_bytes = 0;
        unsigned char ack = (unsigned char)(data[0] ^ 0x5A);
        if (i == 0) {
            CHECK_ERR("fring_grant_window_no_mprotect_write",
                      mprotect((void *)(g.address & ~4095ul), 4096, PROT_READ | PROT_WRITE), EACCES);
            CHECK("fring_grant_window_read_only", access_faults((volatile char *)data, 1));
        }
        got = fring_call(acks, &ack, 1, ring, &g, sizeof g);
        if (got != sizeof g)
            break;
    }
    CHECK("fring_map_grants_window_reused", same_window);
    CHECK("fring_map_grants_bytes_each_round", right_bytes);
    CHECK("fring_map_grants_larger_grant", got == sizeof g && g.length == sizeof large && g.address != 0);
    const volatile unsigned char *large_seen = (const volatile unsigned char *)g.address;
    unsigned char ack = large_seen[0];
    CHECK("fring_map_grants_large_bytes", large_seen[0] == 0xC3 && large_seen[sizeof large - 1] == 0xC3);
    fring_send(acks, &ack, 1, FRING_BLOCK);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK("fring_map_grants_pages_outlive_sender", large_seen[0] == 0xC3 && large_seen[sizeof large - 1] == 0xC3);
    int bad = -1;
    got = fring_recv(ring, &bad, sizeof bad, FRING_BLOCK, &type);
    CHECK("fring_map_grants_sender_saw_its_acks", got == sizeof bad && type == FRING_TYPE_DATA && bad == 0
                                                   && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK("fring_map_grants_revoked_by_next_receive", access_faults((volatile char *)large_seen, 0));
    fring_close(ring);
    fring_close(acks);
}

/* Grants through a window give every frame back: processes that grant the
 * same 128 KiB buffer 100 times to a window (replaced in place, its
 * entries unchanged after the first grant) and then exit leave free
 * memory where it was after the first round (64 KiB apart, measured). A
 * reference kept by the unchanged entries would keep the buffer's 32
 * frames each round: 2 MiB over the sixteen. */
static void grant_frames_returned(void)
{
    enum { ROUNDS = 16, GRANTS = 100, SIZE = 128 << 10 };
    struct sysinfo before, after;
    int ok = 1;
    for (int round = 0; round <= ROUNDS; round++) {
        if (round == 1)
            sysinfo(&before);       /* after one warm-up round */
        pid_t pid = fork();
        if (pid == 0) {
            int ring = fring_create(4, FRING_MAP_GRANTS), acks = fring_create(4, 0);
            unsigned char *buffer = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (ring < 0 || acks < 0 || buffer == MAP_FAILED)
                _exit(1);
            memset(buffer, 5, SIZE);
            pid_t receiver = fork();
            if (receiver == 0)
                serve_grants(ring, acks);
            for (int i = 0; i < GRANTS; i++) {
                char ack = 0;
                if (fring_grant_call(ring, buffer, SIZE, acks, &ack, 1) != 1 || ack != 5)
                    _exit(2);
            }
            kill(receiver, SIGKILL);
            waitpid(receiver, NULL, 0);
            _exit(0);
        }
        int status = -1;
        ok &= waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    sysinfo(&after);
    long long lost = ((long long)before.freeram - (long long)after.freeram) * (long long)before.mem_unit;
    CHECK("fring_grant_window_rounds_ran", ok);
    CHECK("fring_grant_windows_return_frames", lost < (1 << 20));
    if (lost >= (1 << 20))
        utest_print("ipc: %lld bytes not returned after %d rounds of grants\n", lost, ROUNDS);
}

/* One grant window per ring, eight at most: a grant taken on one ring
 * leaves the others' windows alone, and a ninth ring's revokes the oldest. */
static void grant_windows_per_ring(void)
{
    enum { RINGS = 9 };
    static unsigned char pages[RINGS][4096] __attribute__((aligned(4096)));
    int rings[RINGS];
    volatile unsigned char *seen[RINGS];
    int ok = 1;
    for (int i = 0; i < RINGS; i++) {
        rings[i] = fring_create(2, FRING_MAP_GRANTS);
        memset(pages[i], i + 1, sizeof pages[i]);
        struct fring_grant g = {0};
        ok &= rings[i] > 0 && fring_grant(rings[i], pages[i], sizeof pages[i], 0) > 0
              && fring_recv(rings[i], &g, sizeof g, 0, NULL) == sizeof g && g.address != 0;
        seen[i] = (volatile unsigned char *)g.address;
        if (i == 1)
            CHECK("fring_grant_window_other_rings_kept", seen[0][0] == 1 && seen[1][0] == 2);
    }
    CHECK("fring_grant_windows_nine_rings", ok);
    int kept = 1;
    for (int i = 1; i < RINGS; i++)
        kept &= seen[i][0] == i + 1 && seen[i][4095] == i + 1;
    CHECK("fring_grant_windows_newest_eight_kept", kept);
    /* The oldest is revoked: its address faults, or the ninth window took its place. */
    CHECK("fring_grant_window_oldest_revoked",
          access_faults((volatile char *)seen[0], 0) || seen[0] == seen[RINGS - 1]);
    for (int i = 0; i < RINGS; i++)
        fring_close(rings[i]);
}

/* fring_grant_call's refusals, and a sender killed with its grant in the
 * ring: the receiver of a mapping ring gets EPIPE, not a mapping. */
static void grant_call_rules(void)
{
    static char page[4096] __attribute__((aligned(4096))) = "x";
    int ring = fring_create(4, FRING_MAP_GRANTS), acks = fring_create(4, 0);
    int no_grant = fring_dup(ring, FRING_SEND | FRING_RECEIVE), no_receive = fring_dup(acks, FRING_SEND);
    char reply[8];
    CHECK_ERR("fring_grant_call_bad_handle", fring_grant_call(9999, page, 100, acks, reply, 8), EBADF);
    CHECK_ERR("fring_grant_call_without_grant_right", fring_grant_call(no_grant, page, 100, acks, reply, 8), EPERM);
    CHECK_ERR("fring_grant_call_reply_without_receive_right",
              fring_grant_call(ring, page, 100, no_receive, reply, 8), EPERM);
    CHECK_ERR("fring_grant_call_zero_length", fring_grant_call(ring, page, 0, acks, reply, 8), EINVAL);
    CHECK_ERR("fring_grant_call_unmapped", fring_grant_call(ring, (void *)0x10000, 100, acks, reply, 8), EFAULT);
    CHECK_ERR("fring_grant_call_kernel_address",
              fring_grant_call(ring, (void *)0x400000000000, 100, acks, reply, 8), EFAULT);
    CHECK_ERR("fring_grant_wake_wait_bad_handle", fring_grant_wake_wait(9999, page, 100, acks), EBADF);
    CHECK_ERR("fring_grant_wake_wait_without_grant_right", fring_grant_wake_wait(no_grant, page, 100, acks), EPERM);
    CHECK_ERR("fring_grant_wake_wait_waits_without_receive_right",
              fring_grant_wake_wait(ring, page, 100, no_receive), EPERM);
    CHECK_ERR("fring_grant_wake_wait_zero_length", fring_grant_wake_wait(ring, page, 0, acks), EINVAL);
    CHECK_ERR("fring_grant_wake_wait_unmapped", fring_grant_wake_wait(ring, (void *)0x10000, 100, acks), EFAULT);
    CHECK("fring_grant_call_nothing_sent", fring_recv(ring, reply, sizeof reply, 0, NULL) == -1 && errno == EAGAIN);
    int lonely = fring_create(4, FRING_MAP_GRANTS);
    int lonely_send = fring_dup(lonely, FRING_SEND | FRING_GRANT);
    fring_close(lonely);                         /* no receive end left */
    CHECK_ERR("fring_grant_call_without_receivers_epipe",
              fring_grant_call(lonely_send, page, 100, acks, reply, 8), EPIPE);
    CHECK_ERR("fring_grant_wake_wait_without_receivers_epipe",
              fring_grant_wake_wait(lonely_send, page, 100, acks), EPIPE);
    fring_close(lonely_send);
    pid_t pid = fork();
    if (pid == 0) {
        fring_grant_call(ring, page, sizeof page, acks, reply, 1);   /* nobody answers */
        _exit(0);
    }
    fring_wait(ring, 0);                         /* until its grant is in the ring */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    struct fring_grant g = {0};
    CHECK_ERR("fring_map_grants_sender_killed_epipe", fring_recv(ring, &g, sizeof g, 0, NULL), EPIPE);
    CHECK_ERR("fring_map_grants_then_empty", fring_recv(ring, &g, sizeof g, 0, NULL), EAGAIN);
    fring_close(no_grant);
    fring_close(no_receive);
    fring_close(ring);
    fring_close(acks);
}

/* The receiver's side of the mapped-ring grant tests: takes `rounds`
 * grants from `ring` (the first waited for with fring_wait), hands each to
 * `look`, and replies with the byte it returns through the mapped reply
 * ring, fring_wake_wait handing the CPU back until the next grant is there
 * (after the last, the sender is only woken). Returns 0 once every round
 * ran, or -1 with errno. */
static int take_grants(int ring, unsigned char *mapped, int acks, unsigned char *ack_ring, int rounds,
                       unsigned char (*look)(int round, const struct fring_grant *g, void *context), void *context)
{
    struct fring_grant g = {0};
    int got;
    while ((got = fring_ring_recv_grant(ring, mapped, &g)) < 0 && errno == EAGAIN)
        fring_wait(ring, 0);
    for (int round = 0; got == 0; round++) {
        unsigned char ack = look(round, &g, context);
        if (fring_ring_put(ack_ring, &ack, 1) < 0)
            return -1;
        if (round == rounds - 1) {
            fring_wake(acks, 0);
            return 0;
        }
        do {
            if (fring_wake_wait(acks, ring) < 0)
                return -1;
        } while ((got = fring_ring_recv_grant(ring, mapped, &g)) < 0 && errno == EAGAIN);
    }
    return -1;
}

/* Map-at-send: fring_grant_call or fring_grant_wake_wait to a receiver
 * asleep on an empty FRING_MAP_GRANTS ring maps the grant into the
 * receiver's window as it is sent (descriptor id 0, address set); the
 * receiver here works on the mapped rings (fring_ring_recv_grant,
 * fring_wake_wait). The first grant
 * finds no window: it is parked and fring_grant_map maps it into the
 * window. The sender grants two buffers in turn, so every delivery
 * changes the window's pages (references moved, TLB flushed): the bytes
 * seen must be the new buffer's each round. Then a delivered descriptor
 * forged by a process that maps the ring is refused by the kernel's
 * receive (EBADMSG), and the window goes. */
/* A child that grants [data, data + length) `rounds` times through the
 * mapped rings (fring_ring_grant_call); it exits 0 if every reply came. */
static pid_t start_ring_granter(int ring, int acks, unsigned char *ack_ring, const void *data, size_t length,
                                int rounds)
{
    pid_t pid = fork();
    if (pid == 0) {
        char ack;
        int ok = 1;
        for (int i = 0; i < rounds; i++)
            ok &= fring_ring_grant_call(ring, data, length, acks, ack_ring, &ack, 1) == 1;
        _exit(ok ? 0 : 1);
    }
    return pid;
}

enum { DELIVERED_LENGTH = 5000 };

/* What grant_delivered_at_send's receiver saw. */
struct delivered_rounds {
    uint64_t window;
    uint32_t first_id;
    int delivered, right_bytes, same_window, read_only;
};

static unsigned char look_at_delivered(int round, const struct fring_grant *g, void *context)
{
    struct delivered_rounds *seen = context;
    const volatile unsigned char *data = (const volatile unsigned char *)(uintptr_t)g->address;
    if (round == 0) {
        seen->window = g->address;
        seen->first_id = g->id;
    }
    seen->same_window &= g->address == seen->window && g->length == DELIVERED_LENGTH;
    seen->right_bytes &= data[0] == (unsigned char)round && data[DELIVERED_LENGTH - 1] == (unsigned char)round;
    seen->delivered += round > 0 && g->id == 0;
    if (round == 1)
        seen->read_only = access_faults((volatile char *)data, 1);
    return (unsigned char)(data[0] ^ 0x5A);
}

static void grant_delivered_at_send(void)
{
    enum { ROUNDS = 40, LENGTH = DELIVERED_LENGTH, OFFSET = 100 };
    static unsigned char buffers[2][2 * 4096] __attribute__((aligned(4096)));
    int ring = fring_create(4, FRING_MAP_GRANTS), acks = fring_create(4, 0);
    unsigned char *request_ring = fring_map(ring), *ack_ring = fring_map(acks);
    CHECK("fring_delivered_rings", ring > 0 && acks > 0 && request_ring && ack_ring);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        for (int i = 0; i < ROUNDS; i++) {
            unsigned char *buffer = buffers[i & 1];
            memset(buffer, i, sizeof buffers[0]);
            unsigned char seen = 0;
            /* Both ways of granting: the reply taken by the kernel, or
             * from the mapped reply ring. */
            long got = i & 2 ? fring_grant_call(ring, buffer + OFFSET, LENGTH, acks, &seen, 1)
                             : fring_ring_grant_call(ring, buffer + OFFSET, LENGTH, acks, ack_ring, &seen, 1);
            if (got != 1 || seen != (unsigned char)(i ^ 0x5A))
                bad++;
        }
        _exit(bad);
    }
    struct delivered_rounds seen = { .right_bytes = 1, .same_window = 1 };
    int ran = take_grants(ring, request_ring, acks, ack_ring, ROUNDS, look_at_delivered, &seen) == 0;
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK("fring_first_grant_parked_then_mapped", seen.first_id != 0 && (seen.window & 4095) == OFFSET);
    CHECK("fring_delivered_sender_saw_its_acks", ran && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK("fring_delivered_bytes_each_round", seen.right_bytes);
    CHECK("fring_delivered_into_one_window", seen.same_window);
    CHECK("fring_delivered_read_only", seen.read_only);
    CHECK("fring_delivered_at_send", seen.delivered > 0);

    /* A forged delivered descriptor: id 0, an address of ours. */
    struct fring_grant forged = { 0, 0, 64, (uint64_t)(uintptr_t)buffers[0] };
    uint64_t tail = *(uint64_t *)(request_ring + FRING_OFF_TAIL);
    CHECK("fring_forged_put", fring_ring_put(request_ring, &forged, sizeof forged) == 0);
    fring_slot(request_ring, tail)[6] = FRING_TYPE_GRANT;
    struct fring_grant g;
    CHECK_ERR("fring_forged_delivered_grant_refused", fring_recv(ring, &g, sizeof g, 0, NULL), EBADMSG);
    CHECK("fring_forged_grant_window_revoked", access_faults((volatile char *)(uintptr_t)seen.window, 0));
    fring_close(ring);
    fring_close(acks);
}

/* A window outlives its ring (until munmap or exit) but is that ring's
 * alone: a ring made after it closed, whose kernel object may well take
 * the old one's place in memory, gets its first grant parked (id not 0),
 * not delivered into the old window. */
static void grant_window_not_inherited(void)
{
    static unsigned char page[4096] __attribute__((aligned(4096))) = "granted";
    uint32_t ids[2] = {0, 0};
    int ok = 1;
    for (int round = 0; round < 2; round++) {
        int ring = fring_create(4, FRING_MAP_GRANTS), acks = fring_create(4, 0);
        unsigned char *mapped = fring_map(ring);
        pid_t pid = fork();
        if (pid == 0) {
            char ack;
            _exit(fring_grant_call(ring, page, 100, acks, &ack, 1) == 1 ? 0 : 1);
        }
        struct fring_grant g = {0};
        int got;
        while ((got = fring_ring_recv_grant(ring, mapped, &g)) < 0 && errno == EAGAIN)
            fring_wait(ring, 0);
        ids[round] = g.id;
        ok &= got == 0 && strcmp((const char *)(uintptr_t)g.address, "granted") == 0;
        fring_send(acks, "k", 1, FRING_BLOCK);
        int status = -1;
        waitpid(pid, &status, 0);
        ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
        fring_close(ring);
        fring_close(acks);
    }
    CHECK("fring_window_rounds_ran", ok);
    CHECK("fring_new_ring_not_given_old_window", ids[0] != 0 && ids[1] != 0);
}

/* A window the process unmapped is left alone: once a grant was
 * delivered into the window and the process unmapped it, the next grant
 * sent while it waits is not delivered into the old range (which would
 * map pages outside any region of the process) but parked, and
 * fring_grant_map maps it afresh. */
struct unmapped_rounds {
    int ok, unmapped;
    int64_t first_after;               /* the id of the first grant after the munmap */
};

static unsigned char look_and_unmap(int round, const struct fring_grant *g, void *context)
{
    struct unmapped_rounds *seen = context;
    seen->ok &= strcmp((const char *)(uintptr_t)g->address, "granted") == 0;
    if (seen->unmapped && seen->first_after < 0)
        seen->first_after = g->id;
    if (!seen->unmapped && g->id == 0) {     /* delivered into the window: unmap it */
        munmap((void *)(uintptr_t)(g->address & ~4095ull), 4096);
        seen->unmapped = 1;
    }
    return 'k';
}

static void grant_window_unmapped(void)
{
    enum { ROUNDS = 20 };
    static unsigned char page[4096] __attribute__((aligned(4096))) = "granted";
    int ring = fring_create(4, FRING_MAP_GRANTS), acks = fring_create(4, 0);
    unsigned char *mapped = fring_map(ring), *ack_ring = fring_map(acks);
    pid_t pid = start_ring_granter(ring, acks, ack_ring, page, 100, ROUNDS);
    struct unmapped_rounds seen = { .ok = 1, .first_after = -1 };
    int ran = take_grants(ring, mapped, acks, ack_ring, ROUNDS, look_and_unmap, &seen) == 0;
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK("fring_unmapped_window_rounds_ran", ran && seen.ok && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK("fring_unmapped_window_had_a_delivery", seen.unmapped);
    CHECK("fring_unmapped_window_not_delivered_into", seen.first_after > 0);
    fring_close(ring);
    fring_close(acks);
}

/* Grants over 64 KiB are never delivered at send (the kernel reads page
 * tables with its scheduler lock held only for small ones): to a receiver
 * waiting on the mapped rings with a window of the right size, a 17-page
 * grant still arrives parked (id not 0) and is mapped by fring_grant_map. */
enum { LARGE_PAGES = 17 };

struct large_rounds {
    int parked, right;
};

static unsigned char look_at_large(int round, const struct fring_grant *g, void *context)
{
    struct large_rounds *seen = context;
    const volatile unsigned char *data = (const volatile unsigned char *)(uintptr_t)g->address;
    seen->parked &= g->id != 0;
    seen->right &= g->length == LARGE_PAGES * 4096 && data[0] == 0x3C && data[LARGE_PAGES * 4096 - 1] == 0x3C;
    return 'k';
}

static void grant_large_parked(void)
{
    enum { PAGES = LARGE_PAGES, ROUNDS = 3 };
    static unsigned char pages[PAGES * 4096] __attribute__((aligned(4096)));
    memset(pages, 0x3C, sizeof pages);
    int ring = fring_create(4, FRING_MAP_GRANTS), acks = fring_create(4, 0);
    unsigned char *mapped = fring_map(ring), *ack_ring = fring_map(acks);
    pid_t pid = start_ring_granter(ring, acks, ack_ring, pages, sizeof pages, ROUNDS);
    struct large_rounds seen = { .parked = 1, .right = 1 };
    int ran = take_grants(ring, mapped, acks, ack_ring, ROUNDS, look_at_large, &seen) == 0;
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK("fring_large_grant_rounds_ran", ran && seen.right && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK("fring_large_grant_parked", seen.parked);
    fring_close(ring);
    fring_close(acks);
}

/* A ring made after fork reaches the child only as a handle sent over a
 * ring the child already has; the child then answers on it. */
static void handle_passing(void)
{
    int control = fring_create(4, 0);
    pid_t pid = fork();
    if (pid == 0) {
        uint32_t id = 0;
        int type = 0;
        if (fring_recv(control, &id, sizeof id, FRING_BLOCK, &type) != sizeof id || type != FRING_TYPE_HANDLE)
            _exit(1);
        int answer = fring_accept_handle(control, id);
        if (answer < 0)
            _exit(2);
        if (fring_recv(answer, &id, 1, 0, NULL) != -1 || errno != EPERM)
            _exit(3); /* passed with send only */
        _exit(fring_send(answer, "from child", 10, FRING_BLOCK) == 0 ? 0 : 4);
    }
    int fresh = fring_create(4, 0);
    int no_transfer = fring_dup(fresh, FRING_SEND | FRING_RECEIVE);
    CHECK_ERR("fring_send_handle_without_transfer_right", fring_send_handle(control, no_transfer, FRING_SEND), EPERM);
    CHECK_ERR("fring_send_handle_more_rights", fring_send_handle(control, fring_dup(fresh, FRING_SEND | FRING_TRANSFER),
                                                                 FRING_SEND | FRING_RECEIVE), EPERM);
    CHECK("fring_send_handle", fring_send_handle(control, fresh, FRING_SEND) > 0);
    char reply[16] = {0};
    CHECK("fring_passed_handle_used", fring_recv(fresh, reply, sizeof reply, FRING_BLOCK, NULL) == 10
                                          && memcmp(reply, "from child", 10) == 0);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK("fring_passed_handle_rights_kept", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_ERR("fring_accept_handle_bogus", fring_accept_handle(control, 12345), EBADF);
    fring_close(fresh);
    fring_close(no_transfer);
    fring_close(control);
}

/* The mapped ring used from user space on both sides (fring_ring_send /
 * fring_ring_recv), the kernel only to sleep and wake: 20,000 numbered
 * messages arrive in order; a ring of 8 slots makes both sides sleep. */
static void user_space_ring(void)
{
    enum { COUNT = 20000 };
    int ring = fring_create(8, 0);
    unsigned char *mapped = fring_map(ring);
    CHECK("fring_map_for_user_space_ring", mapped != NULL);
    if (!mapped)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        for (uint32_t i = 0; i < COUNT;) {
            if (fring_ring_send(ring, mapped, &i, sizeof i) == 0)
                i++;
            else if (errno == EAGAIN)
                fring_wait(ring, 1);
            else
                _exit(1);
        }
        _exit(0);
    }
    int in_order = 1;
    for (uint32_t i = 0; i < COUNT && in_order;) {
        uint32_t value;
        long length = fring_ring_recv(ring, mapped, &value, sizeof value);
        if (length == sizeof value) {
            in_order = value == i;
            i++;
        } else if (errno == EAGAIN) {
            fring_wait(ring, 0);
        } else {
            in_order = 0;
        }
    }
    if (!in_order)
        kill(pid, SIGKILL);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK("fring_user_space_ring_20k_in_order", in_order && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fring_close(ring);
}

int main(void)
{
    if (fring_create(8, 0) == -1 && errno == ENOSYS) {
        CHECK("fring_absent_on_linux", 1);
        return utest_exit();
    }
    arguments();
    ring_memory_bounded();
    same_process();
    rights();
    between_processes();
    call_reply();
    call_edges();
    reply_ring_closed_under_caller();
    wake_wait();
    fast_path_frames();
    two_receivers();
    dying_peer();
    grant_rules();
    grant_sender_dies();
    grant_move();
    grant_call_mapped();
    grant_windows_per_ring();
    grant_frames_returned();
    grant_call_rules();
    grant_delivered_at_send();
    grant_window_not_inherited();
    grant_window_unmapped();
    grant_large_parked();
    mixed_sizes();
    batches();
    handle_passing();
    user_space_ring();
    multi_producer();
    receiver_gone();
    /* Run as /init by itself (tools/run_tests.sh, with the fast paths off),
     * it closes with runall's summary line; under runall it is never PID 1. */
    if (getpid() == 1)
        utest_print("utest: %d passed, %d failed\n", utest_passes, utest_failures);
    return utest_exit();
}
