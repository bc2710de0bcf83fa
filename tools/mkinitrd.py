#!/usr/bin/env python3
"""tools/mkinitrd.py - build a reproducible initial ramdisk (cpio "newc").

Usage:
    tools/mkinitrd.py OUT --init PATH [--add SRC:DST ...] [--busybox [PATH]]

Layout written (the contract with the kernel, Linux and Exo alike):
    /init             --init PATH (mode 0755)
    /bin/busybox      --busybox: the host's Debian busybox-static, unmodified
    /bin/<applet>     symlinks "busybox" for sh, echo, ls, cat, ... (APPLETS)
    /dev/console      character device 5,1: Linux opens it as init's stdio
    /dev, /etc, /root, /tests, /tmp   directories (always present)
    --add SRC:DST     a file, or a directory copied recursively, at DST

The format is written here directly (no cpio tool): every header field is
fixed (mtime 0, uid/gid 0), entries are sorted by path with parents first,
inode numbers count up in that order, so the same inputs give the same bytes.
Newc layout: a 110-byte ASCII header "070701" + 13 eight-digit hex fields,
the NUL-terminated name padded to 4 bytes, the data padded to 4 bytes, and a
closing "TRAILER!!!" entry.
"""

import argparse
import os
import stat
import sys

# Busybox applets linked into /bin: what the tests and a shell user need.
APPLETS = [
    "sh", "ash", "echo", "ls", "cat", "true", "false", "sleep", "mkdir", "rm",
    "rmdir", "cp", "mv", "ln", "wc", "grep", "head", "tail", "sort", "uniq",
    "uname", "env", "printf", "test", "[", "expr", "seq", "yes", "touch",
    "stat", "sed", "tr", "cut", "od", "hexdump", "md5sum", "sha256sum", "dd",
    "find", "xargs", "id", "pwd", "basename", "dirname", "date", "kill", "ps",
    "mount", "dmesg", "free", "cmp", "diff", "tee", "which", "time",
]

DIR_MODE = stat.S_IFDIR | 0o755
LINK_MODE = stat.S_IFLNK | 0o777
CONSOLE = (5, 1)


class Entry:
    """One archive member: a directory, regular file, symlink or device."""

    def __init__(self, mode, data=b"", rdev=(0, 0)):
        self.mode = mode
        self.data = data
        self.rdev = rdev


def header(ino, entry, name_size):
    """The 110-byte newc header for one entry (check field 0: no CRC)."""
    nlink = 2 if stat.S_ISDIR(entry.mode) else 1
    fields = [ino, entry.mode, 0, 0, nlink, 0, len(entry.data), 0, 0,
              entry.rdev[0], entry.rdev[1], name_size, 0]
    return b"070701" + b"".join(b"%08X" % f for f in fields)


def pad4(n):
    return b"\0" * (-n % 4)


def member(ino, name, entry):
    encoded = name.encode() + b"\0"
    out = header(ino, entry, len(encoded)) + encoded
    out += pad4(len(out))
    out += entry.data + pad4(len(entry.data))
    return out


class Tree:
    """Archive contents keyed by path without the leading slash."""

    def __init__(self):
        self.entries = {}

    def add(self, path, entry):
        path = path.strip("/")
        if not path:
            return
        self.add_parents(path)
        old = self.entries.get(path)
        if old is not None and stat.S_ISDIR(old.mode) and stat.S_ISDIR(entry.mode):
            return
        self.entries[path] = entry

    def add_parents(self, path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            existing = self.entries.get(parent)
            if existing is None:
                self.entries[parent] = Entry(DIR_MODE)
            elif not stat.S_ISDIR(existing.mode):
                sys.exit(f"mkinitrd: {parent} is not a directory (needed for {path})")

    def add_host(self, src, dst):
        """Copy a host file, symlink or directory tree to dst."""
        st = os.lstat(src)
        if stat.S_ISLNK(st.st_mode):
            self.add(dst, Entry(LINK_MODE, os.readlink(src).encode()))
        elif stat.S_ISDIR(st.st_mode):
            self.add(dst, Entry(DIR_MODE))
            for name in sorted(os.listdir(src)):
                self.add_host(os.path.join(src, name), dst.rstrip("/") + "/" + name)
        elif stat.S_ISREG(st.st_mode):
            perm = 0o755 if st.st_mode & 0o111 else 0o644
            with open(src, "rb") as f:
                self.add(dst, Entry(stat.S_IFREG | perm, f.read()))
        else:
            sys.exit(f"mkinitrd: {src}: only files, directories and symlinks can be added")

    def archive(self):
        # Sorting "a" before "a/b" keeps every directory ahead of its contents.
        out = bytearray()
        for ino, path in enumerate(sorted(self.entries), start=1):
            out += member(ino, path, self.entries[path])
        out += member(0, "TRAILER!!!", Entry(0))
        return bytes(out)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Build a reproducible newc initramfs.")
    p.add_argument("out")
    p.add_argument("--init", required=True, help="host file installed as /init")
    p.add_argument("--add", action="append", default=[], metavar="SRC:DST",
                   help="host file or directory to install at DST (repeatable)")
    p.add_argument("--busybox", nargs="?", const="/bin/busybox", default=None, metavar="PATH",
                   help="install this busybox (default /bin/busybox) and its applet links")
    return p.parse_args(argv)


def build(args):
    tree = Tree()
    # /root too: Linux creates it in its rootfs, so `ls /` agrees on both kernels.
    for d in ("dev", "etc", "root", "tests", "tmp"):
        tree.add(d, Entry(DIR_MODE))
    tree.add("dev/console", Entry(stat.S_IFCHR | 0o600, rdev=CONSOLE))
    tree.add_host(args.init, "init")
    tree.entries["init"].mode = stat.S_IFREG | 0o755
    if args.busybox:
        if not os.path.isfile(args.busybox):
            sys.exit(f"mkinitrd: no busybox at {args.busybox} (apt-get install busybox-static)")
        tree.add_host(args.busybox, "bin/busybox")
        tree.entries["bin/busybox"].mode = stat.S_IFREG | 0o755
        for applet in APPLETS:
            tree.add("bin/" + applet, Entry(LINK_MODE, b"busybox"))
    for spec in args.add:
        src, sep, dst = spec.rpartition(":")
        if not sep or not src:
            sys.exit(f"mkinitrd: --add wants SRC:DST, got '{spec}'")
        if not os.path.lexists(src):
            sys.exit(f"mkinitrd: {src}: no such file")
        tree.add_host(src, dst)
    return tree.archive()


def main(argv):
    args = parse_args(argv)
    data = build(args)
    tmp = args.out + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
