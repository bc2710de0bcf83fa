#!/usr/bin/env python3
"""dump_acpi.py - dump the ACPI tables SeaBIOS builds in QEMU, as test fixtures.

Usage:
  tools/dump_acpi.py [dump] [--out build/acpi] [--config NAME]... [--timeout 30]
  tools/dump_acpi.py swift [--out build/acpi]
                     [--swift Tests/ExoBootTests/Fixtures/QEMUACPITables.swift]
  tools/dump_acpi.py all   (dump, then swift; what regenerates the fixtures)

dump: for each machine configuration (CONFIGS below) starts QEMU under TCG with
no boot device and a QMP socket, waits until the firmware has installed the
tables (polls 0xE0000-0xFFFFF, or all RAM for the OVMF configuration, for an
RSDP with valid checksums), stops the guest and reads guest physical memory
with the QMP command `pmemsave`. It follows each RSDP to the RSDT and, for
revision >= 2, the XSDT, and saves the RSDPs, the BDA word at 0x40E (the EBDA
segment), the root tables and every table they list as
OUT/CONFIG/<address>-<name>.bin, with OUT/CONFIG/summary.txt describing them.
Tables reached only through other tables (DSDT, FACS via the FADT) are not
saved: the parser under test does not read them. Takes about 15 s.

swift: turns OUT/*/ into one Swift file holding, per configuration, a
dictionary `[physicalAddress: [UInt8]]` of the saved regions (see the
generated file's header), so host tests can place them in a fake physical
memory at their real addresses.

The checksums and lengths are verified while dumping, so a fixture is always
what the firmware really produced.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QEMU = "qemu-system-x86_64"
REPO = Path(__file__).resolve().parent.parent

# Name -> extra QEMU arguments. Names become Swift identifiers.
CONFIGS: dict[str, list[str]] = {
    # i440FX, one CPU, QEMU's default 128 MiB.
    "pc": ["-machine", "pc", "-smp", "1"],
    # Q35 with four CPUs of the richest model TCG offers.
    "q35": ["-machine", "q35", "-smp", "4", "-cpu", "max"],
    # Two NUMA nodes of two CPUs and 256 MiB each, distance 20 between them.
    "numa": [
        "-machine", "pc", "-smp", "4", "-m", "512M",
        "-object", "memory-backend-ram,id=m0,size=256M",
        "-object", "memory-backend-ram,id=m1,size=256M",
        "-numa", "node,nodeid=0,cpus=0-1,memdev=m0",
        "-numa", "node,nodeid=1,cpus=2-3,memdev=m1",
        "-numa", "dist,src=0,dst=1,val=20",
    ],
    # Q35 under OVMF (UEFI): an ACPI 2.0 RSDP with an XSDT, somewhere in RAM
    # rather than in the BIOS area (a UEFI loader hands it over instead).
    "q35uefi": ["-machine", "q35", "-smp", "4", "-cpu", "max", "-m", "128M",
                "-bios", "/usr/share/ovmf/OVMF.fd"],
}

# Where to look for the RSDP, and on what boundary: the BIOS area, or (UEFI)
# all of RAM, where the loader gets it from the EFI system table instead.
SEARCH_AREAS: dict[str, tuple[int, int, int]] = {"q35uefi": (0, 128 << 20, 4)}

# Arguments shared by every configuration: TCG, nothing on screen or serial,
# no NIC (so no iPXE boot attempt); SeaBIOS then finds no boot device and
# idles with its tables installed.
BASE_ARGS = ["-accel", "tcg", "-display", "none", "-serial", "none",
             "-monitor", "none", "-nic", "none", "-no-reboot"]

BIOS_AREA = (0xE0000, 0x20000, 16)  # where the RSDP lives on a BIOS machine
EBDA_POINTER = 0x40E            # BDA word: EBDA segment
HEADER_SIZE = 36
MAX_TABLE = 1 << 20


class QMP:
    """A minimal QMP client over a Unix socket (one command at a time)."""

    def __init__(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"QMP socket {path} never appeared")
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.buffer = b""
        self._read_message()  # greeting
        self.command("qmp_capabilities")

    def _read_message(self) -> dict:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("QMP connection closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def command(self, name: str, **arguments) -> object:
        message = {"execute": name}
        if arguments:
            message["arguments"] = arguments
        self.sock.sendall(json.dumps(message).encode() + b"\n")
        while True:
            reply = self._read_message()
            if "event" in reply:
                continue
            if "error" in reply:
                raise RuntimeError(f"QMP {name}: {reply['error']}")
            return reply.get("return")

    def close(self) -> None:
        self.sock.close()


class Guest:
    """Reads guest physical memory through QMP pmemsave into a scratch file."""

    def __init__(self, qmp: QMP, scratch: Path) -> None:
        self.qmp = qmp
        self.scratch = scratch
        self.count = 0

    def read(self, address: int, size: int) -> bytes:
        self.count += 1
        path = self.scratch / f"read{self.count}.bin"
        self.qmp.command("pmemsave", val=address, size=size, filename=str(path))
        data = path.read_bytes()
        path.unlink()
        if len(data) != size:
            raise RuntimeError(f"pmemsave {address:#x}+{size:#x} returned {len(data)} bytes")
        return data


def checksum_ok(data: bytes) -> bool:
    return sum(data) % 256 == 0


def find_rsdps(area: bytes, base: int, alignment: int) -> list[int]:
    """Physical addresses of every valid RSDP on an `alignment` boundary in
    `area` (which starts at physical `base`). The BIOS area is searched on
    16-byte boundaries, as the specification requires there; OVMF leaves two
    RSDPs in RAM, ACPI 1.0 and 2.0, the second only 4-byte aligned."""
    found = []
    offset = area.find(b"RSD PTR ")
    while offset >= 0:
        if (base + offset) % alignment == 0 and offset + 20 <= len(area) \
                and checksum_ok(area[offset:offset + 20]):
            if area[offset + 15] < 2:
                found.append(base + offset)
            else:
                length = int.from_bytes(area[offset + 20:offset + 24], "little")
                if 36 <= length <= len(area) - offset \
                        and checksum_ok(area[offset:offset + length]):
                    found.append(base + offset)
        offset = area.find(b"RSD PTR ", offset + 1)
    return found


def read_table(guest: Guest, address: int) -> bytes:
    """The whole table at `address`, with its length and checksum verified."""
    header = guest.read(address, HEADER_SIZE)
    length = int.from_bytes(header[4:8], "little")
    if length < HEADER_SIZE or length > MAX_TABLE:
        raise RuntimeError(f"table {header[:4]!r} at {address:#x}: bad length {length}")
    table = guest.read(address, length)
    if not checksum_ok(table):
        raise RuntimeError(f"table {header[:4]!r} at {address:#x}: bad checksum")
    return table


def save(directory: Path, address: int, name: str, data: bytes) -> None:
    (directory / f"{address:016x}-{name}.bin").write_bytes(data)


def dump_config(name: str, extra: list[str], out: Path, timeout: float) -> None:
    directory = out / name
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="dump_acpi.") as scratch_name:
        scratch = Path(scratch_name)
        sock = str(scratch / "qmp.sock")
        argv = [QEMU, *BASE_ARGS, "-qmp", f"unix:{sock},server=on,wait=off", *extra]
        log = scratch / "qemu.stderr"
        with open(log, "wb") as stderr:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=stderr,
                                       start_new_session=True)
        try:
            qmp = QMP(sock, timeout)
            guest = Guest(qmp, scratch)
            # The firmware installs the tables early (SeaBIOS in POST, OVMF
            # in DXE); poll until an RSDP with valid checksums appears, then
            # give it a moment to finish.
            deadline = time.monotonic() + timeout
            rsdps: list[int] = []
            area = SEARCH_AREAS.get(name, BIOS_AREA)
            while not rsdps:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: no RSDP after {timeout} s")
                time.sleep(0.25 if area == BIOS_AREA else 2.0)
                rsdps = find_rsdps(guest.read(area[0], area[1]), area[0], area[2])
            time.sleep(1.0)
            qmp.command("stop")
            rsdps = find_rsdps(guest.read(area[0], area[1]), area[0], area[2])
            if not rsdps:
                raise RuntimeError(f"{name}: RSDP vanished")
            summary = dump_tables(guest, rsdps, directory)
            qmp.command("quit")
            qmp.close()
        except (RuntimeError, OSError) as error:
            # Say what QEMU said, e.g. about a bad option or missing firmware.
            raise RuntimeError(f"{name}: {error}\n{log.read_text(errors='replace')}") from error
        finally:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
        (directory / "summary.txt").write_text(
            f"config {name}: {' '.join(extra)}\n" + "\n".join(summary) + "\n")
        print(f"== {name}: {' '.join(extra)}")
        for line in summary:
            print("  " + line)


def dump_tables(guest: Guest, rsdps: list[int], directory: Path) -> list[str]:
    """Saves the EBDA pointer, each RSDP, its root tables and every table
    they list (each table once)."""
    summary: list[str] = []
    save(directory, EBDA_POINTER, "ebda-pointer", guest.read(EBDA_POINTER, 2))
    listed: dict[int, bytes] = {}
    for rsdp_address in rsdps:
        dump_root(guest, rsdp_address, directory, listed, summary)
    for address, table in sorted(listed.items()):
        signature = table[:4].decode("ascii", "replace")
        save(directory, address, signature, table)
        summary.append(f"{signature} at {address:#x}: {len(table)} bytes, "
                       f"revision {table[8]}, OEM table {table[16:24].decode('ascii', 'replace')!r}"
                       + describe(signature, table))
    return summary


def dump_root(guest: Guest, rsdp_address: int, directory: Path,
              listed: dict[int, bytes], summary: list[str]) -> None:
    """Saves one RSDP and its RSDT/XSDT; reads the tables they list into `listed`."""
    rsdp = guest.read(rsdp_address, 20)
    revision = rsdp[15]
    if revision >= 2:
        length = int.from_bytes(guest.read(rsdp_address + 20, 4), "little")
        rsdp = guest.read(rsdp_address, length)
    save(directory, rsdp_address, "RSDP", rsdp)
    rsdt = int.from_bytes(rsdp[16:20], "little")
    xsdt = int.from_bytes(rsdp[24:32], "little") if revision >= 2 else 0
    summary.append(f"RSDP at {rsdp_address:#x}: revision {revision}, OEM "
                   f"{rsdp[9:15].decode('ascii', 'replace')!r}, RSDT {rsdt:#x}, XSDT {xsdt:#x}")
    roots = ([(rsdt, 4)] if rsdt else []) + ([(xsdt, 8)] if xsdt else [])
    for root_address, width in roots:
        root = read_table(guest, root_address)
        save(directory, root_address, root[:4].decode(), root)
        entries = [int.from_bytes(root[offset:offset + width], "little")
                   for offset in range(HEADER_SIZE, len(root) - width + 1, width)]
        summary.append(f"{root[:4].decode()} at {root_address:#x}: {len(root)} bytes, "
                       f"entries {', '.join(f'{e:#x}' for e in entries)}")
        for entry in entries:
            if entry and entry not in listed:
                listed[entry] = read_table(guest, entry)


def describe(signature: str, table: bytes) -> str:
    """A short decoding of the tables the Swift parser reads, for the summary."""
    u = lambda offset, width: int.from_bytes(table[offset:offset + width], "little")  # noqa: E731
    if signature == "APIC":
        parts = [f"LAPIC {u(36, 4):#x} flags {u(40, 4):#x}"]
        offset = 44
        while offset + 2 <= len(table):
            kind, length = table[offset], table[offset + 1]
            if length < 2:
                parts.append(f"bad record length {length}")
                break
            record = table[offset:offset + length]
            if kind == 0:
                parts.append(f"cpu uid {record[2]} apic {record[3]} flags {u(offset + 4, 4)}")
            elif kind == 1:
                parts.append(f"ioapic id {record[2]} at {u(offset + 4, 4):#x} gsi {u(offset + 8, 4)}")
            elif kind == 2:
                parts.append(f"override bus {record[2]} irq {record[3]} -> gsi {u(offset + 4, 4)}"
                             f" flags {u(offset + 8, 2):#x}")
            elif kind == 4:
                parts.append(f"lapic-nmi uid {record[2]:#x} flags {u(offset + 3, 2):#x}"
                             f" lint {record[5]}")
            else:
                parts.append(f"type {kind} length {length}")
            offset += length
        return "\n    " + "\n    ".join(parts)
    if signature == "HPET":
        return (f"\n    id {u(36, 4):#x} space {table[40]} base {u(44, 8):#x}"
                f" number {table[52]} min tick {u(53, 2)}")
    if signature == "SRAT":
        parts = []
        offset = 48
        while offset + 2 <= len(table):
            kind, length = table[offset], table[offset + 1]
            if length < 2:
                break
            if kind == 0:
                parts.append(f"cpu apic {table[offset + 3]} node {table[offset + 2]}"
                             f" flags {u(offset + 4, 4)}")
            elif kind == 1:
                parts.append(f"memory {u(offset + 8, 8):#x}+{u(offset + 16, 8):#x}"
                             f" node {u(offset + 2, 4)} flags {u(offset + 28, 4)}")
            else:
                parts.append(f"type {kind} length {length}")
            offset += length
        return "\n    " + "\n    ".join(parts)
    if signature == "SLIT":
        count = u(36, 8)
        rows = [" ".join(str(table[44 + row * count + column]) for column in range(count))
                for row in range(count)]
        return "\n    " + "\n    ".join(rows)
    return ""


SWIFT_HEADER = """\
// Generated by tools/dump_acpi.py from QEMU {version} (SeaBIOS, and OVMF for
// q35uefi); do not edit.
// Regenerate: tools/dump_acpi.py all
//
// Each configuration maps guest physical addresses to the bytes found there:
// the BDA word at 0x40E (EBDA segment), the RSDP, the RSDT (and XSDT) and
// every table they list, exactly as the firmware left them. OVMF leaves two
// RSDPs (ACPI 1.0 and 2.0) outside the BIOS area; a UEFI loader passes one on.
// Summaries of what they hold: build/acpi/*/summary.txt after a dump.
"""


def swift_literal(data: bytes, indent: str) -> str:
    lines = []
    for start in range(0, len(data), 16):
        chunk = data[start:start + 16]
        lines.append(indent + ", ".join(f"0x{byte:02x}" for byte in chunk) + ",")
    return "\n".join(lines)


def write_swift(out: Path, swift: Path) -> None:
    version = subprocess.run([QEMU, "--version"], capture_output=True, text=True,
                             check=True).stdout.split("\n")[0].split()[3]
    text = [SWIFT_HEADER.format(version=version), "enum QEMUACPITables {"]
    for name, extra in CONFIGS.items():
        directory = out / name
        files = sorted(directory.glob("*.bin"))
        if not files:
            raise RuntimeError(f"no dump in {directory}: run `dump` first")
        rsdps = [int(path.stem.split("-", 1)[0], 16) for path in files
                 if path.stem.endswith("-RSDP")]
        text.append(f"    /// Where `{name}` holds an RSDP.")
        text.append(f"    static let {name}RSDPs: [UInt64] = ["
                    + ", ".join(f"0x{address:x}" for address in rsdps) + "]")
        text.append(f"    /// `{' '.join(extra)}`")
        text.append(f"    static let {name}: [UInt64: [UInt8]] = [")
        for path in files:
            address_text, label = path.stem.split("-", 1)
            data = path.read_bytes()
            text.append(f"        // {label}, {len(data)} bytes")
            text.append(f"        0x{int(address_text, 16):x}: [")
            text.append(swift_literal(data, " " * 12))
            text.append("        ],")
        text.append("    ]")
        text.append("")
    text[-1] = "}"
    swift.parent.mkdir(parents=True, exist_ok=True)
    swift.write_text("\n".join(text) + "\n")
    print(f"wrote {swift.relative_to(REPO) if swift.is_relative_to(REPO) else swift}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", nargs="?", default="dump", choices=["dump", "swift", "all"])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "acpi")
    parser.add_argument("--swift", type=Path,
                        default=REPO / "Tests/ExoBootTests/Fixtures/QEMUACPITables.swift")
    parser.add_argument("--config", action="append", choices=sorted(CONFIGS),
                        help="dump only this configuration (repeatable)")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    try:
        if args.mode in ("dump", "all"):
            for name in args.config or CONFIGS:
                dump_config(name, CONFIGS[name], args.out, args.timeout)
        if args.mode in ("swift", "all"):
            write_swift(args.out, args.swift)
    except RuntimeError as error:
        print(f"dump_acpi: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
