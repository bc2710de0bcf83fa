/*
 * signals.c - signal delivery: handlers, siginfo, masks and pending sets,
 * SA_RESETHAND, SIG_IGN, faults turned into SIGSEGV/SIGFPE (caught and
 * fatal), SIGCHLD, alarm interrupting a blocking read, sigaltstack.
 */
#include "utest.h"

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

static volatile sig_atomic_t usr1_count;
static volatile sig_atomic_t info_ok;
static volatile sig_atomic_t chld_count;
static volatile sig_atomic_t alrm_count;
static volatile void *fault_addr;
static volatile int fault_code;
static volatile uintptr_t handler_stack;
static sigjmp_buf fault_jump;

static void on_usr1(int sig) { usr1_count += sig == SIGUSR1; }
static void on_chld(int sig) { chld_count += sig == SIGCHLD; }
static void on_alrm(int sig) { alrm_count += sig == SIGALRM; }

static void on_usr1_info(int sig, siginfo_t *info, void *uctx)
{
    info_ok = sig == SIGUSR1 && info->si_signo == SIGUSR1 && info->si_code == SI_USER
              && info->si_pid == getpid() && uctx != NULL;
    volatile char here;
    handler_stack = (uintptr_t)&here;
}

static void on_fault(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    fault_addr = info->si_addr;
    fault_code = info->si_code;
    siglongjmp(fault_jump, sig);
}

static int set_handler(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

static int set_info_handler(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

/* A signal sent to oneself is delivered before kill() returns. */
static void handler_runs(void)
{
    CHECK("signals_sigaction", set_handler(SIGUSR1, on_usr1, 0) == 0);
    usr1_count = 0;
    kill(getpid(), SIGUSR1);
    CHECK("signals_kill_self_delivered", usr1_count == 1);
    raise(SIGUSR1);
    CHECK("signals_raise_delivered", usr1_count == 2);

    struct sigaction old;
    CHECK("signals_sigaction_query", sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == on_usr1);

    set_info_handler(SIGUSR1, on_usr1_info, 0);
    info_ok = 0;
    kill(getpid(), SIGUSR1);
    CHECK("signals_siginfo", info_ok);
    CHECK_ERR("signals_sigaction_sigkill", sigaction(SIGKILL, &old, NULL), EINVAL);
    CHECK_ERR("signals_sigaction_bad_signo", sigaction(65, &old, NULL), EINVAL);
}

static void masks(void)
{
    set_handler(SIGUSR1, on_usr1, 0);
    usr1_count = 0;
    sigset_t block, old, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    CHECK("signals_sigprocmask_block", sigprocmask(SIG_BLOCK, &block, &old) == 0);
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1); /* standard signals do not queue: one delivery */
    CHECK("signals_blocked_not_delivered", usr1_count == 0);
    CHECK("signals_sigpending", sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1));
    CHECK("signals_unblock_delivers", sigprocmask(SIG_SETMASK, &old, NULL) == 0 && usr1_count == 1);
    CHECK("signals_pending_cleared", sigpending(&pending) == 0 && !sigismember(&pending, SIGUSR1));

    /* SIGKILL and SIGSTOP cannot be blocked: the kernel drops them from the mask. */
    sigset_t all, now;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    sigprocmask(SIG_SETMASK, &old, &now);
    CHECK("signals_cannot_block_sigkill", !sigismember(&now, SIGKILL) && !sigismember(&now, SIGSTOP));

    CHECK("signals_sa_resethand", set_handler(SIGUSR1, on_usr1, SA_RESETHAND) == 0);
    usr1_count = 0;
    raise(SIGUSR1);
    struct sigaction cur;
    sigaction(SIGUSR1, NULL, &cur);
    CHECK("signals_resethand_reset", usr1_count == 1 && cur.sa_handler == SIG_DFL);

    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    CHECK("signals_sig_ign", 1); /* still running */
}

/* Faults become signals a handler can catch, with the faulting address. */
static void caught_faults(void)
{
    set_info_handler(SIGSEGV, on_fault, SA_NODEFER);
    if (sigsetjmp(fault_jump, 1) == 0) {
        *(volatile int *)0 = 1;
        utest_fail("signals_segv_caught", "NULL write did not fault");
    } else {
        CHECK("signals_segv_caught", fault_addr == NULL && fault_code == SEGV_MAPERR);
    }
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(fault_jump, 1) == 0) {
        ro[10] = 1;
        utest_fail("signals_segv_accerr", "write to read-only page did not fault");
    } else {
        CHECK("signals_segv_accerr", fault_addr == ro + 10 && fault_code == SEGV_ACCERR);
    }
    munmap(ro, 4096);
    if (sigsetjmp(fault_jump, 1) == 0) {
        *(volatile int *)0x0000400000000000 = 1;
        utest_fail("signals_segv_high", "write to unmapped high address did not fault");
    } else {
        CHECK("signals_segv_high", fault_addr == (void *)0x0000400000000000);
    }
    /* Non-canonical addresses raise #GP, reported as SIGSEGV with address 0. */
    if (sigsetjmp(fault_jump, 1) == 0) {
        *(volatile int *)0x8000000000000000 = 1;
        utest_fail("signals_segv_noncanonical", "non-canonical write did not fault");
    } else {
        CHECK("signals_segv_noncanonical", 1);
    }
    signal(SIGSEGV, SIG_DFL);
}

static int child_dies_with(int sig, void (*body)(void))
{
    pid_t pid = fork();
    if (pid == 0) {
        body();
        _exit(0);
    }
    int status;
    return waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

static void null_deref(void) { *(volatile int *)0 = 1; }
static void kernel_deref(void) { (void)*(volatile int *)0xffffffff81000000; }
static volatile int zero;
static void divide_by_zero(void) { zero = 10 / zero; }
static void self_term(void) { raise(SIGTERM); }
static void bad_jump(void) { ((void (*)(void))0x10)(); }

static void fatal_faults(void)
{
    CHECK("signals_child_null_sigsegv", child_dies_with(SIGSEGV, null_deref));
    CHECK("signals_child_kernel_sigsegv", child_dies_with(SIGSEGV, kernel_deref));
    CHECK("signals_child_jump_sigsegv", child_dies_with(SIGSEGV, bad_jump));
    CHECK("signals_child_div0_sigfpe", child_dies_with(SIGFPE, divide_by_zero));
    CHECK("signals_child_sigterm", child_dies_with(SIGTERM, self_term));
}

/* A child busy in user mode (never entering the kernel, perhaps alone on
 * another CPU) still gets signals: a handler runs, and SIGKILL kills it. */
static void on_term_exit(int sig) { _exit(sig == SIGTERM ? 7 : 1); }

static pid_t busy_child(int with_handler)
{
    int ready[2];
    if (pipe(ready) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (with_handler)
            set_handler(SIGTERM, on_term_exit, 0);
        write(ready[1], "r", 1);
        for (volatile unsigned long spin = 0;; spin++)
            ;
    }
    char c;
    read(ready[0], &c, 1);
    close(ready[0]);
    close(ready[1]);
    return pid;
}

static void busy_targets(void)
{
    int status = 0;
    pid_t pid = busy_child(0);
    CHECK("signals_sigkill_busy_child", pid > 0 && kill(pid, SIGKILL) == 0 && waitpid(pid, &status, 0) == pid
                                            && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    pid = busy_child(1);
    CHECK("signals_handler_in_busy_child", pid > 0 && kill(pid, SIGTERM) == 0 && waitpid(pid, &status, 0) == pid
                                               && WIFEXITED(status) && WEXITSTATUS(status) == 7);
}

static void sigchld(void)
{
    set_handler(SIGCHLD, on_chld, 0);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    chld_count = 0;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGCHLD);
    sigsuspend(&wait_mask); /* returns -1/EINTR after the handler ran */
    CHECK("signals_sigchld", chld_count == 1);
    int status;
    CHECK("signals_sigchld_reap", waitpid(pid, &status, 0) == pid);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGCHLD, SIG_DFL);
}

/* alarm() fires SIGALRM; without SA_RESTART a blocked read returns EINTR. */
static void alarm_interrupts(void)
{
    int fds[2];
    pipe(fds);
    set_handler(SIGALRM, on_alrm, 0);
    alrm_count = 0;
    alarm(1);
    char c;
    CHECK_ERR("signals_alarm_eintr", read(fds[0], &c, 1), EINTR);
    CHECK("signals_alarm_delivered", alrm_count == 1);
    close(fds[0]);
    close(fds[1]);
    signal(SIGALRM, SIG_DFL);
}

static void altstack(void)
{
    static char stack_mem[64 * 1024];
    stack_t ss = {.ss_sp = stack_mem, .ss_size = sizeof stack_mem, .ss_flags = 0};
    CHECK("signals_sigaltstack", sigaltstack(&ss, NULL) == 0);
    set_info_handler(SIGUSR1, on_usr1_info, SA_ONSTACK);
    handler_stack = 0;
    raise(SIGUSR1);
    CHECK("signals_altstack_used", handler_stack >= (uintptr_t)stack_mem
                                       && handler_stack < (uintptr_t)stack_mem + sizeof stack_mem);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    signal(SIGUSR1, SIG_DFL);
}

int main(void)
{
    handler_runs();
    masks();
    caught_faults();
    fatal_faults();
    busy_targets();
    sigchld();
    alarm_interrupts();
    altstack();
    return utest_exit();
}
