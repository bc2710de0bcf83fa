"""Shared helpers for the host tools that boot Exo under QEMU.

Used by ktest.py, boottime.py and bench.py (not a command itself). Provides the
common QEMU argument lists and `QemuRun`, which starts QEMU in its own process
group, yields COM1 serial lines as they arrive, saves them to a log file and
kills the whole group when a watchdog timeout fires.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator, Optional, Sequence

QEMU = "qemu-system-x86_64"

# Arguments every run uses: TCG (KVM is unusable on the development machines),
# COM1 on stdout, no reboot on triple fault, and the isa-debug-exit device.
BASE_ARGS = [
    "-accel", "tcg",
    "-display", "none",
    "-serial", "stdio",
    "-no-reboot",
    "-m", "256M",
    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
    "-monitor", "none",
]

# Deterministic execution: the guest TSC counts guest instructions, and the
# clock does not depend on host time, so runs are byte-identical.
ICOUNT_ARGS = [
    "-icount", "shift=0,sleep=off",
    "-rtc", "base=2024-01-01T00:00:00,clock=vm",
]

# isa-debug-exit: writing v to port 0xf4 exits QEMU with status (v << 1) | 1.
EXIT_SUCCESS = 33  # kernel wrote 0x10
EXIT_FAILURE = 35  # kernel wrote 0x11

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def boot_args(kernel: Optional[str] = None, iso: Optional[str] = None,
              append: str = "") -> list[str]:
    """QEMU arguments that boot `kernel` (multiboot, -kernel) or `iso` (GRUB).

    For an ISO the kernel command line travels as SMBIOS OEM string 1, which the
    ISO's GRUB config hands to the kernel; it is omitted when empty. Commas are
    doubled because QEMU's option parser treats a single comma as a separator.
    """
    if (kernel is None) == (iso is None):
        raise ValueError("exactly one of kernel and iso must be given")
    if kernel is not None:
        return ["-kernel", kernel, "-append", append]
    args = ["-cdrom", iso]
    if append:
        args += ["-smbios", "type=11,value=" + append.replace(",", ",,")]
    return args


def describe_exit(status: Optional[int]) -> str:
    """Human-readable meaning of a QEMU exit status."""
    if status is None:
        return "still running"
    if status < 0:
        return f"killed by signal {-status}"
    if status == 0:
        return "triple fault or clean poweroff"
    if status == EXIT_SUCCESS:
        return "debug-exit success"
    if status == EXIT_FAILURE:
        return "debug-exit failure"
    if status == 1:
        return "QEMU error, or debug-exit value 0"
    if status & 1:
        return f"debug-exit value {status >> 1:#x}"
    return "QEMU error"


def clean_line(raw: bytes) -> str:
    """Decode one serial line: UTF-8 with replacement, no CR/LF."""
    return raw.decode("utf-8", errors="replace").rstrip("\n").replace("\r", "")


def strip_ansi(line: str) -> str:
    """Remove ANSI colour/cursor escapes (for matching, not for the log)."""
    return _ANSI_ESCAPE.sub("", line)


def command_string(argv: Sequence[str]) -> str:
    """Shell-quoted command line, for logs and reports."""
    return shlex.join(argv)


class QemuRun:
    """One QEMU process with a watchdog.

    Usage:
        with QemuRun(argv, timeout=60, log_path="build/logs/x.log") as run:
            for line in run.lines():
                ...
        run.status, run.timed_out, run.elapsed, run.stderr_lines

    `start_time` is taken with time.perf_counter() just before Popen. Leaving
    the `with` block kills the process group if QEMU is still running (also on
    exceptions and Ctrl-C) and reaps it.
    """

    def __init__(self, argv: Sequence[str], timeout: float,
                 log_path: Optional[str | os.PathLike] = None):
        self.argv = list(argv)
        self.timeout = timeout
        self.log_path = Path(log_path) if log_path else None
        self.proc: Optional[subprocess.Popen] = None
        self.start_time = 0.0
        self.elapsed = 0.0
        self.status: Optional[int] = None
        self.timed_out = False
        self.stderr_lines: list[str] = []
        self._log = None
        self._watchdog: Optional[threading.Timer] = None
        self._stderr_thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> "QemuRun":
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "w", encoding="utf-8", errors="replace")
            self._log.write(f"# {command_string(self.argv)}\n")
        self.start_time = time.perf_counter()
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # own process group, so we can kill it whole
            )
        except OSError as error:
            if self._log:
                self._log.write(f"# cannot start QEMU: {error}\n")
                self._log.close()
                self._log = None
            raise
        self._stderr_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_thread.start()
        self._watchdog = threading.Timer(self.timeout, self._on_timeout)
        self._watchdog.daemon = True
        self._watchdog.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.kill()  # e.g. Ctrl-C: do not wait for QEMU
        self.finish()

    def lines(self) -> Iterator[str]:
        """Serial lines as they arrive (decoded, CR stripped), until EOF."""
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = clean_line(raw)
            if self._log:
                self._log.write(line + "\n")
                self._log.flush()
            yield line

    def kill(self) -> None:
        """Kill QEMU's whole process group (no-op once it has exited)."""
        with self._lock:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def finish(self) -> int:
        """Wait for QEMU to exit (up to the timeout, then kill it), reap it and
        return its exit status. Call kill() first to stop it right away."""
        assert self.proc is not None
        if self.status is not None:
            return self.status
        try:
            remaining = self.timeout - (time.perf_counter() - self.start_time)
            self.proc.wait(timeout=max(remaining, 0.1))
        except subprocess.TimeoutExpired:
            self._on_timeout()
        self.kill()  # returns immediately if QEMU already exited
        self.status = self.proc.wait()
        self.elapsed = time.perf_counter() - self.start_time
        if self._watchdog:
            self._watchdog.cancel()
        if self._stderr_thread:
            self._stderr_thread.join(timeout=2)
        if self.proc.stdout:
            self.proc.stdout.close()
        if self._log:
            if self.stderr_lines:
                self._log.write("# --- qemu stderr ---\n")
                self._log.writelines(line + "\n" for line in self.stderr_lines)
            outcome = "timeout" if self.timed_out else self.status
            self._log.write(f"# exit status {outcome}, {self.elapsed:.2f}s\n")
            self._log.close()
            self._log = None
        return self.status

    # -- internals ---------------------------------------------------------

    def _on_timeout(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.timed_out = True
            self.kill()

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr_lines.append(clean_line(raw))
        self.proc.stderr.close()


def qemu_argv(qemu: str, boot: Sequence[str], extra: Sequence[str] = (),
              icount: bool = False) -> list[str]:
    """Full QEMU argv: binary, base args, optional icount args, boot args, extras."""
    argv = [qemu, *BASE_ARGS]
    if icount:
        argv += ICOUNT_ARGS
    return argv + list(boot) + list(extra)
