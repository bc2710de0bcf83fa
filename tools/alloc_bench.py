#!/usr/bin/env python3
"""alloc_bench.py - Exo's heap core against glibc, jemalloc, mimalloc and tcmalloc.

Usage:
  tools/alloc_bench.py [--runs 5] [--workloads pair64,random,prodcons]
                       [--iterations N] [--markdown-out FILE] [--instructions]
                       [--swiftc-flag FLAG]... [--no-build] [--no-setup]

Builds Sources/ExoAllocBench in release mode (the same HybridHeap sources the
kernel links, compiled for the host) and runs it once per (allocator,
workload) pair per round, --runs rounds, the pairs interleaved and the
allocator order rotated each round so slow drifts of the machine hit all of
them alike. The C allocators are the binary's `--allocator system` under
LD_PRELOAD. Prints a markdown table of the median ns/op per workload, and
"exo vs X" = X's time / Exo's time (> 1 means Exo is faster), followed by the
machine facts and the exact commands.

--instructions adds a deterministic column set: host instructions per op
counted by valgrind's callgrind (pair64 and random only; prodcons spins),
from two runs of N and 2N iterations so setup and warm-up cancel out.

Installs the peer libraries first if dpkg-query says they are missing
(apt-get, as tools/setup.sh does). Exit status 0 on success, 1 if a build or
a run fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWIFT_BIN = Path("/opt/swift/usr/bin")
# Its own scratch path, so a benchmark build never waits on (or
# invalidates) the debug build that `swift test` keeps in .build.
SCRATCH = ".build-bench"
PRODUCT = "ExoAllocBench"
LIBDIR = Path("/usr/lib/x86_64-linux-gnu")

# name -> (Debian package, library to LD_PRELOAD or None for the binary as is)
ALLOCATORS: dict[str, tuple[str | None, str | None]] = {
    "exo": (None, None),
    "glibc": (None, None),
    "jemalloc": ("libjemalloc2", "libjemalloc.so.2"),
    "mimalloc": ("libmimalloc2.0", "libmimalloc.so.2"),
    "tcmalloc": ("libtcmalloc-minimal4", "libtcmalloc_minimal.so.4"),
}
PEERS = [name for name in ALLOCATORS if name != "exo"]
WORKLOADS = ["pair64", "random", "prodcons"]
WHAT_IS_AN_OP = {
    "pair64": "malloc(64), write a byte, free",
    "random": "free a random one of 8192 live objects, malloc 16-256 B in its place",
    "prodcons": "object of 64-256 B allocated on one thread, freed on the other",
}
RESULT = re.compile(r"^result allocator=(\S+) workload=(\S+) ns_per_op=([0-9.]+) ops=(\d+)$", re.M)
RUN_TIMEOUT = 300


class BenchFailed(Exception):
    pass


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark Exo's heap core against C allocators.")
    parser.add_argument("--runs", type=int, default=5, help="rounds; each cell is the median (default 5)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated subset of {','.join(WORKLOADS)}")
    parser.add_argument("--iterations", type=int,
                        help="ops per timed run (default: the binary's, about 0.3-1 s per run)")
    parser.add_argument("--markdown-out", metavar="FILE", help="also write the report to FILE")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per op with callgrind (pair64, random)")
    parser.add_argument("--swiftc-flag", action="append", default=[], metavar="FLAG",
                        help="extra flag for swiftc (-Xswiftc FLAG), repeatable")
    parser.add_argument("--no-build", action="store_true", help="use the existing release binary")
    parser.add_argument("--no-setup", action="store_true", help="do not check or install packages")
    args = parser.parse_args(argv)
    args.workloads = [w for w in args.workloads.split(",") if w]
    for workload in args.workloads:
        if workload not in WORKLOADS:
            parser.error(f"unknown workload {workload}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, text=True, capture_output=True, **kwargs)


def ensure_packages() -> None:
    """Installs the missing peer libraries, the way tools/setup.sh does."""
    packages = [package for package, _ in ALLOCATORS.values() if package]
    missing = []
    for package in packages:
        status = run(["dpkg-query", "-W", "-f=${Status}", package])
        if status.returncode != 0 or status.stdout.strip() != "install ok installed":
            missing.append(package)
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(f"alloc_bench: installing {' '.join(missing)}", file=sys.stderr)
    for command in (sudo + ["apt-get", "update", "-q"],
                    sudo + ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing):
        result = run(command, env=environment)
        if result.returncode != 0:
            raise BenchFailed(f"{' '.join(command)} failed:\n{result.stderr}")


def swift_command() -> str:
    found = shutil.which("swift")
    if found:
        return found
    if (SWIFT_BIN / "swift").exists():
        return str(SWIFT_BIN / "swift")
    raise BenchFailed("swift not found on PATH or in /opt/swift/usr/bin")


def build_command(flags: list[str]) -> list[str]:
    command = [swift_command(), "build", "-c", "release", "--product", PRODUCT, "--scratch-path", SCRATCH]
    for flag in flags:
        command += ["-Xswiftc", flag]
    return command


def build(flags: list[str]) -> Path:
    result = subprocess.run(build_command(flags), cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise BenchFailed(f"build failed:\n{result.stdout}")
    return binary_path()


def binary_path() -> Path:
    path = ROOT / SCRATCH / "release" / PRODUCT
    if not path.exists():
        raise BenchFailed(f"{path} does not exist (build first, or drop --no-build)")
    return path


def invocation(binary: Path, allocator: str, workload: str,
               iterations: int | None) -> tuple[dict[str, str], list[str]]:
    """Environment additions and argv for one run."""
    _, library = ALLOCATORS[allocator]
    environment: dict[str, str] = {}
    if allocator != "exo":
        environment["EXO_BENCH_ALLOCATOR_NAME"] = allocator
    if library:
        environment["LD_PRELOAD"] = str(LIBDIR / library)
    argv = [str(binary), "--allocator", "exo" if allocator == "exo" else "system", "--workload", workload]
    if iterations:
        argv += ["--iterations", str(iterations)]
    return environment, argv


def show(environment: dict[str, str], argv: list[str]) -> str:
    relative = [os.path.relpath(argv[0], ROOT)] + argv[1:]
    return " ".join([f"{key}={shlex.quote(value)}" for key, value in environment.items()]
                    + [shlex.quote(part) for part in relative])


def run_once(binary: Path, allocator: str, workload: str, iterations: int | None) -> float:
    environment, argv = invocation(binary, allocator, workload, iterations)
    try:
        result = run(argv, env=dict(os.environ, **environment), timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise BenchFailed(f"{show(environment, argv)} timed out after {RUN_TIMEOUT} s") from error
    match = RESULT.search(result.stdout)
    if result.returncode != 0 or not match:
        raise BenchFailed(f"{show(environment, argv)} failed (status {result.returncode}):\n"
                          f"{result.stdout}{result.stderr}")
    if match.group(1) != allocator or match.group(2) != workload:
        raise BenchFailed(f"{show(environment, argv)} reported {match.group(0)!r}")
    return float(match.group(3))


def count_instructions(binary: Path, allocator: str, workload: str, iterations: int) -> float:
    """Instructions per op: callgrind totals of runs of 2N and N ops differ by
    exactly the instructions of 1.1 N ops (each run warms up with a tenth)."""
    totals = []
    for count in (iterations, 2 * iterations):
        environment, argv = invocation(binary, allocator, workload, count)
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + argv
        result = run(command, env=dict(os.environ, **environment), timeout=RUN_TIMEOUT)
        collected = re.search(r"Collected : (\d+)", result.stderr)
        if result.returncode != 0 or not collected:
            raise BenchFailed(f"callgrind run of {show(environment, argv)} failed:\n{result.stderr[-2000:]}")
        totals.append(int(collected.group(1)))
    return (totals[1] - totals[0]) / (iterations + iterations // 10)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def package_version(package: str) -> str:
    result = run(["dpkg-query", "-W", "-f=${Version}", package])
    return result.stdout.strip() if result.returncode == 0 else "?"


def ratio_cell(peer: float, exo: float) -> str:
    return f"{peer / exo:.2f}×"


def report(args: argparse.Namespace, binary: Path, medians: dict[tuple[str, str], float],
           spreads: dict[tuple[str, str], tuple[float, float]],
           instructions: dict[tuple[str, str], float], load_before: str, load_after: str) -> str:
    allocators = list(ALLOCATORS)
    lines = [f"Median ns per op over {args.runs} interleaved runs (lower is better); "
             "exo vs X = X time / Exo time (> 1: Exo faster).", ""]
    header = ["workload"] + [f"{name} ns" for name in allocators] + [f"exo vs {peer}" for peer in PEERS]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|---|" + "---:|" * (len(header) - 1))
    for workload in args.workloads:
        exo = medians[("exo", workload)]
        cells = [workload] + [f"{medians[(name, workload)]:.2f}" for name in allocators]
        cells += [ratio_cell(medians[(peer, workload)], exo) for peer in PEERS]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Spread (min–max ns/op over the runs):", ""]
    lines.append("| workload | " + " | ".join(allocators) + " |")
    lines.append("|---|" + "---:|" * len(allocators))
    for workload in args.workloads:
        cells = [f"{low:.2f}–{high:.2f}" for low, high in (spreads[(name, workload)] for name in allocators)]
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    if instructions:
        counted = [w for w in args.workloads if (("exo", w) in instructions)]
        lines += ["", "Host instructions per op (valgrind callgrind, deterministic; prodcons not counted: "
                  "its spin-waits vary):", ""]
        header = ["workload"] + allocators + [f"exo vs {peer}" for peer in PEERS]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|---|" + "---:|" * (len(header) - 1))
        for workload in counted:
            exo = instructions[("exo", workload)]
            cells = [workload] + [f"{instructions[(name, workload)]:.1f}" for name in allocators]
            cells += [ratio_cell(instructions[(peer, workload)], exo) for peer in PEERS]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "What one op is:", ""]
    lines += [f"- {workload}: {WHAT_IS_AN_OP[workload]}" for workload in args.workloads]
    lines += ["",
              "Machine:", "",
              f"- CPU: {cpu_model()}, nproc {os.cpu_count()}, Linux {platform.release()}",
              f"- load average before / after: {load_before} / {load_after}",
              f"- glibc {platform.libc_ver()[1]}, "
              + ", ".join(f"{package} {package_version(package)}"
                          for package, _ in ALLOCATORS.values() if package),
              "", "Commands (from the repository root):", "",
              "```",
              " ".join(shlex.quote(part) for part in ["tools/alloc_bench.py"] + sys.argv[1:]),
              " ".join(shlex.quote(os.path.basename(part)) if index == 0 else shlex.quote(part)
                       for index, part in enumerate(build_command(args.swiftc_flag)))]
    for workload in args.workloads:
        for name in allocators:
            lines.append(show(*invocation(binary, name, workload, args.iterations)))
    if instructions:
        lines.append("# instructions: valgrind --tool=callgrind --callgrind-out-file=/dev/null <run> "
                     "--iterations N and 2N; (Ir(2N) - Ir(N)) / 1.1N")
    lines.append("```")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        if not args.no_setup:
            ensure_packages()
        for package, library in ALLOCATORS.values():
            if library and not (LIBDIR / library).exists():
                raise BenchFailed(f"{LIBDIR / library} missing although {package} is installed")
        binary = binary_path() if args.no_build else build(args.swiftc_flag)
        load_before = load_average()
        samples: dict[tuple[str, str], list[float]] = {}
        names = list(ALLOCATORS)
        for round_index in range(args.runs):
            order = names[round_index % len(names):] + names[:round_index % len(names)]
            for workload in args.workloads:
                for name in order:
                    value = run_once(binary, name, workload, args.iterations)
                    samples.setdefault((name, workload), []).append(value)
            print(f"alloc_bench: round {round_index + 1}/{args.runs} done", file=sys.stderr)
        instructions: dict[tuple[str, str], float] = {}
        if args.instructions:
            if not shutil.which("valgrind"):
                raise BenchFailed("--instructions needs valgrind")
            for workload in args.workloads:
                if workload == "prodcons":
                    continue
                for name in names:
                    instructions[(name, workload)] = count_instructions(binary, name, workload, 200_000)
        load_after = load_average()
    except BenchFailed as error:
        print(f"alloc_bench: {error}", file=sys.stderr)
        return 1
    medians = {key: statistics.median(values) for key, values in samples.items()}
    spreads = {key: (min(values), max(values)) for key, values in samples.items()}
    text = report(args, binary, medians, spreads, instructions, load_before, load_after)
    print(text, end="")
    if args.markdown_out:
        Path(args.markdown_out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
