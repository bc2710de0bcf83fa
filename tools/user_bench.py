#!/usr/bin/env python3
"""user_bench.py - the user-space benchmarks on Exo and on Linux 6.1, side by side.

Usage:
  tools/user_bench.py [--kernel build/exo.elf] [--initrd build/user/bench.cpio]
                      [--linux build/linux/vmlinuz] [--runs 2] [--timeout 300]
                      [--markdown-out FILE] [--log-dir build/logs]

Boots the benchmark ramdisk (/init = user/bench.c) on Debian's Linux 6.1
(fetched by tools/linux_kernel.sh) and, with --kernel, on Exo; --runs times
each (default 2), with the same QEMU machine for both (exoqemu.BASE_ARGS and
the -icount flags, so the guest TSC counts guest instructions). Collects the
serial lines
    ubench <name> <value> guest-instructions
and requires `ubench: done`; on Exo also QEMU exit status 33 (Exo exits
through isa-debug-exit when init exits). On Linux init's exit panics the
kernel, panic=-1 reboots and -no-reboot ends QEMU.

Prints (and with --markdown-out writes) `| benchmark | Exo | Linux 6.1 |`.
Exit status 1 when a run fails or a figure differs between runs of the same
kernel (determinism is required); the table is still printed, with the
failed kernel's column empty.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import exoqemu  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
UBENCH_LINE = re.compile(r"\bubench (\S+) (\d+) guest-instructions\b")
DONE_LINE = "ubench: done"
LINUX_APPEND = "console=ttyS0 quiet panic=-1 init=/init"
EXO_APPEND = "init=/init console=ttyS0"

Results = dict[str, int]


class RunFailed(Exception):
    pass


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="User-space benchmarks: Exo vs Linux 6.1.")
    p.add_argument("--kernel", help="Exo kernel ELF; omitted: Linux only")
    p.add_argument("--initrd", default="build/user/bench.cpio", help="benchmark ramdisk")
    p.add_argument("--linux", help="Linux bzImage (default: tools/linux_kernel.sh fetches one)")
    p.add_argument("--runs", type=int, default=2, help="boots per kernel (default 2)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per boot")
    p.add_argument("--markdown-out", metavar="FILE", help="also write the table here")
    p.add_argument("--log-dir", default="build/logs", help="serial logs (default build/logs)")
    p.add_argument("--qemu", default=exoqemu.QEMU, help="QEMU binary")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return args


def linux_image(given: str | None) -> str:
    if given:
        return given
    out = subprocess.run([str(ROOT / "tools/linux_kernel.sh")], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return out.strip().splitlines()[-1]


def run_once(argv: list[str], timeout: float, log_path: Path, exo: bool) -> Results:
    results: Results = {}
    done = False
    tail: list[str] = []
    with exoqemu.QemuRun(argv, timeout, log_path) as run:
        for line in run.lines():
            clean = exoqemu.strip_ansi(line)
            tail = (tail + [clean])[-20:]
            match = UBENCH_LINE.search(clean)
            if match:
                results[match.group(1)] = int(match.group(2))
            done = done or DONE_LINE in clean
    if run.timed_out:
        problem = f"timeout after {run.timeout:g}s"
    elif not done:
        problem = f"no '{DONE_LINE}' line"
    elif exo and run.status != exoqemu.EXIT_SUCCESS:
        problem = f"QEMU exit status {run.status} ({exoqemu.describe_exit(run.status)})"
    else:
        return results
    details = "\n".join(f"  | {line}" for line in [*tail, *run.stderr_lines])
    raise RunFailed(f"{problem} (log: {log_path})\n{details}")


def measure(label: str, argv: list[str], args: argparse.Namespace, exo: bool,
            problems: list[str]) -> Results | None:
    """Boot `runs` times; the figures when every run worked and all agree."""
    runs: list[Results] = []
    for number in range(1, args.runs + 1):
        log = Path(args.log_dir) / f"user-bench-{label}-{number}.log"
        try:
            runs.append(run_once(argv, args.timeout, log, exo))
        except (RunFailed, OSError) as failure:
            problems.append(f"{label} run {number}: {failure}")
            return None
    for name in dict.fromkeys(n for r in runs for n in r):
        values = [r.get(name) for r in runs]
        if any(v != values[0] for v in values):
            problems.append(f"{label}: {name} differs between runs: {values}")
    return runs[0]


def table(exo: Results | None, linux: Results | None) -> str:
    names = list(dict.fromkeys([*(linux or {}), *(exo or {})]))
    rows = ["| benchmark | Exo | Linux 6.1 |", "|---|---:|---:|"]
    for name in names:
        cells = [f"{r[name]:,}" if r and name in r else "—" for r in (exo, linux)]
        rows.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not Path(args.initrd).is_file():
        print(f"user_bench: no ramdisk {args.initrd} (make -C user)", file=sys.stderr)
        return 1
    problems: list[str] = []
    commands: list[str] = []

    linux_cmd = exoqemu.qemu_argv(args.qemu, ["-kernel", linux_image(args.linux), "-initrd", args.initrd,
                                              "-append", LINUX_APPEND], icount=True)
    commands.append(exoqemu.command_string(linux_cmd))
    linux = measure("linux", linux_cmd, args, False, problems)

    exo = None
    if args.kernel:
        exo_cmd = exoqemu.qemu_argv(args.qemu, ["-kernel", args.kernel, "-initrd", args.initrd,
                                                "-append", EXO_APPEND], icount=True)
        commands.append(exoqemu.command_string(exo_cmd))
        exo = measure("exo", exo_cmd, args, True, problems)

    text = table(exo, linux)
    print(text)
    for problem in problems:
        print(f"user_bench: {problem}", file=sys.stderr)
    if args.markdown_out:
        out = Path(args.markdown_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        status = ("Identical across " + str(args.runs) + " runs of each kernel."
                  if not problems else "Problems: " + "; ".join(p.splitlines()[0] for p in problems) + ".")
        out.write_text(
            f"{text}\n\n{status}\n\n"
            "Median guest instructions under QEMU TCG with -icount shift=0 (the guest TSC "
            "advances by one per guest instruction; first_user_tsc also counts idle time "
            "the virtual clock skipped). See user/bench.c for what each figure includes.\n\n"
            "Command:\n\n"
            f"    {shlex.join(['tools/user_bench.py', *argv])}\n\n"
            "QEMU commands:\n\n" + "".join(f"    {c}\n" for c in commands),
            encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
