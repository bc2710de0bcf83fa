/*
 * runall.c - the test ramdisk's /init.
 *
 * Runs every program in /tests (sorted by name) as a child with fork +
 * execve + wait4, relays its output and counts its `utest:` lines; then
 * checks unmodified busybox (echo, ls, cat, sh with pipes, loops, command
 * substitution and exit codes) by capturing its output through a pipe.
 * Ends with
 *     utest: N passed, M failed
 * and exits 0 iff nothing failed. On Exo that exit status reaches the host
 * through isa-debug-exit; on Linux the kernel panics when init exits, so
 * the tools read the closing line instead.
 *
 * Every test gets the same argv/envp (args.c checks them) except fuzz,
 * which gets a short fixed run. A watchdog alarm(2), inherited across
 * execve, kills a test that hangs, so one hang costs one failure, not the
 * whole run.
 */
#include "utest.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#define WATCHDOG_SECONDS 60

static char *const test_envp[] = {"UTEST=1", "PATH=/bin", "HOME=/", NULL};

/* Line counting over the captured output of one program. */
struct counts {
    int pass, fail;
};

static void count_line(const char *line, size_t len, struct counts *c)
{
    if (len >= 12 && memcmp(line, "utest: pass ", 12) == 0)
        c->pass++;
    else if (len >= 12 && memcmp(line, "utest: fail ", 12) == 0)
        c->fail++;
}

/* run: fork + execve argv[0] with its stdout and stderr on a pipe. When
 * `relay`, each line is copied to our stdout and counted; otherwise the
 * output is kept in `out`. Returns the wait4 status. */
static int run(char *const argv[], int relay, struct counts *c, char *out, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        alarm(WATCHDOG_SECONDS);
        execve(argv[0], argv, test_envp);
        _exit(127);
    }
    close(fds[1]);
    char line[1024];
    size_t len = 0, kept = 0;
    char buf[512];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (!relay) {
                if (kept + 1 < cap)
                    out[kept++] = buf[i];
                continue;
            }
            if (len < sizeof line)
                line[len++] = buf[i];
            if (buf[i] == '\n' || len == sizeof line) {
                write(1, line, len);
                count_line(line, len, c);
                len = 0;
            }
        }
    }
    if (relay && len > 0) {
        write(1, line, len);
        write(1, "\n", 1);
        count_line(line, len, c);
    }
    if (out)
        out[kept] = 0;
    close(fds[0]);
    int status = -1;
    while (wait4(pid, &status, 0, NULL) < 0 && errno == EINTR) {
    }
    return status;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_tests(void)
{
    DIR *dir = opendir("/tests");
    if (!dir) {
        utest_fail("runall_opendir", "/tests: %s", strerror(errno));
        return;
    }
    char *names[128];
    int count = 0;
    struct dirent *d;
    while ((d = readdir(dir)) && count < 128)
        if (d->d_name[0] != '.')
            names[count++] = strdup(d->d_name);
    closedir(dir);
    qsort(names, count, sizeof names[0], compare_names);

    for (int i = 0; i < count; i++) {
        char path[256], check[300];
        snprintf(path, sizeof path, "/tests/%s", names[i]);
        snprintf(check, sizeof check, "run_%s", names[i]);
        char *standard[] = {path, "alpha", "beta gamma", "", NULL};
        char *fuzz[] = {path, "1", "3000", NULL};
        struct counts c = {0, 0};
        utest_print("runall: running %s\n", path);
        int status = run(strcmp(names[i], "fuzz") == 0 ? fuzz : standard, 1, &c, NULL, 0);
        utest_passes += c.pass;
        utest_failures += c.fail;
        if (status == -1)
            utest_fail(check, "could not start: %s", strerror(errno));
        else if (WIFSIGNALED(status))
            utest_fail(check, "killed by signal %d%s", WTERMSIG(status),
                       WTERMSIG(status) == SIGALRM ? " (watchdog: hung)" : "");
        else if (WEXITSTATUS(status) != 0)
            utest_fail(check, "exit status %d (%d passed, %d failed)", WEXITSTATUS(status), c.pass, c.fail);
        else if (c.fail != 0)
            utest_fail(check, "exit status 0 but %d checks failed", c.fail);
        else
            utest_pass(check);
        free(names[i]);
    }
}

/* expect_output: run argv, compare stdout+stderr and the exit status. */
static void expect_output(const char *name, char *const argv[], const char *want, int want_status)
{
    char out[1024];
    int status = run(argv, 0, NULL, out, sizeof out);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (status != -1 && code == want_status && strcmp(out, want) == 0) {
        utest_pass(name);
        return;
    }
    /* Show the output on one line: newlines as \n. */
    char shown[256];
    size_t k = 0;
    for (size_t i = 0; out[i] && k + 3 < sizeof shown; i++) {
        if (out[i] == '\n') {
            shown[k++] = '\\';
            shown[k++] = 'n';
        } else {
            shown[k++] = out[i];
        }
    }
    shown[k] = 0;
    utest_fail(name, "status %d (want %d), output \"%s\"", code, want_status, shown);
}

static void busybox_checks(void)
{
    utest_print("runall: busybox checks\n");
    expect_output("busybox_echo", (char *[]){"/bin/busybox", "echo", "hi", NULL}, "hi\n", 0);
    expect_output("busybox_applet_symlink", (char *[]){"/bin/echo", "via", "symlink", NULL}, "via symlink\n", 0);
    expect_output("busybox_true", (char *[]){"/bin/true", NULL}, "", 0);
    expect_output("busybox_false", (char *[]){"/bin/false", NULL}, "", 1);
    expect_output("busybox_ls_root", (char *[]){"/bin/ls", "/", NULL}, "bin\ndev\netc\ninit\nroot\ntests\ntmp\n", 0);
    expect_output("busybox_ls_etc", (char *[]){"/bin/ls", "/etc", NULL}, "hostname\nmotd\npasswd\n", 0);
    expect_output("busybox_cat", (char *[]){"/bin/cat", "/etc/motd", NULL}, "Welcome to Exo.\n", 0);
    expect_output("busybox_cat_enoent", (char *[]){"/bin/cat", "/nope", NULL},
                  "cat: can't open '/nope': No such file or directory\n", 1);
    expect_output("busybox_sh_pipe", (char *[]){"/bin/sh", "-c", "echo hi | cat", NULL}, "hi\n", 0);
    expect_output("busybox_sh_pipeline3", (char *[]){"/bin/sh", "-c", "cat /etc/motd | cat | wc -c", NULL},
                  "16\n", 0);
    expect_output("busybox_sh_loop", (char *[]){"/bin/sh", "-c", "for i in 1 2 3; do echo $i; done", NULL},
                  "1\n2\n3\n", 0);
    expect_output("busybox_sh_subst", (char *[]){"/bin/sh", "-c", "x=$(cat /etc/hostname); echo \"[$x]\"", NULL},
                  "[exo]\n", 0);
    expect_output("busybox_sh_env", (char *[]){"/bin/sh", "-c", "echo $HOME $UTEST", NULL}, "/ 1\n", 0);
    expect_output("busybox_sh_exit", (char *[]){"/bin/sh", "-c", "exit 3", NULL}, "", 3);
    expect_output("busybox_sh_exec_test", (char *[]){"/bin/sh", "-c", "/tests/hello && echo ok", NULL},
                  "hello from user space\nok\n", 0);
    expect_output("busybox_sh_subshell_status",
                  (char *[]){"/bin/sh", "-c", "(exit 5); echo $?; false || echo or", NULL}, "5\nor\n", 0);
    expect_output("busybox_sh_redirect", (char *[]){"/bin/sh", "-c", "echo to-stderr >&2", NULL}, "to-stderr\n", 0);
}

int main(void)
{
    utest_console();
    utest_print("runall: start\n");
    run_tests();
    busybox_checks();
    utest_print("utest: %d passed, %d failed\n", utest_passes, utest_failures);
    return utest_exit();
}
