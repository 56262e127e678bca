"""The processes behind workspace records: is the one that wrote a ``running`` record still alive,
and turning SIGTERM into a clean interrupt so a stopped command still finishes its records.

A record that says "running" is only true while its process lives, so every such record carries
an owner stamp (``process_stamp()``: pid, host, process start time) and readers settle the record
when ``stamp_alive`` says the owner is gone. The start time guards against pid reuse: a dead
process's pid may belong to an unrelated process by now.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

PROC = Path("/proc")
SIGTERM_EXIT = 128 + signal.SIGTERM  # 143: the shell's status for "ended by SIGTERM"


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; a ``KeyboardInterrupt`` so every clean-up written for Ctrl-C runs for it too."""


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces or ')')."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (None where /proc cannot tell)."""
    fields = _proc_stat(pid)
    try:
        return int(fields[19]) if fields else None  # field 22 of stat; fields[0] is field 3
    except (IndexError, ValueError):
        return None


def process_alive(pid: int, *, markers: Sequence[str] = (), start: int | None = None) -> bool:
    """Is ``pid`` a live (not zombie) process whose command line holds every one of ``markers``
    and, when ``start`` is given, that started at that tick?"""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if PROC.joinpath("self").exists():
        fields = _proc_stat(pid)
        if fields is None or fields[0] == "Z":
            return False
        if start is not None and process_start(pid) != start:
            return False
        if markers:
            try:
                cmdline = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
            except OSError:
                return False
            return all(marker.encode() in cmdline for marker in markers)
        return True
    try:  # no /proc (macOS): existence is all we can learn
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_stamp() -> dict[str, Any]:
    """This process, as the owner of a record it is about to mark running."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "start": process_start(pid)}


def stamp_alive(stamp: Mapping[str, Any] | None) -> bool:
    """Is the owner ``process_stamp()`` described still running? True when this machine cannot
    tell (no stamp, another host): only a provably dead owner lets a reader settle a record."""
    if not isinstance(stamp, Mapping) or not isinstance(stamp.get("pid"), int):
        return True
    if stamp.get("host") not in (None, socket.gethostname()):
        return True
    return process_alive(stamp["pid"], start=stamp.get("start"))


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block SIGTERM raises ``Terminated`` in the main thread, so ``kill <pid>`` stops
    a command the way Ctrl-C does (records marked interrupted) instead of ending it on the spot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigterm(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one interrupt: the clean-up itself must not be cut short
        raise Terminated(f"stopped by signal {signum} (SIGTERM)")

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop_cleanly_on_sigterm(work: Callable[[], Any]) -> Any:
    """Run ``work()`` (a command's body) with SIGTERM as a clean interrupt: every clean-up written
    for Ctrl-C runs (a training run is recorded ``interrupted``, with its event), then the process
    exits 143, the status a shell expects of a SIGTERM'd command."""
    try:
        with sigterm_interrupts():
            return work()
    except Terminated:
        raise SystemExit(SIGTERM_EXIT) from None


__all__ = [
    "SIGTERM_EXIT",
    "Terminated",
    "process_alive",
    "process_stamp",
    "process_start",
    "sigterm_interrupts",
    "stamp_alive",
    "stop_cleanly_on_sigterm",
]
