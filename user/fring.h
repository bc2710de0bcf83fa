/*
 * fring.h - Fusion Rings from C: Exo's capability-checked IPC (ExoIPC).
 *
 * A ring is a queue of 64-byte slots in shared memory; messages of up to 56
 * bytes travel inline. A process names a ring by a handle in its own handle
 * table (like a file descriptor; fork copies them); each handle carries
 * rights, checked by the kernel on every call:
 *     FRING_SEND, FRING_RECEIVE, FRING_GRANT, FRING_TRANSFER
 * fring_dup makes a weaker copy; fring_close drops one.
 *
 * The calls are Exo's system calls 400-416 (unassigned on Linux x86_64,
 * where they fail with ENOSYS). Each returns -1 and sets errno on failure,
 * like the C library's wrappers. The layout of a mapped ring (fring_map) is
 * ExoIPC's RingLayout.
 *
 * The calls live in the static library libfring.a (fring.c): link with
 * build/user/libfring.a. The user-space ring operations stay inline here,
 * as liburing keeps its ring helpers: a message through the mapped ring
 * costs a few hundred instructions, and a call plus an out-of-line memcpy
 * would be a large share of it.
 */
#ifndef FRING_H
#define FRING_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum {
    FRING_SEND = 1, FRING_RECEIVE = 2, FRING_GRANT = 4, FRING_TRANSFER = 8, FRING_ALL = 15,
    FRING_MULTI_PRODUCER = 1,      /* fring_create flags */
    FRING_MAP_GRANTS = 2,          /* fring_create: grants mapped as they are received (see fring_grant) */
    FRING_BLOCK = 1,               /* fring_send / fring_recv flags */
    FRING_GRANT_MOVE = 2,          /* fring_grant: move the pages (see there) */
    FRING_INLINE_MAX = 56,
    FRING_TYPE_DATA = 1, FRING_TYPE_GRANT = 2, FRING_TYPE_HANDLE = 3,
    FRING_MAGIC = 0x474E5246,      /* "FRNG" at offset 0 of a mapped ring */
};

enum {
    SYS_fring_create = 400, SYS_fring_map, SYS_fring_send, SYS_fring_recv, SYS_fring_call,
    SYS_fring_wait, SYS_fring_wake, SYS_fring_dup, SYS_fring_close,
    SYS_fring_grant, SYS_fring_grant_map, SYS_fring_send_handle, SYS_fring_accept_handle,
    SYS_fring_send_batch, SYS_fring_recv_batch, SYS_fring_wake_wait, SYS_fring_grant_call,
    SYS_fring_grant_wake_wait,
};

enum { FRING_BATCH_MAX = 64 };     /* messages per batch call */

/* One message of a fring_send_batch. */
struct fring_iov {
    const void *base;
    uint64_t length;               /* at most FRING_INLINE_MAX */
};

/* One message of a fring_recv_batch: the shape of a ring slot. */
struct fring_msg {
    uint16_t length;
    uint8_t type;
    uint8_t flags;
    uint32_t reserved;
    unsigned char data[FRING_INLINE_MAX];
};

/* The payload of a FRING_TYPE_GRANT message. */
struct fring_grant {
    uint32_t id;
    uint32_t reserved;
    uint64_t length;
    uint64_t address;              /* on a FRING_MAP_GRANTS ring: where the bytes are mapped; else 0 */
};

/* A new ring of `capacity` slots (a power of two, 2..32768; ENOMEM past the
 * process's ring memory, four of the largest rings): a handle with
 * every right. */
int fring_create(unsigned capacity, unsigned flags);

/* Maps the ring's pages into this process (read-write, shared). */
void *fring_map(int ring);

/* Sends `length` (<= 56) bytes; FRING_BLOCK waits for room, else EAGAIN. */
int fring_send(int ring, const void *data, size_t length, unsigned flags);

/* Receives one message into `buffer`: its length (the type in *type if
 * non-NULL); FRING_BLOCK waits for one, else EAGAIN. EPIPE: empty and no
 * sender left. */
long fring_recv(int ring, void *buffer, size_t capacity, unsigned flags, int *type);

/* Sends a request on `ring`, then waits for the reply on `reply_ring`; the
 * CPU goes straight to a receiver waiting on `ring`. Returns the reply's
 * length. The kernel's fast path takes calls whose message is at most 56
 * bytes; a reply longer than reply_capacity stays on its ring (EMSGSIZE);
 * other calls take the general path, with the same results. */
long fring_call(int ring, const void *data, size_t length, int reply_ring, void *reply,
                              size_t reply_capacity);

int fring_dup(int ring, unsigned rights);

int fring_close(int ring);

/* ---- User-space ring access (after fring_map) ----
 * The same protocol as ExoIPC's FusionRing: slot i starts with sequence i;
 * a producer at position p fills slot p % capacity when its sequence is p
 * and publishes p + 1; the consumer reads it when the sequence is p + 1 and
 * frees it with p + capacity. fring_ring_send is for a single producer,
 * fring_ring_send_mp for several; one consumer either way.
 * Sleeping and waking go through the kernel only when the other side
 * announced it sleeps (the wait words at offsets 192 and 196).
 *
 * The helpers (and fring_wake_wait, the one system call of a mapped-ring
 * call/reply) are always inlined: left to -Os, gcc calls the small ones
 * out of line, and a call, a return and the argument moves are a sizeable
 * share of a message that costs a few dozen instructions (an out-of-line
 * fring_ring_put once slowed a 16-message batch loop from 272 to 425
 * instructions per message). */
#define FRING_INLINE static inline __attribute__((always_inline))

enum {
    FRING_OFF_CAPACITY = 8, FRING_OFF_SLOT_MASK = 16, FRING_OFF_TAIL = 64, FRING_OFF_HEAD = 128,
    FRING_OFF_RECEIVER_WAITING = 192, FRING_OFF_SENDER_WAITING = 196, FRING_OFF_SLOTS = 256,
};

/* Wakes those sleeping in fring_wait on `side` (0: receivers, 1: senders).
 * The ring helpers below call it only when the other side announced it
 * sleeps. */
int fring_wake(int handle, int side);

FRING_INLINE unsigned char *fring_slot(unsigned char *ring, uint64_t position)
{
    uint32_t mask = *(uint32_t *)(ring + FRING_OFF_SLOT_MASK);   /* capacity - 1 */
    return ring + FRING_OFF_SLOTS + (position & mask) * 64;
}

/* The call/reply step for the mapped rings: the CPU goes straight to a
 * receiver sleeping on `wake_handle`'s ring (where a request was just put),
 * and the caller sleeps until `wait_handle`'s ring may hold a message. 0 on
 * any wakeup (re-check the ring, as after a futex wait), or -1 with errno:
 * EINTR (a signal), EPIPE (empty, no sender left), EBADF or EPERM. */
FRING_INLINE int fring_wake_wait(int wake_handle, int wait_handle)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"((long)SYS_fring_wake_wait), "D"((long)wake_handle), "S"((long)wait_handle)
                     : "rcx", "r11", "memory");
    if (ret < 0) {
        errno = (int)-ret;
        return -1;
    }
    return 0;
}

/* fring_wake_wait with a grant as the request: [data, data + length) goes
 * onto `wake_handle`'s ring zero-copy, as fring_grant without flags puts it
 * (a receiver asleep there on the empty ring of a FRING_MAP_GRANTS ring
 * finds it mapped: see fring_grant_call), the CPU to that receiver, and the
 * caller sleeps until `wait_handle`'s ring may hold a message, which it
 * takes from its mapped ring. 0, or -1 with errno: fring_grant's errors
 * (nothing was sent) or fring_wake_wait's. */
FRING_INLINE int fring_grant_wake_wait(int wake_handle, const void *data, size_t length, int wait_handle)
{
    long ret;
    register long wait __asm__("r10") = wait_handle;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"((long)SYS_fring_grant_wake_wait), "D"((long)wake_handle), "S"(data), "d"(length),
                       "r"(wait)
                     : "rcx", "r11", "memory");
    if (ret < 0) {
        errno = (int)-ret;
        return -1;
    }
    return 0;
}

/* Copies a payload of at most 56 bytes a word at a time: the compiler's
 * inline memcpy at -Os is a byte loop (rep movsb), 56 steps for a full
 * slot; this is at most 7 words and 7 bytes. */
FRING_INLINE void fring_copy(void *destination, const void *source, size_t length)
{
    size_t words = length >> 3, bytes = length & 7;
    __asm__ volatile("rep movsq" : "+D"(destination), "+S"(source), "+c"(words) : : "memory");
    if (bytes)      /* known at compile time for a constant length */
        __asm__ volatile("rep movsb" : "+D"(destination), "+S"(source), "+c"(bytes) : : "memory");
}

/* Fills the slot a producer claimed for `position` and publishes it
 * (sequence position + 1, release). */
FRING_INLINE void fring_fill(unsigned char *slot, uint64_t position, const void *data, size_t length)
{
    *(uint16_t *)(slot + 4) = (uint16_t)length;
    slot[6] = FRING_TYPE_DATA;
    slot[7] = 0;
    fring_copy(slot + 8, data, length);
    __atomic_store_n((uint32_t *)slot, (uint32_t)(position + 1), __ATOMIC_RELEASE);
}

/* After a publish: wakes a receiver that announced it sleeps. */
FRING_INLINE void fring_wake_receiver(int handle, unsigned char *ring)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint32_t *waiting = (uint32_t *)(ring + FRING_OFF_RECEIVER_WAITING);
    if (__atomic_load_n(waiting, __ATOMIC_RELAXED) && __atomic_exchange_n(waiting, 0, __ATOMIC_ACQ_REL))
        fring_wake(handle, 0);
}

/* fring_fill, then wakes a receiver that announced it sleeps. */
FRING_INLINE void fring_publish(int handle, unsigned char *ring, unsigned char *slot, uint64_t position,
                                 const void *data, size_t length)
{
    fring_fill(slot, position, data, length);
    fring_wake_receiver(handle, ring);
}

/* Claims the next slot of a single-producer mapped ring and fills it,
 * without waking anyone: 0, or -1 with errno EAGAIN (full) or EMSGSIZE. */
FRING_INLINE int fring_ring_put(unsigned char *ring, const void *data, size_t length)
{
    if (length > FRING_INLINE_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    uint64_t *tail = (uint64_t *)(ring + FRING_OFF_TAIL);
    uint64_t position = __atomic_load_n(tail, __ATOMIC_RELAXED);
    unsigned char *slot = fring_slot(ring, position);
    if (__atomic_load_n((uint32_t *)slot, __ATOMIC_ACQUIRE) != (uint32_t)position) {
        errno = EAGAIN;
        return -1;
    }
    __atomic_store_n(tail, position + 1, __ATOMIC_RELAXED);
    fring_fill(slot, position, data, length);
    return 0;
}

/* Puts one message in the mapped ring: 0, or -1 with errno EAGAIN (full)
 * or EMSGSIZE. Wakes a receiver sleeping in fring_wait. */
FRING_INLINE int fring_ring_send(int handle, unsigned char *ring, const void *data, size_t length)
{
    if (fring_ring_put(ring, data, length) < 0)
        return -1;
    fring_wake_receiver(handle, ring);
    return 0;
}

/* fring_ring_send for a ring created with FRING_MULTI_PRODUCER, where
 * several processes or threads (and the kernel's fring_send) put messages:
 * the position is claimed with a compare-and-swap of the tail, as ExoIPC's
 * FusionRing does. A slot whose sequence is behind the position means the
 * ring is full; ahead, another producer took it first (reload and retry).
 * The retries are bounded, as in the kernel: honest producers each take a
 * slot per lost race, so a ring that keeps us looping, or a slot ahead of a
 * tail that does not move, is being scribbled on: EBADMSG. */
static inline int fring_ring_send_mp(int handle, unsigned char *ring, const void *data, size_t length)
{
    if (length > FRING_INLINE_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    uint64_t *tail = (uint64_t *)(ring + FRING_OFF_TAIL);
    uint32_t capacity = *(uint32_t *)(ring + FRING_OFF_CAPACITY);
    uint64_t position = __atomic_load_n(tail, __ATOMIC_RELAXED);
    unsigned char *slot = NULL;
    for (uint32_t attempt = 0; attempt < capacity * 4 + 64; attempt++) {
        unsigned char *candidate = fring_slot(ring, position);
        int32_t state = (int32_t)(__atomic_load_n((uint32_t *)candidate, __ATOMIC_ACQUIRE) - (uint32_t)position);
        if (state == 0) {
            if (__atomic_compare_exchange_n(tail, &position, position + 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
                slot = candidate;
                break;
            }
            /* lost the race: `position` now holds the current tail */
        } else if (state < 0) {
            errno = EAGAIN;        /* the slot still holds last lap's message: full */
            return -1;
        } else {
            /* Another producer claimed it and moved the tail on; if the tail
             * has not moved, no producer following the protocol wrote this. */
            uint64_t reloaded = __atomic_load_n(tail, __ATOMIC_RELAXED);
            if (reloaded == position)
                break;
            position = reloaded;
        }
    }
    if (!slot) {
        errno = EBADMSG;
        return -1;
    }
    fring_publish(handle, ring, slot, position, data, length);
    return 0;
}

/* Takes one message from the mapped ring: its length, or -1 with errno
 * EAGAIN (empty). Its type (FRING_TYPE_*) in *type when type is not NULL.
 * Wakes a sender sleeping for room. */
FRING_INLINE long fring_ring_take(int handle, unsigned char *ring, void *buffer, size_t capacity, int *type)
{
    uint64_t *head = (uint64_t *)(ring + FRING_OFF_HEAD);
    uint64_t position = __atomic_load_n(head, __ATOMIC_RELAXED);
    unsigned char *slot = fring_slot(ring, position);
    if (__atomic_load_n((uint32_t *)slot, __ATOMIC_ACQUIRE) != (uint32_t)(position + 1)) {
        errno = EAGAIN;
        return -1;
    }
    size_t length = *(uint16_t *)(slot + 4);
    if (length > FRING_INLINE_MAX || length > capacity) {
        errno = EMSGSIZE;
        return -1;
    }
    fring_copy(buffer, slot + 8, length);
    if (type)
        *type = slot[6];
    uint32_t slots = *(uint32_t *)(ring + FRING_OFF_SLOT_MASK) + 1;
    __atomic_store_n(head, position + 1, __ATOMIC_RELAXED);
    __atomic_store_n((uint32_t *)slot, (uint32_t)(position + slots), __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint32_t *waiting = (uint32_t *)(ring + FRING_OFF_SENDER_WAITING);
    if (__atomic_load_n(waiting, __ATOMIC_RELAXED) && __atomic_exchange_n(waiting, 0, __ATOMIC_ACQ_REL))
        fring_wake(handle, 1);
    return (long)length;
}

/* fring_ring_take without the type: one message's length, or -1 with
 * errno EAGAIN (empty). */
FRING_INLINE long fring_ring_recv(int handle, unsigned char *ring, void *buffer, size_t capacity)
{
    return fring_ring_take(handle, ring, buffer, capacity, NULL);
}

/* Maps a received grant read-only; returns its first byte (NULL and errno
 * on failure). munmap of the whole pages releases it. On a ring created
 * with FRING_MAP_GRANTS it goes into the ring's grant window instead (see
 * fring_grant_call), taking the place of the grant the window held. EPIPE:
 * the sender died before it was mapped. */
void *fring_grant_map(int ring, uint32_t id);

/* Takes a grant from a mapped ring created with FRING_MAP_GRANTS: its
 * descriptor, whose address is where the bytes are mapped, read-only, in
 * this process's window for the ring. A grant that fring_grant_call or
 * fring_grant_wake_wait handed to this process while it slept on the empty
 * ring (fring_wake_wait) arrives mapped (id 0); one that waited in the ring
 * is mapped here
 * (fring_grant_map). Either takes the place of the window's last grant.
 * 0, or -1 with errno: EAGAIN (empty), EBADMSG (not a grant), or
 * fring_grant_map's. As with any message read from a mapped ring, the
 * descriptor is what the ring holds: a process that maps the ring could
 * have written it (the kernel's receive, fring_recv, checks a delivered
 * grant against the window). */
FRING_INLINE int fring_ring_recv_grant(int handle, unsigned char *ring, struct fring_grant *grant)
{
    int type;
    long got = fring_ring_take(handle, ring, grant, sizeof *grant, &type);
    if (got < 0)
        return -1;
    if (type != FRING_TYPE_GRANT || got != (long)sizeof *grant) {
        errno = EBADMSG;
        return -1;
    }
    if (grant->id != 0) {
        void *mapped = fring_grant_map(handle, grant->id);
        if (!mapped)
            return -1;
        grant->address = (uint64_t)(uintptr_t)mapped;
    }
    return 0;
}

/* Sleeps until the mapped ring may hold a message (side 0) or room (1). */
int fring_wait(int handle, int side);

/* Call/reply through two mapped rings, a single producer on `ring`: puts
 * the request (copied once, into the slot), hands the CPU to the receiver
 * sleeping on `ring` and sleeps until the reply arrives on `reply_ring`,
 * then takes it. The reply's length, or -1 with errno: EAGAIN (the request
 * ring is full; nothing sent), EMSGSIZE, or fring_wake_wait's errors (the
 * request was sent). */
FRING_INLINE long fring_ring_call(int handle, unsigned char *ring, const void *data, size_t length,
                                   int reply_handle, unsigned char *reply_ring, void *reply, size_t reply_capacity)
{
    if (fring_ring_put(ring, data, length) < 0)
        return -1;
    for (;;) {
        if (fring_wake_wait(handle, reply_handle) < 0)
            return -1;
        long got = fring_ring_recv(reply_handle, reply_ring, reply, reply_capacity);
        if (got >= 0 || errno != EAGAIN)
            return got;
    }
}

/* fring_grant_call for a caller that takes its replies from the mapped
 * ring: grants [data, data + length) to the receiver sleeping on `handle`
 * (fring_grant_wake_wait) and takes the reply from `reply_ring` (mapped
 * from `reply_handle`) once there. The reply's length, or -1 with errno:
 * EMSGSIZE, or fring_grant_wake_wait's errors. */
FRING_INLINE long fring_ring_grant_call(int handle, const void *data, size_t length, int reply_handle,
                                         unsigned char *reply_ring, void *reply, size_t reply_capacity)
{
    if (fring_grant_wake_wait(handle, data, length, reply_handle) < 0)
        return -1;
    for (;;) {
        long got = fring_ring_recv(reply_handle, reply_ring, reply, reply_capacity);
        if (got >= 0 || errno != EAGAIN)
            return got;
        if (fring_wait(reply_handle, 0) < 0)     /* woken early: until the reply */
            return -1;
    }
}

/* Sends the bytes at [data, data + length) zero-copy: the receiver maps the
 * same pages read-only (fring_grant_map). Needs FRING_SEND | FRING_GRANT.
 * The sender should not change the buffer until the receiver is done.
 * With FRING_GRANT_MOVE (page-aligned data and length only) the pages move
 * instead: they leave the sender's address space once sent, and the
 * receiver maps them writable and private (pages still shared with others,
 * after a fork, are copied on the receiver's first write).
 * Returns the grant id (also in the message). */
long fring_grant(int ring, const void *data, size_t length, unsigned flags);

/* fring_call with a grant as the request: the bytes at [data, data + length)
 * go zero-copy, shared and read-only (as fring_grant without flags), the
 * CPU goes straight to a receiver waiting on `ring`, and the caller waits
 * for the reply on `reply_ring` (its length is returned). The buffer is the
 * receiver's to read until it replies.
 *
 * On a ring created with FRING_MAP_GRANTS, fring_recv and fring_call map a
 * grant as they take it: the struct fring_grant received carries the
 * address of its first byte (no fring_grant_map), mapped read-only in the
 * receiver's grant window for that ring. The window is revoked (unmapped)
 * at the receiver's next fring_recv or fring_call receive on the ring,
 * where the next grant takes its place (without new page tables or a new
 * mapping when it has the same number of pages). When the call hands the
 * CPU to a receiver asleep on the empty ring, the grant is mapped into
 * that receiver's window as it is sent (its waiting counts as its next
 * receive): the descriptor then has id 0 and the address. A receiver that
 * takes its messages from the mapped ring reads grants with
 * fring_ring_recv_grant. A process keeps at most
 * eight windows (a ninth ring's grant revokes the oldest); closing the ring
 * leaves its window until munmap or exit. mprotect cannot make a grant's
 * pages writable (EACCES). */
long fring_grant_call(int ring, const void *data, size_t length, int reply_ring, void *reply,
                      size_t reply_capacity);

/* Passes a copy of `handle` with `rights` (its own must include
 * FRING_TRANSFER and every right passed) over `ring`. */
long fring_send_handle(int ring, int handle, unsigned rights);

/* Sends `count` (<= FRING_BATCH_MAX) messages in order with one system
 * call and one wakeup: how many went. FRING_BLOCK waits for room as often as
 * needed; without it the call stops at a full ring (EAGAIN if none went).
 * An error after some messages went returns their number. */
long fring_send_batch(int ring, const struct fring_iov *messages, unsigned count, unsigned flags);

/* Receives up to `count` (<= FRING_BATCH_MAX) messages: how many came.
 * FRING_BLOCK waits for the first one only. */
long fring_recv_batch(int ring, struct fring_msg *messages, unsigned count, unsigned flags);

/* Turns a received FRING_TYPE_HANDLE message (its 4-byte id) into a handle. */
int fring_accept_handle(int ring, uint32_t id);

#endif
