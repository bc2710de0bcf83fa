#!/usr/bin/env python3
"""ktest.py - boot Exo under QEMU (TCG) and report its in-kernel tests.

Usage:
  tools/ktest.py --name NAME (--kernel build/exo.elf | --iso build/exo.iso)
                 [--append "exo.test=all"] [--timeout 60] [--expect-exit 33]
                 [--expect-text TEXT]... [--qemu-arg ARG]...
                 [--log build/logs/NAME.log] [--summary build/ktest-summary.jsonl]
                 [--quiet] [--qemu qemu-system-x86_64]

The kernel reports on COM1, one record per line (anywhere in the line, so log
prefixes are allowed):
  ktest: pass <suite>.<test>
  ktest: fail <suite>.<test>: <reason>
  ktest: done passed=<N> failed=<M>

Each in-kernel test is printed as it arrives ("  PASS x" / "  FAIL x: why";
with --quiet only failures). Then the runner's own checks, each counted as one
test: "exit status" (QEMU's status equals --expect-exit; isa-debug-exit gives
(v<<1)|1, so 33 is success and 35 failure; 0 is a triple fault or poweroff),
one per --expect-text (substring seen on serial), and "ktest done line" (when
any ktest records were seen: the done line was seen and its counts match).

Last line: "ktest NAME: X passed, Y failed (exit status S, T.Ts)".
One JSON object per run is appended to --summary. Exit status 0 iff Y == 0.
--qemu replaces the QEMU binary (e.g. tools/selftest/fake_qemu.py).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import exoqemu  # noqa: E402

TAIL_LINES = 40

KTEST_PASS = re.compile(r"ktest: pass (\S+)")
KTEST_FAIL = re.compile(r"ktest: fail ([^\s:]+):?\s*(.*)")
KTEST_DONE = re.compile(r"ktest: done passed=(\d+) failed=(\d+)")
# User-space suites (user/utest.h) report the same way from ring 3.
UTEST_PASS = re.compile(r"^utest: pass (\S+)")
UTEST_FAIL = re.compile(r"^utest: fail (\S+)\s*(.*)")
UTEST_DONE = re.compile(r"^utest: (\d+) passed, (\d+) failed")


class Report:
    """Collects PASS/FAIL results and prints them as they come."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.passed = 0
        self.failures: list[str] = []

    def ok(self, name: str) -> None:
        self.passed += 1
        if not self.quiet:
            print(f"  PASS {name}", flush=True)

    def fail(self, name: str, reason: str) -> None:
        entry = f"{name}: {reason}" if reason else name
        self.failures.append(entry)
        print(f"  FAIL {entry}", flush=True)

    def check(self, condition: bool, name: str, reason: str) -> None:
        if condition:
            self.ok(name)
        else:
            self.fail(name, reason)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Boot Exo under QEMU and report its in-kernel tests.")
    parser.add_argument("--name", required=True, help="name of this test run")
    image = parser.add_mutually_exclusive_group(required=True)
    image.add_argument("--kernel", help="multiboot kernel ELF (QEMU -kernel)")
    image.add_argument("--iso", help="bootable GRUB ISO (QEMU -cdrom)")
    parser.add_argument("--append", default="", help="kernel command line")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds before QEMU is killed (default 60)")
    parser.add_argument("--expect-exit", type=int, default=exoqemu.EXIT_SUCCESS,
                        help="expected QEMU exit status (default 33)")
    parser.add_argument("--expect-text", action="append", default=[],
                        metavar="TEXT", help="text that must appear on serial")
    parser.add_argument("--qemu-arg", action="append", default=[], metavar="ARG",
                        help="extra QEMU argument (one argv element each)")
    parser.add_argument("--log", help="serial log path (default build/logs/NAME.log)")
    parser.add_argument("--summary", default="build/ktest-summary.jsonl",
                        help="JSONL file a result line is appended to")
    parser.add_argument("--quiet", action="store_true", help="print only failures")
    parser.add_argument("--qemu", default=exoqemu.QEMU, help="QEMU binary to run")
    args = parser.parse_args(argv)
    if args.log is None:
        args.log = f"build/logs/{args.name}.log"
    return args


def exit_status_check(report: Report, status: int, timed_out: bool,
                      expected: int, timeout: float) -> None:
    if timed_out:
        report.fail("exit status", f"timeout after {timeout:g}s")
    elif status != expected:
        report.fail("exit status",
                    f"expected {expected} ({exoqemu.describe_exit(expected)}), "
                    f"got {status} ({exoqemu.describe_exit(status)})")
    else:
        report.ok("exit status")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    report = Report(args.quiet)
    boot = exoqemu.boot_args(kernel=args.kernel, iso=args.iso, append=args.append)
    qemu_cmd = exoqemu.qemu_argv(args.qemu, boot, args.qemu_arg)

    tail: deque[str] = deque(maxlen=TAIL_LINES)
    serial_text: list[str] = []
    kernel_passed = kernel_failed = 0
    done_counts = None  # (passed, failed) from the last "ktest: done" line

    try:
        run = exoqemu.QemuRun(qemu_cmd, args.timeout, args.log)
        with run:
            for line in run.lines():
                tail.append(line)
                text = exoqemu.strip_ansi(line)
                serial_text.append(text)
                if "utest: " in text:
                    if m := UTEST_PASS.search(text):
                        kernel_passed += 1
                        report.ok("user." + m.group(1))
                    elif m := UTEST_FAIL.search(text):
                        kernel_failed += 1
                        report.fail("user." + m.group(1), m.group(2).strip())
                    elif m := UTEST_DONE.search(text):
                        done_counts = (int(m.group(1)), int(m.group(2)))
                    continue
                if "ktest: " not in text:
                    continue
                if m := KTEST_PASS.search(text):
                    kernel_passed += 1
                    report.ok(m.group(1))
                elif m := KTEST_FAIL.search(text):
                    kernel_failed += 1
                    report.fail(m.group(1), m.group(2).strip())
                elif m := KTEST_DONE.search(text):
                    done_counts = (int(m.group(1)), int(m.group(2)))
        status, timed_out, seconds = run.status, run.timed_out, run.elapsed
    except OSError as error:  # QEMU binary missing or not executable
        report.fail("start qemu", f"{args.qemu}: {error.strerror or error}")
        run = None
        status, timed_out, seconds = -1, False, 0.0

    if run is not None:
        exit_status_check(report, status, timed_out, args.expect_exit, args.timeout)
        serial = "\n".join(serial_text)
        for text in args.expect_text:
            report.check(text in serial, f"expect text {text!r}", "not seen on serial")
        if kernel_passed or kernel_failed or done_counts is not None:
            seen = (kernel_passed, kernel_failed)
            if done_counts is None:
                report.fail("ktest done line", "no 'ktest: done' (or 'utest: N passed') line "
                            f"(saw {seen[0]} passed, {seen[1]} failed)")
            else:
                report.check(done_counts == seen, "ktest done line",
                             f"kernel says passed={done_counts[0]} failed={done_counts[1]}, "
                             f"runner saw passed={seen[0]} failed={seen[1]}")

    if report.failures:
        if run is not None:
            print(f"--- last {len(tail)} serial lines (full log: {args.log}) ---")
            for line in tail:
                print(f"  | {line}")
            for line in run.stderr_lines:
                print(f"  qemu: {line}")
            print("---")
        else:
            print(f"  command: {exoqemu.command_string(qemu_cmd)}")

    status_text = "timeout" if timed_out else str(status)
    print(f"ktest {args.name}: {report.passed} passed, {len(report.failures)} failed "
          f"(exit status {status_text}, {seconds:.1f}s)", flush=True)

    summary = {
        "name": args.name,
        "passed": report.passed,
        "failed": len(report.failures),
        "failures": report.failures,
        "exit": None if timed_out else status,
        "timeout": timed_out,
        "seconds": round(seconds, 3),
    }
    summary_path = Path(args.summary)
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    with open(summary_path, "a", encoding="utf-8") as out:
        out.write(json.dumps(summary) + "\n")

    return 0 if not report.failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
