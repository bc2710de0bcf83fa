/*
 * ipc.c - Fusion Rings (Exo's IPC) from an unmodified musl program: inline
 * messages between processes with checksums, blocking and non-blocking
 * calls, call/reply, rights checked on every call, a dying peer seen as
 * EPIPE, hostile arguments answered with errors. On Linux the calls do not
 * exist (ENOSYS), which is the one thing checked there.
 */
#include "fring.h"
#include "utest.h"

#include <signal.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>

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
    CHECK("fring_map", mapped != NULL && *(uint32_t *)mapped == FRING_MAGIC && *(uint32_t *)(mapped + 8) == 4);
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
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fring_close(requests);
    fring_close(replies);
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
static void mixed_sizes(void)
{
    enum { COUNT = 2000, MAX = 64 * 1024 };
    int ring = fring_create(16, 0), done = fring_create(2, 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* Each message gets fresh pages, unmapped right after sending: the
         * grant keeps them alive for the receiver (the sender must not
         * write a granted buffer, so it never reuses one). */
        for (int i = 0; i < COUNT; i++) {
            size_t length = next_random() % 4 == 0 ? next_random() % 57 : next_random() % (MAX + 1);
            unsigned char *pages = mmap(NULL, MAX + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (pages == MAP_FAILED)
                _exit(4);
            unsigned char *data = pages + (length > 56 ? next_random() % 64 : 0);
            uint32_t sum = 0;
            for (size_t b = 0; b < length; b++) {
                data[b] = (unsigned char)next_random();
                sum = sum * 31 + data[b];
            }
            /* the checksum first (inline), then the data */
            if (fring_send(ring, &sum, sizeof sum, FRING_BLOCK) != 0)
                _exit(2);
            long r = length <= 56 ? fring_send(ring, data, length, FRING_BLOCK)
                                  : fring_grant(ring, data, length, FRING_BLOCK);
            if (r < 0)
                _exit(3);
            munmap(pages, MAX + 4096);
        }
        /* Stay until the receiver is done: a sender's exit withdraws the
         * grants nobody has mapped yet. */
        char c;
        fring_recv(done, &c, 1, FRING_BLOCK, NULL);
        _exit(0);
    }
    int ok = 1, grants = 0;
    for (int i = 0; i < COUNT && ok; i++) {
        uint32_t expected = 0, sum = 0;
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
            for (uint64_t b = 0; b < g.length; b++)
                sum = sum * 31 + data[b];
            uintptr_t page = (uintptr_t)data & ~(uintptr_t)4095;
            munmap((void *)page, ((uintptr_t)data + g.length - page + 4095) & ~(uintptr_t)4095);
            grants++;
        } else {
            for (long b = 0; b < length; b++)
                sum = sum * 31 + message[b];
        }
        ok = sum == expected;
    }
    int status = -1;
    if (!ok)
        kill(pid, SIGKILL); /* it may be blocked on a full ring */
    fring_send(done, "d", 1, 0);
    waitpid(pid, &status, 0);
    CHECK("fring_mixed_sizes_checksums", ok && grants > COUNT / 2);
    CHECK("fring_mixed_sizes_sender_ok", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fring_close(ring);
    fring_close(done);
}

/* fring_grant_map as a raw call (-1 and errno on failure), for CHECK_ERR. */
static long grant_map_raw(int ring, uint32_t id)
{
    return fring_syscall6(SYS_fring_grant_map, ring, id, 0, 0, 0, 0);
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
    CHECK_ERR("fring_grant_map_never_sent", grant_map_raw(ring, 999999), EBADF);
    /* read-only for the receiver: a write kills a child that tries */
    pid_t pid = fork();
    if (pid == 0) {
        *(volatile char *)seen = 'X';
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK("fring_grant_mapping_read_only", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
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
    same_process();
    rights();
    between_processes();
    call_reply();
    dying_peer();
    grant_rules();
    grant_sender_dies();
    mixed_sizes();
    handle_passing();
    user_space_ring();
    return utest_exit();
}
