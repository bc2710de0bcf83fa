/*
 * forkwait.c - processes: fork, exit codes, wait4 status words, getppid,
 * execve, vfork, WNOHANG, ECHILD, rusage, death by signal.
 */
#include "utest.h"

#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static char *const child_envp[] = {"UTEST=1", NULL};

static void exit_codes(void)
{
    static const int codes[] = {0, 1, 42, 255};
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(codes[i]);
        int status = -1;
        pid_t got = wait4(pid, &status, 0, NULL);
        char name[64];
        snprintf(name, sizeof name, "forkwait_exit_%d", codes[i]);
        CHECK(name, got == pid && WIFEXITED(status) && WEXITSTATUS(status) == codes[i]
                        && !WIFSIGNALED(status));
    }
}

/* The child reports what it sees through its exit code: 0 when getppid()
 * names the parent and getpid() differs from it. */
static void parent_and_child_ids(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        _exit(getppid() == parent && getpid() != parent ? 0 : 1);
    int status;
    CHECK("forkwait_fork_returns_pid", pid > 0 && pid != parent);
    CHECK("forkwait_getppid", waitpid(pid, &status, 0) == pid && WIFEXITED(status)
                                  && WEXITSTATUS(status) == 0);
    CHECK("forkwait_raw_getpid", syscall(SYS_getpid) == parent);
    CHECK("forkwait_gettid_single_thread", syscall(SYS_gettid) == parent);
}

/* Both sides of a fork resume with the registers the caller had: every
 * one the system-call ABI preserves (all but rax, rcx and r11) holds its
 * value from before, in the child too. (A child once started with a kernel
 * address in a callee-saved register: its first frame had been copied
 * over itself.) Raw SYSCALL, so that nothing but the kernel touches them. */
static long fork_recording_registers(uint64_t regs[12])
{
    long ret;
    __asm__ volatile(
        "pushq %%rbp\n\t"
        "pushq %[out]\n\t"
        "movabsq $0x0101010101010101, %%rbx\n\t"
        "movabsq $0x0202020202020202, %%rdx\n\t"
        "movabsq $0x0303030303030303, %%rsi\n\t"
        "movabsq $0x0404040404040404, %%rdi\n\t"
        "movabsq $0x0505050505050505, %%r8\n\t"
        "movabsq $0x0606060606060606, %%r9\n\t"
        "movabsq $0x0707070707070707, %%r10\n\t"
        "movabsq $0x0808080808080808, %%r12\n\t"
        "movabsq $0x0909090909090909, %%r13\n\t"
        "movabsq $0x0a0a0a0a0a0a0a0a, %%r14\n\t"
        "movabsq $0x0b0b0b0b0b0b0b0b, %%r15\n\t"
        "movabsq $0x0c0c0c0c0c0c0c0c, %%rbp\n\t"
        "movl $57, %%eax\n\t"               /* fork */
        "syscall\n\t"
        "xchgq %%rax, (%%rsp)\n\t"          /* rax = regs, the result on the stack */
        "movq %%rbx, 0(%%rax)\n\t"
        "movq %%rdx, 8(%%rax)\n\t"
        "movq %%rsi, 16(%%rax)\n\t"
        "movq %%rdi, 24(%%rax)\n\t"
        "movq %%r8, 32(%%rax)\n\t"
        "movq %%r9, 40(%%rax)\n\t"
        "movq %%r10, 48(%%rax)\n\t"
        "movq %%r12, 56(%%rax)\n\t"
        "movq %%r13, 64(%%rax)\n\t"
        "movq %%r14, 72(%%rax)\n\t"
        "movq %%r15, 80(%%rax)\n\t"
        "movq %%rbp, 88(%%rax)\n\t"
        "popq %%rax\n\t"
        "popq %%rbp"
        : "=a"(ret)
        : [out] "r"(regs)
        : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "memory");
    return ret;
}

static int registers_kept(const uint64_t regs[12])
{
    for (int i = 0; i < 12; i++)
        if (regs[i] != 0x0101010101010101ull * (uint64_t)(i + 1))
            return 0;
    return 1;
}

static void fork_preserves_registers(void)
{
    uint64_t regs[12];
    long pid = fork_recording_registers(regs);
    if (pid == 0)
        _exit(registers_kept(regs) ? 0 : 1);
    int status = -1;
    CHECK("forkwait_parent_registers_kept", pid > 0 && registers_kept(regs));
    CHECK("forkwait_child_registers_kept", pid > 0 && waitpid((pid_t)pid, &status, 0) == pid
                                               && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The child's getpid and gettid (the kernel's fast path) report the id
 * fork returned to the parent, also after many switches between the two. */
static void child_ids_match_fork(void)
{
    int ids[2];
    if (pipe(ids) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        long mine[2] = {0, 0};
        for (int i = 0; i < 100; i++) {
            mine[0] = syscall(SYS_getpid);
            mine[1] = syscall(SYS_gettid);
            sched_yield();
        }
        write(ids[1], mine, sizeof mine);
        _exit(0);
    }
    long seen[2] = {-1, -1};
    for (int i = 0; i < 100; i++)
        sched_yield();
    read(ids[0], seen, sizeof seen);
    waitpid(pid, NULL, 0);
    close(ids[0]);
    close(ids[1]);
    CHECK("forkwait_child_getpid_is_fork_result", seen[0] == pid);
    CHECK("forkwait_child_gettid_is_fork_result", seen[1] == pid);
}

/* Memory is copied, not shared: the child's write is invisible here. */
static void fork_copies_memory(void)
{
    static volatile int value = 1;
    int on_stack = 7;
    pid_t pid = fork();
    if (pid == 0) {
        value = 2;
        on_stack = 8;
        _exit(value == 2 && on_stack == 8 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK("forkwait_cow", WIFEXITED(status) && WEXITSTATUS(status) == 0 && value == 1
                              && on_stack == 7);
}

static void exec_hello(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        utest_fail("forkwait_execve", "pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        char *argv[] = {"/tests/hello", NULL};
        execve("/tests/hello", argv, child_envp);
        _exit(127);
    }
    close(fds[1]);
    char buf[128];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += n;
    buf[len] = 0;
    close(fds[0]);
    int status;
    pid_t got = waitpid(pid, &status, 0);
    CHECK("forkwait_execve", got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK("forkwait_execve_output", strcmp(buf, "hello from user space\n") == 0);
}

/* A failed execve returns to the caller with errno and leaves it intact. */
static void exec_failures(void)
{
    char *argv[] = {"/nonexistent", NULL};
    CHECK_ERR("forkwait_execve_enoent", execve("/nonexistent", argv, child_envp), ENOENT);
    CHECK_ERR("forkwait_execve_eacces", execve("/etc/motd", argv, child_envp), EACCES);
    CHECK_ERR("forkwait_execve_dir", execve("/tests", argv, child_envp), EACCES);
}

/* vfork: the parent is suspended until the child execs or exits; musl's
 * posix_spawn and busybox rely on it. */
static void vfork_exec(void)
{
    pid_t pid = vfork();
    if (pid == 0) {
        char *argv[] = {"/tests/true", NULL};
        execve("/tests/true", argv, child_envp);
        _exit(127);
    }
    int status;
    CHECK("forkwait_vfork_exec", pid > 0 && waitpid(pid, &status, 0) == pid
                                     && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void wnohang_and_echild(void)
{
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(fds[1]);
        read(fds[0], &c, 1); /* blocks until the parent closes its end */
        _exit(3);
    }
    close(fds[0]);
    int status = 0;
    CHECK("forkwait_wnohang_running", waitpid(pid, &status, WNOHANG) == 0);
    close(fds[1]);
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    pid_t got = wait4(pid, &status, 0, &ru);
    CHECK("forkwait_wait_after_eof", got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 3);
    CHECK("forkwait_rusage", ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000);
    CHECK_ERR("forkwait_echild", wait4(-1, &status, 0, NULL), ECHILD);
    CHECK_ERR("forkwait_echild_wnohang", waitpid(-1, &status, WNOHANG), ECHILD);
    CHECK_ERR("forkwait_wait_not_child", waitpid(1, &status, 0), ECHILD);
}

/* Many children at once, reaped in any order by wait(-1). */
static void many_children(void)
{
    enum { N = 24 };
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(i);
        if (pids[i] < 0) {
            utest_fail("forkwait_many", "fork %d: %s", i, strerror(errno));
            return;
        }
    }
    int seen = 0, ok = 1;
    for (int i = 0; i < N; i++) {
        int status;
        pid_t got = wait4(-1, &status, 0, NULL);
        int idx = -1;
        for (int j = 0; j < N; j++)
            if (pids[j] == got)
                idx = j;
        if (idx < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != idx || (seen >> idx & 1))
            ok = 0;
        else
            seen |= 1 << idx;
    }
    CHECK("forkwait_many", ok && seen == (1 << N) - 1);
}

static void killed_by_signal(void)
{
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(fds[1]);
        for (;;)
            read(fds[0], &c, 1);
    }
    close(fds[0]);
    kill(pid, SIGKILL);
    int status;
    pid_t got = waitpid(pid, &status, 0);
    close(fds[1]);
    CHECK("forkwait_sigkill", got == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL
                                  && !WIFEXITED(status));

    pid = fork();
    if (pid == 0) {
        abort();
    }
    waitpid(pid, &status, 0);
    CHECK("forkwait_abort", WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

/* exit_group from a child with an exit code above 255 keeps the low byte. */
static void exit_code_truncated(void)
{
    pid_t pid = fork();
    if (pid == 0)
        syscall(SYS_exit_group, 0x1234);
    int status;
    waitpid(pid, &status, 0);
    CHECK("forkwait_exit_low_byte", WIFEXITED(status) && WEXITSTATUS(status) == 0x34);
}

int main(void)
{
    exit_codes();
    parent_and_child_ids();
    fork_preserves_registers();
    child_ids_match_fork();
    fork_copies_memory();
    exec_hello();
    exec_failures();
    vfork_exec();
    wnohang_and_echild();
    many_children();
    killed_by_signal();
    exit_code_truncated();
    return utest_exit();
}
