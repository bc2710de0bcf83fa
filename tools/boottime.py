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
guest TSC counts guest instructions (from reset), reads the kernel's lines
  boot: entry at tsc=<A>, kmain at tsc=<B>
  boot: ready at tsc=<C>
and prints the guest instructions from reset to Exo's first instruction
(firmware + loader), to kmain, and to the banner:
  boot guest-instructions: entry A, kmain B, ready C (Exo itself: C - A)
(medians; the runs should all agree, a warning is printed if not).

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

ENTRY_TSC = re.compile(r"boot: entry at tsc=(\d+), kmain at tsc=(\d+)")
READY_TSC = re.compile(r"boot: ready at tsc=(\d+)")


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
              what: str) -> tuple[float, re.Match, list[str]]:
    """Boot until a serial line matches `wanted`; return (seconds since start,
    match, every line seen before it)."""
    tail: deque[str] = deque(maxlen=20)
    seen: list[str] = []
    with exoqemu.QemuRun(argv, timeout) as run:
        for line in run.lines():
            match = wanted.search(exoqemu.strip_ansi(line))
            if match:
                seconds = time.perf_counter() - run.start_time
                run.kill()
                return seconds, match, seen
            tail.append(line)
            seen.append(exoqemu.strip_ansi(line))
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
        wanted, what = READY_TSC, "'boot: ready at tsc=<N>'"
    else:
        wanted, what = re.compile(re.escape(args.banner)), repr(args.banner)
    mode = "-kernel" if args.kernel else "-cdrom"

    results = []
    for number in range(1, args.runs + 1):
        try:
            seconds, match, seen = boot_once(qemu_cmd, args.timeout, wanted, what)
        except RunFailed as failure:
            print(f"run {number}: {failure}", file=sys.stderr)
            return 1
        except OSError as error:
            print(f"boottime: cannot run {args.qemu}: {error.strerror or error}", file=sys.stderr)
            return 1
        if args.icount:
            entry = next((ENTRY_TSC.search(line) for line in seen if ENTRY_TSC.search(line)), None)
            if entry is None:
                print(f"run {number}: no 'boot: entry at tsc=' line before the banner", file=sys.stderr)
                return 1
            results.append((int(entry.group(1)), int(entry.group(2)), int(match.group(1))))
            print(f"run {number}: entry {results[-1][0]}, kmain {results[-1][1]}, "
                  f"ready {results[-1][2]} guest instructions")
        else:
            results.append(seconds * 1000)
            print(f"run {number}: {results[-1]:.1f} ms")

    if args.icount:
        if len(set(results)) > 1:
            print(f"warning: not deterministic across runs: {sorted(set(results))}")
        entry, kmain, ready = (statistics.median_low(r[i] for r in results) for i in range(3))
        print(f"boot guest-instructions: entry {entry}, kmain {kmain}, ready {ready} "
              f"(Exo itself: {ready - entry}; to kmain: {kmain - entry})")
    else:
        print(f"boot-to-banner median {statistics.median(results):.1f} ms "
              f"({args.runs} runs, TCG, {mode})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
