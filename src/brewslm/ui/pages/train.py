"""The Train tab: pick a dataset and a recipe or base model (pick lists of the workspace's datasets and
of the base-model catalog, ``pages.choices``), edit the typed training config, start a
run as a background job, watch it (loss curve, tokens/s, ETA), cancel it.

Routes::

    GET  /train                      the form (``?recipe=NAME`` prefills it from a recipe's train
                                     section, ``?dataset=NAME[&dataset_version=N]`` picks the
                                     dataset, as the Data tab's "Train" links do), training jobs, runs
    POST /train                      validate the form (errors per option), start a "train" job
    GET  /train/jobs/{id}            one training job: its live panel
    GET  /train/jobs/{id}/panel      the panel alone (polled every POLL_SECONDS while the job runs)
    POST /train/jobs/{id}/cancel     stop it (the loop records its run as interrupted)
    GET  /train/runs/{name}          a run under <BREWSLM_HOME>/runs, started here or by the CLI

The form is ``TrainConfig`` itself (``options_form``): the same options, defaults, help text and
validation as ``brewslm train``. Before a job is queued the service's own ``preflight`` checks the
dataset, its splits and the base model, so those mistakes show in the form, not in a failed job.
The run folder is fixed at submit time (``resolve_run_dir``), so the page can follow the run's
``metrics.jsonl`` while the job writes it: the loss curve is drawn server-side as SVG from it.
A run started with ``brewslm train`` shows live here too (``/train/runs/NAME``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from brewslm.errors import ConfigError
from brewslm.recipes import builtin_recipes, load_recipe
from brewslm.storage.run_records import read_run
from brewslm.training.config import TrainConfig, check_run_name
from brewslm.training.report import MetricsLog, format_duration
from brewslm.training.run import METRICS_FILE, RUN_RECORD, runs_dir
from brewslm.ui import jobs
from brewslm.ui.access import check_output_path
from brewslm.ui.app import current_settings, is_htmx, render
from brewslm.ui.pages.choices import base_model_choices, dataset_choices, default_base_model_label
from brewslm.ui.pages.options_form import (
    FORM_ERROR,
    check_path_options,
    display_values,
    job_of_kind,
    options_form,
    submit_options_form,
)
from brewslm.ui.settings import UISettings

router = APIRouter()

JOB_KIND = "train"
POLL_SECONDS = 2
PRIMARY_OPTIONS = (
    "dataset",
    "base_model",
    "method",
    "epochs",
    "max_steps",
    "learning_rate",
    "batch_size",
    "max_seq_len",
    "lora.r",
    "run_name",
)
RECENT = 20  # jobs and runs listed on the page
PATH_OPTIONS = ("dataset", "base_model", "resume")  # local paths read: inside the allowed roots
RESUME_LATEST = "latest"  # resume's one value that is not a path (output_dir's newest checkpoint)


# --- the loss curve --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurvePlot:
    """An SVG line chart's geometry, in pixels (the template only draws it)."""

    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    train_points: str  # "x,y x,y ..." for a <polyline>
    eval_points: list[tuple[float, float, str]]  # (x, y, tooltip) per validation pass
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def _tick_label(value: float, span: float) -> str:
    """A y tick with as many decimals as the axis span needs to tell its ticks apart."""
    decimals = max(0, 1 - math.floor(math.log10(span / 4))) if span > 0 else 2
    return f"{value:.{min(decimals, 6)}f}"


def loss_curve(
    entries: Sequence[Mapping[str, Any]], total_steps: int | None = None, *, width: int = 640, height: int = 240
) -> CurvePlot | None:
    """Train loss per step and validation loss from ``metrics.jsonl`` entries, scaled into a
    ``width`` x ``height`` chart; the x axis spans ``total_steps`` when known, so a running curve
    grows towards the right edge. None when there is nothing to draw yet."""

    def finite(value: Any) -> bool:  # a diverged step's NaN is left out, not drawn at an edge
        return isinstance(value, (int, float)) and math.isfinite(value)

    train = [(e["step"], e["loss"]) for e in entries if e.get("kind") == "train" and finite(e.get("loss"))]
    evals = [(e["step"], e["eval_loss"]) for e in entries if e.get("kind") == "eval" and finite(e.get("eval_loss"))]
    if not train and not evals:
        return None
    left, top, right, bottom = 56.0, 12.0, width - 16.0, height - 30.0
    last_step = max(step for step, _ in train + evals)
    x_max = max(total_steps or 0, last_step, 2)
    losses = [loss for _, loss in train + evals]
    y_low, y_high = min(losses), max(losses)
    pad = (y_high - y_low) * 0.05 or max(abs(y_high) * 0.05, 0.05)
    y_low, y_high = max(0.0, y_low - pad), y_high + pad

    def x(step: float) -> float:
        return round(left + (right - left) * (step - 1) / (x_max - 1), 1)

    def y(loss: float) -> float:
        return round(bottom - (bottom - top) * (loss - y_low) / (y_high - y_low), 1)

    x_ticks = sorted({max(1, round(v)) for v in _ticks(1, x_max)})
    return CurvePlot(
        width=width,
        height=height,
        left=left,
        top=top,
        right=right,
        bottom=bottom,
        train_points=" ".join(f"{x(step)},{y(loss)}" for step, loss in train),
        eval_points=[(x(step), y(loss), f"step {step}: validation loss {loss:.4f}") for step, loss in evals],
        x_ticks=[(x(step), str(step)) for step in x_ticks],
        y_ticks=[(y(value), _tick_label(value, y_high - y_low)) for value in _ticks(y_low, y_high)],
    )


# --- a run as the page shows it ------------------------------------------------------------------


@dataclass(frozen=True)
class RunPanel:
    """A training run's state for the page: from its job (status, progress message, error), its
    ``run.json`` (dataset, method, schedule) and its ``metrics.jsonl`` (steps, loss, speed)."""

    name: str | None
    run_dir: str | None
    status: str
    active: bool
    dataset: str | None = None
    method: str | None = None
    step: int | None = None
    total_steps: int | None = None
    epoch: float | None = None
    loss: float | None = None
    eval_loss: float | None = None
    tokens_per_s: float | None = None
    eta: str = "-"
    message: str | None = None
    error: str | None = None
    job_id: int | None = None
    curve: CurvePlot | None = None
    finished: bool = False  # the run wrote its model (it can be evaluated)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def percent(self) -> int | None:
        if not self.total_steps or self.step is None:
            return None
        return max(0, min(100, round(100 * self.step / self.total_steps)))


def _record(run_dir: Path | None) -> dict[str, Any]:
    if run_dir is None or not (run_dir / RUN_RECORD).is_file():
        return {}
    try:
        return read_run(run_dir)
    except (ConfigError, ValueError):  # a half-written record: the next poll reads it whole
        return {}


def _entries(run_dir: Path | None) -> list[dict[str, Any]]:
    if run_dir is None:
        return []
    try:
        return MetricsLog(run_dir / METRICS_FILE).read()
    except ValueError:  # a line being appended right now
        return []


def run_panel(run_dir: Path | None, job: jobs.JobInfo | None = None, *, draw: bool = True) -> RunPanel:
    """What the page shows of a run (``run_dir``, when known) and of the job training it; ``draw``:
    with its loss curve (lists leave it out)."""
    record, entries = _record(run_dir), _entries(run_dir)
    progress = dict(job.progress) if job else {}
    train = [e for e in entries if e.get("kind") == "train"]
    evals = [e for e in entries if e.get("kind") == "eval"]
    last = train[-1] if train else {}
    total = (record.get("schedule") or {}).get("total_steps") or progress.get("total")
    run_status = record.get("status")
    if job is not None:
        status, active = job.status, job.active
    else:
        status, active = run_status or "unknown", run_status == "running"
    finished = run_status == "finished"
    eta_s = last.get("eta_s", progress.get("eta_s"))
    submitted = (job.params.get("config") or {}) if job else {}
    failed = run_status in ("failed", "interrupted")
    return RunPanel(
        name=record.get("name") or (run_dir.name if run_dir else None),
        run_dir=str(run_dir) if run_dir else None,
        status=status,
        active=active,
        dataset=(record.get("dataset") or {}).get("name") or submitted.get("dataset"),
        method=record.get("method"),
        step=last.get("step", progress.get("done")),
        total_steps=total,
        epoch=last.get("epoch", progress.get("epoch")),
        loss=last.get("loss", progress.get("loss")),
        eval_loss=evals[-1]["eval_loss"] if evals else progress.get("eval_loss"),
        tokens_per_s=last.get("tokens_per_s", progress.get("tokens_per_s")),
        eta=format_duration(eta_s) if active and eta_s is not None else "-",
        message=progress.get("message"),
        error=(job.error if job else None) or (record.get("error") if failed else None),
        job_id=job.id if job else None,
        curve=loss_curve(entries, total) if draw else None,
        finished=finished,
        metrics=dict(record.get("metrics") or {}),
    )


def job_run_dir(job: jobs.JobInfo) -> Path | None:
    """The run folder of a training job: fixed in its config at submit time (or reported by it)."""
    where = (job.params.get("config") or {}).get("output_dir") or job.progress.get("run_dir")
    return Path(where) if where else None


def list_runs(limit: int = RECENT) -> list[RunPanel]:
    """The runs under ``<BREWSLM_HOME>/runs``, newest first (no curves: a list)."""
    folders = sorted(
        (p for p in runs_dir().iterdir() if (p / RUN_RECORD).is_file()),
        key=lambda p: (p / RUN_RECORD).stat().st_mtime,
        reverse=True,
    )
    return [run_panel(folder, draw=False) for folder in folders[:limit]]


def named_run_dir(name: str) -> Path:
    """The run ``name`` under ``<BREWSLM_HOME>/runs`` (names only, by the config's own rule: a URL
    never reaches other folders)."""
    try:
        check_run_name(name)
    except ValueError as exc:
        raise ConfigError(f"{exc}; runs are listed on the Train page") from None
    folder = runs_dir() / name
    if not (folder / RUN_RECORD).is_file():
        raise ConfigError(f"no training run '{name}' under {runs_dir()}; runs are listed on the Train page")
    return folder


# --- the form --------------------------------------------------------------------------------------


def recipe_names() -> list[str]:

    return list(builtin_recipes())


def recipe_defaults(name: str) -> dict[str, Any]:
    """A recipe's training options (its ``train`` section) and the dataset it imports into."""

    recipe = load_recipe(name)
    return {**recipe.train, "dataset": recipe.dataset_name}


def start_training(config: TrainConfig, settings: UISettings) -> int:
    """Check ``config`` as ``train`` would before loading a model (``preflight``; what it reads inside
    the allowed roots), fix its run folder where this UI may write (``check_output_path``, on the
    folder ``output_dir`` or ``run_name`` make once joined), and queue it as a job; returns the job id."""
    from brewslm.training.checkpoint import resolve_resume
    from brewslm.training.loop import preflight
    from brewslm.training.run import resolve_run_dir

    check_path_options(config, PATH_OPTIONS, settings)
    setup = preflight(config)
    if config.resume and config.resume != RESUME_LATEST:
        # a resumed run writes on in its checkpoint's run folder (two levels above the checkpoint), so
        # that folder, not the path given, is what must lie where this UI may write
        checkpoint = resolve_resume(str(check_output_path(config.resume, settings, what="option 'resume':")), None)
        check_output_path(checkpoint.parent.parent, settings, what="option 'resume' (the run it continues):")
    if not config.resume or config.output_dir or config.run_name:
        run_dir = check_output_path(resolve_run_dir(config, setup.dataset), settings, what="run folder")
        # absolute, as checked: the job writes there whatever its working directory
        config = config.model_copy(update={"output_dir": str(run_dir)})
    return jobs.submit_job(JOB_KIND, {"config": config.to_dict()})


def _page(
    request: Request,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    *,
    recipe: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "train.html",
        status_code=status_code,
        form=options_form(TrainConfig, values, errors, primary=PRIMARY_OPTIONS),
        recipe=recipe,
        recipes=recipe_names(),
        suggestions={"dataset": dataset_choices(), "base_model": base_model_choices(current_settings(request))},
        placeholders={"base_model": default_base_model_label()},
        train_jobs=[
            (job, run_panel(job_run_dir(job), job, draw=False)) for job in jobs.list_jobs(kind=JOB_KIND, limit=RECENT)
        ],
        runs=list_runs(),
    )


# --- routes ------------------------------------------------------------------------------------------


@router.get("/train", response_class=HTMLResponse)
def train_page(
    request: Request, recipe: str = "", dataset: str = "", dataset_version: int | None = None
) -> HTMLResponse:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if recipe:
        try:
            values = recipe_defaults(recipe)
        except ConfigError as exc:
            errors[FORM_ERROR] = str(exc)
    if dataset:
        values["dataset"] = dataset
        if dataset_version is not None:  # a dataset page of an older version trains on that version
            values["dataset_version"] = dataset_version
    return _page(request, display_values(TrainConfig, values), errors, recipe=recipe)


@router.post("/train")
async def train_submit(request: Request) -> Response:
    settings = current_settings(request)
    submission = await submit_options_form(request, TrainConfig, lambda config: start_training(config, settings))
    if submission.job_id is not None:
        return RedirectResponse(f"/train/jobs/{submission.job_id}", status_code=303)
    return _page(
        request, submission.texts, submission.errors, recipe=submission.submitted.get("recipe", ""), status_code=400
    )


def _train_job(job_id: int) -> jobs.JobInfo:
    return job_of_kind(job_id, JOB_KIND, "a training run")


@router.get("/train/jobs/{job_id}", response_class=HTMLResponse)
def train_job_page(request: Request, job_id: int) -> HTMLResponse:
    job = _train_job(job_id)
    return render(request, "train_run.html", run=run_panel(job_run_dir(job), job), poll=POLL_SECONDS)


@router.get("/train/jobs/{job_id}/panel", response_class=HTMLResponse)
def train_job_panel(request: Request, job_id: int) -> HTMLResponse:
    job = _train_job(job_id)
    return render(request, "train_panel.html", run=run_panel(job_run_dir(job), job), poll=POLL_SECONDS)


@router.post("/train/jobs/{job_id}/cancel")
def train_job_cancel(request: Request, job_id: int) -> Response:
    _train_job(job_id)
    job = jobs.cancel_job(job_id)
    if is_htmx(request):
        return render(request, "train_panel.html", run=run_panel(job_run_dir(job), job), poll=POLL_SECONDS)
    return RedirectResponse(f"/train/jobs/{job_id}", status_code=303)


@router.get("/train/runs/{name}", response_class=HTMLResponse)
def run_page(request: Request, name: str) -> HTMLResponse:
    return render(request, "train_run.html", run=run_panel(named_run_dir(name)), poll=POLL_SECONDS)


@router.get("/train/runs/{name}/panel", response_class=HTMLResponse)
def run_page_panel(request: Request, name: str) -> HTMLResponse:
    return render(request, "train_panel.html", run=run_panel(named_run_dir(name)), poll=POLL_SECONDS)


__all__ = [
    "CurvePlot",
    "RunPanel",
    "job_run_dir",
    "list_runs",
    "loss_curve",
    "named_run_dir",
    "recipe_defaults",
    "router",
    "run_panel",
    "start_training",
]
