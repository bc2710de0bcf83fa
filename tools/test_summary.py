#!/usr/bin/env python3
"""test_summary.py - print the final summary of `make test`.

Usage:
  tools/test_summary.py [--xunit PATH]... [--ktest build/ktest-summary.jsonl]
                        [--swift-exit CODE]

Counts host tests from xUnit XML files (`swift test --xunit-output
build/swift-tests.xml` writes build/swift-tests-swift-testing.xml for
swift-testing and build/swift-tests.xml for XCTest; missing files are
ignored): every <testcase> is a test, failed if it has a <failure> or <error>
child, skipped (not counted) if it has a <skipped> child. Counts in-kernel runs
from the JSONL file ktest.py appends to (the last record per run name wins, so
make test should delete the file first to avoid stale runs).

If --swift-exit is non-zero but the XML shows no failures (e.g. the build
failed), one failure "swift test (build or runner failure)" is counted.

Prints a table (source: passed/failed), the failures, and as the very last
line exactly "N passed, M failed". Exit status 1 if M > 0 or nothing was
counted at all.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

SWIFT_RUNNER_FAILURE = "swift test (build or runner failure)"


@dataclass
class Source:
    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)


def read_xunit(path: Path) -> Source:
    source = Source(f"swift: {path.name}")
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as error:
        source.failed = 1
        source.failures.append(f"unreadable xUnit file {path}: {error}")
        return source
    for case in root.iter("testcase"):
        name = ".".join(filter(None, (case.get("classname"), case.get("name"))))
        if case.find("failure") is not None or case.find("error") is not None:
            source.failed += 1
            source.failures.append(name or "(unnamed test case)")
        elif case.find("skipped") is not None:
            source.skipped += 1
        else:
            source.passed += 1
    return source


def read_ktest(path: Path) -> list[Source]:
    runs: dict[str, Source] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            run = Source(f"ktest: {record['name']}", int(record["passed"]),
                         int(record["failed"]))
            run.failures = [f"{record['name']}: {f}" for f in record.get("failures", [])]
        except (ValueError, KeyError, TypeError) as error:
            run = Source(f"ktest: {path.name} line {number}", 0, 1,
                         failures=[f"malformed record in {path}:{number}: {error}"])
        runs[run.name] = run  # a later run of the same name replaces the earlier
    return list(runs.values())


def print_table(sources: list[Source]) -> None:
    width = max([len("source")] + [len(s.name) for s in sources])
    print(f"{'source':<{width}}  {'passed':>6}  {'failed':>6}")
    for s in sources:
        skipped = f"  ({s.skipped} skipped)" if s.skipped else ""
        print(f"{s.name:<{width}}  {s.passed:>6}  {s.failed:>6}{skipped}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Summarise host and in-kernel test results.")
    parser.add_argument("--xunit", action="append", default=[], metavar="PATH",
                        help="xUnit XML file (repeatable; missing files are ignored)")
    parser.add_argument("--ktest", metavar="PATH", help="ktest summary JSONL file")
    parser.add_argument("--swift-exit", type=int, default=0, metavar="CODE",
                        help="exit status of `swift test`")
    parser.add_argument("--build-ok", type=int, default=1, metavar="0|1",
                        help="0 when the kernel image failed to build (counted as one failure)")
    args = parser.parse_args(argv)

    swift = [read_xunit(Path(p)) for p in args.xunit if Path(p).exists()]
    if args.swift_exit != 0 and not any(s.failed for s in swift):
        swift.append(Source("swift: exit status", 0, 1,
                            failures=[f"{SWIFT_RUNNER_FAILURE}, exit {args.swift_exit}"]))
    kernel = []
    if args.ktest and Path(args.ktest).exists():
        kernel = read_ktest(Path(args.ktest))

    sources = swift + kernel
    if not args.build_ok:
        sources.append(Source("kernel build", 0, 1, failures=["kernel build: make kernel iso failed"]))
    passed = sum(s.passed for s in sources)
    failed = sum(s.failed for s in sources)

    if sources:
        print_table(sources)
    failures = [f for s in sources for f in s.failures]
    if failures:
        print("failures:")
        for failure in failures:
            print(f"  {failure}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
