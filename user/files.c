/*
 * files.c - the ramdisk through the file syscalls: open/read/lseek/pread,
 * fstat/newfstatat/lstat/readlink, getdents64, openat, getcwd/chdir,
 * ftruncate/pwrite up to the largest file, and the errors (ENOENT, ENOTDIR,
 * EISDIR, EBADF, EFBIG) Linux reports.
 *
 * Expects the layout tools/mkinitrd.py writes: /etc/motd = "Welcome to
 * Exo.\n", /etc/hostname, /bin/sh -> busybox, /tests/, /dev/console.
 */
#include "utest.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

static const char motd[] = "Welcome to Exo.\n";
#define MOTD_LEN (sizeof motd - 1)

static void read_and_seek(void)
{
    int fd = open("/etc/motd", O_RDONLY);
    CHECK("files_open", fd >= 3);
    char buf[64] = {0};
    CHECK("files_read", read(fd, buf, sizeof buf) == (ssize_t)MOTD_LEN && memcmp(buf, motd, MOTD_LEN) == 0);
    CHECK("files_read_eof", read(fd, buf, sizeof buf) == 0);
    CHECK("files_lseek_set", lseek(fd, 8, SEEK_SET) == 8 && read(fd, buf, 3) == 3 && memcmp(buf, "to ", 3) == 0);
    CHECK("files_lseek_cur", lseek(fd, -2, SEEK_CUR) == 9 && read(fd, buf, 1) == 1 && buf[0] == 'o');
    CHECK("files_lseek_end", lseek(fd, -4, SEEK_END) == (off_t)MOTD_LEN - 4 && read(fd, buf, 8) == 4
                                 && memcmp(buf, "xo.\n", 4) == 0);
    CHECK("files_lseek_past_end", lseek(fd, 1000, SEEK_SET) == 1000 && read(fd, buf, 8) == 0);
    CHECK_ERR("files_lseek_negative", lseek(fd, -1, SEEK_SET), EINVAL);
    CHECK_ERR("files_lseek_whence", lseek(fd, 0, 42), EINVAL);
    CHECK("files_pread", pread(fd, buf, 7, 0) == 7 && memcmp(buf, "Welcome", 7) == 0
                             && lseek(fd, 0, SEEK_CUR) == 1000);
    CHECK_ERR("files_write_rdonly", write(fd, "x", 1), EBADF);

    struct stat st;
    CHECK("files_fstat", fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == (off_t)MOTD_LEN
                             && st.st_nlink >= 1);
    int fd2 = open("/etc/motd", O_RDONLY);
    CHECK("files_open_lowest_fd", fd2 == fd + 1);
    struct stat st2;
    CHECK("files_same_inode", fstat(fd2, &st2) == 0 && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev);
    close(fd2);
    CHECK("files_close", close(fd) == 0);
    CHECK_ERR("files_read_closed", read(fd, buf, 1), EBADF);
    CHECK_ERR("files_fstat_bad_fd", fstat(-1, &st), EBADF);
}

static void stats(void)
{
    struct stat st;
    CHECK("files_stat_root", syscall(SYS_newfstatat, AT_FDCWD, "/", &st, 0) == 0 && S_ISDIR(st.st_mode));
    CHECK("files_stat_file", syscall(SYS_newfstatat, AT_FDCWD, "/etc/motd", &st, 0) == 0
                                 && S_ISREG(st.st_mode) && st.st_size == (off_t)MOTD_LEN);
    CHECK("files_stat_follows_link", stat("/bin/sh", &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 100000
                                         && (st.st_mode & 0111));
    CHECK("files_lstat_link", syscall(SYS_newfstatat, AT_FDCWD, "/bin/sh", &st, AT_SYMLINK_NOFOLLOW) == 0
                                  && S_ISLNK(st.st_mode));
    char target[64];
    ssize_t n = readlink("/bin/sh", target, sizeof target);
    CHECK("files_readlink", n == 7 && memcmp(target, "busybox", 7) == 0);
    CHECK_ERR("files_readlink_not_link", readlink("/etc/motd", target, sizeof target), EINVAL);
    CHECK("files_stat_console", stat("/dev/console", &st) == 0 && S_ISCHR(st.st_mode)
                                    && major(st.st_rdev) == 5 && minor(st.st_rdev) == 1);
    CHECK("files_access", access("/tests/files", X_OK) == 0 && access("/etc/motd", R_OK) == 0);
    CHECK_ERR("files_access_enoent", access("/nope", F_OK), ENOENT);
    /* statx through the raw syscall (musl 1.2.3 has no wrapper); offsets from
     * Linux's struct statx: stx_mode at 28, stx_size at 40. 0x7ff asks for
     * STATX_BASIC_STATS. */
    _Alignas(8) unsigned char sx[256];
    memset(sx, 0, sizeof sx);
    uint16_t sx_mode;
    uint64_t sx_size;
    long r = syscall(SYS_statx, AT_FDCWD, "/etc/motd", 0, 0x7ff, sx);
    memcpy(&sx_mode, sx + 28, 2);
    memcpy(&sx_size, sx + 40, 8);
    CHECK("files_statx", r == 0 && sx_size == MOTD_LEN && S_ISREG(sx_mode));
}

static void errors(void)
{
    CHECK_ERR("files_enoent", open("/nonexistent", O_RDONLY), ENOENT);
    CHECK_ERR("files_enoent_dir", open("/nonexistent/file", O_RDONLY), ENOENT);
    CHECK_ERR("files_enotdir", open("/etc/motd/x", O_RDONLY), ENOTDIR);
    CHECK_ERR("files_enotdir_o_directory", open("/etc/motd", O_RDONLY | O_DIRECTORY), ENOTDIR);
    CHECK_ERR("files_eisdir_write", open("/etc", O_WRONLY), EISDIR);
    CHECK_ERR("files_empty_path", open("", O_RDONLY), ENOENT);
    struct stat st;
    CHECK_ERR("files_stat_enotdir", stat("/etc/motd/", &st), ENOTDIR);
    char buf[16];
    int fd = open("/etc", O_RDONLY | O_DIRECTORY);
    CHECK("files_open_dir", fd >= 0);
    CHECK_ERR("files_read_dir_eisdir", read(fd, buf, sizeof buf), EISDIR);
    close(fd);
}

/* has_entries: every name in `want` appears in the directory listing. */
static int list_dir(const char *path, const char **want, int nwant, int *count)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return 0;
    int found = 0;
    *count = 0;
    char buf[512]; /* small, so a big directory takes several calls */
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct dirent *d = (struct dirent *)(buf + off);
            (*count)++;
            for (int i = 0; i < nwant; i++)
                if (strcmp(d->d_name, want[i]) == 0)
                    found |= 1 << i;
            if (d->d_reclen == 0)
                return 0;
            off += d->d_reclen;
        }
    }
    close(fd);
    return n == 0 && found == (1 << nwant) - 1;
}

static void directories(void)
{
    int count;
    const char *etc[] = {".", "..", "motd", "hostname"};
    CHECK("files_getdents_etc", list_dir("/etc", etc, 4, &count));
    const char *root[] = {"bin", "dev", "etc", "tests", "init"};
    CHECK("files_getdents_root", list_dir("/", root, 5, &count));
    const char *bin[] = {"busybox", "sh", "echo", "ls", "cat"};
    CHECK("files_getdents_bin_many", list_dir("/bin", bin, 5, &count) && count > 10);

    int fd = open("/etc/motd", O_RDONLY);
    char buf[256];
    CHECK_ERR("files_getdents_enotdir", syscall(SYS_getdents64, fd, buf, sizeof buf), ENOTDIR);
    close(fd);
    fd = open("/etc", O_RDONLY | O_DIRECTORY);
    CHECK_ERR("files_getdents_small_buffer", syscall(SYS_getdents64, fd, buf, 8), EINVAL);
    close(fd);
}

static void cwd(void)
{
    char buf[256];
    CHECK("files_getcwd_root", getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0);
    CHECK("files_chdir", chdir("/etc") == 0 && getcwd(buf, sizeof buf) && strcmp(buf, "/etc") == 0);
    int fd = open("motd", O_RDONLY);
    CHECK("files_open_relative", fd >= 0 && read(fd, buf, 7) == 7 && memcmp(buf, "Welcome", 7) == 0);
    close(fd);
    CHECK("files_open_dotdot", (fd = open("../etc/./motd", O_RDONLY)) >= 0);
    close(fd);
    CHECK_ERR("files_chdir_enotdir", chdir("/etc/motd"), ENOTDIR);
    CHECK_ERR("files_chdir_enoent", chdir("/nope"), ENOENT);
    CHECK("files_chdir_dotdot", chdir("..") == 0 && getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0);
    CHECK("files_chdir_root_dotdot", chdir("/..") == 0 && getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0);
    CHECK_ERR("files_getcwd_erange", syscall(SYS_getcwd, buf, 1), ERANGE);

    int dir = open("/etc", O_RDONLY | O_DIRECTORY);
    fd = openat(dir, "hostname", O_RDONLY);
    CHECK("files_openat", fd >= 0 && read(fd, buf, 4) == 4 && memcmp(buf, "exo\n", 4) == 0);
    close(fd);
    CHECK("files_fchdir", fchdir(dir) == 0 && getcwd(buf, sizeof buf) && strcmp(buf, "/etc") == 0);
    chdir("/");
    fd = openat(dir, "/etc/motd", O_RDONLY); /* absolute path ignores dirfd */
    CHECK("files_openat_absolute", fd >= 0);
    close(fd);
    CHECK_ERR("files_openat_bad_dirfd", openat(999, "motd", O_RDONLY), EBADF);
    fd = open("/etc/motd", O_RDONLY);
    CHECK_ERR("files_openat_file_dirfd", openat(fd, "x", O_RDONLY), ENOTDIR);
    close(fd);
    close(dir);
}

/* A size past the largest file the RAM tree keeps (a file's contents are
 * one kernel allocation) is refused with EFBIG, as Linux refuses one past
 * its maximum, and the file stays as it was; within it all works. Before,
 * ftruncate to 32 MiB stopped the kernel (the fuzzer found it). */
static void file_size_limit(void)
{
    int fd = open("/big-file", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK("files_big_create", fd >= 0);
    CHECK_ERR("files_ftruncate_past_limit_efbig", ftruncate(fd, 32 << 20), EFBIG);
    CHECK_ERR("files_pwrite_past_limit_efbig", pwrite(fd, "x", 1, 8 << 20), EFBIG);
    CHECK("files_unchanged_after_efbig", lseek(fd, 0, SEEK_END) == 0);
    CHECK("files_ftruncate_within_limit", ftruncate(fd, 1 << 20) == 0 && lseek(fd, 0, SEEK_END) == (1 << 20));
    char byte = 0;
    CHECK("files_pwrite_within_limit",
          pwrite(fd, "y", 1, (1 << 20) - 1) == 1 && pread(fd, &byte, 1, (1 << 20) - 1) == 1 && byte == 'y');
    close(fd);
    CHECK("files_big_unlinked", unlink("/big-file") == 0);
}

int main(void)
{
    read_and_seek();
    stats();
    errors();
    directories();
    cwd();
    file_size_limit();
    return utest_exit();
}
