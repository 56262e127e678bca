"""The Data tab: the import wizard, saved mappings with a one-click re-run, and the datasets with a
row browser.

Routes::

    GET  /data                           the wizard's first step, the saved mappings, the datasets
    POST /data/source                    a locator or an uploaded file -> its first raw rows, the
                                         introspector's ranked proposals and the field-map editor
    POST /data/editor                    the editor for a chosen proposal, or for another mapper
                                         (``guess``: that mapper's own guess of the field map)
    POST /data/assist                    let the teacher model choose a mapping (LLM assist; a local model
                                         or an OpenAI-compatible endpoint): a job
    POST /data/dry-run                   the edited mapping on a sample: accepted records and the
                                         rejections by reason, with examples
    POST /data/import                    import with the edited mapping: a job
    GET  /data/jobs/{id}/outcome         what a wizard job produced (polled while it runs)
    POST /data/mappings                  save the import a job ran as a named mapping
    POST /data/mappings/{name}/rerun     re-run a saved mapping: a job
    GET  /data/datasets/{name}           a dataset version: summary, the distribution of its main
                                         field per split as a bar chart (``distribution``), and rows,
                                         paged, per split or the rejected rows

Every step is a service the CLI calls: ``introspect`` (``brewslm data introspect``), ``plan_import``
and its dry run (``dry_run_plan``, the recipe check's too) for the preview, ``run_import`` and
``rerun_mapping`` as jobs (``brewslm data import`` / ``mappings rerun``), ``save_mapping``,
``list_mappings``, ``list_datasets`` and ``open_dataset`` (``data datasets`` / ``data preview``);
the form's field map and options are read by ``brewslm.options`` (``parse_field_map`` /
``parse_options``), as the CLI reads its flags.
Every locator passes ``access.check_locator`` before anything reads it, and uploads go through
``access.save_upload`` (size limit, safe names). Templates get plain values and only render them.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from brewslm.errors import ConfigError
from brewslm.ingestion import (
    ImportSpec,
    dry_run_plan,
    get_mapping,
    list_datasets,
    list_mappings,
    list_versions,
    open_dataset,
    plan_import,
    save_mapping,
)
from brewslm.ingestion.spec import ImportMode, SplitChoice
from brewslm.introspection import ACCEPT_THRESHOLD, OpenAITeacher, introspect
from brewslm.mappers import get_mapper, list_mappers
from brewslm.options import parse_field_map, parse_options
from brewslm.sources import open_source
from brewslm.sources.base import ParseFailure
from brewslm.sources.filebase import dataset_name_for
from brewslm.storage.datasets import SPLITS, dataset_name_from, validate_dataset_name
from brewslm.ui import jobs
from brewslm.ui.access import check_locator, check_path, safe_file_name, save_upload
from brewslm.ui.app import current_settings, render
from brewslm.ui.pages import json_text
from brewslm.ui.pages.distribution import MAX_RECORDS, bar_chart, dataset_distribution

router = APIRouter()

RAW_PREVIEW_ROWS = 10  # raw rows shown when a source is opened
EXAMPLES_PER_REASON = 3  # rejected sample rows shown per rejection reason in the dry run
ACCEPTED_EXAMPLES = 5  # accepted records shown in the dry run
EXTRA_MAP_ROWS = 2  # blank editor rows for source paths the sample's field list does not show
PAGE_ROWS = 20  # rows per page in the dataset row browser
REJECTED = "rejected"  # the row browser's pseudo-split for the rejected rows
WIZARD_JOB_KINDS = ("import", "rerun_mapping", "introspect")


# --- view models ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditorView:
    """The field-map editor: one row per source field (its canonical target, "" = not used)."""

    locator: str
    fields: list[str]  # the sample's source fields, carried through the wizard's steps
    mapper_id: str
    rows: list[tuple[str, str]]  # (source field, canonical field); blank rows last
    targets: list[str]  # the chosen mapper's canonical fields, for the inputs' suggestions
    required: list[str]
    option_docs: dict[str, str]
    options_text: str  # KEY=VALUE lines, as `brewslm data import --option`
    dataset: str
    dataset_default: str
    mode: str
    split: str
    split_group: str  # a source field whose rows share one split ("" = each row its own group)
    mappers: list[tuple[str, str]]  # (mapper id, task profile)
    modes: tuple[str, ...] = get_args(ImportMode)
    split_choices: tuple[str, ...] = get_args(SplitChoice)


@dataclass(frozen=True)
class MappingForm:
    """The editor's fields as posted; ``spec()`` is the import they describe."""

    locator: str
    mapper_id: str = ""
    pairs: list[tuple[str, str]] = field(default_factory=list)
    options_text: str = ""
    dataset: str = ""
    mode: str = "append"
    split: str = "auto"
    split_group: str = ""

    def field_map(self) -> dict[str, str]:
        return parse_field_map(f"{src.strip()}={dst.strip()}" for src, dst in self.pairs if src.strip() and dst.strip())

    def options(self) -> dict[str, Any]:
        return parse_options(line.strip() for line in self.options_text.splitlines() if line.strip())

    def spec(self) -> ImportSpec:
        return ImportSpec(
            locator=self.locator.strip(),
            mapper_id=self.mapper_id.strip() or None,
            field_map=self.field_map() or None,
            options=self.options(),
            dataset=self.dataset.strip() or None,
            mode=self.mode,
            split=self.split,
            split_group=self.split_group.strip() or None,
        )


def mapping_form(
    locator: str = Form(...),
    mapper_id: str = Form(""),
    src: list[str] = Form([]),
    dst: list[str] = Form([]),
    options: str = Form(""),
    dataset: str = Form(""),
    mode: str = Form("append"),
    split: str = Form("auto"),
    split_group: str = Form(""),
) -> MappingForm:
    if len(src) != len(dst):
        raise ConfigError(f"the field map form sent {len(src)} source fields but {len(dst)} targets; reload the page")
    return MappingForm(
        locator=locator,
        mapper_id=mapper_id,
        pairs=list(zip(src, dst)),
        options_text=options,
        dataset=dataset,
        mode=mode,
        split=split,
        split_group=split_group,
    )


def options_lines(options: dict[str, Any]) -> str:
    """Mapper options as the editor's KEY=VALUE lines (values as JSON, read back by ``parse_options``)."""
    return "\n".join(f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in options.items())


def editor_view(
    locator: str,
    fields: list[str],
    mapper_id: str,
    field_map: dict[str, str],
    options_text: str = "",
    *,
    dataset: str = "",
    dataset_default: str = "",
    mode: str = "append",
    split: str = "auto",
    split_group: str = "",
) -> EditorView:
    mapper = get_mapper(mapper_id)
    rows = [(name, field_map.get(name, "")) for name in fields]
    rows += [(src, dst) for src, dst in field_map.items() if src not in fields]
    rows += [("", "")] * EXTRA_MAP_ROWS
    return EditorView(
        locator=locator,
        fields=fields,
        mapper_id=mapper.id,
        rows=rows,
        targets=[spec.name for spec in mapper.fields],
        required=[spec.name for spec in mapper.fields if spec.required],
        option_docs=dict(mapper.options_doc),
        options_text=options_text,
        dataset=dataset,
        dataset_default=dataset_default,
        mode=mode,
        split=split,
        split_group=split_group,
        mappers=[(m.id, m.task_profile) for m in list_mappers()],
    )


@dataclass(frozen=True)
class DryRunView:
    """The dry run of an edited mapping over a sample of the source, as an import would map it."""

    locator: str
    mapper_id: str
    task_profile: str
    field_map: dict[str, str]
    dataset: str
    rows: int  # parsed sample rows the mapper ran on
    accepted: int
    records: int
    accept_rate: float
    examples: list[str]  # accepted records, as JSON text
    rejections: list[tuple[str, int, list[tuple[int, str, str]]]]  # (reason, count, [(row, detail, raw JSON)])
    unparseable: list[tuple[int, str]]  # (position, error) of sample rows the source could not parse
    unparseable_count: int


def preview_import(spec: ImportSpec) -> DryRunView:
    """Plan the import as ``run_import`` would (same checks, same resolved field map) and run the
    introspector's dry run over the same sample the plan checks the field map against."""
    plan = plan_import(spec)
    run = dry_run_plan(plan, keep_examples=max(ACCEPTED_EXAMPLES, EXAMPLES_PER_REASON))
    failures = [row for row in plan.sample if isinstance(row, ParseFailure)]
    return DryRunView(
        locator=plan.spec.locator,
        mapper_id=plan.mapper.id,
        task_profile=plan.profile.id,
        field_map=dict(plan.field_map),
        dataset=plan.dataset,
        rows=run.rows,
        accepted=run.accepted,
        records=run.records,
        accept_rate=run.accept_rate,
        examples=[json_text(record) for record in run.examples[:ACCEPTED_EXAMPLES]],
        rejections=[
            (
                reason,
                count,
                [
                    (item["row"], item["detail"], json_text(item["raw"]))
                    for item in run.rejected_examples.get(reason, [])[:EXAMPLES_PER_REASON]
                ],
            )
            for reason, count in run.rejections.most_common()
        ],
        unparseable=[(row.position, row.error) for row in failures[:EXAMPLES_PER_REASON]],
        unparseable_count=len(failures),
    )


def proposal_views(proposals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Proposals (``Proposal.to_dict()``) with their options as the editor's KEY=VALUE lines."""
    return [{**proposal, "options_text": options_lines(proposal.get("options") or {})} for proposal in proposals]


def raw_rows(locator: str, limit: int = RAW_PREVIEW_ROWS) -> list[str]:
    """The source's first rows as the connector reads them (a row it cannot parse: its error)."""
    rows = itertools.islice(open_source(locator).rows(), limit)
    return [
        f"line {row.position}: {row.error}: {row.raw}" if isinstance(row, ParseFailure) else json_text(row, indent=None)
        for row in rows
    ]


def mappings_view() -> list[dict[str, Any]]:
    return [mapping.to_dict() for mapping in list_mappings()]


def datasets_view() -> list[dict[str, Any]]:
    return [{**version.to_dict(), "rejected": version.counts.get("rejected_total", 0)} for version in list_datasets()]


# --- the page ------------------------------------------------------------------------------------


@router.get("/data", response_class=HTMLResponse)
def data_page(request: Request) -> HTMLResponse:
    return render(
        request,
        "data.html",
        mappings=mappings_view(),
        datasets=datasets_view(),
        recent=[job for job in jobs.list_jobs(limit=10) if job.kind in WIZARD_JOB_KINDS],
    )


# --- the wizard ----------------------------------------------------------------------------------


@router.post("/data/source", response_class=HTMLResponse)
async def open_source_step(
    request: Request, locator: str = Form(""), file: UploadFile | None = File(None)
) -> HTMLResponse:
    settings = current_settings(request)
    dataset_default = ""
    uploaded: Path | None = None
    if file is not None and file.filename:
        uploaded = await save_upload(file, settings)
        locator = f"file:{uploaded}"
        dataset_default = dataset_name_for(Path(safe_file_name(file.filename)))
    elif not locator.strip():
        raise ConfigError("give a locator (e.g. jsonl:data/train.jsonl) or choose a file to upload")
    locator = check_locator(locator.strip(), settings)
    try:
        result = await run_in_threadpool(introspect, locator, llm_assist=False)
    except Exception:
        if uploaded is not None:  # unreadable: no later step can use it, so it is not kept
            uploaded.unlink(missing_ok=True)
        raise
    proposals = proposal_views([proposal.to_dict() for proposal in result.proposals])
    chosen = proposals[0] if proposals else None  # the accepted one when there is one: it ranks first
    fields = list(result.profile.fields) if result.profile is not None else []
    # the name the import would pick; an upload's stored name carries a random prefix, so use the file's own
    dataset_default = dataset_default or dataset_name_from(open_source(result.locator).name)
    editor = None
    if chosen is not None:
        editor = editor_view(
            result.locator,
            fields,
            chosen["mapper_id"],
            chosen["field_map"],
            chosen["options_text"],
            dataset=dataset_default,
            dataset_default=dataset_default,
        )
    return render(
        request,
        "data_source.html",
        locator=result.locator,
        refined_from=result.refined_from,
        fields=fields,
        dataset_default=dataset_default,
        raw=await run_in_threadpool(raw_rows, result.locator),
        sample_rows=result.sample_rows,
        parse_failures=result.parse_failures,
        proposals=proposals,
        accepted=result.accepted.mapper_id if result.accepted else None,
        threshold=ACCEPT_THRESHOLD,
        warnings=result.warnings,
        editor=editor,
    )


@router.post("/data/editor", response_class=HTMLResponse)
def editor_step(
    request: Request,
    form: MappingForm = Depends(mapping_form),
    source_fields: list[str] = Form([], alias="field"),
    guess: str = Form(""),
    dataset_default: str = Form(""),
) -> HTMLResponse:
    check_locator(form.locator, current_settings(request))
    if guess:  # another mapper was picked: start from its own guess, its options are not the old ones
        field_map, options_text = get_mapper(form.mapper_id).default_field_map(source_fields), ""
    else:
        field_map, options_text = form.field_map(), form.options_text
    editor = editor_view(
        form.locator,
        source_fields,
        form.mapper_id,
        field_map,
        options_text,
        dataset=form.dataset or dataset_default,
        dataset_default=dataset_default,
        mode=form.mode,
        split=form.split,
        split_group=form.split_group,
    )
    return render(request, "data_editor.html", editor=editor)


@router.post("/data/assist", response_class=HTMLResponse)
def assist_step(
    request: Request,
    locator: str = Form(...),
    teacher: str = Form(""),
    teacher_url: str = Form(""),
    teacher_model: str = Form(""),
) -> HTMLResponse:
    settings = current_settings(request)
    params: dict[str, Any] = {"locator": check_locator(locator, settings), "llm_assist": True}
    if teacher_url.strip():  # an OpenAI-compatible endpoint; its key stays in the server's environment
        OpenAITeacher(teacher_url.strip())  # a malformed address is refused here, not by a failed job
        params["teacher"] = {"url": teacher_url.strip(), "model": teacher_model.strip() or None}
    elif teacher.strip():
        params["teacher"] = str(check_path(teacher.strip(), settings, what="teacher model folder"))
    return render(request, "data_job.html", job=jobs.get_job(jobs.submit_job("introspect", params)))


@router.post("/data/dry-run", response_class=HTMLResponse)
def dry_run_step(request: Request, form: MappingForm = Depends(mapping_form)) -> HTMLResponse:
    check_locator(form.locator, current_settings(request))
    return render(request, "data_dry_run.html", run=preview_import(form.spec()))


@router.post("/data/import", response_class=HTMLResponse)
def import_step(request: Request, form: MappingForm = Depends(mapping_form)) -> HTMLResponse:
    check_locator(form.locator, current_settings(request))
    spec = form.spec()
    if not spec.mapper_id:
        raise ConfigError("choose a mapper before importing")
    if spec.dataset:  # the name becomes a folder of the workspace: refused here, not by a failed job
        validate_dataset_name(spec.dataset)
    job_id = jobs.submit_job("import", spec.model_dump(mode="json", exclude_none=True))
    return render(request, "data_job.html", job=jobs.get_job(job_id))


@router.get("/data/jobs/{job_id}/outcome", response_class=HTMLResponse)
def job_outcome(request: Request, job_id: int) -> HTMLResponse:
    job = jobs.get_job(job_id)
    if job.kind not in WIZARD_JOB_KINDS:
        raise ConfigError(f"job {job_id} is a {job.kind} job, not one of the Data tab's")
    context: dict[str, Any] = {"job": job}
    if job.status == jobs.SUCCEEDED and job.kind == "introspect":
        result = job.result or {}
        assist = result.get("llm_assist") or {}
        proposals = result.get("proposals") or []
        teacher = assist.get("proposal")  # shown even when the gate turned it down: it may be nearly right
        if teacher and teacher not in proposals:
            proposals = [teacher, *proposals]
        context.update(
            proposals=proposal_views(proposals),
            assist=[(k, v) for k, v in assist.items() if isinstance(v, (str, int, float, bool))],
            accepted=(result.get("accepted") or {}).get("mapper_id"),
            threshold=ACCEPT_THRESHOLD,
        )
    elif job.status == jobs.SUCCEEDED:
        context.update(
            mappings=mappings_view(), datasets=datasets_view(), suggested_name=(job.result or {}).get("dataset", "")
        )
    return render(request, "data_outcome.html", **context)


# --- saved mappings ------------------------------------------------------------------------------


@router.post("/data/mappings", response_class=HTMLResponse)
def save_mapping_step(request: Request, job_id: int = Form(...), name: str = Form(...)) -> HTMLResponse:
    job = jobs.get_job(job_id)
    if job.kind != "import" or job.status != jobs.SUCCEEDED:
        raise ConfigError(f"job {job_id} is not a finished import; save a mapping after its import succeeded")
    saved = save_mapping(name.strip(), ImportSpec.model_validate(job.params))
    return render(request, "data_saved.html", saved=saved.to_dict(), mappings=mappings_view())


@router.post("/data/mappings/{name}/rerun", response_class=HTMLResponse)
def rerun_step(request: Request, name: str) -> HTMLResponse:
    mapping = get_mapping(name)  # an unknown name: the one-line error, before a job is queued
    # saved by the CLI or another UI, it may name files this UI must not read
    check_locator(mapping.locator, current_settings(request))
    job_id = jobs.submit_job("rerun_mapping", {"name": mapping.name})
    return render(request, "data_job.html", job=jobs.get_job(job_id))


# --- the row browser -----------------------------------------------------------------------------


@router.get("/data/datasets/{name}", response_class=HTMLResponse)
def dataset_page(
    request: Request, name: str, version: int | None = None, split: str = "train", page: int = 1
) -> HTMLResponse:
    if split not in (*SPLITS, REJECTED):
        raise ConfigError(f"unknown split '{split}'; choose one of {', '.join((*SPLITS, REJECTED))}")
    page = max(1, page)
    dataset = open_dataset(name, version)
    rows = dataset.iter_rejected() if split == REJECTED else dataset.iter_records(split)
    start = (page - 1) * PAGE_ROWS
    shown = list(itertools.islice(rows, start, start + PAGE_ROWS + 1))  # one more: is there a next page?
    counts = dataset.counts
    totals = {**(counts.get("splits") or {}), REJECTED: counts.get("rejected_total", 0)}
    if split == REJECTED:
        body = [
            {"row": r.get("row"), "reason": r.get("reason"), "detail": r.get("detail"), "raw": json_text(r.get("raw"))}
            for r in shown[:PAGE_ROWS]
        ]
    else:
        body = [{"record": json_text(record, indent=None)} for record in shown[:PAGE_ROWS]]
    manifest = dataset.manifest
    distribution = dataset_distribution(dataset)
    return render(
        request,
        "data_dataset.html",
        distribution=distribution,
        chart=bar_chart(distribution) if distribution else None,
        max_records=MAX_RECORDS,
        dataset_name=dataset.name,
        dataset_version=dataset.version,
        versions=list_versions(dataset.name),
        split=split,
        splits=[*SPLITS, REJECTED],
        totals=totals,
        page=page,
        first_row=start + 1,
        has_next=len(shown) > PAGE_ROWS,
        rows=body,
        manifest={
            "task_profile": manifest.get("task_profile"),
            "mapper_id": manifest.get("mapper_id"),
            "field_map": manifest.get("field_map") or {},
            "locator": (manifest.get("source") or {}).get("locator"),
            "created_at": manifest.get("created_at"),
            "records": counts.get("records"),
            "rejected_by_reason": counts.get("rejected") or {},
            "warnings": manifest.get("warnings") or [],
        },
    )
