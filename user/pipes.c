/*
 * pipes.c - pipes between processes: data in order, EOF when the last writer
 * closes, EPIPE/SIGPIPE when the last reader closes, dup/dup2/dup3/fcntl,
 * close-on-exec across execve, O_NONBLOCK, poll, and writes larger than the
 * pipe's buffer.
 */
#include "utest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>

static char *const child_envp[] = {"UTEST=1", "PATH=/bin", NULL};

/* read_all: read until EOF or `cap` bytes; returns the count. */
static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t n;
    while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
        len += n;
    return len;
}

static void same_process(void)
{
    int fds[2];
    CHECK("pipes_pipe", pipe(fds) == 0 && fds[0] >= 0 && fds[1] > fds[0]);
    CHECK("pipes_write", write(fds[1], "abc", 3) == 3);
    char buf[8] = {0};
    CHECK("pipes_read", read(fds[0], buf, sizeof buf) == 3 && memcmp(buf, "abc", 3) == 0);
    CHECK("pipes_read_zero_len", read(fds[0], buf, 0) == 0);
    CHECK_ERR("pipes_read_write_end", read(fds[1], buf, 1), EBADF);
    CHECK_ERR("pipes_write_read_end", write(fds[0], "x", 1), EBADF);
    close(fds[1]);
    CHECK("pipes_eof", read(fds[0], buf, sizeof buf) == 0);
    close(fds[0]);
    CHECK_ERR("pipes_close_twice", close(fds[0]), EBADF);
}

static void child_to_parent(void)
{
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        for (int i = 0; i < 10; i++) {
            char line[16];
            int n = snprintf(line, sizeof line, "line %d\n", i);
            write(fds[1], line, n);
        }
        _exit(0);
    }
    close(fds[1]);
    char buf[256];
    size_t len = read_all(fds[0], buf, sizeof buf - 1);
    buf[len] = 0;
    close(fds[0]);
    waitpid(pid, NULL, 0);
    CHECK("pipes_fork_order", len == 70 && strncmp(buf, "line 0\nline 1\n", 14) == 0
                                  && strcmp(buf + 63, "line 9\n") == 0);
}

/* Standard output redirected with dup2 survives execve. */
static void dup2_exec(void)
{
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        char *argv[] = {"/tests/hello", NULL};
        execve(argv[0], argv, child_envp);
        _exit(127);
    }
    close(fds[1]);
    char buf[128];
    size_t len = read_all(fds[0], buf, sizeof buf - 1);
    buf[len] = 0;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK("pipes_dup2_exec", WIFEXITED(status) && WEXITSTATUS(status) == 0
                                 && strstr(buf, "hello from user space\n") != NULL);
}

static void broken_pipe(void)
{
    int fds[2];
    pipe(fds);
    /* The read end goes before the fork: closed after it, the child could
     * write (on another CPU) while the parent still held a reader. */
    close(fds[0]);
    pid_t pid = fork();
    if (pid == 0) {
        write(fds[1], "x", 1); /* no reader: SIGPIPE, default action kills */
        _exit(0);
    }
    close(fds[1]);
    int status;
    waitpid(pid, &status, 0);
    CHECK("pipes_sigpipe", WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE);

    pipe(fds);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR("pipes_epipe", write(fds[1], "x", 1), EPIPE);
    signal(SIGPIPE, SIG_DFL);
    close(fds[1]);
}

static void dups(void)
{
    int fds[2];
    pipe(fds);
    int d = dup(fds[1]);
    CHECK("pipes_dup_lowest", d == fds[1] + 1);
    CHECK("pipes_dup_shares", write(d, "d", 1) == 1);
    int hi = fcntl(fds[1], F_DUPFD, 100);
    CHECK("pipes_fcntl_dupfd", hi == 100);
    CHECK("pipes_dup3_cloexec", dup3(fds[1], 50, O_CLOEXEC) == 50 && fcntl(50, F_GETFD) == FD_CLOEXEC);
    CHECK_ERR("pipes_dup3_same", dup3(50, 50, 0), EINVAL);
    CHECK("pipes_dup2_same", dup2(50, 50) == 50);
    CHECK_ERR("pipes_dup2_bad", dup2(999, 3), EBADF);
    CHECK_ERR("pipes_dup_bad", dup(-1), EBADF);
    close(d);
    close(hi);
    close(50);
    close(fds[1]);
    char buf[4];
    CHECK("pipes_dup_data", read(fds[0], buf, 4) == 1 && buf[0] == 'd');
    CHECK("pipes_dup_eof_after_all_closed", read(fds[0], buf, 4) == 0);
    close(fds[0]);
}

/* run_sh_echo_fd9: busybox sh writes to fd 9; returns its exit status and
 * what arrived in the pipe. */
static int run_sh_echo_fd9(int cloexec, char *out, size_t cap)
{
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (dup3(fds[1], 9, cloexec ? O_CLOEXEC : 0) != 9)
            _exit(126);
        close(fds[1]);
        char *argv[] = {"sh", "-c", "echo x >&9", NULL};
        int devnull[2];
        pipe(devnull); /* silence sh's complaint about fd 9 on stderr */
        dup2(devnull[1], 2);
        execve("/bin/busybox", argv, child_envp);
        _exit(127);
    }
    close(fds[1]);
    size_t len = read_all(fds[0], out, cap - 1);
    out[len] = 0;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void cloexec(void)
{
    int fds[2];
    CHECK("pipes_pipe2_cloexec", pipe2(fds, O_CLOEXEC) == 0 && fcntl(fds[0], F_GETFD) == FD_CLOEXEC
                                     && fcntl(fds[1], F_GETFD) == FD_CLOEXEC);
    close(fds[0]);
    close(fds[1]);
    char out[32];
    int rc = run_sh_echo_fd9(0, out, sizeof out);
    CHECK("pipes_fd_inherited_by_exec", rc == 0 && strcmp(out, "x\n") == 0);
    rc = run_sh_echo_fd9(1, out, sizeof out);
    CHECK("pipes_cloexec_closed_by_exec", rc != 0 && out[0] == 0);
}

static void nonblock_and_poll(void)
{
    int fds[2];
    pipe2(fds, O_NONBLOCK);
    char c;
    CHECK_ERR("pipes_nonblock_eagain", read(fds[0], &c, 1), EAGAIN);
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    CHECK("pipes_poll_empty", poll(&p, 1, 0) == 0);
    write(fds[1], "p", 1);
    CHECK("pipes_poll_readable", poll(&p, 1, 0) == 1 && (p.revents & POLLIN));
    read(fds[0], &c, 1);
    close(fds[1]);
    p.revents = 0;
    CHECK("pipes_poll_hup", poll(&p, 1, 0) == 1 && (p.revents & POLLHUP));
    CHECK("pipes_fcntl_getfl_nonblock", (fcntl(fds[0], F_GETFL) & O_NONBLOCK) != 0);
    close(fds[0]);

    /* A full non-blocking pipe refuses with EAGAIN; Linux's default is 64 KiB. */
    pipe2(fds, O_NONBLOCK);
    static char block[4096];
    size_t total = 0;
    ssize_t n;
    while ((n = write(fds[1], block, sizeof block)) > 0)
        total += n;
    CHECK("pipes_capacity", n == -1 && errno == EAGAIN && total >= 4096);
    utest_print("pipes: capacity %zu bytes\n", total);
    close(fds[0]);
    close(fds[1]);
}

/* 1 MiB through the pipe, far more than it buffers: the writer blocks and
 * resumes; the checksum proves nothing was lost or reordered. */
static void bulk(void)
{
    enum { TOTAL = 1 << 20 };
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        static unsigned char chunk[3000];
        uint32_t x = 1;
        size_t sent = 0;
        while (sent < TOTAL) {
            size_t n = TOTAL - sent < sizeof chunk ? TOTAL - sent : sizeof chunk;
            for (size_t i = 0; i < n; i++) {
                x = x * 1103515245u + 12345u;
                chunk[i] = x >> 16;
            }
            if (write(fds[1], chunk, n) != (ssize_t)n)
                _exit(1);
            sent += n;
        }
        _exit(0);
    }
    close(fds[1]);
    static unsigned char buf[5000];
    uint32_t x = 1;
    size_t got = 0;
    int same = 1;
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            same &= buf[i] == (unsigned char)(x >> 16);
        }
        got += n;
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK("pipes_bulk_1m", got == TOTAL && same && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    same_process();
    child_to_parent();
    dup2_exec();
    broken_pipe();
    dups();
    cloexec();
    nonblock_and_poll();
    bulk();
    return utest_exit();
}
