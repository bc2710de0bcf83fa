/*
 * threads.c - POSIX threads (clone with CLONE_VM|CLONE_THREAD): create and
 * join with results, a mutex-protected counter, gettid/getpid, pthread_exit,
 * a condition-variable ping-pong, __thread storage, futex wait/wake across
 * threads, per-thread signal masks, tgkill to one thread, many short-lived
 * threads, and what ends a threaded process: exit_group from a non-main
 * thread (while another waits in a futex), a fault in one thread, the main
 * thread leaving with pthread_exit, execve from a non-main thread; and bad
 * clone arguments (flag combinations, TLS, stack) that must fail cleanly.
 *
 * Checks that end a process run in a forked child and are judged from the
 * parent with wait4.
 */
#include "utest.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

/* <linux/futex.h> is not in musl's headers. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)

static pid_t gettid_raw(void) { return (pid_t)syscall(SYS_gettid); }

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Runs `body` in a forked child and returns its wait4 status (-1 on error). */
static int in_child(void (*body)(void))
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        body();
        _exit(100);
    }
    int status = -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

/* ---- create / join ------------------------------------------------------ */

static void *double_it(void *arg) { return (void *)((uintptr_t)arg * 2); }

static void create_join(void)
{
    pthread_t t[8];
    int created = 0;
    for (uintptr_t i = 0; i < 8; i++)
        created += pthread_create(&t[i], NULL, double_it, (void *)(i + 1)) == 0;
    CHECK("threads_create_8", created == 8);
    int right = 0;
    for (uintptr_t i = 0; i < 8; i++) {
        void *result = NULL;
        if (pthread_join(t[i], &result) == 0 && (uintptr_t)result == (i + 1) * 2)
            right++;
    }
    CHECK("threads_join_results", right == 8);
}

/* ---- mutex-protected counter ------------------------------------------- */

#define COUNTER_THREADS 4
#define COUNTER_ROUNDS 20000
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *count_up(void *arg)
{
    (void)arg;
    for (int i = 0; i < COUNTER_ROUNDS; i++) {
        pthread_mutex_lock(&counter_lock);
        long v = counter;
        if (i % 1000 == 0)
            sched_yield();  /* hold the lock across a switch now and then */
        counter = v + 1;
        pthread_mutex_unlock(&counter_lock);
    }
    return NULL;
}

static void mutex_counter(void)
{
    pthread_t t[COUNTER_THREADS];
    counter = 0;
    for (int i = 0; i < COUNTER_THREADS; i++)
        pthread_create(&t[i], NULL, count_up, NULL);
    for (int i = 0; i < COUNTER_THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK("threads_mutex_counter_exact", counter == (long)COUNTER_THREADS * COUNTER_ROUNDS);
}

/* ---- ids ---------------------------------------------------------------- */

static pid_t main_pid;
static volatile pid_t seen_pid, seen_tid;

static void *report_ids(void *arg)
{
    (void)arg;
    seen_pid = getpid();
    seen_tid = gettid_raw();
    return NULL;
}

static void ids(void)
{
    pthread_t t;
    main_pid = getpid();
    CHECK("threads_main_tid_is_pid", gettid_raw() == main_pid);
    pthread_create(&t, NULL, report_ids, NULL);
    pthread_join(t, NULL);
    CHECK("threads_getpid_same_in_thread", seen_pid == main_pid);
    CHECK("threads_gettid_differs_in_thread", seen_tid > 0 && seen_tid != main_pid);
    /* A TID is no process: not a child, and wait4 never reports it. */
    CHECK_ERR("threads_tid_not_a_child", waitpid(seen_tid, NULL, WNOHANG), ECHILD);
}

/* ---- pthread_exit ------------------------------------------------------- */

static volatile int exit_depth = 5;

static int leave_deep(int depth)
{
    if (depth <= 0)
        pthread_exit((void *)42);
    return depth;
}

static int call_leave(int depth) { return leave_deep(depth - 5) + 1; }

static void *exits_early(void *arg)
{
    (void)arg;
    return (void *)(uintptr_t)call_leave(exit_depth);
}

static void thread_exit_value(void)
{
    pthread_t t;
    void *result = NULL;
    pthread_create(&t, NULL, exits_early, NULL);
    CHECK("threads_pthread_exit_value", pthread_join(t, &result) == 0 && result == (void *)42);
}

/* ---- condition variable ping-pong -------------------------------------- */

#define PINGPONG_ROUNDS 500
static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond = PTHREAD_COND_INITIALIZER;
static int pp_turn, pp_hits[2];

static void *pingpong(void *arg)
{
    int me = (int)(uintptr_t)arg;
    for (int i = 0; i < PINGPONG_ROUNDS; i++) {
        pthread_mutex_lock(&pp_lock);
        while (pp_turn != me)
            pthread_cond_wait(&pp_cond, &pp_lock);
        pp_hits[me]++;
        pp_turn = 1 - me;
        pthread_cond_broadcast(&pp_cond);
        pthread_mutex_unlock(&pp_lock);
    }
    return NULL;
}

static void condition_pingpong(void)
{
    pthread_t a, b;
    pp_turn = 0;
    pthread_create(&a, NULL, pingpong, (void *)0);
    pthread_create(&b, NULL, pingpong, (void *)1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK("threads_condvar_pingpong", pp_hits[0] == PINGPONG_ROUNDS && pp_hits[1] == PINGPONG_ROUNDS
          && pp_turn == 0);
}

/* ---- thread-local storage ---------------------------------------------- */

static __thread int tls_value = 7;
static __thread char tls_block[64];
static int tls_good;
static uintptr_t tls_addresses[4];
static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;

static void *use_tls(void *arg)
{
    int id = (int)(uintptr_t)arg;
    int initial = tls_value == 7 && tls_block[0] == 0;
    tls_value = 100 + id;
    memset(tls_block, id, sizeof tls_block);
    for (int i = 0; i < 20; i++)
        sched_yield();
    int kept = tls_value == 100 + id && tls_block[63] == id;
    pthread_mutex_lock(&tls_lock);
    tls_good += initial && kept;
    tls_addresses[id] = (uintptr_t)&tls_value;
    pthread_mutex_unlock(&tls_lock);
    return NULL;
}

static void thread_local(void)
{
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, use_tls, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    int distinct = 1;
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            distinct &= tls_addresses[i] != tls_addresses[j];
    CHECK("threads_tls_per_thread", tls_good == 4 && distinct && tls_value == 7);
}

/* ---- raw futex across threads ------------------------------------------ */

static volatile int futex_word;
static volatile int futex_woken;

static long futex(volatile int *addr, int op, int val)
{
    return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

static void *futex_waiter(void *arg)
{
    int op = (int)(uintptr_t)arg;
    while (futex_word == 0)
        futex(&futex_word, op, 0);
    futex_woken = 1;
    return NULL;
}

static void futex_across(const char *name, int wait_op, int wake_op)
{
    pthread_t t;
    futex_word = 0;
    futex_woken = 0;
    pthread_create(&t, NULL, futex_waiter, (void *)(uintptr_t)wait_op);
    sleep_ms(20);
    int early = futex_woken;
    futex_word = 1;
    long woke = futex(&futex_word, wake_op, 1);
    pthread_join(t, NULL);
    CHECK(name, !early && woke >= 0 && woke <= 1 && futex_woken);
}

/* ---- per-thread signal mask -------------------------------------------- */

static volatile int thread_blocked_usr2;

static void *block_usr2(void *arg)
{
    (void)arg;
    sigset_t set, now;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    thread_blocked_usr2 = sigismember(&now, SIGUSR2);
    return NULL;
}

static void signal_mask_per_thread(void)
{
    pthread_t t;
    sigset_t now;
    pthread_create(&t, NULL, block_usr2, NULL);
    pthread_join(t, NULL);
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    CHECK("threads_sigmask_per_thread", thread_blocked_usr2 == 1 && !sigismember(&now, SIGUSR2));
}

/* ---- tgkill to one thread ---------------------------------------------- */

static volatile pid_t handler_tid;
static volatile pid_t target_tid;
static volatile int target_ready, target_done;

static void on_usr1(int sig)
{
    (void)sig;
    handler_tid = gettid_raw();
}

static void *await_signal(void *arg)
{
    (void)arg;
    target_tid = gettid_raw();
    target_ready = 1;
    while (handler_tid == 0)
        sched_yield();
    target_done = 1;
    return NULL;
}

static void tgkill_one_thread(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    handler_tid = 0;
    pthread_t t;
    pthread_create(&t, NULL, await_signal, NULL);
    while (!target_ready)
        sched_yield();
    long r = syscall(SYS_tgkill, getpid(), target_tid, SIGUSR1);
    pthread_join(t, NULL);
    CHECK("threads_tgkill_returns_0", r == 0);
    CHECK("threads_tgkill_handler_on_target", handler_tid == target_tid && target_done);
    CHECK_ERR("threads_tgkill_wrong_group", syscall(SYS_tgkill, getpid() + 100000, target_tid, SIGUSR1), ESRCH);
    signal(SIGUSR1, SIG_DFL);
}

/* ---- many short-lived threads (kernel resources come back) ------------- */

static void *nothing(void *arg) { return arg; }

static void many_threads(void)
{
    int ok = 0;
    for (int i = 0; i < 300; i++) {
        pthread_t t;
        void *r = NULL;
        if (pthread_create(&t, NULL, nothing, (void *)(uintptr_t)i) == 0 && pthread_join(t, &r) == 0
            && r == (void *)(uintptr_t)i)
            ok++;
    }
    CHECK("threads_300_create_join", ok == 300);
    int detached = 0;
    for (int i = 0; i < 50; i++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        detached += pthread_create(&t, &attr, nothing, NULL) == 0;
        pthread_attr_destroy(&attr);
    }
    sleep_ms(50);
    CHECK("threads_50_detached", detached == 50);
}

/* ---- one address space: a remap is seen by the other threads ---------- */

static volatile int *volatile shared_page;
static volatile int remap_reader_saw;

static void *read_until_two(void *arg)
{
    (void)arg;
    long spins = 0;
    /* Keeps the old translation hot in this CPU's TLB. */
    while (shared_page[0] != 2 && ++spins < 2000000000L)
        __asm__ volatile("" ::: "memory");
    remap_reader_saw = shared_page[0];
    return NULL;
}

static void remap_seen_by_other_thread(void)
{
    int *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page[0] = 1;
    shared_page = page;
    pthread_t t;
    pthread_create(&t, NULL, read_until_two, NULL);
    sleep_ms(20);
    /* A new frame at the same address: a stale TLB entry elsewhere would
     * keep showing 1 from the freed frame. */
    int *again = mmap(page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    again[0] = 2;
    pthread_join(t, NULL);
    CHECK("threads_remap_seen_by_other_thread", again == page && remap_reader_saw == 2);
    munmap(page, 4096);
}

#define MAP_WORKERS 4
static volatile int map_errors;

static void *map_churn(void *arg)
{
    int id = (int)(uintptr_t)arg;
    for (int i = 0; i < 200; i++) {
        size_t len = 4096 * (size_t)(1 + (i + id) % 4);
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            map_errors++;
            continue;
        }
        for (size_t off = 0; off < len; off += 4096)
            p[off] = (char)(id + 1);
        for (size_t off = 0; off < len; off += 4096)
            if (p[off] != (char)(id + 1))
                map_errors++;
        if (i % 3 == 0)
            mprotect(p, len, PROT_READ);
        munmap(p, len);
    }
    return NULL;
}

static void mmap_churn(void)
{
    pthread_t t[MAP_WORKERS];
    map_errors = 0;
    for (uintptr_t i = 0; i < MAP_WORKERS; i++)
        pthread_create(&t[i], NULL, map_churn, (void *)i);
    for (int i = 0; i < MAP_WORKERS; i++)
        pthread_join(t[i], NULL);
    CHECK("threads_mmap_munmap_churn", map_errors == 0);
}

/* ---- what ends a threaded process -------------------------------------- */

static void *exit_group_7(void *arg)
{
    (void)arg;
    sleep_ms(10);
    _exit(7);                        /* musl: exit_group */
}

/* The main thread waits in pthread_join (a futex wait) while another thread
 * calls exit_group: the waiter must be woken and killed. */
static void body_exit_group(void)
{
    pthread_t t;
    pthread_create(&t, NULL, exit_group_7, NULL);
    pthread_join(t, NULL);
    _exit(1);
}

static void *spin_forever(void *arg)
{
    (void)arg;
    for (;;)
        __asm__ volatile("" ::: "memory");
    return NULL;
}

/* exit_group while another thread spins in user mode (never enters the
 * kernel by itself). */
static void body_exit_group_spinner(void)
{
    pthread_t t;
    pthread_create(&t, NULL, spin_forever, NULL);
    sleep_ms(20);
    _exit(8);
}

static volatile int *volatile bad_pointer = (int *)16;

static void *segfault(void *arg)
{
    (void)arg;
    sleep_ms(10);
    *bad_pointer = 1;
    return NULL;
}

static void body_segfault(void)
{
    pthread_t t, spinner;
    pthread_create(&spinner, NULL, spin_forever, NULL);
    pthread_create(&t, NULL, segfault, NULL);
    for (;;)
        pause();
}

static void *exit_later_9(void *arg)
{
    (void)arg;
    sleep_ms(20);
    exit(9);
}

/* The main thread leaves with pthread_exit; the process lives on. */
static void body_main_pthread_exit(void)
{
    pthread_t t;
    pthread_create(&t, NULL, exit_later_9, NULL);
    pthread_exit(NULL);
}

static void *exec_true(void *arg)
{
    (void)arg;
    char *argv[] = {"/tests/true", NULL};
    char *envp[] = {NULL};
    execve(argv[0], argv, envp);
    _exit(3);
}

/* execve from a non-main thread while the main thread waits and another
 * spins: the others end, the new image runs under the same PID. */
static void body_exec_from_thread(void)
{
    pthread_t t, spinner;
    pthread_create(&spinner, NULL, spin_forever, NULL);
    pthread_create(&t, NULL, exec_true, NULL);
    pthread_join(t, NULL);
    _exit(4);
}

static void process_endings(void)
{
    int status = in_child(body_exit_group);
    CHECK("threads_exit_group_from_thread", WIFEXITED(status) && WEXITSTATUS(status) == 7);
    status = in_child(body_exit_group_spinner);
    CHECK("threads_exit_group_stops_spinner", WIFEXITED(status) && WEXITSTATUS(status) == 8);
    status = in_child(body_segfault);
    CHECK("threads_segfault_kills_process", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    status = in_child(body_main_pthread_exit);
    CHECK("threads_main_pthread_exit_process_lives", WIFEXITED(status) && WEXITSTATUS(status) == 9);
    status = in_child(body_exec_from_thread);
    CHECK("threads_exec_from_thread", WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- bad clone arguments ------------------------------------------------ */

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

/* clone(flags, stack, ptid, ctid, tls) by hand. In the child (RAX 0) it
 * pushes at once: on a bad stack that faults before any C code runs on it;
 * on a good one the child calls exit(0) right away. */
static long raw_clone(unsigned long flags, void *stack, unsigned long tls)
{
    register long r10 __asm__("r10") = 0;
    register long r8 __asm__("r8") = (long)tls;
    long ret;
    __asm__ volatile(
        "syscall\n\t"
        "testq %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "pushq $0\n\t"
        "movl $60, %%eax\n\t"        /* SYS_exit(0): only this thread */
        "xorl %%edi, %%edi\n\t"
        "syscall\n\t"
        "1:"
        : "=a"(ret)
        : "a"((long)SYS_clone), "D"(flags), "S"(stack), "d"(0L), "r"(r10), "r"(r8)
        : "rcx", "r11", "memory");
    if (ret < 0) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
}

static void body_bad_stack(void)
{
    raw_clone(THREAD_FLAGS, (void *)16, 0);
    for (;;)
        pause();
}

static void body_bad_tls(void)
{
    char *stack = malloc(65536);
    errno = 0;
    long r = raw_clone(THREAD_FLAGS | CLONE_SETTLS, stack + 65536, 0xffff800000000000UL);
    _exit(r == -1 && errno == EPERM ? 0 : 1);
}

static void bad_clones(void)
{
    CHECK_ERR("threads_clone_thread_without_sighand",
              syscall(SYS_clone, CLONE_VM | CLONE_THREAD, 0, 0, 0, 0), EINVAL);
    CHECK_ERR("threads_clone_sighand_without_vm",
              syscall(SYS_clone, CLONE_SIGHAND, 0, 0, 0, 0), EINVAL);
    CHECK_ERR("threads_clone_thread_sighand_without_vm",
              syscall(SYS_clone, CLONE_SIGHAND | CLONE_THREAD, 0, 0, 0, 0), EINVAL);
    CHECK_ERR("threads_clone_fs_with_newns",
              syscall(SYS_clone, CLONE_FS | CLONE_NEWNS, 0, 0, 0, 0), EINVAL);
    int status = in_child(body_bad_tls);
    CHECK("threads_clone_kernel_tls_eperm", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    status = in_child(body_bad_stack);
    CHECK("threads_clone_bad_stack_segv", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
}

int main(void)
{
    create_join();
    mutex_counter();
    ids();
    thread_exit_value();
    condition_pingpong();
    thread_local();
    futex_across("threads_futex_wait_wake", FUTEX_WAIT, FUTEX_WAKE);
    futex_across("threads_futex_private", FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE);
    signal_mask_per_thread();
    tgkill_one_thread();
    many_threads();
    remap_seen_by_other_thread();
    mmap_churn();
    process_endings();
    bad_clones();
    /* Run as /init by itself (tools/run_tests.sh, on two CPUs), it closes
     * with runall's summary line; under runall it is never PID 1. */
    if (getpid() == 1)
        utest_print("utest: %d passed, %d failed\n", utest_passes, utest_failures);
    return utest_exit();
}
