"""The Serve tab: start a fine-tune as an OpenAI-compatible server on a free local port, see where it
answers, stop it.

Routes::

    GET  /serve                       the servers (starting, ready, stopped) and the start form
                                      (``?model=FOLDER`` preselects a model)
    POST /serve                       start a server: a "serve" job
    GET  /serve/{id}                  one server: its endpoint, key rule, model ids, how to call it, its log
    GET  /serve/{id}/panel            its panel alone (polled while it runs)
    POST /serve/{id}/stop             stop it; the answer comes once its process is gone

A server is ``brewslm serve`` run as a background job (``jobs.serve_job``): the same services
(``ServedModels.load``, ``serving.app.create_app``, ``ServerSettings``), bound to 127.0.0.1 on a
free port (or the one asked for), in a worker process of its own, so it keeps serving when the
page closes or the UI restarts. Its API key is ``BREWSLM_API_KEY`` of the UI's environment, as the
CLI reads it: the page says whether one is required and never shows it. Stopping sends SIGTERM (a
graceful shutdown) and kills the worker's process group if it has not ended within
``jobs.STOP_WAIT_S``, so no server outlives a stop. A server whose process is gone (killed, crashed,
the machine restarted) is settled like any job - at UI start-up (``jobs.recover_jobs``) and
whenever the page reads it - and shows as stopped.

What can be served is listed from the workspace: finished runs, merged exports and recipe outputs
with a trained model (the Export tab's lists); any other model folder inside the allowed roots may
be typed in. Starting a model that a running server already serves, or stopping a server that is
not running, is a one-line message.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from brewslm.errors import BrewError, ConfigError
from brewslm.export.bundle import resolve_bundle
from brewslm.serving.settings import API_KEY_ENV
from brewslm.ui import jobs
from brewslm.ui.access import check_path
from brewslm.ui.app import current_settings, is_htmx, render
from brewslm.ui.pages.export import Source, finished_run_sources, list_exports, looks_like_path, recipe_output_sources
from brewslm.ui.settings import UISettings

router = APIRouter()

JOB_KIND = "serve"
DEVICES = ("auto", "cpu", "cuda", "mps")
POLL_STARTING_S = 1  # a starting server's panel polls this often, a ready one every POLL_READY_S
POLL_READY_S = 5
RECENT = 20
LOG_LINES = 30


class ServerNotRunning(ConfigError):
    http_status = 409


class AlreadyServed(ConfigError):
    http_status = 409


# --- what can be served ------------------------------------------------------------------------------


def serve_sources() -> list[tuple[str, list[Source]]]:
    """What the form offers, by group: finished runs, merged exports, recipe outputs."""
    merged = [
        Source(e.folder, "export", e.name, f"merged export · {e.detail}" if e.detail else "merged export")
        for e in list_exports()
        if e.format == "hf"
    ]
    return [
        ("Finished training runs", finished_run_sources()),
        ("Exports", merged),
        ("Recipe outputs", recipe_output_sources()),
    ]


# --- a server as the page shows it ---------------------------------------------------------------------


@dataclass(frozen=True)
class ServerView:
    """One serve job: ``state`` is starting | ready | stopped | failed."""

    job: jobs.JobInfo
    state: str
    requested: list[str]  # the models as asked for (folders or names)
    names: list[str]  # their short names
    url: str | None
    models: list[str] = field(default_factory=list)  # the ids the server answers to, once ready
    key_required: bool | None = None
    message: str | None = None
    error: str | None = None  # why it failed or was killed (a plain stop is no error)
    port: int | None = None

    @property
    def id(self) -> int:
        return self.job.id

    @property
    def running(self) -> bool:
        return self.job.active

    @property
    def poll(self) -> int:
        return POLL_READY_S if self.state == "ready" else POLL_STARTING_S

    @property
    def stopped_at(self) -> datetime | None:
        return self.job.finished_at


def server_view(job: jobs.JobInfo) -> ServerView:
    progress = job.progress
    requested = [str(m) for m in job.params.get("models") or []]
    if job.active:
        state = "ready" if progress.get("ready") else "starting"
    elif job.status in (jobs.CANCELLED, jobs.INTERRUPTED, jobs.SUCCEEDED):
        state = "stopped"
    else:
        state = "failed"
    error = job.error
    if job.status == jobs.CANCELLED and error in ("cancelled", "cancelled before it started"):
        error = None  # stopped as asked
    elif job.status == jobs.INTERRUPTED:
        error = "its process ended without being stopped here (killed, crashed or the machine restarted)"
    return ServerView(
        job=job,
        state=state,
        requested=requested,
        names=[Path(m).name or m for m in requested],
        url=progress.get("url") if job.active or progress.get("url") else None,
        models=list(progress.get("models") or []),
        key_required=progress.get("key_required"),
        message=progress.get("message") if job.active else None,
        error=error,
        port=progress.get("port"),
    )


def list_servers(limit: int = RECENT) -> list[ServerView]:
    """Servers started here, the running ones first, then the newest."""
    views = [server_view(job) for job in jobs.list_jobs(kind=JOB_KIND, limit=limit)]
    return sorted(views, key=lambda v: (not v.running, -v.id))


def _serve_job(job_id: int) -> jobs.JobInfo:
    job = jobs.get_job(job_id)
    if job.kind != JOB_KIND:
        raise ConfigError(f"job {job_id} is a {job.kind} job, not a server; see /jobs")
    return job


# --- starting and stopping -------------------------------------------------------------------------


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((jobs.SERVE_HOST, port))
        except OSError:
            return False
    return True


def plan_server(models: list[str], port: str, device: str, settings: UISettings) -> dict[str, Any]:
    """The serve job's parameters once the models resolve, none is served already and the port is
    free; else a one-line error."""
    specs: list[str] = []
    for model in (m.strip() for m in models):
        if not model:
            continue
        spec = str(check_path(model, settings, what="model folder")) if looks_like_path(model) else model
        if spec not in specs:
            specs.append(spec)
    if not specs:
        raise ConfigError("pick a model to serve: a finished run, an export or a recipe output")
    bundles = [resolve_bundle(spec) for spec in specs]  # a wrong folder is refused here, not by a failed job
    model_dirs = [str(Path(bundle.model_dir).resolve()) for bundle in bundles]
    for job in jobs.list_jobs(kind=JOB_KIND, limit=None, active_only=True):
        served = {*(job.params.get("models") or []), *(job.params.get("model_dirs") or [])}
        for spec, model_dir, bundle in zip(specs, model_dirs, bundles):
            if spec in served or model_dir in served:  # by name or by folder: the same weights
                where = job.progress.get("url") or "starting"
                raise AlreadyServed(
                    f"'{bundle.name}' is already served by server #{job.id} ({where}); use it, or stop it first"
                )
    if device not in DEVICES:
        raise ConfigError(f"unknown device '{device}'; choose one of {', '.join(DEVICES)}")
    number = 0
    if port.strip():
        try:
            number = int(port)
        except ValueError:
            raise ConfigError(f"port '{port}' is not a number; leave it blank for a free port") from None
        if not 1024 <= number <= 65535:
            raise ConfigError(f"port {number} is outside 1024-65535; leave it blank for a free port")
        if not port_is_free(number):
            raise ConfigError(f"port {number} is taken on {jobs.SERVE_HOST}; pick another or leave it blank")
    return {"models": specs, "model_dirs": model_dirs, "port": number, "device": None if device == "auto" else device}


def start_server(models: list[str], port: str, device: str, settings: UISettings) -> int:
    return jobs.submit_job(JOB_KIND, plan_server(models, port, device, settings))


def stop_server(job_id: int) -> jobs.JobInfo:
    """Stop server ``job_id`` and return once its process is gone; a server that is not running
    is a one-line ``ServerNotRunning``."""
    job = _serve_job(job_id)
    if not job.active:
        when = f" since {job.finished_at:%Y-%m-%d %H:%M:%S} UTC" if job.finished_at else ""
        raise ServerNotRunning(f"server #{job_id} is not running (it is {server_view(job).state}{when})")
    return jobs.stop_job(job_id)


# --- routes ------------------------------------------------------------------------------------------


def _page(
    request: Request,
    *,
    chosen: list[str] | None = None,
    model_path: str = "",
    port: str = "",
    device: str = "auto",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    sources = serve_sources()
    return render(
        request,
        "serve.html",
        status_code=status_code,
        servers=list_servers(),
        sources=sources,
        offered=sum(len(items) for _, items in sources),
        chosen=chosen or [],
        model_path=model_path,
        port=port,
        device=device,
        devices=DEVICES,
        error=error,
        key_env=API_KEY_ENV,
    )


@router.get("/serve", response_class=HTMLResponse)
def serve_page(request: Request, model: str = "") -> HTMLResponse:
    """``?model=`` preselects a listed model (the Export tab's "Serve it"), else fills the free field."""
    wanted = str(Path(model).expanduser().resolve()) if model and looks_like_path(model) else model
    listed = {s.value for _, items in serve_sources() for s in items}
    if wanted in listed:
        return _page(request, chosen=[wanted])
    return _page(request, model_path=model)


@router.post("/serve")
async def serve_submit(request: Request) -> Response:
    data = await request.form()
    chosen = [str(v) for v in data.getlist("model") if isinstance(v, str)]
    model_path = str(data.get("model_path") or "")
    port, device = str(data.get("port") or ""), str(data.get("device") or "auto")
    try:
        job_id = start_server([*chosen, model_path], port, device, current_settings(request))
    except BrewError as exc:
        status = getattr(exc, "http_status", 400)
        return _page(
            request,
            chosen=chosen,
            model_path=model_path,
            port=port,
            device=device,
            error=str(exc),
            status_code=status,
        )
    return RedirectResponse(f"/serve/{job_id}", status_code=303)


@router.get("/serve/{job_id}", response_class=HTMLResponse)
def server_page(request: Request, job_id: int) -> HTMLResponse:
    view = server_view(_serve_job(job_id))
    return render(request, "serve_server.html", server=view, key_env=API_KEY_ENV, log=jobs.log_tail(job_id, LOG_LINES))


@router.get("/serve/{job_id}/panel", response_class=HTMLResponse)
def server_panel(request: Request, job_id: int, detail: bool = False) -> HTMLResponse:
    view = server_view(_serve_job(job_id))
    return render(request, "serve_panel.html", server=view, key_env=API_KEY_ENV, detail=detail)


@router.post("/serve/{job_id}/stop")
def server_stop(request: Request, job_id: int, detail: bool = False) -> Response:
    try:
        job = stop_server(job_id)
    except ServerNotRunning as exc:
        view = server_view(_serve_job(job_id))
        if is_htmx(request):
            return render(
                request,
                "serve_panel.html",
                status_code=409,
                server=view,
                key_env=API_KEY_ENV,
                notice=str(exc),
                detail=detail,
            )
        return render(
            request,
            "serve_server.html",
            status_code=409,
            server=view,
            key_env=API_KEY_ENV,
            log=jobs.log_tail(job_id, LOG_LINES),
            notice=str(exc),
        )
    if is_htmx(request):
        return render(request, "serve_panel.html", server=server_view(job), key_env=API_KEY_ENV, detail=detail)
    return RedirectResponse(f"/serve/{job_id}", status_code=303)


__all__ = [
    "AlreadyServed",
    "ServerNotRunning",
    "ServerView",
    "list_servers",
    "plan_server",
    "port_is_free",
    "router",
    "serve_sources",
    "server_view",
    "start_server",
    "stop_server",
]
