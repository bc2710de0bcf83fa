#!/usr/bin/env python3
"""boottime.py - measure how long Exo takes to boot under QEMU (TCG).

Usage:
  tools/boottime.py (--kernel build/exo.elf | --iso build/exo.iso) [--runs 7]
                    [--banner "exo: ready"] [--icount] [--append ""]
                    [--timeout 30] [--qemu-arg ARG]... [--qemu qemu-system-x86_64]

Wall-clock mode (default): boots N times and measures, with
time.perf_counter(), the time from just before QEMU is started to the moment
the banner line is read from serial, then kills QEMU. Prints each run and
  boot-to-banner median X.X ms (N runs, TCG, -kernel)

--icount mode: adds `-icount shift=0,sleep=off -rtc base=...,clock=vm` so the
guest TSC counts guest instructions, reads the kernel's line
  boot: kmain at tsc=<N>
and prints
  boot guest-instructions to kmain: N
(the median; the runs should all agree, a warning is printed if not).

Exit status 1 if a run times out or QEMU exits before the awaited line.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import exoqemu  # noqa: E402

KMAIN_TSC = re.compile(r"boot: kmain at tsc=(\d+)")


class RunFailed(Exception):
    pass


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Measure Exo's boot time under QEMU TCG.")
    image = parser.add_mutually_exclusive_group(required=True)
    image.add_argument("--kernel", help="multiboot kernel ELF (QEMU -kernel)")
    image.add_argument("--iso", help="bootable GRUB ISO (QEMU -cdrom)")
    parser.add_argument("--runs", type=int, default=7, help="number of boots (default 7)")
    parser.add_argument("--banner", default="exo: ready",
                        help="serial text that marks the end of boot (default 'exo: ready')")
    parser.add_argument("--icount", action="store_true",
                        help="count guest instructions to kmain instead of wall time")
    parser.add_argument("--append", default="", help="kernel command line (default empty)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds per run before QEMU is killed (default 30)")
    parser.add_argument("--qemu-arg", action="append", default=[], metavar="ARG",
                        help="extra QEMU argument (one argv element each)")
    parser.add_argument("--qemu", default=exoqemu.QEMU, help="QEMU binary to run")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def boot_once(argv: list[str], timeout: float, wanted: re.Pattern,
              what: str) -> tuple[float, re.Match]:
    """Boot until a serial line matches `wanted`; return (seconds since start, match)."""
    tail: deque[str] = deque(maxlen=20)
    with exoqemu.QemuRun(argv, timeout) as run:
        for line in run.lines():
            match = wanted.search(exoqemu.strip_ansi(line))
            if match:
                seconds = time.perf_counter() - run.start_time
                run.kill()
                return seconds, match
            tail.append(line)
    if run.timed_out:
        reason = f"timeout after {timeout:g}s"
    else:
        reason = f"QEMU exited with status {run.status} ({exoqemu.describe_exit(run.status)})"
    details = "\n".join(f"  | {line}" for line in [*tail, *run.stderr_lines])
    raise RunFailed(f"{reason} before {what} was seen\n{details}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    boot = exoqemu.boot_args(kernel=args.kernel, iso=args.iso, append=args.append)
    qemu_cmd = exoqemu.qemu_argv(args.qemu, boot, args.qemu_arg, icount=args.icount)
    if args.icount:
        wanted, what = KMAIN_TSC, "'boot: kmain at tsc=<N>'"
    else:
        wanted, what = re.compile(re.escape(args.banner)), repr(args.banner)
    mode = "-kernel" if args.kernel else "-cdrom"

    results = []
    for number in range(1, args.runs + 1):
        try:
            seconds, match = boot_once(qemu_cmd, args.timeout, wanted, what)
        except RunFailed as failure:
            print(f"run {number}: {failure}", file=sys.stderr)
            return 1
        except OSError as error:
            print(f"boottime: cannot run {args.qemu}: {error.strerror or error}", file=sys.stderr)
            return 1
        if args.icount:
            results.append(int(match.group(1)))
            print(f"run {number}: {results[-1]} guest instructions to kmain")
        else:
            results.append(seconds * 1000)
            print(f"run {number}: {results[-1]:.1f} ms")

    if args.icount:
        if len(set(results)) > 1:
            print(f"warning: not deterministic, runs range from {min(results)} to {max(results)}")
        print(f"boot guest-instructions to kmain: {int(statistics.median_low(results))}")
    else:
        print(f"boot-to-banner median {statistics.median(results):.1f} ms "
              f"({args.runs} runs, TCG, {mode})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
