#!/usr/bin/env python3
"""bench.py - run Exo's in-kernel benchmarks under deterministic QEMU.

Usage:
  tools/bench.py (--kernel build/exo.elf | --iso build/exo.iso) [--filter all]
                 [--runs 2] [--timeout 300] [--markdown-out FILE]
                 [--log-dir build/logs] [--qemu-arg ARG]... [--qemu qemu-system-x86_64]

Boots with `-icount shift=0,sleep=off -rtc base=2024-01-01T00:00:00,clock=vm`
(so the guest TSC counts guest instructions and runs are reproducible) and
the command line `exo.bench=<filter>`, expects QEMU exit status 33, and
collects the serial lines
  bench <name> <median> guest-instructions [key=value]...
(anywhere in the line). Prints a markdown table of the medians (extra
key=value fields in a third column). It boots --runs times (default 2) and
checks that every figure (median and extra fields) is identical across runs;
determinism is a requirement, so exit status 1 if not.

--markdown-out FILE writes the table plus the exact commands used.
Exit status 1 also on timeout, wrong exit status, or no bench lines at all.
Serial logs go to <log-dir>/bench-<run>.log.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import exoqemu  # noqa: E402

BENCH_LINE = re.compile(r"\bbench (\S+) (\d+) guest-instructions\b(.*)")
FIELD = re.compile(r"(\S+?)=(\S+)")

# name -> (median, {key: value}) in the order the kernel printed them
Results = dict[str, tuple[int, dict[str, str]]]


class RunFailed(Exception):
    pass


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run Exo's in-kernel benchmarks.")
    image = parser.add_mutually_exclusive_group(required=True)
    image.add_argument("--kernel", help="multiboot kernel ELF (QEMU -kernel)")
    image.add_argument("--iso", help="bootable GRUB ISO (QEMU -cdrom)")
    parser.add_argument("--filter", default="all",
                        help="benchmark filter passed as exo.bench=<filter> (default all)")
    parser.add_argument("--runs", type=int, default=2,
                        help="boots to compare for determinism (default 2)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds per boot before QEMU is killed (default 300)")
    parser.add_argument("--markdown-out", metavar="FILE",
                        help="also write the table and the commands used to FILE")
    parser.add_argument("--log-dir", default="build/logs",
                        help="directory for serial logs (default build/logs)")
    parser.add_argument("--qemu-arg", action="append", default=[], metavar="ARG",
                        help="extra QEMU argument (one argv element each)")
    parser.add_argument("--qemu", default=exoqemu.QEMU, help="QEMU binary to run")
    parser.add_argument("--append", default="", metavar="WORDS",
                        help="extra kernel command-line words after exo.bench= (e.g. exo.sched=rr)")
    parser.add_argument("--summary", metavar="JSONL",
                        help="append one test record (name 'bench-determinism') to this "
                             "ktest summary file: passed when every run succeeded and all "
                             "figures are identical")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def run_benchmarks(argv: list[str], timeout: float, log_path: Path) -> Results:
    results: Results = {}
    tail: list[str] = []
    with exoqemu.QemuRun(argv, timeout, log_path) as run:
        for line in run.lines():
            tail = (tail + [line])[-20:]
            match = BENCH_LINE.search(exoqemu.strip_ansi(line))
            if match:
                name, median, rest = match.groups()
                results[name] = (int(median), dict(FIELD.findall(rest)))
    if run.timed_out:
        problem = f"timeout after {timeout:g}s"
    elif run.status != exoqemu.EXIT_SUCCESS:
        problem = (f"QEMU exit status {run.status} ({exoqemu.describe_exit(run.status)}), "
                   f"expected {exoqemu.EXIT_SUCCESS}")
    elif not results:
        problem = "no 'bench <name> <median> guest-instructions' lines"
    else:
        return results
    details = "\n".join(f"  | {line}" for line in [*tail, *run.stderr_lines])
    raise RunFailed(f"{problem} (log: {log_path})\n{details}")


def markdown_table(results: Results) -> str:
    with_fields = any(fields for _, fields in results.values())
    header = "| benchmark | median guest instructions |"
    rule = "|---|---:|"
    if with_fields:
        header += " details |"
        rule += "---|"
    rows = [header, rule]
    for name, (median, fields) in results.items():
        row = f"| {name} | {median:,} |"
        if with_fields:
            row += " " + " ".join(f"{k}={v}" for k, v in fields.items()) + " |"
        rows.append(row)
    return "\n".join(rows)


def compare_runs(runs: list[Results]) -> list[str]:
    """Descriptions of every figure that differs between runs (empty if none)."""
    differences = []
    names = list(dict.fromkeys(name for results in runs for name in results))
    for name in names:
        values = [results.get(name) for results in runs]
        if any(value != values[0] for value in values):
            shown = ", ".join("missing" if v is None else
                              " ".join([str(v[0]), *(f"{k}={x}" for k, x in v[1].items())])
                              for v in values)
            differences.append(f"{name}: {shown}")
    return differences


def record_summary(path: str | None, failures: list[str]) -> None:
    """Appends this benchmark run, as one test, to the ktest summary file."""
    if not path:
        return
    record = {"name": "bench-determinism", "passed": 0 if failures else 1,
              "failed": 1 if failures else 0, "failures": failures}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as summary:
        summary.write(json.dumps(record) + "\n")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    boot = exoqemu.boot_args(kernel=args.kernel, iso=args.iso,
                             append=f"exo.bench={args.filter} {args.append}".strip())
    qemu_cmd = exoqemu.qemu_argv(args.qemu, boot, args.qemu_arg, icount=True)

    runs: list[Results] = []
    for number in range(1, args.runs + 1):
        log_path = Path(args.log_dir) / f"bench-{number}.log"
        try:
            runs.append(run_benchmarks(qemu_cmd, args.timeout, log_path))
        except RunFailed as failure:
            print(f"bench run {number}: {failure}", file=sys.stderr)
            record_summary(args.summary, [f"bench run {number}: {str(failure).splitlines()[0]}"])
            return 1
        except OSError as error:
            print(f"bench: cannot run {args.qemu}: {error.strerror or error}", file=sys.stderr)
            record_summary(args.summary, [f"bench: cannot run {args.qemu}"])
            return 1

    table = markdown_table(runs[0])
    print(table)
    differences = compare_runs(runs)
    if args.runs > 1:
        print()
        if differences:
            print(f"NOT deterministic across {args.runs} runs:")
            for difference in differences:
                print(f"  {difference}")
        else:
            print(f"deterministic: all figures identical across {args.runs} runs")

    if args.markdown_out:
        out = Path(args.markdown_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        note = ""
        if args.runs > 1:
            note = ("\n\nIdentical across "
                    f"{args.runs} runs." if not differences else
                    "\n\nNOT identical across runs: " + "; ".join(differences) + ".")
        out.write_text(
            f"{table}{note}\n\n"
            "Median guest instructions (QEMU TCG with -icount shift=0: the guest TSC "
            "advances by one per guest instruction; not cycles).\n\n"
            "Command:\n\n"
            f"    {shlex.join(['tools/bench.py', *argv])}\n\n"
            "QEMU command:\n\n"
            f"    {exoqemu.command_string(qemu_cmd)}\n",
            encoding="utf-8")
    record_summary(args.summary, [f"bench not deterministic: {d}" for d in differences])
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
