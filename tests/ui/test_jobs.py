"""Background jobs: real worker processes, state in the database, clean cancel, dead workers noticed.

A job that must stay busy imports from a source plugin (``DATA_ADAPTER_PLUGIN_MODULES``, which the
worker process inherits) whose rows never come: the import blocks until it is cancelled or killed,
so no test depends on how fast the machine is. Cancelling a real
training run (the loop records it as interrupted) is tested through the Train tab, in
test_train_eval_pages.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from brewslm.errors import ConfigError
from brewslm.ingestion import RUN_OK, STAGE
from brewslm.storage import list_dataset_names, list_events
from brewslm.storage.db import session_scope
from brewslm.storage.tables import Job, utcnow
from brewslm.ui import jobs, worker
from brewslm.ui.app import create_ui_app
from brewslm.ui.jobs import JobProgress, cancel_job, get_job, list_jobs, submit_job, wait_for_job

ROWS = [
    {"text": f"review {i}: {'great' if i % 2 else 'awful'} product", "label": "pos" if i % 2 else "neg"}
    for i in range(30)
]


@pytest.fixture
def reviews(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


WAITING_PLUGIN = """
import time

from brewslm.sources import register_source
from brewslm.sources.base import Source


class WaitingSource(Source):
    \"\"\"waiting:<name> - a source whose first row never arrives.\"\"\"

    def rows(self):
        while True:
            time.sleep(0.05)
        yield {}


register_source("waiting", WaitingSource)
"""


@pytest.fixture
def blocking_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The locator of a source plugin whose rows never come (the worker inherits the environment)."""
    (tmp_path / "waiting_plugin.py").write_text(WAITING_PLUGIN, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("DATA_ADAPTER_PLUGIN_MODULES", "waiting_plugin")
    return "waiting:stream"


def _import_params(source: Path | str, dataset: str = "reviews") -> dict:
    locator = source if isinstance(source, str) else f"jsonl:{source}"
    return {"locator": locator, "mapper_id": "label_to_classification", "dataset": dataset}


def _wait_for_status(job_id: int, status: str, timeout: float = 30.0) -> jobs.JobInfo:
    deadline = time.monotonic() + timeout
    while (job := get_job(job_id)).status != status:
        assert time.monotonic() < deadline, f"job {job_id} stayed {job.status}, expected {status}: {job.error}"
        time.sleep(0.1)
    return job


# --- through real worker processes ---------------------------------------------------------------


def test_an_import_job_runs_in_its_own_process_and_records_its_result(reviews):
    job_id = submit_job("import", _import_params(reviews))
    job = wait_for_job(job_id, timeout=60)
    assert job.status == jobs.SUCCEEDED, job.error
    assert job.pid and job.pid != os.getpid() and job.started_at and job.finished_at >= job.started_at
    assert job.result["dataset"] == "reviews" and job.result["accepted"] == len(ROWS)
    assert job.progress["unit"] == "rows" and job.progress["message"].startswith("importing")
    assert "reviews" in list_dataset_names()
    event = list_events(stage=STAGE)[0]  # the same service as the CLI, so the same audit event
    assert (event.reason_code, event.dataset) == (RUN_OK, "reviews")
    assert job.log_path.is_file()


def test_a_failing_job_keeps_the_services_one_line_error(tmp_path):
    job_id = submit_job("import", _import_params(tmp_path / "missing.jsonl"))
    job = wait_for_job(job_id, timeout=60)
    assert job.status == jobs.FAILED and job.result is None
    assert "file not found" in job.error and "missing.jsonl" in job.error and "\n" not in job.error


def test_cancel_stops_the_worker_cleanly_and_leaves_no_dataset(blocking_source):
    job_id = submit_job("import", _import_params(blocking_source, dataset="never"))
    running = _wait_for_status(job_id, jobs.RUNNING)
    cancel_job(job_id)
    job = wait_for_job(job_id, timeout=30)
    assert job.status == jobs.CANCELLED and job.error == "cancelled" and job.cancel_requested_at
    assert "never" not in list_dataset_names()
    _wait_gone(running.pid)
    assert cancel_job(job_id).status == jobs.CANCELLED  # cancelling a finished job changes nothing


def test_a_server_restart_does_not_touch_a_running_job_and_a_dead_worker_becomes_interrupted(
    blocking_source, ui_settings
):
    job_id = submit_job("import", _import_params(blocking_source))
    pid = _wait_for_status(job_id, jobs.RUNNING).pid
    create_ui_app(ui_settings)  # a "restarted" server settles orphans at start: this job is alive
    assert get_job(job_id).status == jobs.RUNNING
    os.killpg(pid, signal.SIGKILL)  # the worker dies without a word (OOM killer, power cut...)
    _wait_gone(pid)
    job = get_job(job_id)
    assert job.status == jobs.INTERRUPTED and str(job.log_path) in job.error and job.finished_at


def _wait_gone(pid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while jobs.worker_alive(pid, 0) or _exists(pid):
        assert time.monotonic() < deadline, f"worker {pid} did not exit"
        time.sleep(0.05)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


# --- bookkeeping, without workers ----------------------------------------------------------------


def test_unknown_kinds_and_non_json_params_are_refused_before_anything_starts():
    with pytest.raises(ConfigError, match="unknown job kind 'nope'; known kinds: import, rerun_mapping"):
        submit_job("nope", {})
    with pytest.raises(ConfigError, match="must be JSON"):
        submit_job("import", {"locator": object()})
    assert list_jobs() == []


def test_recover_settles_jobs_whose_worker_is_gone_or_was_never_ours(make_job):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = make_job(status=jobs.RUNNING, pid=dead.pid)
    not_a_worker = make_job(status=jobs.RUNNING, pid=os.getpid())  # a reused pid: alive, but not this job's worker
    cancelling = make_job(status=jobs.RUNNING, pid=dead.pid, cancel_requested_at=utcnow())
    finished = make_job(status=jobs.SUCCEEDED, pid=dead.pid)
    assert sorted(jobs.recover_jobs()) == sorted([gone, not_a_worker, cancelling])
    assert get_job(gone).status == jobs.INTERRUPTED
    assert get_job(not_a_worker).status == jobs.INTERRUPTED
    assert get_job(cancelling).status == jobs.CANCELLED
    assert get_job(finished).status == jobs.SUCCEEDED and get_job(finished).finished_at is None


def test_recover_also_settles_a_training_run_its_killed_process_left_running():
    from brewslm.storage.processes import process_stamp
    from brewslm.storage.run_records import read_run
    from brewslm.training.run import runs_dir, write_run

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run_dir = runs_dir() / "killed"
    run_dir.mkdir()
    write_run(run_dir, {"name": "killed", "status": "running", "owner": {**process_stamp(), "pid": dead.pid}})
    jobs.recover_jobs()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted" == read_run(run_dir)["status"]


def test_the_worker_honours_a_cancel_that_came_before_it_started(reviews, make_job):
    job_id = make_job(params=_import_params(reviews), cancel_requested_at=utcnow())
    assert worker.run_job(job_id) == 0
    job = get_job(job_id)
    assert job.status == jobs.CANCELLED and job.started_at is None and "reviews" not in list_dataset_names()


def test_the_worker_runs_a_job_and_its_outcome_is_final(reviews, make_job):
    job_id = make_job(params=_import_params(reviews))
    assert worker.run_job(job_id) == 0
    assert get_job(job_id).status == jobs.SUCCEEDED
    assert jobs.mark_finished(job_id, jobs.INTERRUPTED, error="late") is False  # an orphan check cannot overwrite it
    assert worker.run_job(job_id) == 0 and get_job(job_id).status == jobs.SUCCEEDED  # nor can a second worker


def test_progress_is_throttled_and_estimates_rate_and_eta(make_job):
    job_id = make_job(status=jobs.RUNNING)
    now = [100.0]
    progress = JobProgress(job_id, interval=0.5, clock=lambda: now[0])

    def stored() -> dict:
        with session_scope() as session:
            return session.scalars(select(Job.progress).where(Job.id == job_id)).one()

    progress.update(done=0, total=100, unit="rows", message="starting")
    assert stored() == {"done": 0, "total": 100, "unit": "rows", "message": "starting"}
    now[0] += 0.1
    progress.update(done=10)
    assert stored()["done"] == 0  # within the interval: not written yet
    now[0] += 0.9
    progress.update(done=50)
    assert stored() == {"done": 50, "total": 100, "unit": "rows", "message": "starting", "rate": 50.0, "eta_s": 1.0}
    progress.update(message="phase two", force=True)
    assert stored()["message"] == "phase two"
    progress.update(done=60, eta_s=7.0)  # a service's own estimate wins
    progress.flush()
    assert stored()["eta_s"] == 7.0


def test_training_events_become_job_progress(make_job):
    job_id = make_job(kind="train", status=jobs.RUNNING)
    progress = JobProgress(job_id, interval=0.0)
    on_event = jobs._train_events(progress)
    on_event({"event": "start", "total_steps": 8, "examples": 40, "device": "cpu", "run_dir": "/runs/r1"})
    on_event(
        {"event": "step", "step": 3, "total_steps": 8, "loss": 2.5, "tokens_per_s": 900.0, "eta_s": 12.0, "epoch": 0.4}
    )
    on_event({"event": "eval", "step": 4, "eval_loss": 2.25})
    state = get_job(job_id).progress
    assert state["run_dir"] == "/runs/r1" and state["unit"] == "steps"
    assert (state["done"], state["total"], state["loss"], state["tokens_per_s"], state["eta_s"]) == (
        3,
        8,
        2.5,
        900.0,
        12.0,
    )
    assert state["eval_loss"] == 2.25 and "2.2500" in state["message"]


# --- the job pages -------------------------------------------------------------------------------


def test_job_pages_show_state_and_cancel(ui_client, blocking_source):
    job_id = submit_job("import", _import_params(blocking_source))
    _wait_for_status(job_id, jobs.RUNNING)
    fragment = ui_client.get(f"/jobs/{job_id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert f'hx-get="/jobs/{job_id}"' in fragment.text and "running" in fragment.text and "Cancel" in fragment.text
    assert ui_client.get(f"/api/jobs/{job_id}").json()["status"] == jobs.RUNNING
    cancelled = ui_client.post(f"/jobs/{job_id}/cancel", headers={"HX-Request": "true"})
    assert cancelled.status_code == 200
    assert wait_for_job(job_id, timeout=30).status == jobs.CANCELLED
    done = ui_client.get(f"/jobs/{job_id}").text
    assert "<html" in done and "hx-get" not in done and "cancelled" in done  # finished: no more polling
    listing = ui_client.get("/jobs?kind=import").text
    assert f'href="/jobs/{job_id}"' in listing and "cancelled" in listing
    missing = ui_client.get("/jobs/999")
    assert missing.status_code == 404 and "no job 999" in missing.text


def test_in_the_browser_a_job_page_polls_and_its_cancel_button_stops_the_job(
    ui_server, page, page_errors, screenshot, blocking_source
):
    job_id = submit_job("import", _import_params(blocking_source))
    _wait_for_status(job_id, jobs.RUNNING)
    page.goto(f"{ui_server.url}/jobs/{job_id}")
    job = page.locator(f"#job-{job_id}")
    assert job.get_attribute("data-status") == jobs.RUNNING and job.get_attribute("hx-trigger") == "every 1s"
    screenshot(page, "job-running")
    job.get_by_role("button", name="Cancel").click()  # an htmx POST from the page itself: same origin
    try:
        page.locator(f"#job-{job_id}[data-status='cancelled']").wait_for(timeout=90_000)  # the worker may be starved
    except Exception as exc:  # say what the page and the database showed instead
        pytest.fail(f"{exc}\njob: {get_job(job_id)}\npage: {page.locator('main').inner_html()[:3000]}")
    assert get_job(job_id).status == jobs.CANCELLED
    assert page.locator(f"#job-{job_id} button").count() == 0 and page_errors == []
    screenshot(page, "job-cancelled")
