"""Training run records: ``run.json`` in a run folder, its status and the process that owns it.

This lives in storage, below training, so the once-per-process settling of a crashed workspace
(``recovery.settle_workspace``, run when the database first opens) can settle runs too: a plain
``brewslm data events`` sees a killed run as ``interrupted``, not only commands that read runs.

A record written with status ``running`` carries its process's owner stamp
(``processes.process_stamp``). ``read_run`` - the one reader of run.json - settles a ``running``
record whose process is provably gone (killed with SIGKILL, crashed, machine restarted): it becomes
``interrupted`` with a ``training_run_failed`` event (reason ``interrupted``), the way the UI settles
a job whose worker died. ``settle_runs`` does that for every run folder under ``runs_dir()``; a run
written elsewhere (``output_dir``) is settled when it is next read.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from brewslm import workspace
from brewslm.errors import ConfigError
from brewslm.storage.processes import process_stamp, stamp_alive

RUN_RECORD = "run.json"
CONFIG_FILE = "config.yaml"  # the run's resolved training config, beside run.json
RUNS_DIR = "runs"

# the audit-log names of training runs; training re-exports them (it writes the other outcomes)
STAGE = "training"
RUN_STARTED = "training_run_started"
RUN_FINISHED = "training_run_finished"
RUN_FAILED = "training_run_failed"
RUNNING, INTERRUPTED = "running", "interrupted"

# the bytes every ``running`` record holds (json.dumps writes the status this way), so the scan
# over all run folders parses only the few records that can be running
_RUNNING_MARK = json.dumps(RUNNING).encode()


def runs_dir() -> Path:
    path = workspace.home_dir() / RUNS_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def read_run(run_dir: str | Path) -> dict[str, Any]:
    """The run's record; a ``running`` one whose process is gone is settled first (module docstring)."""
    path = Path(run_dir).expanduser() / RUN_RECORD
    if not path.is_file():
        raise ConfigError(f"{Path(run_dir)} is not a training run folder (no {RUN_RECORD})")
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("status") == RUNNING and not stamp_alive(record.get("owner")):
        record = _settle_orphan(path.parent, record)
    return record


def write_run(run_dir: str | Path, record: Mapping[str, Any]) -> None:
    """Write run.json atomically; a ``running`` record gets this process's owner stamp."""
    if record.get("status") == RUNNING and "owner" not in record:
        record = {**record, "owner": process_stamp()}
    path = Path(run_dir) / RUN_RECORD
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(dict(record), indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def _settle_orphan(run_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    from brewslm.storage.events import record_event

    owner = record.get("owner") or {}
    # one settler per dead owner: readers racing here must not log the interruption twice
    claim = run_dir / f".settled-{owner.get('pid')}-{owner.get('start')}"
    try:
        os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return {**record, "status": INTERRUPTED}
    try:  # a resume may have taken the folder over since we read it: its live record is not ours to end
        latest = json.loads((run_dir / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        latest = record
    if latest.get("owner") != record.get("owner") or latest.get("status") != RUNNING:
        return latest
    error = (
        f"interrupted: its process {owner.get('pid')} ended without recording an outcome "
        "(killed, crashed or the machine restarted)"
    )
    record = {**latest, "status": INTERRUPTED, "finished_at": now(), "error": error}
    # the file before the event: recording the event may open the database for the first time,
    # whose settling hook then reads this record again and must find it settled already
    write_run(run_dir, record)
    record_event(
        STAGE,
        RUN_FAILED,
        {
            "run_dir": str(run_dir),
            "method": record.get("method"),
            "base_model": record.get("base_model"),
            "error": error,
            "reason": INTERRUPTED,
            "recovered": True,
        },
        dataset=(record.get("dataset") or {}).get("name"),
    )
    return record


def settle_runs() -> list[Path]:
    """Settle every ``running`` run under the workspace's runs folder whose process is gone;
    returns their folders. Cheap enough for every command: one directory listing and one small
    read per run, and only records that say ``running`` are parsed and checked."""
    root = workspace.home_dir() / RUNS_DIR  # not runs_dir(): a command that never trains creates nothing
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:  # no runs folder yet
        return []
    settled = []
    for entry in entries:
        path = Path(entry.path) / RUN_RECORD
        try:
            data = path.read_bytes()
            if _RUNNING_MARK not in data or json.loads(data).get("status") != RUNNING:
                continue
            if read_run(entry.path).get("status") == INTERRUPTED:
                settled.append(Path(entry.path))
        except (OSError, ValueError, AttributeError):  # not a run folder, a half-written or foreign file
            continue
    return settled


__all__ = [
    "CONFIG_FILE",
    "INTERRUPTED",
    "RUNNING",
    "RUNS_DIR",
    "RUN_FAILED",
    "RUN_FINISHED",
    "RUN_RECORD",
    "RUN_STARTED",
    "STAGE",
    "now",
    "read_run",
    "runs_dir",
    "settle_runs",
    "write_run",
]
