#!/usr/bin/env python3
"""gen_ksyms.py - build the kernel symbol table blob used for backtraces.

Usage:
  tools/gen_ksyms.py build/exo-pass1.elf build/ksyms.bin

Reads the text symbols of the ELF with `llvm-nm -n --defined-only` (PATH, then
/opt/swift/usr/bin, then `nm`), keeps types t/T/W sorted by address, drops
`.L*` locals and section-name markers, keeps one name per address (a global
one over a local one, a function over a linker marker like __text_start),
demangles Swift names in one batch with `swift demangle --simplified --compact`
and truncates each name to 120 bytes of UTF-8.

Output (little-endian):
  magic   8 bytes  "EXOSYMS1"
  count   u64
  entries count x { u64 address, u32 nameOffset, u32 nameLength }
          nameOffset is relative to the start of the string table
  strings UTF-8 names, no terminators

A readable listing ("<address> <name>" per line) is written next to the blob
with the suffix .txt (build/ksyms.bin -> build/ksyms.txt).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

MAGIC = b"EXOSYMS1"
HEADER = struct.Struct("<8sQ")
ENTRY = struct.Struct("<QII")
MAX_NAME_BYTES = 120
TEXT_TYPES = {"t", "T", "W"}
SWIFT_BIN = Path("/opt/swift/usr/bin")

# Linker-script boundary symbols: __text_start, _kernel_end, __start_set_x ...
# (but not _start itself). Only used to break ties at one address.
LINKER_MARKER = re.compile(r"^_*[A-Za-z0-9_]+_(start|end)$|^__(start|stop)_")


def find_tool(*names: str) -> str | None:
    """First of `names` found on PATH or in /opt/swift/usr/bin."""
    for name in names:
        found = shutil.which(name) or shutil.which(name, path=str(SWIFT_BIN))
        if found:
            return found
    return None


def read_symbols(elf: str) -> list[tuple[int, str, str]]:
    """(address, type, name) of defined symbols, in llvm-nm's address order."""
    nm = find_tool("llvm-nm", "nm")
    if nm is None:
        sys.exit("gen_ksyms: neither llvm-nm nor nm found")
    result = subprocess.run([nm, "-n", "--defined-only", elf],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"gen_ksyms: {nm} failed: {result.stderr.strip()}")
    symbols = []
    for line in result.stdout.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3:
            symbols.append((int(parts[0], 16), parts[1], parts[2]))
    return symbols


def is_section_marker(name: str) -> bool:
    return name.startswith(".")  # .L* locals, .text, .text.foo, ...


def select_text_symbols(symbols: list[tuple[int, str, str]]) -> list[tuple[int, str]]:
    """Text symbols sorted by address, one per address."""
    best: dict[int, tuple[tuple[bool, bool, int], str]] = {}
    for order, (address, kind, name) in enumerate(symbols):
        if kind not in TEXT_TYPES or is_section_marker(name):
            continue
        # Lower rank wins: global before local, function before linker
        # marker, then first seen.
        rank = (kind.islower(), bool(LINKER_MARKER.match(name)), order)
        if address not in best or rank < best[address][0]:
            best[address] = (rank, name)
    return [(address, best[address][1]) for address in sorted(best)]


def demangle(names: list[str]) -> list[str]:
    """Swift-demangle all names in one batch; others come back unchanged."""
    swift = find_tool("swift")
    if swift is None or not names:
        if names:
            print("gen_ksyms: warning: swift not found, names left mangled", file=sys.stderr)
        return names
    result = subprocess.run([swift, "demangle", "--simplified", "--compact"],
                            input="\n".join(names) + "\n", capture_output=True, text=True)
    demangled = result.stdout.splitlines()
    if result.returncode != 0 or len(demangled) != len(names):
        print(f"gen_ksyms: warning: swift demangle failed (status {result.returncode}, "
              f"{len(demangled)} lines for {len(names)} names), names left mangled",
              file=sys.stderr)
        return names
    return demangled


def truncate_utf8(name: str, limit: int = MAX_NAME_BYTES) -> bytes:
    """UTF-8 bytes of name, cut to at most `limit` bytes on a character boundary."""
    data = name.encode("utf-8")
    if len(data) <= limit:
        return data
    return data[:limit].decode("utf-8", errors="ignore").encode("utf-8")


def build_blob(symbols: list[tuple[int, bytes]]) -> bytes:
    entries = bytearray()
    strings = bytearray()
    for address, name in symbols:
        entries += ENTRY.pack(address, len(strings), len(name))
        strings += name
    return HEADER.pack(MAGIC, len(symbols)) + bytes(entries) + bytes(strings)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0].startswith("-"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    elf, out = argv
    text_symbols = select_text_symbols(read_symbols(elf))
    names = demangle([name for _, name in text_symbols])
    symbols = [(address, truncate_utf8(name))
               for (address, _), name in zip(text_symbols, names)]

    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(build_blob(symbols))
    with open(out_path.with_suffix(".txt"), "w", encoding="utf-8") as listing:
        for address, name in symbols:
            listing.write(f"{address:016x} {name.decode('utf-8')}\n")
    print(f"gen_ksyms: {len(symbols)} symbols -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
