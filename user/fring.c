/*
 * fring.c - libfring.a: the Fusion Ring calls and the user-space ring
 * helpers declared in fring.h (see there for each function's contract).
 */
#include "fring.h"

static inline long fring_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    if (ret < 0 && ret > -4096) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
}

int fring_create(unsigned capacity, unsigned flags)
{
    return (int)fring_syscall6(SYS_fring_create, capacity, flags, 0, 0, 0, 0);
}

void *fring_map(int ring)
{
    long r = fring_syscall6(SYS_fring_map, ring, 0, 0, 0, 0, 0);
    return r == -1 ? NULL : (void *)r;
}

int fring_send(int ring, const void *data, size_t length, unsigned flags)
{
    return (int)fring_syscall6(SYS_fring_send, ring, (long)data, (long)length, flags, 0, 0);
}

long fring_recv(int ring, void *buffer, size_t capacity, unsigned flags, int *type)
{
    long r = fring_syscall6(SYS_fring_recv, ring, (long)buffer, (long)capacity, flags, 0, 0);
    if (r >= 0) {
        if (type)
            *type = (int)(r >> 16);
        r &= 0xFFFF;
    }
    return r;
}

long fring_call(int ring, const void *data, size_t length, int reply_ring, void *reply,
                              size_t reply_capacity)
{
    long r = fring_syscall6(SYS_fring_call, ring, (long)data, (long)length, reply_ring, (long)reply,
                            (long)reply_capacity);
    return r >= 0 ? (r & 0xFFFF) : r;
}

int fring_dup(int ring, unsigned rights)
{
    return (int)fring_syscall6(SYS_fring_dup, ring, rights, 0, 0, 0, 0);
}

int fring_close(int ring)
{
    return (int)fring_syscall6(SYS_fring_close, ring, 0, 0, 0, 0, 0);
}





int fring_wait(int handle, int side)
{
    return (int)fring_syscall6(SYS_fring_wait, handle, side, 0, 0, 0, 0);
}

long fring_grant(int ring, const void *data, size_t length, unsigned flags)
{
    return fring_syscall6(SYS_fring_grant, ring, (long)data, (long)length, flags, 0, 0);
}

long fring_grant_call(int ring, const void *data, size_t length, int reply_ring, void *reply,
                      size_t reply_capacity)
{
    long r = fring_syscall6(SYS_fring_grant_call, ring, (long)data, (long)length, reply_ring, (long)reply,
                            (long)reply_capacity);
    return r >= 0 ? (r & 0xFFFF) : r;
}

void *fring_grant_map(int ring, uint32_t id)
{
    long r = fring_syscall6(SYS_fring_grant_map, ring, id, 0, 0, 0, 0);
    return r == -1 ? NULL : (void *)r;
}

long fring_send_handle(int ring, int handle, unsigned rights)
{
    return fring_syscall6(SYS_fring_send_handle, ring, handle, rights, 0, 0, 0);
}

long fring_send_batch(int ring, const struct fring_iov *messages, unsigned count, unsigned flags)
{
    return fring_syscall6(SYS_fring_send_batch, ring, (long)messages, count, flags, 0, 0);
}

long fring_recv_batch(int ring, struct fring_msg *messages, unsigned count, unsigned flags)
{
    return fring_syscall6(SYS_fring_recv_batch, ring, (long)messages, count, flags, 0, 0);
}

int fring_accept_handle(int ring, uint32_t id)
{
    return (int)fring_syscall6(SYS_fring_accept_handle, ring, id, 0, 0, 0, 0);
}

int fring_wake(int handle, int side)
{
    return (int)fring_syscall6(SYS_fring_wake, handle, side, 0, 0, 0, 0);
}
