"""Training run records settle on every command that opens the workspace: a run.json left
``running`` by a process that is gone becomes ``interrupted`` (with its ``training_run_failed``
event) when the database first opens, even in a command that never reads runs (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from brewslm.storage.db import reset_engines
from brewslm.storage.events import list_events
from brewslm.storage.processes import process_stamp


def _dead_owner() -> dict:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return {**process_stamp(), "pid": child.pid}


def _running_run(home: Path, name: str, owner: dict, **extra) -> Path:
    """A run.json as ``brewslm train`` writes it while running (written by hand: no reader involved)."""
    run_dir = home / "runs" / name
    run_dir.mkdir(parents=True)
    record = {"name": name, "status": "running", "method": "lora", "dataset": {"name": "ds"}, "owner": owner, **extra}
    (run_dir / "run.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return run_dir


def _status(run_dir: Path) -> str:
    return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["status"]


def test_a_plain_command_settles_a_run_whose_process_died(workspace: Path):
    killed = _running_run(workspace, "killed", _dead_owner())
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-m", "brewslm", "data", "events", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert _status(killed) == "interrupted"
    events = [e for e in json.loads(done.stdout) if e["reason_code"] == "training_run_failed"]
    assert len(events) == 1 and events[0]["payload"]["reason"] == "interrupted" and events[0]["payload"]["recovered"]
    assert events[0]["payload"]["run_dir"] == str(killed) and events[0]["dataset"] == "ds"


def test_opening_the_database_settles_dead_runs_once_and_leaves_live_ones(workspace: Path):
    killed = _running_run(workspace, "killed", _dead_owner())
    live = _running_run(workspace, "live", process_stamp())
    finished = _running_run(workspace, "finished", _dead_owner(), status="finished")
    legacy = workspace / "runs" / "legacy"  # written before owner stamps: nobody can tell, left alone
    legacy.mkdir()
    (legacy / "run.json").write_text('{"status": "running"}', encoding="utf-8")
    (workspace / "runs" / "notes.txt").write_text("not a run", encoding="utf-8")
    (workspace / "runs" / "empty").mkdir()
    (workspace / "runs" / "broken").mkdir()
    (workspace / "runs" / "broken" / "run.json").write_text('{"status": "running", ', encoding="utf-8")
    reset_engines()
    events = list_events(reason_code="training_run_failed")  # opens the database: nothing here reads runs
    assert [e.payload["run_dir"] for e in events] == [str(killed)]
    assert [_status(p) for p in (killed, live, finished, legacy)] == ["interrupted", "running", "finished", "running"]
    reset_engines()  # the next command: nothing left to settle, no second event
    assert len(list_events(reason_code="training_run_failed")) == 1


def test_a_command_that_never_trained_creates_no_runs_folder(workspace: Path):
    from brewslm.storage.run_records import settle_runs

    reset_engines()
    list_events()
    assert settle_runs() == [] and not (workspace / "runs").exists()


def test_a_resumed_run_is_not_ended_by_a_settler_that_read_it_before_the_resume(workspace: Path):
    from brewslm.storage.run_records import _settle_orphan

    stale = {"name": "resumed", "status": "running", "owner": _dead_owner()}
    run_dir = _running_run(workspace, "resumed", process_stamp())  # the resume's live record, written since
    assert _settle_orphan(run_dir, stale)["status"] == "running"
    assert _status(run_dir) == "running" and list_events(reason_code="training_run_failed") == []


def test_the_settling_scan_parses_no_finished_record(workspace: Path, monkeypatch):
    """Every command runs the scan, so it must stay cheap: a record without the running mark is
    never parsed (its speed is measured by hand, not timed here)."""
    from brewslm.storage import run_records

    report = {"metrics": {f"m{i}": i / 7 for i in range(200)}, "data_report": ["x" * 80] * 40}
    for i in range(200):
        run_dir = workspace / "runs" / f"run-{i:03d}"
        run_dir.mkdir(parents=True)
        (run_dir / "run.json").write_text(json.dumps({"status": "finished", **report}, indent=2), encoding="utf-8")
    parsed = []
    real_loads = run_records.json.loads
    monkeypatch.setattr(run_records.json, "loads", lambda data, *a, **k: parsed.append(1) or real_loads(data, *a, **k))
    assert run_records.settle_runs() == []
    assert parsed == []
