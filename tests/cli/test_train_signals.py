"""``brewslm train`` stopped with SIGTERM (kill, a scheduler): the run is recorded ``interrupted``
with its RunEvent and the command exits 143, instead of dying with the run ``running`` for good."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from brewslm.storage.events import list_events
from brewslm.training.run import RUN_FAILED
from helpers.tiny_model import tiny_model_dir  # noqa: F401  (a fixture)


def test_sigterm_marks_the_run_interrupted_and_exits_143(cli, tickets_jsonl, tiny_model_dir, tmp_path):
    imported = cli(
        "data",
        "import",
        "--locator",
        f"jsonl:{tickets_jsonl}",
        "--mapper",
        "label_to_classification",
        "--dataset",
        "tickets",
        "--json",
    )
    assert imported.code == 0, imported.err
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "brewslm",
            "train",
            "--dataset",
            "tickets",
            "--base",
            str(tiny_model_dir),
            "--quiet",
            "max_steps=100000",
            "max_seq_len=64",
            "batch_size=2",
            f"output_dir={run_dir}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not (run_dir / "metrics.jsonl").is_file() or not (run_dir / "metrics.jsonl").stat().st_size:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.2)
        assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, (proc.returncode, err)
    assert "Traceback" not in err
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "interrupted" and "SIGTERM" in record["error"]
    events = list_events(reason_code=RUN_FAILED)
    assert len(events) == 1 and events[0].payload["run_dir"] == str(run_dir)
