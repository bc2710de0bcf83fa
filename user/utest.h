/*
 * utest.h - the reporting convention every test program under user/ follows.
 *
 * Each check prints one machine-readable line on stdout:
 *     utest: pass <name>
 *     utest: fail <name> <reason>
 * and a program exits 0 only when none failed (utest_exit). runall.c, the
 * test /init, counts these lines; the same lines mean the same thing on
 * Linux (the reference) and on Exo.
 *
 * Output goes through write(2) on fd 1 directly, never stdio buffers, so
 * nothing is lost or duplicated when a test forks, execs or is killed.
 */
#ifndef UTEST_H
#define UTEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int utest_failures;
static int utest_passes;

/* utest_print: format into a stack buffer and write it in one write(2), so
 * lines from a parent and its children never interleave mid-line. */
static inline void utest_print(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n >= (int)sizeof line)
        n = sizeof line - 1;
    for (int off = 0; off < n;) {
        ssize_t w = write(1, line + off, n - off);
        if (w <= 0)
            return;
        off += w;
    }
}

static inline void utest_pass(const char *name)
{
    utest_passes++;
    utest_print("utest: pass %s\n", name);
}

/* utest_fail: the reason is free text; keep it on one line. */
static inline void utest_fail(const char *name, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    utest_failures++;
    utest_print("utest: fail %s %s\n", name, reason);
}

/* CHECK: one named check; the reason shows the failed condition and errno. */
#define CHECK(name, cond)                                                     \
    do {                                                                      \
        int saved_errno_ = errno;                                             \
        if (cond)                                                             \
            utest_pass(name);                                                 \
        else                                                                  \
            utest_fail(name, "%s:%d: %s (errno %d %s)", __FILE__, __LINE__,   \
                       #cond, saved_errno_, strerror(saved_errno_));          \
    } while (0)

/* CHECK_ERR: `expr` must return -1 with errno == `err` (raw syscalls via
 * syscall(2) follow the same -1/errno convention in musl). */
#define CHECK_ERR(name, expr, err)                                            \
    do {                                                                      \
        errno = 0;                                                            \
        long r_ = (long)(expr);                                               \
        int e_ = errno;                                                       \
        if (r_ == -1 && e_ == (err))                                          \
            utest_pass(name);                                                 \
        else                                                                  \
            utest_fail(name, "%s:%d: %s returned %ld errno %d (%s), want %s", \
                       __FILE__, __LINE__, #expr, r_, e_, strerror(e_), #err); \
    } while (0)

/* utest_console: for programs that run as /init. Make sure fds 0-2 exist:
 * Linux opens /dev/console for init when the initramfs has it, but a kernel
 * that does not should still see our output. */
static inline void utest_console(void)
{
    if (fcntl(1, F_GETFD) != -1)
        return;
    int fd = open("/dev/console", O_RDWR);
    if (fd < 0)
        _exit(2);
    for (int i = 0; i < 3; i++)
        if (fd != i)
            dup2(fd, i);
    if (fd > 2)
        close(fd);
}

/* utest_exit: the exit status runall.c and the tools rely on. */
static inline int utest_exit(void)
{
    return utest_failures == 0 ? 0 : 1;
}

#endif
