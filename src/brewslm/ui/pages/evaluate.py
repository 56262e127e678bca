"""The Evaluate tab: the evaluation reports of this workspace, one report's page (metrics base, cheap baseline and
fine-tune with lift and confidence intervals, gates, confusion matrix and per-class / per-type
pictures, the per-example predictions filterable to the errors), and starting an evaluation.

Routes::

    GET  /evaluate                       reports (newest first), evaluation jobs, the start form
                                         (``?model=RUN&dataset=NAME`` prefills it)
    POST /evaluate                       validate the form (errors per option), start an "eval" job
    GET  /evaluate/jobs/{id}             one evaluation job; its panel polls while it runs
    GET  /evaluate/jobs/{id}/panel       the panel alone
    GET  /evaluate/report?key=K          one report
    GET  /evaluate/report/predictions    its predictions table (``key``, ``model``, ``errors``, ``page``)
    GET  /evaluate/report/picture        a picture the report drew (``key``, ``name``: its stem)
    GET  /evaluate/report/file           report.html / report.md / report.json as written

Reports are found where the evaluation service writes them: ``<run>/eval/*/`` of the workspace's
runs, ``<BREWSLM_HOME>/recipe-runs/*/eval/*/``, ``<BREWSLM_HOME>/evals/*/``, and the folders of
evaluation jobs started here. A report is addressed by a key - its folder relative to
``BREWSLM_HOME`` (``ext-<hash>`` for one elsewhere) - and only a folder found that way can be
opened, so a URL never names a file.

The report body is ``evaluation.report.report_blocks`` - the very blocks ``report.html`` is
made of - re-ordered for the page by ``report_view``: the headline metric with its lifts and a
bar per model first, then the pictures (the PNGs the report wrote), then one metrics row per
distinct set of numbers (accuracy = exact_match = micro_f1 share a row), and the other tables;
empty sections are left out. The
per-example verdicts ("correct" / "error" by the task's headline metric) are
``evaluation.review``'s, as ``brewslm eval errors`` prints them. Perplexity tasks have no
per-example right or wrong, so their table has no error filter.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from brewslm.errors import ConfigError
from brewslm.evaluation.config import EvalConfig
from brewslm.evaluation.report import baseline_verdict, format_interval, format_value, report_blocks, report_pictures
from brewslm.evaluation.review import (
    REPORT_FILE,
    predictions_file,
    prompt_of,
    read_report,
    score_predictions_file,
)
from brewslm.storage.run_records import read_run
from brewslm.training.run import RUN_RECORD, runs_dir
from brewslm.ui import jobs
from brewslm.ui.access import check_output_path
from brewslm.ui.app import current_settings, is_htmx, render
from brewslm.ui.pages import json_text
from brewslm.ui.pages.choices import dataset_choices
from brewslm.ui.pages.options_form import (
    check_path_options,
    display_values,
    job_of_kind,
    options_form,
    submit_options_form,
)
from brewslm.ui.pages.report_view import report_view
from brewslm.ui.settings import UISettings
from brewslm.workspace import home_dir

router = APIRouter()

JOB_KIND = "eval"
REPORT_FILES = ("report.html", "report.md", "report.json")  # what /evaluate/report/file serves
PRIMARY_OPTIONS = ("model", "dataset", "split", "baseline", "max_examples", "strategy", "gates", "bootstrap_samples")
PATH_OPTIONS = ("model", "baseline", "dataset", "judge_model")  # local paths read: inside the allowed roots
PER_PAGE = 25
POLL_SECONDS = 2
INPUT_CHARS = 400  # a prompt is shown cut to this many characters (the full record is in the row's detail)


# --- finding reports -------------------------------------------------------------------------------


def report_key(folder: Path) -> str:
    """A report folder's address: its path relative to ``BREWSLM_HOME``, else a hash of it."""

    real, home = folder.resolve(), home_dir().resolve()
    if real.is_relative_to(home):
        return real.relative_to(home).as_posix()
    return "ext-" + hashlib.sha256(str(real).encode()).hexdigest()[:16]


def _job_report_folders() -> list[Path]:
    """Report folders of evaluation jobs, and the eval folders of runs trained by jobs, wherever they are."""
    folders = []
    for job in jobs.list_jobs(kind=JOB_KIND, limit=None):
        if job.result and job.result.get("out_dir"):
            folders.append(Path(job.result["out_dir"]))
    for job in jobs.list_jobs(kind="train", limit=None):
        run_dir = (job.params.get("config") or {}).get("output_dir")
        if run_dir:
            folders.extend(Path(run_dir).glob(f"eval/*/{REPORT_FILE}"))
    return [f.parent if f.name == REPORT_FILE else f for f in folders]


def report_folders() -> list[Path]:
    """Every folder holding a ``report.json`` that the page lists, newest report first."""

    home = home_dir()
    found = [
        *runs_dir().glob(f"*/eval/*/{REPORT_FILE}"),
        *home.glob(f"recipe-runs/*/eval/*/{REPORT_FILE}"),
        *home.glob(f"evals/*/{REPORT_FILE}"),
    ]
    folders = {f.parent.resolve(): None for f in found}
    for folder in _job_report_folders():
        if (folder / REPORT_FILE).is_file():
            folders.setdefault(folder.resolve(), None)
    return sorted(folders, key=lambda f: (f / REPORT_FILE).stat().st_mtime, reverse=True)


def find_report(key: str) -> Path:
    """The report folder listed under ``key``; anything else is a one-line error."""
    for folder in report_folders():
        if report_key(folder) == key:
            return folder
    raise ConfigError(f"no evaluation report '{key}'; the reports there are are listed on the Evaluate page")


@dataclass(frozen=True)
class ReportSummary:
    """One line of the reports list (values formatted as the report's own tables format them)."""

    key: str
    created: str | None
    task: str
    dataset: str
    examples: str
    tuned: str
    base: str
    headline: str
    tuned_value: str
    base_value: str
    lift: str
    gates: str  # "passed" | "failed" | "none"
    baseline: str = "-"  # the cheap baseline's title
    baseline_value: str = "-"
    lift_vs_baseline: str = "-"
    baseline_wins: bool = False  # it beats the fine-tune, or the lift over it is not clear of 0


def summarize_report(folder: Path, report: Mapping[str, Any]) -> ReportSummary:
    headline = str(report.get("headline") or "")
    dataset = report.get("dataset") or {}
    models = report.get("models") or {}
    metrics = report.get("metrics") or {}

    def lift_text(section: str) -> str:
        lift = (report.get(section) or {}).get(headline) or {}
        text = format_value(lift.get("lift"), signed=True) if lift else "-"
        return (
            f"{text} {format_interval([lift.get('ci_low'), lift.get('ci_high')], signed=True) if lift else ''}".strip()
        )

    task = str(report.get("task") or "?") + (f" ({report['scoring_mode']})" if report.get("scoring_mode") else "")
    return ReportSummary(
        key=report_key(folder),
        created=report.get("created_at"),
        task=task,
        dataset=f"{dataset.get('name', '?')} v{dataset.get('version', '?')} · {dataset.get('split', '?')}",
        examples=format_value(dataset.get("examples")),
        tuned=str((models.get("tuned") or {}).get("name") or "-"),
        base=str((models.get("base") or {}).get("name") or "-"),
        headline=headline,
        tuned_value=format_value((metrics.get("tuned") or {}).get(headline)),
        base_value=format_value((metrics.get("base") or {}).get(headline)),
        lift=lift_text("lift"),
        baseline=str((models.get("baseline") or {}).get("title") or "-"),
        baseline_value=format_value((metrics.get("baseline") or {}).get(headline)),
        lift_vs_baseline=lift_text("lift_vs_baseline"),
        baseline_wins=baseline_verdict(report) is not None,
        gates="none" if not report.get("gates") else ("passed" if report.get("passed") else "failed"),
    )


def list_reports() -> list[ReportSummary]:
    summaries = []
    for folder in report_folders():
        try:
            summaries.append(summarize_report(folder, read_report(folder)))
        except ConfigError:  # a report being written, or a broken one: the list still shows the others
            continue
    return summaries


# --- one report --------------------------------------------------------------------------------------


def drawn_pictures(report: Mapping[str, Any], folder: Path) -> list[str]:
    """The stems of the report's pictures whose PNG was written."""
    return [p.stem for p in report_pictures(report) if (folder / f"{p.stem}.png").is_file()]


def report_page_blocks(report: Mapping[str, Any], folder: Path) -> list[tuple[str, Any]]:
    """The report's blocks (``report_blocks``) as ``(kind, block)`` pairs, in ``report.html``'s
    order; the page shows them re-ordered and trimmed (``report_view``)."""
    return [(type(block).__name__.lower(), block) for block in report_blocks(report, drawn_pictures(report, folder))]


def picture_path(folder: Path, report: Mapping[str, Any], name: str) -> Path:
    """A picture of the report by its stem (only the report's own pictures)."""
    if name not in {p.stem for p in report_pictures(report)} or not (folder / f"{name}.png").is_file():
        raise ConfigError(f"report has no picture '{name}'")
    return folder / f"{name}.png"


# --- predictions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PredictionRow:
    index: int
    id: Any
    subtask: str | None
    input: str
    gold: str
    prediction: str
    raw: str | None
    verdict: str | None  # "correct" | "error" | None (the task has no per-example verdict)
    detail: str  # JSON


@dataclass(frozen=True)
class PredictionsPage:
    key: str
    model: str
    models: list[str]  # the models whose predictions the report saved
    errors_only: bool
    can_filter: bool  # the task has per-example verdicts
    rows: list[PredictionRow]
    page: int
    pages: int
    shown: int  # rows after the filter
    total: int  # all rows
    errors: int | None
    note: str | None = None  # why there are no verdicts, when scoring them failed

    @property
    def has_subtasks(self) -> bool:
        return any(row.subtask for row in self.rows)


def _short(value: Any, limit: int = INPUT_CHARS) -> str:
    text = json_text(value, indent=None)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def prompt_text(prompt: Any) -> str:
    return _short(prompt_of(prompt))


@functools.lru_cache(maxsize=8)
def _scored_file(
    path: str, mtime_ns: int, report_text: str
) -> tuple[list[dict[str, Any]], list[str] | None, str | None]:
    """A predictions file's rows and their verdicts (cached per file version: paging re-reads nothing)."""
    return score_predictions_file(Path(path), json.loads(report_text))


def predictions_page(
    key: str,
    folder: Path,
    report: Mapping[str, Any],
    model: str = "tuned",
    errors_only: bool = False,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> PredictionsPage:
    model, models, path = predictions_file(folder, report, model)
    if path is None:
        return PredictionsPage(
            key, model, [], errors_only, False, [], 1, 1, 0, 0, None, note="this report saved no predictions file"
        )
    rows, verdicts, note = _scored_file(str(path), path.stat().st_mtime_ns, json.dumps(report, sort_keys=True))
    indexed = list(enumerate(rows))
    can_filter = verdicts is not None
    if errors_only and can_filter:
        indexed = [(i, row) for i, row in indexed if verdicts[i] == "error"]
    pages = max(1, math.ceil(len(indexed) / per_page))
    page = min(max(1, page), pages)
    shown = [
        PredictionRow(
            index=row.get("index", i),
            id=row.get("id"),
            subtask=row.get("subtask"),
            input=prompt_text(row.get("input")),
            gold=_short(row.get("gold")),
            prediction=_short(row.get("prediction")) if row.get("prediction") is not None else "(unparseable)",
            raw=_short(row["raw"]) if isinstance(row.get("raw"), str) else None,
            verdict=verdicts[i] if verdicts else None,
            detail=json_text({"detail": row.get("detail"), "scores": row.get("scores"), "record": row.get("record")}),
        )
        for i, row in indexed[(page - 1) * per_page : page * per_page]
    ]
    errors = sum(v == "error" for v in verdicts) if verdicts else None
    return PredictionsPage(
        key,
        model,
        models,
        errors_only and can_filter,
        can_filter,
        shown,
        page,
        pages,
        len(indexed),
        len(rows),
        errors,
        note,
    )


# --- starting an evaluation --------------------------------------------------------------------------


def finished_runs() -> list[str]:
    """Run names under ``<BREWSLM_HOME>/runs`` with a finished model (what ``model`` can name)."""
    names = []
    for folder in sorted(runs_dir().iterdir()):
        if (folder / RUN_RECORD).is_file():
            try:
                if read_run(folder).get("status") == "finished":
                    names.append(folder.name)
            except (ConfigError, ValueError):
                continue
    return names


def start_evaluation(config: EvalConfig, settings: UISettings) -> int:
    """Fail fast on what needs no model (paths, gates, the model and dataset named, the report
    folder where this UI may write), then queue the evaluation as a job; returns the job id."""
    from brewslm.evaluation.gates import parse_gates
    from brewslm.evaluation.model_refs import resolve_model
    from brewslm.evaluation.runner import default_out_dir
    from brewslm.training.run import open_dataset_ref

    check_path_options(config, PATH_OPTIONS, settings)
    parse_gates(config.gates)
    dataset = open_dataset_ref(config.dataset, config.dataset_version)
    tuned = resolve_model(config.model)
    # out_dir, else the folder the job will pick (beside the run's): only its parents matter, and
    # the job picks the same ones
    out_dir = check_output_path(default_out_dir(config, tuned, dataset), settings, what="report folder")
    if config.out_dir:  # absolute, as checked: the job writes there whatever its working directory
        config = config.model_copy(update={"out_dir": str(out_dir)})
    return jobs.submit_job(JOB_KIND, {"config": config.to_dict()})


def _page(
    request: Request, values: Mapping[str, str], errors: Mapping[str, str] | None = None, status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        "evaluate.html",
        status_code=status_code,
        reports=list_reports(),
        eval_jobs=jobs.list_jobs(kind=JOB_KIND, limit=20),
        form=options_form(EvalConfig, values, errors, primary=PRIMARY_OPTIONS),
        suggestions={"model": finished_runs(), "dataset": dataset_choices()},
    )


def _eval_job(job_id: int) -> jobs.JobInfo:
    return job_of_kind(job_id, JOB_KIND, "an evaluation")


def job_report_key(job: jobs.JobInfo) -> str | None:
    out_dir = (job.result or {}).get("out_dir")
    return report_key(Path(out_dir)) if out_dir and (Path(out_dir) / REPORT_FILE).is_file() else None


# --- routes ------------------------------------------------------------------------------------------


@router.get("/evaluate", response_class=HTMLResponse)
def evaluate_page(request: Request, model: str = "", dataset: str = "") -> HTMLResponse:
    values = {key: value for key, value in (("model", model), ("dataset", dataset)) if value}
    return _page(request, display_values(EvalConfig, values))


@router.post("/evaluate")
async def evaluate_submit(request: Request) -> Response:
    settings = current_settings(request)
    submission = await submit_options_form(request, EvalConfig, lambda config: start_evaluation(config, settings))
    if submission.job_id is not None:
        return RedirectResponse(f"/evaluate/jobs/{submission.job_id}", status_code=303)
    return _page(request, submission.texts, submission.errors, status_code=400)


@router.get("/evaluate/jobs/{job_id}", response_class=HTMLResponse)
def evaluate_job_page(request: Request, job_id: int) -> HTMLResponse:
    job = _eval_job(job_id)
    return render(request, "evaluate_job.html", job=job, report_key=job_report_key(job), poll=POLL_SECONDS)


@router.get("/evaluate/jobs/{job_id}/panel", response_class=HTMLResponse)
def evaluate_job_panel(request: Request, job_id: int) -> HTMLResponse:
    job = _eval_job(job_id)
    return render(request, "evaluate_job_panel.html", job=job, report_key=job_report_key(job), poll=POLL_SECONDS)


@router.post("/evaluate/jobs/{job_id}/cancel")
def evaluate_job_cancel(request: Request, job_id: int) -> Response:
    _eval_job(job_id)
    job = jobs.cancel_job(job_id)
    if is_htmx(request):
        return render(request, "evaluate_job_panel.html", job=job, report_key=None, poll=POLL_SECONDS)
    return RedirectResponse(f"/evaluate/jobs/{job_id}", status_code=303)


@router.get("/evaluate/report", response_class=HTMLResponse)
def report_page(request: Request, key: str, model: str = "tuned", errors: bool = False, page: int = 1) -> HTMLResponse:
    folder = find_report(key)
    report = read_report(folder)
    return render(
        request,
        "evaluate_report.html",
        key=key,
        summary=summarize_report(folder, report),
        view=report_view(report, drawn_pictures(report, folder)),
        files=[n for n in REPORT_FILES if (folder / n).is_file()],
        predictions=predictions_page(key, folder, report, model, errors, page),
    )


@router.get("/evaluate/report/predictions", response_class=HTMLResponse)
def report_predictions(
    request: Request, key: str, model: str = "tuned", errors: bool = False, page: int = 1
) -> HTMLResponse:
    folder = find_report(key)
    return render(
        request,
        "evaluate_predictions.html",
        predictions=predictions_page(key, folder, read_report(folder), model, errors, page),
    )


@router.get("/evaluate/report/picture")
def report_picture(key: str, name: str) -> FileResponse:
    folder = find_report(key)
    return FileResponse(picture_path(folder, read_report(folder), name), media_type="image/png")


@router.get("/evaluate/report/file")
def report_file(key: str, name: str) -> FileResponse:
    if name not in REPORT_FILES:
        raise ConfigError(f"'{name}' is not a report file; one of {', '.join(REPORT_FILES)}")
    folder = find_report(key)
    media = {"report.html": "text/html", "report.md": "text/markdown", "report.json": "application/json"}[name]
    # a download, not a page of this site: the report's own HTML is self-contained and escaped
    return FileResponse(folder / name, media_type=media, filename=name, content_disposition_type="attachment")


__all__ = [
    "PredictionRow",
    "PredictionsPage",
    "ReportSummary",
    "find_report",
    "list_reports",
    "predictions_page",
    "report_folders",
    "report_key",
    "router",
    "start_evaluation",
    "summarize_report",
]
