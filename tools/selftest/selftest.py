#!/usr/bin/env python3
"""selftest.py - self-test of the host tools in tools/, without a real kernel.

Usage: tools/selftest/selftest.py [-v]

Runs ktest.py, bench.py and boottime.py against fake_qemu.py (which plays
scripted serial output and exit statuses), test_summary.py against generated
xUnit/JSONL files, and gen_ksyms.py on a small ELF built with clang (skipped
when clang/ld.lld are missing). Everything is written to a temporary
directory. Prints one line per check and exits 1 if any check failed.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLS = HERE.parent
FAKE = str(HERE / "fake_qemu.py")
VERBOSE = "-v" in sys.argv[1:]
failures: list[str] = []


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True)


def check(name: str, result: subprocess.CompletedProcess, status: int,
          *texts: str) -> None:
    """The command exited with `status` and its stdout+stderr contain `texts`."""
    output = result.stdout + result.stderr
    problems = []
    if result.returncode != status:
        problems.append(f"exit {result.returncode}, expected {status}")
    problems += [f"missing {t!r}" for t in texts if t not in output]
    print(f"{'FAIL' if problems else 'ok  '} {name}" + (f": {'; '.join(problems)}" if problems else ""))
    if problems:
        failures.append(name)
    if problems or VERBOSE:
        print("\n".join(f"    | {line}" for line in output.splitlines()))


def ktest(tmp: Path, name: str, *extra: str) -> subprocess.CompletedProcess:
    return run(str(TOOLS / "ktest.py"), "--name", name, "--qemu", FAKE,
               "--log", str(tmp / f"{name}.log"), "--summary", str(tmp / "ktest.jsonl"),
               *extra)


def test_ktest(tmp: Path) -> None:
    check("ktest pass", ktest(tmp, "pass", "--kernel", "k", "--append", "fake=pass",
                              "--expect-text", "cmdline"),
          0, "  PASS sched.yield", "ktest pass: 6 passed, 0 failed (exit status 33,")
    check("ktest fail", ktest(tmp, "fail", "--kernel", "k", "--append", "fake=fail"),
          1, "  FAIL vm.map: expected 0x1000, got 0x2000", "got 35", "last 6 serial lines",
          "ktest fail: 3 passed, 2 failed")
    check("ktest expect 35", ktest(tmp, "fail35", "--kernel", "k", "--append", "fake=fail",
                                   "--expect-exit", "35"),
          1, "ktest fail35: 4 passed, 1 failed")
    check("ktest quiet", ktest(tmp, "quiet", "--kernel", "k", "--append", "fake=pass", "--quiet"),
          0, "ktest quiet: 5 passed")
    check("ktest iso + smbios", ktest(tmp, "iso", "--iso", "x.iso", "--append", "fake=pass a=1,2"),
          0, "ktest iso: 5 passed")
    check("ktest noisy serial", ktest(tmp, "noisy", "--kernel", "k", "--append", "fake=noisy"),
          0, "  PASS color.green", "  PASS ktest done line")
    check("ktest missing done", ktest(tmp, "nodone", "--kernel", "k", "--append", "fake=nodone"),
          1, "FAIL ktest done line: no 'ktest: done' line")
    check("ktest done mismatch", ktest(tmp, "mismatch", "--kernel", "k", "--append", "fake=mismatch"),
          1, "kernel says passed=2 failed=0, runner saw passed=1 failed=0")
    check("ktest triple fault", ktest(tmp, "triple", "--kernel", "k", "--append", "fake=triple"),
          1, "got 0 (triple fault or clean poweroff)")
    check("ktest expect text", ktest(tmp, "text", "--kernel", "k", "--append", "fake=pass",
                                     "--expect-text", "never printed"),
          1, "FAIL expect text 'never printed': not seen on serial")
    check("ktest timeout", ktest(tmp, "hang", "--kernel", "k", "--append", "fake=hang",
                                 "--timeout", "1"),
          1, "FAIL exit status: timeout after 1s", "(exit status timeout,")
    check("ktest missing qemu", run(str(TOOLS / "ktest.py"), "--name", "noqemu", "--kernel", "k",
                                    "--qemu", str(tmp / "nonexistent"),
                                    "--log", str(tmp / "noqemu.log"),
                                    "--summary", str(tmp / "ktest.jsonl")),
          1, "FAIL start qemu")
    records = [json.loads(line) for line in (tmp / "ktest.jsonl").read_text().splitlines()]
    ok = [r["name"] for r in records][:2] == ["pass", "fail"] and records[1]["exit"] == 35 \
        and records[1]["failed"] == 2 and (tmp / "pass.log").exists()
    print(f"{'ok  ' if ok else 'FAIL'} ktest summary records and logs")
    if not ok:
        failures.append("ktest summary records")


def test_bench(tmp: Path) -> None:
    bench = [str(TOOLS / "bench.py"), "--kernel", "k", "--qemu", FAKE, "--log-dir", str(tmp)]
    md = tmp / "bench.md"
    check("bench deterministic", run(*bench, "--markdown-out", str(md)),
          0, "| ipc.pingpong | 5,214 | min=5100 max=5300 n=1000 |",
          "identical across 2 runs")
    ok = md.exists() and "-icount shift=0,sleep=off" in md.read_text()
    print(f"{'ok  ' if ok else 'FAIL'} bench markdown file")
    if not ok:
        failures.append("bench markdown")
    check("bench nondeterministic", run(*bench, "--runs", "4", "--filter", "x fake=bench-nondet"),
          1, "NOT deterministic")
    check("bench bad exit", run(*bench, "--filter", "x fake=triple"), 1, "QEMU exit status 0")


def test_boottime() -> None:
    boottime = [str(TOOLS / "boottime.py"), "--kernel", "k", "--qemu", FAKE, "--timeout", "2"]
    check("boottime wall", run(*boottime, "--runs", "3", "--append", "fake=boot"),
          0, "boot-to-banner median", "(3 runs, TCG, -kernel)")
    check("boottime icount", run(*boottime, "--runs", "2", "--icount", "--append", "fake=boot"),
          0, "boot guest-instructions to kmain: 123456")
    check("boottime no banner", run(*boottime, "--runs", "1", "--append", "fake=boot-hang"),
          1, "timeout after 2s before 'exo: ready' was seen")


def test_summary(tmp: Path) -> None:
    xml = tmp / "swift-tests-swift-testing.xml"
    xml.write_text('<testsuites><testsuite>'
                   '<testcase classname="A" name="ok()"/>'
                   '<testcase classname="A" name="bad()"><failure message="x"/></testcase>'
                   '<testcase classname="A" name="skip()"><skipped/></testcase>'
                   '</testsuite></testsuites>')
    jsonl = tmp / "sum.jsonl"
    jsonl.write_text(json.dumps({"name": "k", "passed": 3, "failed": 0, "failures": [],
                                 "exit": 33, "seconds": 0.1}) + "\n")
    summary = str(TOOLS / "test_summary.py")
    result = run(summary, "--xunit", str(xml), "--xunit", str(tmp / "missing.xml"),
                 "--ktest", str(jsonl))
    check("summary with failure", result, 1, "A.bad()")
    last = result.stdout.splitlines()[-1] if result.stdout else ""
    if last != "4 passed, 1 failed":
        failures.append("summary last line")
        print(f"FAIL summary last line: {last!r}")
    check("summary all passed", run(summary, "--ktest", str(jsonl)), 0, "3 passed, 0 failed")
    check("summary swift build failure", run(summary, "--ktest", str(jsonl), "--swift-exit", "1"),
          1, "swift test (build or runner failure)", "3 passed, 1 failed")
    check("summary nothing counted", run(summary), 1, "0 passed, 0 failed")


def test_gen_ksyms(tmp: Path) -> None:
    clang = shutil.which("clang") or shutil.which("clang", path="/opt/swift/usr/bin")
    lld = shutil.which("ld.lld") or shutil.which("ld.lld", path="/opt/swift/usr/bin")
    if not (clang and lld):
        print("skip gen_ksyms (clang or ld.lld missing)")
        return
    (tmp / "k.c").write_text(
        "static int helper(int x) { return x * 3; }\n"
        "int kmain(void) { return helper(4); }\n"
        "void real(void) {}\n"
        "static void local_alias(void) __attribute__((alias(\"real\"), used));\n"
        "void _start(void) { kmain(); }\n"
        "void $s4main3fooyyF(void) {}\n")
    (tmp / "k.ld").write_text(
        "SECTIONS { .text 0x4000100000 : { __text_start = .; *(.text*) } }\n")
    subprocess.run([clang, "--target=x86_64-unknown-none-elf", "-ffreestanding",
                    "-fdollars-in-identifiers", "-c", str(tmp / "k.c"), "-o", str(tmp / "k.o")],
                   check=True)
    subprocess.run([lld, "-T", str(tmp / "k.ld"), str(tmp / "k.o"), "-o", str(tmp / "k.elf")],
                   check=True)
    result = run(str(TOOLS / "gen_ksyms.py"), str(tmp / "k.elf"), str(tmp / "ksyms.bin"))
    check("gen_ksyms runs", result, 0, "symbols ->")
    blob = (tmp / "ksyms.bin").read_bytes()
    magic, count = struct.unpack_from("<8sQ", blob)
    strings = 16 + 16 * count
    symbols = {}
    for i in range(count):
        address, offset, length = struct.unpack_from("<QII", blob, 16 + 16 * i)
        symbols[blob[strings + offset:strings + offset + length].decode()] = address
    expected = {"kmain", "helper", "real", "_start"}
    swift_ok = shutil.which("swift") is None or "foo()" in symbols
    ok = (magic == b"EXOSYMS1" and expected <= set(symbols) and not {"__text_start", "local_alias"} & set(symbols)
          and symbols["kmain"] == 0x4000100000 and swift_ok
          and (tmp / "ksyms.txt").exists())
    print(f"{'ok  ' if ok else 'FAIL'} gen_ksyms blob contents")
    if not ok or VERBOSE:
        print(f"    | {magic!r} {sorted(symbols.items(), key=lambda kv: kv[1])}")
    if not ok:
        failures.append("gen_ksyms blob")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="exo-tools-selftest-") as name:
        tmp = Path(name)
        test_ktest(tmp)
        test_bench(tmp)
        test_boottime()
        test_summary(tmp)
        test_gen_ksyms(tmp)
    print(f"selftest: {len(failures)} failed" + (f": {', '.join(failures)}" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
