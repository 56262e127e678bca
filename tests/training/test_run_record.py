"""run.json's owner stamp, and a ``running`` run whose process is gone settled as ``interrupted``."""

from __future__ import annotations

import subprocess
import sys

from brewslm.storage.events import list_events
from brewslm.storage.processes import process_stamp
from brewslm.storage.run_records import read_run
from brewslm.training.run import INTERRUPTED, RUN_FAILED, runs_dir, settle_runs, write_run


def _dead_owner() -> dict:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return {**process_stamp(), "pid": child.pid}


def test_a_running_record_carries_its_owner():
    run_dir = runs_dir() / "live"
    run_dir.mkdir()
    write_run(run_dir, {"name": "live", "status": "running", "dataset": {"name": "ds"}})
    record = read_run(run_dir)
    assert record["status"] == "running" and record["owner"] == process_stamp()  # this process: alive, untouched
    write_run(run_dir, {"name": "live", "status": "finished"})
    assert "owner" not in read_run(run_dir)


def test_a_run_whose_process_died_is_settled_once_with_an_event():
    run_dir = runs_dir() / "killed"
    run_dir.mkdir()
    write_run(
        run_dir,
        {"name": "killed", "status": "running", "method": "lora", "dataset": {"name": "ds"}, "owner": _dead_owner()},
    )
    other = runs_dir() / "old"
    other.mkdir()
    write_run(other, {"name": "old", "status": "running"})  # written before owner stamps existed? stamped now: alive
    assert settle_runs() == [run_dir]
    record = read_run(run_dir)
    assert record["status"] == INTERRUPTED and "ended without recording an outcome" in record["error"]
    events = list_events(reason_code=RUN_FAILED)
    assert len(events) == 1 and events[0].payload["reason"] == INTERRUPTED and events[0].dataset == "ds"
    assert settle_runs() == [] and len(list_events(reason_code=RUN_FAILED)) == 1  # idempotent
    assert read_run(other)["status"] == "running"


def test_a_legacy_record_without_an_owner_is_left_alone():
    run_dir = runs_dir() / "legacy"
    run_dir.mkdir()
    (run_dir / "run.json").write_text('{"name": "legacy", "status": "running"}', encoding="utf-8")
    assert read_run(run_dir)["status"] == "running" and settle_runs() == []
