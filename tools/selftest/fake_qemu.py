#!/usr/bin/env python3
"""fake_qemu.py - stand-in for qemu-system-x86_64 used by the tools' self-test.

Usage: tools/selftest/fake_qemu.py <qemu arguments>   (pass it as --qemu to
ktest.py, bench.py or boottime.py)

It checks that the base QEMU arguments are present, takes the kernel command
line from `-append` or `-smbios type=11,value=...`, and plays the scenario
named by `fake=<scenario>` in it, printing serial lines on stdout and exiting
like QEMU's isa-debug-exit would. Scenarios: pass, fail, hang, triple, nodone,
mismatch, noisy, bench, bench-nondet, boot, boot-hang. `exo.bench=<filter>`
selects bench scenarios too.
"""

import os
import random
import subprocess
import sys
import time

REQUIRED = ["-accel", "tcg", "-no-reboot", "-serial", "stdio",
            "isa-debug-exit,iobase=0xf4,iosize=0x04", "-display", "none"]


def out(line: str, end: str = "\n") -> None:
    sys.stdout.write(line + end)
    sys.stdout.flush()


def command_line(argv: list[str]) -> str:
    for i, arg in enumerate(argv[:-1]):
        if arg == "-append":
            return argv[i + 1]
        if arg == "-smbios" and argv[i + 1].startswith("type=11,value="):
            return argv[i + 1][len("type=11,value="):].replace(",,", ",")
    return ""


def hang() -> None:
    # A child in the same process group: the runner must kill the whole group.
    subprocess.run(["sleep", "300"])
    sys.exit(99)


def main(argv: list[str]) -> int:
    missing = [a for a in REQUIRED if a not in argv]
    if missing:
        print(f"fake-qemu: missing arguments {missing}", file=sys.stderr)
        return 1
    cmdline = command_line(argv)
    options = dict(word.partition("=")[::2] for word in cmdline.split())
    scenario = options.get("fake", "bench" if "exo.bench" in options else "pass")
    icount = "-icount" in argv

    out("SeaBIOS (fake)")
    out(f"[    0.000] exo: cmdline '{cmdline}'")
    if scenario == "pass":
        out("[    0.001] ktest: pass heap.alloc_free")
        out("ktest: pass heap.grow")
        out("[    0.002] sched: ktest: pass sched.yield")
        out("ktest: done passed=3 failed=0")
        return 33
    if scenario == "fail":
        out("ktest: pass heap.alloc_free")
        out("ktest: fail vm.map: expected 0x1000, got 0x2000")
        out("ktest: pass vm.unmap")
        out("ktest: done passed=2 failed=1")
        return 35
    if scenario == "noisy":  # CRLF endings, ANSI colours, invalid UTF-8
        sys.stdout.buffer.write(b"\x1b[32mktest: pass color.green\x1b[0m\r\n")
        sys.stdout.buffer.write(b"bad utf8 \xff\xfe here\r\n")
        sys.stdout.buffer.write(b"ktest: done passed=1 failed=0")  # no newline
        sys.stdout.flush()
        return 33
    if scenario == "nodone":
        out("ktest: pass a.b")
        return 33
    if scenario == "mismatch":
        out("ktest: pass a.b")
        out("ktest: done passed=2 failed=0")
        return 33
    if scenario == "triple":
        out("ktest: pass a.b")
        return 0
    if scenario == "hang":
        out("ktest: pass a.b")
        hang()
    if scenario in ("boot", "boot-hang"):
        time.sleep(0.02)
        out(f"boot: kmain at tsc={123456 if icount else random.randint(1, 10**6)}")
        if scenario == "boot":
            out("exo: ready")
        hang()
    if scenario in ("bench", "bench-nondet"):
        jitter = random.randint(1, 5) if scenario == "bench-nondet" else 0
        out(f"exo: icount={'on' if icount else 'off'} filter={options.get('exo.bench')}")
        out("bench syscall.getpid 348 guest-instructions")
        out(f"[ 1.0] bench ipc.pingpong 5214 guest-instructions min=5100 max=5300 n={1000 + jitter}")
        out(f"bench vm.map4k {22506 + jitter} guest-instructions")
        out("bench: done")
        return 33
    print(f"fake-qemu: unknown scenario {scenario!r}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
