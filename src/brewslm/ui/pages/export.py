"""The Export tab: ship a fine-tune as a merged Hugging Face folder or a GGUF file, watch the export,
read its verification, and push it to the Hugging Face Hub.

Routes::

    GET  /export                      the form (``?source=FOLDER`` preselects what to export), the
                                      export jobs, the exports there are and a push form for them
    POST /export                      check the form as ``brewslm export`` checks its flags, start an
                                      "export" job
    POST /export/push                 push an export folder to the Hub: a "push" job
    GET  /export/jobs/{id}            one export (or push) job: its panel
    GET  /export/jobs/{id}/panel      the panel alone (polled every POLL_SECONDS while the job runs)
    POST /export/jobs/{id}/cancel     stop it

What can be exported is listed from the workspace: finished training runs (``<BREWSLM_HOME>/runs``),
recipe output folders with a trained model (``<BREWSLM_HOME>/recipe-runs``) and merged exports
(``<BREWSLM_HOME>/exports``, GGUF only: there is nothing left to merge); any other folder inside
the allowed roots may be typed in. The job runs the CLI's services (``export_hf``,
``export_gguf`` with its quant, converter and verification, ``check_folder``, ``push_folder``);
its output folder is fixed at submit time (default ``<BREWSLM_HOME>/exports/<name>-<format>[-<quant>]``,
as the CLI's) and passes ``access.check_output_path``. The Hub push reads ``HF_TOKEN`` (or the
token ``hf auth login`` saved) and ``HF_ENDPOINT`` from the server's environment, as the CLI does;
without a token the page says so in one line and starts no push.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from brewslm.errors import BrewError, ConfigError
from brewslm.export.bundle import EXPORT_RECORD, default_export_dir, resolve_bundle
from brewslm.export.gguf import CONVERTERS
from brewslm.export.gguf import QUANTS as BUILTIN_QUANTS
from brewslm.export.hub import check_repo_id, hub_endpoint
from brewslm.export.llamacpp import K_QUANTS, QUANT_TYPES, cached_tooling
from brewslm.recipes.config import STATE_FILE as PIPELINE_STATE
from brewslm.storage.run_records import read_run
from brewslm.training.run import RUN_RECORD, runs_dir
from brewslm.ui import jobs
from brewslm.ui.access import check_output_path, check_path
from brewslm.ui.app import current_settings, is_htmx, render
from brewslm.ui.settings import UISettings
from brewslm.workspace import home_dir

router = APIRouter()

JOB_KIND = "export"
PUSH_KIND = "push"
KINDS = (JOB_KIND, PUSH_KIND)
FORMATS = ("hf", "gguf")
QUANTS = QUANT_TYPES  # `brewslm export --quant`: f32, f16, q8_0 and llama.cpp's K-quants
DEFAULT_QUANT = "f16"
POLL_SECONDS = 2
RECENT = 20
NO_TOKEN = (
    "No Hugging Face token here: set HF_TOKEN (or run `hf auth login`) where the UI runs to push "
    "(HF_ENDPOINT for a mirror)"
)


# --- what there is to export -----------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Something the form offers to export: ``value`` is the folder the form posts."""

    value: str
    kind: str  # "run" | "recipe" | "export"
    name: str
    detail: str


def finished_run_sources() -> list[Source]:
    found = []
    for folder in sorted(runs_dir().iterdir()) if runs_dir().is_dir() else []:
        if not (folder / RUN_RECORD).is_file():
            continue
        try:
            record = read_run(folder)
        except (ConfigError, ValueError):
            continue
        if record.get("status") != "finished":
            continue
        dataset = record.get("dataset") or {}
        parts = [dataset.get("task_profile"), record.get("method"), dataset.get("name") and f"on {dataset['name']}"]
        found.append(Source(str(folder.resolve()), "run", folder.name, " · ".join(p for p in parts if p)))
    return found


def recipe_output_sources() -> list[Source]:
    found = []
    for state in sorted(home_dir().glob(f"recipe-runs/*/{PIPELINE_STATE}")):
        try:
            data = json.loads(state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        stages = data.get("stages") or {} if isinstance(data, dict) else {}
        trained = ((stages.get("train") or {}).get("outputs") or {}).get("run_dir")
        if not trained:
            continue  # no trained model yet: nothing to export
        recipe = data.get("recipe") or {}
        evaluated = "evaluated" if (stages.get("eval") or {}).get("outputs") else "not evaluated"
        name = str(recipe.get("name") or state.parent.name)
        found.append(Source(str(state.parent.resolve()), "recipe", name, f"recipe {name} · {evaluated}"))
    return found


@dataclass(frozen=True)
class ExportEntry:
    """An export folder as the page lists it."""

    folder: str
    name: str
    format: str  # "hf" | "gguf"
    detail: str
    size: str
    modified: datetime
    verified: str | None = None  # gguf: "passed" | "FAILED" | None (not verified)
    files: list[str] = field(default_factory=list)


def _size(nbytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:,.1f} {unit}"
    return f"{nbytes} B"


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def export_entry(folder: Path) -> ExportEntry | None:
    """The export in ``folder``: a merged folder (``brewslm_export.json``) or GGUF files; else None."""
    modified = datetime.fromtimestamp(folder.stat().st_mtime, tz=timezone.utc)
    if (folder / EXPORT_RECORD).is_file():
        record = _read_json(folder / EXPORT_RECORD)
        parts = [
            record.get("task"),
            record.get("source_kind") and f"from {record['source_kind']} {record.get('run_name') or ''}".strip(),
            record.get("merged_lora") and "LoRA merged",
        ]
        return ExportEntry(
            folder=str(folder),
            name=str(record.get("name") or folder.name),
            format="hf",
            detail=" · ".join(str(p) for p in parts if p),
            size=_size(_folder_bytes(folder)),
            modified=modified,
        )
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        return None
    checks = [_read_json(g.with_suffix(".verify.json")) for g in ggufs]
    verdicts = [c.get("passed") for c in checks if c]
    verified = None if not verdicts else ("passed" if all(verdicts) else "FAILED")
    quants = sorted({str(c.get("quant")) for c in checks if c.get("quant")})
    return ExportEntry(
        folder=str(folder),
        name=ggufs[0].stem,
        format="gguf",
        detail=" · ".join(quants) or "GGUF",
        size=_size(sum(g.stat().st_size for g in ggufs)),
        modified=modified,
        verified=verified,
        files=[g.name for g in ggufs],
    )


def _job_export_folders() -> list[Path]:
    """Output folders of export jobs (an export may be written outside ``<BREWSLM_HOME>/exports``)."""
    folders = []
    for job in jobs.list_jobs(kind=JOB_KIND, limit=None):
        out = job.params.get("out")
        if out:
            folders.append(Path(out))
    return folders


def list_exports() -> list[ExportEntry]:
    """Every export folder there is, newest first."""
    root = home_dir() / "exports"
    candidates = {p.resolve(): None for p in (root.iterdir() if root.is_dir() else []) if p.is_dir()}
    for folder in _job_export_folders():
        if folder.is_dir():
            candidates.setdefault(folder.resolve(), None)
    entries = [entry for entry in (export_entry(folder) for folder in candidates) if entry is not None]
    return sorted(entries, key=lambda e: e.modified, reverse=True)


def export_sources(exports: list[ExportEntry] | None = None) -> list[tuple[str, list[Source]]]:
    """What the form offers, by group: runs, recipe outputs, merged exports (GGUF only)."""
    merged = [
        Source(e.folder, "export", e.name, f"merged export · {e.detail}" if e.detail else "merged export")
        for e in (list_exports() if exports is None else exports)
        if e.format == "hf"
    ]
    return [
        ("Finished training runs", finished_run_sources()),
        ("Recipe outputs", recipe_output_sources()),
        ("Merged exports (GGUF only)", merged),
    ]


# --- the Hub -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubStatus:
    token: bool  # a token is found (HF_TOKEN, or the one `hf auth login` saved)
    endpoint: str


def hub_status() -> HubStatus:
    """Whether a push could authenticate, and where it would go; never raises."""
    try:
        from huggingface_hub import get_token

        token = bool(get_token())
    except Exception:  # noqa: BLE001 - an unreadable token file is "no token", not a broken page
        token = False
    try:
        endpoint = hub_endpoint()
    except Exception:  # noqa: BLE001
        endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    return HubStatus(token, endpoint)


def check_push(repo_id: str) -> str:
    """A repo id the Hub accepts, with a token to push it; else the one-line reason."""
    repo_id = repo_id.strip()
    if not repo_id:
        raise ConfigError("name the Hub repository to push to, as ORG/NAME")
    check_repo_id(repo_id)
    if not hub_status().token:
        raise ConfigError(NO_TOKEN)
    return repo_id


# --- the form ------------------------------------------------------------------------------------------


def _ticked(value: Any) -> bool:
    return str(value or "").lower() in ("true", "on", "1", "yes")


@dataclass(frozen=True)
class ExportForm:
    """The export form as posted (and as shown again with an error)."""

    source: str = ""  # a listed folder
    source_path: str = ""  # or one typed in (wins when given)
    format: str = "hf"
    quant: str = DEFAULT_QUANT
    converter: str = "auto"
    verify: bool = True
    check: bool = False
    out: str = ""
    overwrite: bool = False
    push: bool = False
    repo_id: str = ""
    private: bool = False

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> "ExportForm":
        text = {k: str(v).strip() for k, v in data.items() if isinstance(v, str)}
        return cls(
            source=text.get("source", ""),
            source_path=text.get("source_path", ""),
            format=text.get("format", "hf"),
            quant=text.get("quant") or DEFAULT_QUANT,
            converter=text.get("converter") or "auto",
            verify=_ticked(text.get("verify")),
            check=_ticked(text.get("check")),
            out=text.get("out", ""),
            overwrite=_ticked(text.get("overwrite")),
            push=_ticked(text.get("push")),
            repo_id=text.get("repo_id", ""),
            private=_ticked(text.get("private")),
        )

    @property
    def spec(self) -> str:
        return self.source_path or self.source


def looks_like_path(value: str) -> bool:
    """A folder rather than a run or recipe name: it has a separator, starts like a path, or names
    a folder that exists (relative to the working directory)."""
    return "/" in value or "\\" in value or value.startswith((".", "~")) or Path(value).expanduser().exists()


def plan_export(form: ExportForm, settings: UISettings) -> dict[str, Any]:
    """The export job's parameters, once everything a job would stumble on is checked - the rules
    of ``brewslm export``'s flags, what the source is, where the output goes; else a one-line error."""
    spec = form.spec
    if not spec:
        raise ConfigError("pick what to export: a finished run, a recipe output folder or an export")
    if form.format not in FORMATS:
        raise ConfigError(f"unknown format '{form.format}'; choose hf (merged folder) or gguf")
    if looks_like_path(spec):
        spec = str(check_path(spec, settings, what="export source"))
    bundle = resolve_bundle(spec)
    if form.format == "hf" and (bundle.run_dir is None or bundle.kind not in ("run", "recipe")):
        raise ConfigError(
            f"'{bundle.name}' is a {'merged export' if bundle.kind == 'export' else 'plain model'} folder, there is "
            "nothing to merge; export a training run or recipe output as hf, or this folder as gguf"
        )
    quant = None
    if form.format == "gguf":
        quant = form.quant
        if quant not in QUANTS:
            raise ConfigError(f"unknown GGUF quantization '{quant}'; choose one of {', '.join(QUANTS)}")
        if form.converter not in CONVERTERS:
            raise ConfigError(f"unknown GGUF converter '{form.converter}'; choose one of {', '.join(CONVERTERS)}")
        if form.converter == "builtin" and quant not in BUILTIN_QUANTS:
            raise ConfigError(
                f"the builtin converter writes {', '.join(BUILTIN_QUANTS)}; '{quant}' is a K-quant, which needs "
                "the llama.cpp converter (or auto)"
            )
    push = None
    if form.push:
        push = {"repo_id": check_push(form.repo_id), "private": form.private}
    elif form.private:
        raise ConfigError("'private' goes with pushing to the Hub; tick 'push' and name the repository")
    out = check_output_path(
        form.out or default_export_dir(bundle.name, form.format, quant), settings, what="export folder"
    )
    if out.exists() and not out.is_dir():
        raise ConfigError(f"export folder {out} is a file; choose a folder")
    if out.is_dir() and any(out.iterdir()) and not form.overwrite:
        raise ConfigError(f"export folder {out} is not empty; tick 'overwrite' to replace it, or choose another folder")
    for job in jobs.list_jobs(kind=JOB_KIND, limit=None, active_only=True):
        if job.params.get("out") == str(out):
            raise ConfigError(f"export job {job.id} is writing {out} right now; wait for it or choose another folder")
    params: dict[str, Any] = {
        "source": spec,
        "name": bundle.name,
        "source_kind": bundle.kind,
        "format": form.format,
        "out": str(out),
        "overwrite": form.overwrite,
    }
    if form.format == "gguf":
        params.update(quant=quant, converter=form.converter, verify=form.verify)
    elif form.check:
        params["check"] = True
    if push:
        params["push"] = push
    return params


def start_export(form: ExportForm, settings: UISettings) -> int:
    return jobs.submit_job(JOB_KIND, plan_export(form, settings))


def export_folder_to_push(folder: str, settings: UISettings) -> Path:
    """An export folder a push may upload: inside the allowed roots and holding an export (a merged
    folder or GGUF files) - never any other folder, whose files would go public."""
    if not folder.strip():
        raise ConfigError("pick the export folder to push")
    path = check_path(folder.strip(), settings, what="export folder")
    if not path.is_dir() or export_entry(path) is None:
        raise ConfigError(f"{path} is not an export folder (no {EXPORT_RECORD} and no .gguf file); export first")
    return path


def start_push(folder: str, repo_id: str, private: bool, settings: UISettings) -> int:
    path = export_folder_to_push(folder, settings)
    repo_id = check_push(repo_id)
    return jobs.submit_job(PUSH_KIND, {"folder": str(path), "repo_id": repo_id, "private": private})


# --- a job as the page shows it ------------------------------------------------------------------------


def _figure(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, (int, float)) else "-"


def verification_rows(check: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A GGUF's verification (``GgufVerification.to_dict()``) as labelled figures."""
    tolerance = check.get("tolerance") or {}
    return [
        ("max |logit diff|", f"{_figure(check.get('max_abs_diff'), '.3g')}"),
        (
            "relative to the logit scale",
            f"{_figure(check.get('max_rel_diff'), '.2e')} of {_figure(check.get('logit_scale'), '.3g')} "
            f"(allowed {_figure(tolerance.get('max_rel_diff'), 'g')})",
        ),
        ("mean |logit diff|", _figure(check.get("mean_abs_diff"), ".3g")),
        (
            "top-1 agreement",
            f"{_figure(check.get('top1_agreement'), '.3f')} (needs {_figure(tolerance.get('min_top1'), 'g')})",
        ),
        ("compared", f"{check.get('positions', '-')} token positions of {check.get('prompts', '-')} prompts"),
        ("tokenizer", "identical" if check.get("tokens_match") else "DIFFERENT"),
    ]


def check_text(check: Mapping[str, Any]) -> str:
    """An hf export's ``check`` (``check_folder``) in one line, as the CLI prints it."""
    versions = " and ".join(f"transformers {v}" for v in check.get("versions") or [] if v)
    errors = [e for e in check.get("errors") or [] if e]
    if errors:
        return f"FAILED to load under {versions or 'the other environment'}: {errors[0]}"
    verdict = "passed" if check.get("passed") else "FAILED"
    return (
        f"{verdict} under {versions}: prompt ids agree on {_figure(check.get('tokens_agree'), '.0%')}, greedy "
        f"outputs on {_figure(check.get('outputs_agree'), '.0%')} of {check.get('prompts', '-')} prompts"
    )


@dataclass(frozen=True)
class ExportPanel:
    """One export or push job for the page: what it does, how far it is, what it produced."""

    job: jobs.JobInfo
    kind: str
    title: str
    stage: int | None
    stages: int | None
    message: str | None
    folder: str | None  # the export folder (once written, or the one pushed)
    format: str | None
    facts: list[tuple[str, str]]  # what was written
    files: list[str]
    verification: list[tuple[str, str]]
    verified: bool | None
    check: str | None
    hub: dict[str, Any] | None
    hub_error: str | None

    @property
    def percent(self) -> int | None:
        if not self.stages or self.stage is None:
            return None
        done = self.stage if not self.job.active else self.stage - 1
        return max(0, min(100, round(100 * done / self.stages)))

    @property
    def done(self) -> bool:
        return self.job.status == jobs.SUCCEEDED


def export_panel(job: jobs.JobInfo) -> ExportPanel:
    params, result, progress = job.params, job.result or {}, job.progress
    facts: list[tuple[str, str]] = []
    files: list[str] = []
    fmt = params.get("format")
    if job.kind == PUSH_KIND:
        title = f"push {Path(params.get('folder') or '').name} to {params.get('repo_id')}"
        folder = params.get("folder")
    else:
        quant = f" {params.get('quant')}" if params.get("quant") else ""
        title = (
            f"{params.get('name') or params.get('source')} as {'GGUF' if fmt == 'gguf' else 'a merged folder'}{quant}"
        )
        folder = params.get("out")
    if result and fmt == "hf":
        facts = [
            ("folder", str(result.get("out_dir"))),
            ("exported", f"{result.get('name')} ({result.get('source')}, task {result.get('task') or '-'})"),
        ]
        roles = result.get("files") or {}
        facts += [("model card", roles.get("card") or "-"), ("eval report", roles.get("report_html") or "none found")]
        files = sorted(set(roles.values()))
    elif result and fmt == "gguf":
        counts = result.get("type_counts") or {}
        facts = [
            ("file", str(result.get("path"))),
            ("quantization", f"{result.get('quant')} ({', '.join(f'{n} {t}' for t, n in counts.items())} tensors)"),
            ("size", _size(int(result.get("bytes") or 0))),
            ("converter", str(result.get("converter") or "builtin")),
            ("took", f"{result.get('seconds')} s"),
        ]
        folder = str(Path(result["path"]).parent) if result.get("path") else folder
    check = result.get("verification") or progress.get("verification")
    hub = result.get("hub")
    return ExportPanel(
        job=job,
        kind=job.kind,
        title=title,
        stage=progress.get("stage"),
        stages=progress.get("stages"),
        message=progress.get("message"),
        folder=folder,
        format=fmt,
        facts=facts,
        files=files,
        verification=verification_rows(check) if isinstance(check, Mapping) else [],
        verified=check.get("passed") if isinstance(check, Mapping) else None,
        check=check_text(result["check"]) if isinstance(result.get("check"), Mapping) else None,
        hub=hub if isinstance(hub, Mapping) else None,
        hub_error=result.get("hub_error") or result.get("hub_refused"),
    )


def recent_jobs(limit: int = RECENT) -> list[jobs.JobInfo]:
    """The newest export and push jobs, newest first."""
    found = [job for kind in KINDS for job in jobs.list_jobs(kind=kind, limit=limit)]
    return sorted(found, key=lambda job: job.id, reverse=True)[:limit]


def _export_job(job_id: int) -> jobs.JobInfo:
    job = jobs.get_job(job_id)
    if job.kind not in KINDS:
        raise ConfigError(f"job {job_id} is a {job.kind} job, not an export or a push; see /jobs")
    return job


# --- routes ----------------------------------------------------------------------------------------------


def _page(
    request: Request,
    form: ExportForm,
    *,
    error: str | None = None,
    push_error: str | None = None,
    push_folder: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    exports = list_exports()
    sources = export_sources(exports)
    return render(
        request,
        "export.html",
        status_code=status_code,
        form=form,
        error=error,
        push_error=push_error,
        push_folder=push_folder,
        sources=sources,
        offered=sum(len(items) for _, items in sources),
        formats=FORMATS,
        quants=QUANTS,
        k_quants=tuple(K_QUANTS),
        converters=CONVERTERS,
        llamacpp_ready=cached_tooling() is not None,
        hub=hub_status(),
        no_token=NO_TOKEN,
        exports=exports,
        export_jobs=[export_panel(job) for job in recent_jobs()],
    )


@router.get("/export", response_class=HTMLResponse)
def export_page(request: Request, source: str = "", format: str = "hf") -> HTMLResponse:
    """``?source=`` preselects a listed source (a run page's "Export it"), else fills the free field."""
    fmt = format if format in FORMATS else "hf"
    wanted = str(Path(source).expanduser().resolve()) if source and looks_like_path(source) else source
    listed = {s.value for _, items in export_sources() for s in items}
    if wanted in listed:
        return _page(request, ExportForm(source=wanted, format=fmt))
    return _page(request, ExportForm(source_path=source, format=fmt))


@router.post("/export")
async def export_submit(request: Request) -> Response:
    form = ExportForm.read(await request.form())
    try:
        job_id = start_export(form, current_settings(request))
    except BrewError as exc:
        return _page(request, form, error=str(exc), status_code=400)
    return RedirectResponse(f"/export/jobs/{job_id}", status_code=303)


@router.post("/export/push")
async def export_push(request: Request) -> Response:
    data = await request.form()
    folder = str(data.get("folder") or "")
    try:
        job_id = start_push(
            folder, str(data.get("repo_id") or ""), _ticked(data.get("private")), current_settings(request)
        )
    except BrewError as exc:
        return _page(request, ExportForm(), push_error=str(exc), push_folder=folder, status_code=400)
    return RedirectResponse(f"/export/jobs/{job_id}", status_code=303)


@router.get("/export/jobs/{job_id}", response_class=HTMLResponse)
def export_job_page(request: Request, job_id: int) -> HTMLResponse:
    return render(
        request,
        "export_job.html",
        export=export_panel(_export_job(job_id)),
        hub=hub_status(),
        no_token=NO_TOKEN,
        poll=POLL_SECONDS,
    )


@router.get("/export/jobs/{job_id}/panel", response_class=HTMLResponse)
def export_job_panel(request: Request, job_id: int) -> HTMLResponse:
    return render(
        request,
        "export_panel.html",
        export=export_panel(_export_job(job_id)),
        hub=hub_status(),
        no_token=NO_TOKEN,
        poll=POLL_SECONDS,
    )


@router.post("/export/jobs/{job_id}/cancel")
def export_job_cancel(request: Request, job_id: int) -> Response:
    _export_job(job_id)
    job = jobs.cancel_job(job_id)
    if is_htmx(request):
        return render(
            request,
            "export_panel.html",
            export=export_panel(job),
            hub=hub_status(),
            no_token=NO_TOKEN,
            poll=POLL_SECONDS,
        )
    return RedirectResponse(f"/export/jobs/{job_id}", status_code=303)


__all__ = [
    "ExportEntry",
    "ExportForm",
    "ExportPanel",
    "HubStatus",
    "Source",
    "export_entry",
    "export_panel",
    "export_sources",
    "finished_run_sources",
    "hub_status",
    "list_exports",
    "looks_like_path",
    "plan_export",
    "recipe_output_sources",
    "router",
    "start_export",
    "start_push",
    "verification_rows",
]
