"""Long work started from the web UI — imports, training runs, evaluations — as background jobs
whose whole state lives in the database (the ``jobs`` table), so closing the page or restarting
the server loses nothing.

    job_id = submit_job("import", {"locator": "jsonl:/data/reviews.jsonl", "dataset": "reviews"})
    get_job(job_id).status          # queued -> running -> succeeded | failed | cancelled | interrupted
    get_job(job_id).progress        # {"done", "total", "unit", "rate", "eta_s", "message", ...}
    cancel_job(job_id)

Contract:
- Each job runs in its own worker process (``python -m brewslm.ui.worker JOB_ID``, a new session
  and process group), so a server restart does not kill it. The worker writes status, progress
  (at most ~2 writes/s), result and a one-line error to the job's row; its stdout/stderr go to
  ``$BREWSLM_HOME/jobs/<id>.log``.
- ``JOB_KINDS`` is a plain dict: kind -> ``function(params, progress) -> result dict``. Every kind
  calls the same service the CLI calls (``run_import``, ``rerun_mapping``, ``introspect``,
  ``train``, ``evaluate``, ``export_hf`` / ``export_gguf`` / ``push_folder``, and ``serve``: the
  ``brewslm serve`` app under uvicorn until the job is stopped); there is no second implementation
  here. ``params`` is JSON.
- Cancelling sends SIGTERM to the worker's process group; the worker turns it into a
  ``KeyboardInterrupt`` in the running service (imports are atomic, so the dataset is unchanged;
  the training loop records its run as interrupted) and marks the job ``cancelled``. Asking again
  after ``KILL_AFTER_S`` kills the group outright.
- ``stop_job`` cancels and returns only once the worker is gone (SIGKILL to its group after
  ``STOP_WAIT_S``): what stopping a server uses, so no server outlives its stop.
- A job marked queued/running whose worker process is gone (killed, crashed, machine restarted)
  becomes ``interrupted`` the next time jobs are read (``recover_jobs`` runs at server start).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select, update

from brewslm.errors import BrewError, ConfigError
from brewslm.introspection import introspect
from brewslm.output import to_jsonable
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import server_settings
from brewslm.storage.db import session_scope
from brewslm.storage.events import default_actor
from brewslm.storage.processes import process_alive
from brewslm.storage.tables import Job, utcnow
from brewslm.workspace import home_dir

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "interrupted",
)
ACTIVE = (QUEUED, RUNNING)
FINISHED = (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)
KILL_AFTER_S = 10.0  # a second cancel this long after the first kills a worker that did not stop
STOP_WAIT_S = 20.0  # stop_job: how long a worker gets to end after SIGTERM before it is killed
PROGRESS_INTERVAL_S = 0.5  # progress reaches the database at most this often (forced writes aside)
WORKER_MODULE = "brewslm.ui.worker"


class NoSuchJob(ConfigError):
    http_status = 404


def jobs_dir() -> Path:
    """Where the workers' log files go."""
    path = home_dir() / "jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_log_path(job_id: int) -> Path:
    return jobs_dir() / f"{job_id}.log"


def log_tail(job_id: int, lines: int = 40, max_bytes: int = 64 * 1024) -> str:
    """The end of the worker's log (tracebacks of unexpected failures land there)."""
    path = job_log_path(job_id)
    if not path.is_file():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - max_bytes))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class JobInfo:
    id: int
    kind: str
    params: dict[str, Any]
    status: str
    progress: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    pid: int | None
    actor: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def log_path(self) -> Path:
        return job_log_path(self.id)

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "kind": self.kind,
            "params": dict(self.params),
            "status": self.status,
            "active": self.active,
            "progress": dict(self.progress),
            "result": self.result,
            "error": self.error,
            "pid": self.pid,
            "actor": self.actor,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "cancel_requested_at": iso(self.cancel_requested_at),
            "log_path": str(self.log_path),
        }

    @classmethod
    def from_row(cls, row: Job) -> "JobInfo":
        return cls(
            id=row.id,
            kind=row.kind,
            params=dict(row.params or {}),
            status=row.status,
            progress=dict(row.progress or {}),
            result=row.result,
            error=row.error,
            pid=row.pid,
            actor=row.actor,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            cancel_requested_at=row.cancel_requested_at,
        )


# --- the job kinds -------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:

    return to_jsonable(value)


def run_import_job(params: dict[str, Any], progress: "JobProgress") -> dict[str, Any]:
    """params: the fields of ``ImportSpec`` (locator, mapper_id, field_map, options, dataset, mode...)."""
    # said first: loading the ingestion stack takes a moment, and the page should know what is going on
    progress.update(message=f"importing {params.get('locator')}", unit="rows", force=True)
    from brewslm.ingestion import ImportSpec, run_import

    spec = ImportSpec.model_validate(params)
    return _jsonable(run_import(spec, progress=lambda rows: progress.update(done=rows)))


def rerun_mapping_job(params: dict[str, Any], progress: "JobProgress") -> dict[str, Any]:
    """params: {"name": saved mapping name}."""
    name = _required(params, "name")
    progress.update(message=f"re-running mapping {name}", unit="rows", force=True)
    from brewslm.ingestion import rerun_mapping

    return _jsonable(rerun_mapping(name, progress=lambda rows: progress.update(done=rows)))


def introspect_job(params: dict[str, Any], progress: "JobProgress") -> dict[str, Any]:
    """params: {"locator", "sample_size"?, "llm_assist"?, "teacher"?} — the LLM assist runs a local
    teacher model, which is why introspection with it is a job."""

    locator = _required(params, "locator")
    progress.update(
        message=f"introspecting {locator}" + (" with the teacher model" if params.get("llm_assist") else ""), force=True
    )
    result = introspect(
        locator,
        sample_size=int(params.get("sample_size") or 2000),
        llm_assist=params.get("llm_assist"),
        teacher=params.get("teacher"),
    )
    return _jsonable(result)


def train_job(params: dict[str, Any], progress: "JobProgress") -> dict[str, Any]:
    """params: {"config": TrainConfig fields}. Progress carries the run folder (``run_dir``), so a
    page can draw the loss curve from its metrics.jsonl while the run goes on. Trained as the CLI
    trains: the search when ``search.enabled``, early stopping on a task metric with its evaluator."""
    from brewslm.training import build_config
    from brewslm.tuning.search import train_as_configured

    config = build_config(params.get("config") or {})
    result, search = train_as_configured(config, progress=_train_events(progress))
    return _jsonable(result) if search is None else {**_jsonable(result), "search": _jsonable(search)}


def _train_events(progress: "JobProgress") -> Callable[[dict[str, Any]], None]:
    """The training loop's event dicts (see training/report.py) as job progress."""

    def on_event(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "start":
            progress.update(
                done=0,
                total=event.get("total_steps"),
                unit="steps",
                run_dir=event.get("run_dir"),
                message=f"training on {event.get('examples')} examples ({event.get('device')})",
                force=True,
            )
        elif kind == "step":
            progress.update(
                done=event.get("step"),
                total=event.get("total_steps"),
                loss=event.get("loss"),
                tokens_per_s=event.get("tokens_per_s"),
                eta_s=event.get("eta_s"),
                epoch=event.get("epoch"),
            )
        elif kind == "eval":
            progress.update(
                eval_loss=event.get("eval_loss"),
                message=f"validation loss {event.get('eval_loss'):.4f} at step {event.get('step')}",
                force=True,
            )
        elif kind == "info":
            progress.update(message=event.get("message"), force=True)
        elif kind == "end":
            progress.update(done=event.get("steps"), eta_s=0, message="saving the model", force=True)

    return on_event


def eval_job(params: dict[str, Any], progress: "JobProgress") -> dict[str, Any]:
    """params: {"config": EvalConfig fields}. The result names the report folder; the report
    itself stays in its files (report.json, predictions_*.jsonl)."""
    from brewslm.evaluation import build_eval_config, evaluate

    config = build_eval_config(params.get("config") or {})

    def on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "predict":
            progress.update(
                done=event.get("done"),
                total=event.get("total"),
                unit="examples",
                eta_s=event.get("eta_s"),
                message=f"{event.get('model')}: {event.get('phase')}",
            )
        elif event.get("message"):
            progress.update(message=event["message"], force=True)

    result = evaluate(config, progress=on_event)
    report = result.report
    return _jsonable(
        {
            "out_dir": result.out_dir,
            "files": result.paths,
            "passed": result.passed,
            "headline": report.get("headline"),
            "metrics": report.get("metrics"),
        }
    )


def export_job(params: dict[str, Any], progress: "JobProgress") -> dict[str, Any]:
    """params: {"source", "format": "hf" | "gguf", "out", "overwrite"?, "quant"?, "converter"?,
    "verify"?, "check"?, "push"?: {"repo_id", "private"}} - what ``brewslm export`` takes, the
    output folder fixed at submit time. Exported as the CLI exports (``export_hf`` /
    ``export_gguf``, ``check_folder``, ``push_folder``); progress says which stage runs
    (``stage`` of ``stages``). A GGUF that fails its verification fails the job, its figures kept
    in the progress (``verification``); an export that failed its check or verification is never
    pushed, and a failed push leaves the export done with the push's one-line error
    (``hub_error``), so it can be pushed again."""
    source, fmt, out = _required(params, "source"), _required(params, "format"), Path(_required(params, "out"))
    push = params.get("push") or None
    stages = 2 + bool(fmt == "hf" and params.get("check")) + bool(push)
    stage = 0

    def next_stage(message: str) -> None:
        nonlocal stage
        stage += 1
        progress.update(stage=stage, stages=stages, message=message, force=True)

    def say(line: str) -> None:  # the converter's, the check's and the push's own progress lines
        progress.update(message=" ".join(str(line).split())[:300], force=True)

    next_stage(f"reading {source}")
    from brewslm.export.bundle import resolve_bundle

    bundle = resolve_bundle(source)
    if fmt == "hf":
        from brewslm.export.hf import export_hf

        next_stage(f"merging {bundle.name} and writing the Hugging Face folder {out}")
        result = export_hf(bundle, out, overwrite=bool(params.get("overwrite"))).to_dict()
        if params.get("check"):
            from brewslm.export.check import check_folder

            next_stage("checking the folder under the pinned transformers")
            result["check"] = check_folder(out, None, progress=say)
    elif fmt == "gguf":
        from brewslm.export.gguf import export_gguf, gguf_file_name

        quant = params.get("quant") or "f16"
        started = time.time()
        next_stage(f"writing {bundle.name} as a {quant} GGUF" + (" and verifying it" if params.get("verify") else ""))
        try:
            result = export_gguf(
                bundle,
                out,
                quant=quant,
                overwrite=bool(params.get("overwrite")),
                verify=bool(params.get("verify", True)),
                converter=params.get("converter") or "auto",
                progress=say,
            ).to_dict()
        except BrewError:
            figures = (out / gguf_file_name(bundle.name, quant)).with_suffix(".verify.json")
            if figures.is_file() and figures.stat().st_mtime >= started:  # the check failed: show its numbers
                progress.update(verification=json.loads(figures.read_text(encoding="utf-8")), force=True)
            raise
    else:
        raise ConfigError(f"unknown export format '{fmt}'; use hf or gguf")
    failed = (result.get("check") or {}).get("passed") is False or (result.get("verification") or {}).get(
        "passed"
    ) is False
    if push and failed:
        what = "check" if result.get("check") else "verification"
        result["hub_refused"] = f"not pushed to {push.get('repo_id')}: the export failed its {what}"
    elif push:
        next_stage(f"pushing to {push.get('repo_id')}")
        try:
            result["hub"] = _push(out, push, f"Upload {bundle.name} ({fmt} export) with BrewSLM", say)
        except BrewError as exc:  # the export stands; the page offers to push it again
            result["hub_error"] = str(exc)
    progress.update(stage=stages, message="done", force=True)
    return _jsonable(result)


def push_job(params: dict[str, Any], progress: "JobProgress") -> dict[str, Any]:
    """params: {"folder", "repo_id", "private"?} - an export folder to the Hugging Face Hub, as
    ``brewslm export --push-to-hub`` pushes it (token from HF_TOKEN or ``hf auth login``, HF_ENDPOINT)."""
    folder = Path(_required(params, "folder"))
    repo_id = _required(params, "repo_id")
    progress.update(stage=1, stages=1, message=f"pushing {folder.name} to {repo_id}", force=True)
    hub = _push(
        folder,
        {"repo_id": repo_id, "private": bool(params.get("private"))},
        f"Upload {folder.name} with BrewSLM",
        lambda line: progress.update(message=" ".join(str(line).split())[:300], force=True),
    )
    return _jsonable({"folder": str(folder), "hub": hub})


def _push(folder: Path, push: dict[str, Any], message: str, say: Callable[[str], None]) -> dict[str, Any]:
    from brewslm.export.hub import push_folder

    return push_folder(
        folder,
        _required(push, "repo_id"),
        repo_type="model",
        private=bool(push.get("private")),
        commit_message=message,
        progress=say,
    ).to_dict()


SERVE_HOST = "127.0.0.1"  # a server started from the UI listens on this machine only
SERVER_SHUTDOWN_S = 5.0  # open connections get this long to finish when a server stops


def serve_job(params: dict[str, Any], progress: "JobProgress") -> dict[str, Any]:
    """params: {"models": [specs], "port": 0 (a free port) or a port number, "device"?} - what
    ``brewslm serve`` takes, on 127.0.0.1. The models load (``ServedModels.load``) behind the app
    ``create_app`` builds, under uvicorn in a thread, until the job is stopped (SIGTERM: the worker
    raises ``Cancelled`` here, the server shuts down gracefully and the job ends ``cancelled``).
    Progress says where it listens once it answers: ``url``, ``port``, the served ``models`` ids,
    ``key_required`` (``BREWSLM_API_KEY`` in the environment, as the CLI reads it; the key itself is
    never written anywhere) and ``ready``. A server that stops on its own fails the job."""
    import socket
    import threading

    import uvicorn

    from brewslm.serving.app import create_app

    specs = [str(spec) for spec in params.get("models") or [] if str(spec).strip()]
    if not specs:
        raise ConfigError("job parameter 'models' is empty; name at least one model to serve")
    port = int(params.get("port") or 0)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((SERVE_HOST, port))  # before any model loads: a taken port fails at once
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {SERVE_HOST}:{port}: {exc.strerror or exc}; pick another port or leave it blank"
        ) from None
    server: Any = None
    thread: threading.Thread | None = None
    try:
        settings = server_settings(host=SERVE_HOST, port=sock.getsockname()[1])
        progress.update(message=f"loading {', '.join(Path(s).name or s for s in specs)}", ready=False, force=True)
        models = ServedModels.load(specs, device=params.get("device") or None)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(models, settings),
                log_level="info",
                lifespan="on",
                timeout_graceful_shutdown=SERVER_SHUTDOWN_S,
            )
        )
        failure: list[BaseException] = []

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # noqa: BLE001 - reported below, not lost in the thread
                failure.append(exc)

        thread = threading.Thread(target=run, name="uvicorn", daemon=True)
        thread.start()
        while not server.started:
            if failure or not thread.is_alive():
                raise BrewError(f"the server did not start: {failure[0] if failure else 'see the job log'}")
            time.sleep(0.05)
        progress.update(
            ready=True,
            url=settings.url,
            port=settings.port,
            models=models.ids(),
            key_required=settings.key is not None,
            message=f"serving at {settings.url}",
            force=True,
        )
        while thread.is_alive():
            time.sleep(0.25)  # a stop (SIGTERM) lands here as Cancelled
        raise BrewError(
            f"the server at {settings.url} stopped on its own" + (f": {failure[0]}" if failure else "; see the job log")
        )
    finally:
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(SERVER_SHUTDOWN_S + 10)
        sock.close()
        progress.update(ready=False, force=True)


JOB_KINDS: dict[str, Callable[[dict[str, Any], "JobProgress"], dict[str, Any]]] = {
    "import": run_import_job,
    "rerun_mapping": rerun_mapping_job,
    "introspect": introspect_job,
    "train": train_job,
    "eval": eval_job,
    "export": export_job,
    "push": push_job,
    "serve": serve_job,
}


def _required(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"job parameter '{key}' is missing or empty")
    return value


# --- progress ------------------------------------------------------------------------------------


class JobProgress:
    """What a job kind reports as it goes: ``update(done=, total=, unit=, message=, **extra)``.

    Fields persist between calls (a message stays until replaced). ``rate`` (per second) and
    ``eta_s`` are worked out from ``done`` over time unless given. Writes reach the database at
    most every ``interval`` seconds; ``force=True`` writes now (starts, phase changes, the end).
    """

    def __init__(
        self, job_id: int, *, interval: float = PROGRESS_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ):
        self.job_id = job_id
        self.interval = interval
        self.clock = clock
        self.state: dict[str, Any] = {}
        self._started = clock()
        self._written_at: float | None = None
        self._dirty = False

    def update(
        self, done: float | None = None, total: float | None = None, *, force: bool = False, **fields: Any
    ) -> None:
        if done is not None:
            self.state["done"] = done
        if total is not None:
            self.state["total"] = total
        self.state.update({k: v for k, v in fields.items() if v is not None})
        if done is not None:
            self._estimate(
                given_eta="eta_s" in fields and fields["eta_s"] is not None,
                given_rate="rate" in fields and fields["rate"] is not None,
            )
        self._dirty = True
        now = self.clock()
        if force or self._written_at is None or now - self._written_at >= self.interval:
            self.flush()

    def __call__(self, done: float) -> None:
        """A plain ``(done)`` callback, for services that take one."""
        self.update(done=done)

    def _estimate(self, *, given_eta: bool, given_rate: bool) -> None:
        elapsed = self.clock() - self._started
        done, total = self.state.get("done"), self.state.get("total")
        if not given_rate and elapsed > 0 and done:
            self.state["rate"] = done / elapsed
        rate = self.state.get("rate")
        if not given_eta and total and rate:
            self.state["eta_s"] = max(0.0, (total - done) / rate)

    def flush(self) -> None:
        if not self._dirty:
            return
        _set_fields(self.job_id, progress=_jsonable(self.state))
        self._written_at = self.clock()
        self._dirty = False


# --- the API -------------------------------------------------------------------------------------

_CHILDREN: dict[int, subprocess.Popen] = {}  # workers this process started, reaped as they end


def submit_job(kind: str, params: dict[str, Any] | None = None, *, actor: str | None = None) -> int:
    """Queue a job and start its worker process; returns the job id."""
    if kind not in JOB_KINDS:
        raise ConfigError(f"unknown job kind '{kind}'; known kinds: {', '.join(JOB_KINDS)}")
    params = dict(params or {})
    try:
        json.dumps(params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"job parameters must be JSON ({exc}); pass strings, numbers, lists and objects") from None
    with session_scope() as session:
        row = Job(
            kind=kind, params=params, status=QUEUED, progress={}, actor=actor or default_actor(), created_at=utcnow()
        )
        session.add(row)
        session.flush()
        job_id = row.id
    try:
        worker = _start_worker(job_id)
    except OSError as exc:
        mark_finished(job_id, FAILED, error=f"could not start the worker process: {exc}")
        raise BrewError(f"job {job_id} could not start its worker process ({exc})") from exc
    _CHILDREN[worker.pid] = worker
    _set_fields(job_id, pid=worker.pid)
    return job_id


def _start_worker(job_id: int) -> subprocess.Popen:
    log = open(job_log_path(job_id), "ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, str(job_id)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: survives the server, cancelled as a group
            close_fds=True,
        )
    finally:
        log.close()


def get_job(job_id: int) -> JobInfo:
    """The job's current state; a job whose worker died unreported is settled first."""
    _settle_orphans(job_id)
    with session_scope() as session:
        row = session.get(Job, job_id)
        if row is None:
            raise NoSuchJob(f"no job {job_id}; see the jobs list for the ids there are")
        return JobInfo.from_row(row)


def list_jobs(kind: str | None = None, limit: int | None = 50, *, active_only: bool = False) -> list[JobInfo]:
    """Jobs newest first, optionally of one kind or only those still queued or running."""
    _settle_orphans()
    query = select(Job).order_by(Job.id.desc())
    if kind is not None:
        query = query.where(Job.kind == kind)
    if active_only:
        query = query.where(Job.status.in_(ACTIVE))
    if limit is not None:
        query = query.limit(max(0, int(limit)))
    with session_scope() as session:
        return [JobInfo.from_row(row) for row in session.scalars(query)]


def cancel_job(job_id: int) -> JobInfo:
    """Ask a queued or running job to stop (SIGTERM to its worker's process group); asked again
    after ``KILL_AFTER_S``, kill it. A finished job is returned as it is."""
    job = get_job(job_id)
    if not job.active:
        return job
    now = utcnow()
    if job.pid is None or not worker_alive(job.pid, job_id):
        mark_finished(job_id, CANCELLED, error="cancelled before its worker started")
        return get_job(job_id)
    overdue = job.cancel_requested_at is not None and now - job.cancel_requested_at > timedelta(seconds=KILL_AFTER_S)
    if job.cancel_requested_at is None:
        _set_fields(job_id, cancel_requested_at=now)
    _signal_group(job.pid, signal.SIGKILL if overdue else signal.SIGTERM)
    if overdue:
        mark_finished(
            job_id, CANCELLED, error=f"killed: the worker did not stop within {KILL_AFTER_S:.0f} s of the cancel"
        )
    return get_job(job_id)


def stop_job(job_id: int, wait_s: float = STOP_WAIT_S, poll: float = 0.1) -> JobInfo:
    """Cancel a job and make sure its worker is gone before returning: SIGTERM, up to ``wait_s``
    seconds for the worker to end (a server shuts down gracefully), then SIGKILL to its process
    group. A finished job is returned as it is."""
    job = cancel_job(job_id)
    if job.pid is None:
        return job
    deadline = time.monotonic() + wait_s
    while worker_alive(job.pid, job_id):
        if time.monotonic() >= deadline:
            _signal_group(job.pid, signal.SIGKILL)
            mark_finished(job_id, CANCELLED, error=f"killed: the worker did not stop within {wait_s:.0f} s")
            kill_deadline = time.monotonic() + 10
            while worker_alive(job.pid, job_id) and time.monotonic() < kill_deadline:
                time.sleep(poll)
            break
        time.sleep(poll)
    return get_job(job_id)


def wait_for_job(job_id: int, timeout: float = 60.0, poll: float = 0.2) -> JobInfo:
    """Block until the job is finished (or ``timeout`` seconds pass); returns its state."""
    deadline = time.monotonic() + timeout
    while True:
        job = get_job(job_id)
        if not job.active or time.monotonic() >= deadline:
            return job
        time.sleep(poll)


def recover_jobs() -> list[int]:
    """Settle every queued/running job whose worker is gone (run at server start), and every
    training run its killed process left ``running`` (``settle_runs``); returns the jobs' ids."""
    from brewslm.training.run import settle_runs

    settle_runs()
    return _settle_orphans()


# --- process bookkeeping -------------------------------------------------------------------------


def worker_alive(pid: int, job_id: int) -> bool:
    """Is ``pid`` still the worker of ``job_id``? (a dead worker's pid may belong to anyone by now)"""
    child = _CHILDREN.get(pid)
    if child is not None:  # our own worker: its exit status is the truth, and poll() reaps it (no zombies)
        if child.poll() is None:
            return True  # not the markers: an exiting process's cmdline reads empty before it is gone
        _CHILDREN.pop(pid, None)
        return False
    return process_alive(pid, markers=(WORKER_MODULE, str(job_id)))


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the worker leads its own session, so its group id is its pid
    except ProcessLookupError:
        pass


def _reap_children() -> None:
    """Collect the exit status of our finished workers, so none lingers as a zombie."""
    for pid, child in list(_CHILDREN.items()):
        if child.poll() is not None:
            _CHILDREN.pop(pid, None)


def _settle_orphans(job_id: int | None = None) -> list[int]:
    _reap_children()
    query = select(Job.id, Job.pid, Job.cancel_requested_at).where(Job.status.in_(ACTIVE), Job.pid.is_not(None))
    if job_id is not None:
        query = query.where(Job.id == job_id)
    with session_scope() as session:
        candidates = session.execute(query).all()
    settled = []
    for jid, pid, cancel_requested in candidates:
        if worker_alive(pid, jid):
            continue
        status = CANCELLED if cancel_requested else INTERRUPTED
        why = (
            "cancelled"
            if cancel_requested
            else f"interrupted: its worker process {pid} ended without reporting (killed, crashed or the machine "
            f"restarted); see {job_log_path(jid)}"
        )
        if mark_finished(jid, status, error=why):
            settled.append(jid)
    return settled


def _set_fields(job_id: int, **fields: Any) -> None:
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == job_id).values(**fields))


def mark_finished(job_id: int, status: str, *, error: str | None = None, result: dict[str, Any] | None = None) -> bool:
    """Move a still-active job to a final status; False when it had finished already (the
    condition makes a worker's own report and an orphan check never overwrite each other)."""
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error}
    if result is not None:
        values["result"] = result
    with session_scope() as session:
        changed = session.execute(update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE)).values(**values))
        return bool(changed.rowcount)


def claim_job(job_id: int, pid: int) -> bool:
    """queued -> running, by the worker itself; False when the job is no longer queued."""
    with session_scope() as session:
        changed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == QUEUED)
            .values(status=RUNNING, pid=pid, started_at=utcnow())
        )
        return bool(changed.rowcount)


__all__ = [
    "ACTIVE",
    "CANCELLED",
    "FAILED",
    "FINISHED",
    "INTERRUPTED",
    "JOB_KINDS",
    "JobInfo",
    "JobProgress",
    "NoSuchJob",
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "cancel_job",
    "claim_job",
    "get_job",
    "job_log_path",
    "jobs_dir",
    "list_jobs",
    "log_tail",
    "mark_finished",
    "recover_jobs",
    "stop_job",
    "submit_job",
    "wait_for_job",
    "worker_alive",
]
