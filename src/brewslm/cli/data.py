"""``brewslm data ...``: introspect sources, import them into versioned datasets, audit the imports.

The library calls are imported inside each command so ``brewslm --help`` stays quick.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from typing import Any

from brewslm import mappers as mapper_registry
from brewslm import sources as source_registry
from brewslm.cli.command import Command
from brewslm.cli.options import json_flag, model_option, option
from brewslm.cli.progress import import_progress
from brewslm.errors import BrewError, ConfigError, MapperError
from brewslm.export.dataset_card import write_dataset_folder
from brewslm.export.hub import check_repo_id, push_folder
from brewslm.ingestion.spec import ImportSpec
from brewslm.introspection import introspect as run_introspection
from brewslm.introspection import llm_assist_enabled
from brewslm.mappers import list_mappers, plugin_errors
from brewslm.options import parse_field_map, parse_options
from brewslm.output import SPLITS, counts, key_values, table, to_jsonable, when

LOCATOR_HELP = ImportSpec.model_fields["locator"].description


def _positive(name: str, value: int) -> int:
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


# --- introspect ----------------------------------------------------------------------------------

LLM_ASSIST_HELP = (
    "When no proposal reaches the 0.8 gate, let a teacher model choose among candidate mappings built from "
    "the sample; its choice goes through the same gate (default: the DATASET_IMPORT_LLM_ASSIST_ENABLED "
    "environment variable)."
)
TEACHER_HELP = "Teacher model for --llm-assist: a local Hugging Face model folder (default: the embedded SmolLM2)."
TEACHER_URL_HELP = (
    "Teacher for --llm-assist: an OpenAI-compatible endpoint instead of the local model (a local Ollama, "
    "vLLM or llama.cpp server, or a hosted API), e.g. http://localhost:11434/v1; its key is read from "
    "BREWSLM_TEACHER_API_KEY, else OPENAI_API_KEY (never printed)."
)
TEACHER_MODEL_HELP = "Model name at --teacher-url (default: the first model the server lists)."


def teacher_setting(path: str | None, url: str | None, model: str | None) -> str | dict[str, Any] | None:
    """What ``introspect(teacher=...)`` takes: an endpoint as ``{"url", "model"}`` (the key stays in
    the environment), else the local model folder (None: the embedded one)."""
    if url:
        if path:
            raise ConfigError("give --teacher (a local model) or --teacher-url (an endpoint), not both")
        return {"url": url, "model": model}
    if model:
        raise ConfigError("--teacher-model names a model at --teacher-url; give the endpoint too")
    return path


@dataclass(kw_only=True)
class IntrospectOptions:
    locator: str = option(LOCATOR_HELP)
    llm_assist: bool | None = option(LLM_ASSIST_HELP, default=None)
    teacher: str | None = option(TEACHER_HELP, default=None, metavar="PATH")
    teacher_url: str | None = option(TEACHER_URL_HELP, default=None, metavar="URL")
    teacher_model: str | None = option(TEACHER_MODEL_HELP, default=None, metavar="NAME")
    sample_size: int = option(
        "Rows sampled for sniffing: the first rows plus a seeded reservoir.", default=2000, metavar="N"
    )
    json: bool = json_flag()


def introspect(opts: IntrospectOptions) -> dict[str, Any]:
    """Propose mappers and field maps for a source, best first, with confidence and evidence.

    A proposal at confidence >= 0.8 that passes a dry run on the sample is accepted; 'data import'
    without --mapper uses it.
    """

    result = run_introspection(
        opts.locator,
        sample_size=_positive("--sample-size", opts.sample_size),
        llm_assist=opts.llm_assist,
        teacher=teacher_setting(opts.teacher, opts.teacher_url, opts.teacher_model),
    )
    return to_jsonable(result)


def _field_map_text(field_map: dict[str, str]) -> str:
    return ", ".join(f"{src}={dst}" for src, dst in field_map.items()) or "-"


def render_introspection(result: dict[str, Any]) -> str:
    lines = [
        key_values(
            [
                ("source", result["locator"]),
                ("sampled", f"{result['sample_rows']} rows, {result['parse_failures']} unparseable"),
            ]
        ),
        "",
    ]
    accepted = result.get("accepted")
    for rank, proposal in enumerate(result["proposals"], 1):
        mark = "  accepted" if accepted and rank == 1 and proposal["mapper_id"] == accepted["mapper_id"] else ""
        lines.append(f"{rank}. {proposal['mapper_id']}  {proposal['confidence']:.2f}{mark}")
        lines.append(f"   field map: {_field_map_text(proposal['field_map'])}")
        if proposal.get("options"):
            lines.append(f"   options: {json.dumps(proposal['options'], ensure_ascii=False)}")
        lines += [f"   - {line}" for line in proposal.get("evidence") or []]
    if not result["proposals"]:
        lines.append("no mapper fits this sample")
    lines += [f"warning: {w}" for w in result.get("warnings") or []]
    assist = result.get("llm_assist")
    if assist:
        lines += [
            "",
            "llm assist: "
            + ", ".join(f"{k}={v}" for k, v in assist.items() if v is not None and not isinstance(v, (dict, list))),
        ]
    lines.append("")
    if accepted:
        argv = ["brewslm", "data", "import", "--locator", result["locator"], "--mapper", accepted["mapper_id"]]
        if accepted["field_map"]:
            argv += ["--field-map", *(f"{src}={dst}" for src, dst in accepted["field_map"].items())]
        argv += [f"--option={key}={json.dumps(value)}" for key, value in (accepted.get("options") or {}).items()]
        lines.append("next: " + shlex.join(argv))
    else:
        lines.append(
            "no proposal reached 0.8: choose one with 'brewslm data import --mapper ID --field-map SRC=DST', "
            "or try --llm-assist"
        )
    return "\n".join(lines)


# --- import --------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class ImportOptions:
    # the import settings' help is written once, on ImportSpec's fields
    locator: str = model_option(ImportSpec, "locator")
    mapper: str | None = model_option(ImportSpec, "mapper_id", metavar="ID")
    field_map: list[str] = model_option(ImportSpec, "field_map", default=[], metavar="SRC=DST")
    options: list[str] = model_option(ImportSpec, "options", default=[], metavar="KEY=VALUE", flag="--option")
    dataset: str | None = model_option(ImportSpec, "dataset", metavar="NAME")
    mode: str = model_option(ImportSpec, "mode")
    split: str = model_option(ImportSpec, "split")
    seed: int = model_option(ImportSpec, "seed")
    split_group: str | None = model_option(ImportSpec, "split_group", metavar="FIELD")
    drop_reasons: list[str] = model_option(ImportSpec, "drop_reasons", metavar="CODE", flag="--drop-reason")
    format: str = model_option(ImportSpec, "format")
    llm_assist: bool | None = option(
        "Without --mapper: " + LLM_ASSIST_HELP[0].lower() + LLM_ASSIST_HELP[1:], default=None
    )
    teacher: str | None = option(TEACHER_HELP, default=None, metavar="PATH")
    teacher_url: str | None = option(TEACHER_URL_HELP, default=None, metavar="URL")
    teacher_model: str | None = option(TEACHER_MODEL_HELP, default=None, metavar="NAME")
    save_as: str | None = option(
        "Also save this import as a named mapping (locator, mapper, field map, options...) and run it by "
        "that name; re-run it later with 'brewslm data mappings rerun NAME'.",
        default=None,
        metavar="NAME",
    )
    json: bool = json_flag()


def import_(opts: ImportOptions) -> dict[str, Any]:
    """Import a source into a new version of a dataset: stream rows through a mapper, keep the rejected ones.

    Rows are streamed (constant memory), mapped to canonical records, checked against the mapper's
    task profile, de-duplicated by content hash and split; rejected rows are saved beside the
    dataset with their reason. A failed import leaves the previous version intact. With --save-as
    the mapping is saved (validated and resolved) and run by name; if the import fails it is not kept.
    """
    from brewslm.ingestion import ImportSpec, run_import

    locator, mapper_id = opts.locator, opts.mapper
    field_map, options = parse_field_map(opts.field_map) or None, parse_options(opts.options)
    teacher = teacher_setting(opts.teacher, opts.teacher_url, opts.teacher_model)
    if mapper_id is None and (opts.llm_assist or teacher is not None):
        if not llm_assist_enabled(opts.llm_assist):
            raise ConfigError(
                "--teacher, --teacher-url and --teacher-model choose the teacher for --llm-assist; add it"
            )
        locator, mapper_id, field_map, options = _assisted_mapping(locator, teacher, field_map, options)
    spec = ImportSpec(
        locator=locator,
        mapper_id=mapper_id,
        field_map=field_map,
        options=options,
        dataset=opts.dataset,
        mode=opts.mode,
        split=opts.split,
        seed=opts.seed,
        split_group=opts.split_group,
        drop_reasons=opts.drop_reasons,
        format=opts.format,
    )
    if opts.save_as:
        return _import_as_saved_mapping(opts.save_as, spec)
    with import_progress(f"importing {opts.locator}") as progress:
        return to_jsonable(run_import(spec, progress=progress))


def _assisted_mapping(
    locator: str, teacher: Any, field_map: dict[str, str] | None, options: dict[str, Any]
) -> tuple[str, str, dict[str, str] | None, dict[str, Any]]:
    """The mapping introspection with LLM assist accepts (your --field-map and --option win), or a
    one-line error saying why none was."""

    result = run_introspection(locator, llm_assist=True, teacher=teacher)
    if result.accepted is None:
        why = (result.llm_assist or {}).get("reason") or "no teacher was asked"
        raise MapperError(
            f"no proposal reached 0.8, the teacher's neither ({why}); pass a mapper id (--mapper) and a field map"
        )
    accepted = result.accepted
    return result.locator, accepted.mapper_id, field_map or dict(accepted.field_map), {**accepted.options, **options}


def _import_as_saved_mapping(name: str, spec: Any) -> dict[str, Any]:
    from brewslm.ingestion import delete_mapping, rerun_mapping, save_mapping

    saved = to_jsonable(save_mapping(name, spec))
    try:
        with import_progress(f"importing {spec.locator}") as progress:
            result = to_jsonable(rerun_mapping(name, progress=progress))
    except BrewError as exc:
        # A mapping that never ran successfully would block re-trying the same command.
        delete_mapping(name)
        raise type(exc)(f"{exc}; mapping '{name}' was not saved") from exc
    except BaseException:
        delete_mapping(name)
        raise
    result["saved_mapping"] = saved
    return result


def render_import(result: dict[str, Any]) -> str:
    rows = [
        ("dataset", f"{result['dataset']} v{result['version']}"),
        ("path", result["path"]),
        ("task profile", result["task_profile"]),
        ("mapper", f"{result['mapper_id']} ({_field_map_text(result['manifest'].get('field_map') or {})})"),
        ("rows read", result["rows_read"]),
        ("accepted", result["accepted"]),
        ("duplicates", result["duplicates"]),
        ("rejected", counts(result["rejected_counts"])),
        ("records", f"{result['records']} ({counts(result['split_counts'], SPLITS)})"),
    ]
    if result["rejected"]:
        rows.append(("rejected rows", result["rejected_path"]))
    if result.get("saved_mapping"):
        rows.append(("saved mapping", result["saved_mapping"]["name"]))
    lines = [key_values(rows)] + [f"warning: {w}" for w in result.get("warnings") or []]
    return "\n".join(lines)


# --- saved mappings ------------------------------------------------------------------------------


@dataclass(kw_only=True)
class ListOptions:
    json: bool = json_flag()


@dataclass(kw_only=True)
class MappingNameOptions:
    name: str = option("Name of the saved mapping (see 'brewslm data mappings list').", positional=True)
    json: bool = json_flag()


def mappings_list(opts: ListOptions) -> list[dict[str, Any]]:
    """List saved mappings with their last run."""
    from brewslm.ingestion import list_mappings

    return to_jsonable(list_mappings())


def render_mappings(mappings: list[dict[str, Any]]) -> str:
    if not mappings:
        return "no saved mappings; save one with 'brewslm data import ... --save-as NAME'"
    return table(
        ["name", "locator", "mapper", "last run (UTC)", "accepted"],
        [(m["name"], m["locator"], m["mapper_id"], when(m["last_run_at"]), m["last_run_accepted"]) for m in mappings],
    )


def mappings_show(opts: MappingNameOptions) -> dict[str, Any]:
    """Show one saved mapping: locator, mapper, field map, options, last run."""
    from brewslm.ingestion import get_mapping

    return to_jsonable(get_mapping(opts.name))


def render_mapping(mapping: dict[str, Any]) -> str:
    return key_values(
        (k, _field_map_text(v) if k == "field_map" and isinstance(v, dict) else v) for k, v in mapping.items()
    )


def mappings_history(opts: MappingNameOptions) -> list[dict[str, Any]]:
    """Show every saved revision of a mapping, oldest first."""
    from brewslm.ingestion import mapping_history

    return to_jsonable(mapping_history(opts.name))


def render_history(revisions: list[dict[str, Any]]) -> str:
    return table(
        ["version", "change", "saved (UTC)", "by", "mapper", "field map"],
        [
            (
                r["version"],
                r["change"],
                when(r["saved_at"]),
                r["saved_by"],
                r["definition"].get("mapper_id"),
                _field_map_text(r["definition"].get("field_map") or {}),
            )
            for r in revisions
        ],
        width=80,
    )


@dataclass(kw_only=True)
class RerunOptions:
    name: str = option("Name of the saved mapping (see 'brewslm data mappings list').", positional=True)
    force: bool = option(
        "Import even when the source and the mapping are unchanged since the version the "
        "mapping last wrote (that import only re-counts the same rows as duplicates).",
        default=False,
    )
    json: bool = json_flag()


def mappings_rerun(opts: RerunOptions) -> dict[str, Any]:
    """Re-run a saved mapping: import its locator again with its mapper and field map.

    When the source (its fingerprint: size and modification time for files) and the mapping are
    unchanged since the dataset version the mapping last wrote, nothing is written (--force imports anyway).
    """
    from brewslm.ingestion import rerun_mapping

    with import_progress(f"re-running {opts.name}") as progress:
        return to_jsonable(rerun_mapping(opts.name, progress=progress, force=opts.force))


def render_rerun(result: dict[str, Any]) -> str:
    if result.get("unchanged"):
        return f"{result['message']}; 'brewslm data mappings rerun {result['name']} --force' imports it anyway"
    return render_import(result)


@dataclass(kw_only=True)
class EditOptions:
    name: str = option("Name of the saved mapping to edit.", positional=True)
    locator: str | None = option("New locator.", default=None, metavar="LOCATOR")
    mapper: str | None = option(
        "New mapper id (without --field-map the field map is guessed anew).", default=None, metavar="ID"
    )
    field_map: list[str] = option(
        "New field map, SOURCE=CANONICAL ... (replaces the saved one).", default=[], metavar="SRC=DST"
    )
    options: list[str] = option(
        "New mapper options KEY=VALUE ... (replace the saved ones).", default=[], metavar="KEY=VALUE", flag="--option"
    )
    dataset: str | None = option("New target dataset name.", default=None, metavar="NAME")
    mode: str | None = option("New import mode.", default=None, choices=("append", "replace"))
    split: str | None = option("New split policy.", default=None, choices=("auto", "train", "validation", "test"))
    drop_reasons: list[str] = option(
        "New expected rejection reasons (replace the saved ones).", default=[], metavar="CODE", flag="--drop-reason"
    )
    json: bool = json_flag()


def mappings_edit(opts: EditOptions) -> dict[str, Any]:
    """Edit a saved mapping: the new definition is validated against its source and saved as a new version.

    Only the settings given change; the previous definition stays in 'brewslm data mappings history'.
    """
    from brewslm.ingestion import update_mapping

    changes: dict[str, Any] = {
        key: value
        for key, value in {
            "locator": opts.locator,
            "mapper_id": opts.mapper,
            "field_map": parse_field_map(opts.field_map) or None,
            "options": parse_options(opts.options) or None,
            "dataset": opts.dataset,
            "mode": opts.mode,
            "split": opts.split,
            "drop_reasons": opts.drop_reasons or None,
        }.items()
        if value is not None
    }
    if not changes:
        raise ConfigError(f"nothing to change in mapping '{opts.name}'; give e.g. --field-map or --locator")
    return to_jsonable(update_mapping(opts.name, **changes))


def mappings_delete(opts: MappingNameOptions) -> dict[str, Any]:
    """Delete a saved mapping (its datasets and audit events stay)."""
    from brewslm.ingestion import delete_mapping

    delete_mapping(opts.name)
    return {"deleted": opts.name}


# --- events --------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class EventsOptions:
    stage: str | None = option("Only events of this stage, e.g. ingestion.", default=None)
    reason: str | None = option(
        "Only events with this reason code, e.g. dataset_import_failed.", default=None, metavar="CODE"
    )
    mapping: str | None = option(
        "Only events of this saved mapping: its runs and its changes.", default=None, metavar="NAME"
    )
    limit: int = option("Most recent events to show.", default=20, metavar="N")
    json: bool = json_flag()


def events(opts: EventsOptions) -> list[dict[str, Any]]:
    """Show the audit log, newest first: import runs (dataset_import_run, dataset_import_failed) and changes
    to saved mappings (mapping_saved, mapping_updated, mapping_deleted)."""
    from brewslm.ingestion import list_events

    return to_jsonable(
        list_events(
            stage=opts.stage, reason_code=opts.reason, mapping=opts.mapping, limit=_positive("--limit", opts.limit)
        )
    )


def _event_outcome(payload: dict[str, Any]) -> str:
    if payload.get("error"):
        return str(payload["error"])
    if "accepted_count" in payload:
        return f"{payload['accepted_count']} accepted; rejected: {counts(payload.get('rejection_counts'))}"
    return ", ".join(f"{k} {v}" for k, v in payload.items() if isinstance(v, (str, int, float)))


def render_events(items: list[dict[str, Any]]) -> str:
    if not items:
        return "no events"
    rows = [
        (
            e["id"],
            when(e["created_at"]),
            e["reason_code"],
            e["actor"],
            e.get("dataset"),
            e.get("config_id"),
            e["payload"].get("mapper_id"),
            _event_outcome(e["payload"]),
        )
        for e in items
    ]
    return table(["id", "time (UTC)", "reason", "actor", "dataset", "mapping", "mapper", "outcome"], rows, width=70)


# --- datasets ------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class PreviewOptions:
    dataset: str = option("Dataset name (see 'brewslm data datasets').", positional=True)
    version: int | None = option("Dataset version (default: the latest).", default=None, metavar="N")
    split: str | None = option(
        "Only records of this split (default: all, in this order).",
        default=None,
        choices=("train", "validation", "test"),
    )
    rows: int = option("Records to show.", default=10, metavar="N")
    rejected: bool = option("Show the rejected rows with their reason instead of the records.", default=False)
    json: bool = json_flag()


def preview(opts: PreviewOptions) -> dict[str, Any]:
    """Show a dataset version's manifest summary and its first records (or its rejected rows)."""
    import itertools

    from brewslm.ingestion import open_dataset

    limit = _positive("--rows", opts.rows)
    if opts.rejected and opts.split:
        raise ConfigError("--split does not apply to --rejected: rejected rows belong to no split")
    version = open_dataset(opts.dataset, opts.version)
    if opts.rejected:
        rows = list(itertools.islice(version.iter_rejected(), limit))
    else:
        rows = list(itertools.islice(version.iter_records(opts.split), limit))
    manifest = to_jsonable(version.manifest)
    return {
        "dataset": version.name,
        "version": version.version,
        "split": opts.split,
        "kind": "rejected" if opts.rejected else "records",
        "manifest": manifest,
        "rows": to_jsonable(rows),
    }


def render_preview(result: dict[str, Any]) -> str:
    manifest = result["manifest"]
    totals = manifest.get("counts") or {}
    summary = {k: v for k, v in (manifest.get("summary") or {}).items() if not isinstance(v, (dict, list))}
    head = key_values(
        [
            ("dataset", f"{result['dataset']} v{result['version']}"),
            ("task profile", manifest.get("task_profile")),
            ("source", (manifest.get("source") or {}).get("locator")),
            ("mapper", f"{manifest.get('mapper_id')} ({_field_map_text(manifest.get('field_map') or {})})"),
            ("records", f"{totals.get('records')} ({counts(totals.get('splits'), SPLITS)})"),
            ("rejected", counts(totals.get("rejected"))),
            ("summary", ", ".join(f"{k} {v}" for k, v in summary.items()) or None),
            ("created", when(manifest.get("created_at"))),
        ]
    )
    if not result["rows"]:
        body = "no rejected rows" if result["kind"] == "rejected" else "no records"
    else:
        body = "\n".join(json.dumps(r, ensure_ascii=False) for r in result["rows"])
    return f"{head}\n\n{body}"


def datasets(opts: ListOptions) -> list[dict[str, Any]]:
    """List datasets with their latest version, task profile and record count."""
    from brewslm.ingestion import list_datasets

    return to_jsonable(list_datasets())


def render_datasets(items: list[dict[str, Any]]) -> str:
    if not items:
        return "no datasets; import one with 'brewslm data import --locator ...'"
    return table(
        ["name", "version", "task profile", "records", "created (UTC)"],
        [(d["name"], d["version"], d["task_profile"], d["records"], when(d["created_at"])) for d in items],
    )


# --- catalogues ----------------------------------------------------------------------------------


def mappers(opts: ListOptions) -> list[dict[str, Any]]:
    """List the mappers: id, task profile, the canonical fields each fills (* = required) and its options."""

    catalogue = [m.describe() for m in list_mappers()]
    for line in plugin_errors():
        print(f"warning: {line}", file=sys.stderr)
    return to_jsonable(catalogue)


def render_mappers(items: list[dict[str, Any]]) -> str:
    blocks = []
    for m in items:
        fields = ", ".join(f"{f['name']}{'*' if f.get('required') else ''}" for f in m.get("fields", []))
        lines = [f"{m['id']}  ({m['task_profile']})", f"  {m['description']}", f"  fields: {fields}  (* required)"]
        lines += [f"  option {name}: {doc}" for name, doc in (m.get("options") or {}).items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def sources(opts: ListOptions) -> dict[str, Any]:
    """List the locator schemes that can be imported, and plugins that failed to load."""

    return {
        "sources": source_registry.known_sources(),
        "plugin_errors": source_registry.plugin_errors() + mapper_registry.plugin_errors(),
    }


def render_sources(result: dict[str, Any]) -> str:
    lines = ["known locator schemes: " + ", ".join(result["sources"])]
    lines += [f"plugin error: {e}" for e in result["plugin_errors"]]
    return "\n".join(lines)


@dataclass(kw_only=True)
class PushOptions:
    dataset: str = option("Dataset name (see 'brewslm data datasets').", positional=True)
    to_hub: str = option(
        "Hugging Face Hub dataset repository, ORG/NAME (created when missing; token from HF_TOKEN or "
        "`hf auth login`; HF_ENDPOINT for a mirror).",
        metavar="ORG/NAME",
    )
    version: int | None = option("Dataset version (default: the latest).", default=None, metavar="N")
    private: bool = option("Create the repository as private.", default=False)
    json: bool = json_flag()


def push(opts: PushOptions) -> dict[str, Any]:
    """Publish a dataset version on the Hugging Face Hub: one Parquet file per split and a dataset
    card with the source, the mapping, the split policy and what the import rejected (rejected rows
    themselves stay in the workspace). One commit; `datasets.load_dataset(ORG/NAME)` reads it."""
    import tempfile
    from pathlib import Path

    from brewslm.ingestion import open_dataset

    check_repo_id(opts.to_hub)
    version = open_dataset(opts.dataset, opts.version)
    with tempfile.TemporaryDirectory(prefix="brewslm-push-") as tmp:
        written = write_dataset_folder(version, Path(tmp) / "dataset")
        pushed = push_folder(
            Path(written["folder"]),
            opts.to_hub,
            repo_type="dataset",
            private=opts.private,
            commit_message=f"Upload {version.name} v{version.version} with BrewSLM",
            progress=lambda line: print(line, file=sys.stderr),
        )
    return {
        "dataset": version.name,
        "version": version.version,
        "splits": written["splits"],
        "json_columns": written["json_columns"],
        "hub": pushed.to_dict(),
    }


def render_push(result: dict[str, Any]) -> str:
    hub = result["hub"]
    return key_values(
        [
            ("pushed", f"{result['dataset']} v{result['version']} -> {hub['url']}"),
            ("splits", counts(result["splits"], SPLITS)),
            ("files", ", ".join(hub["files"])),
            ("commit", hub["commit"]),
            *(
                [("as JSON text", "; ".join(f"{k}: {', '.join(v)}" for k, v in result["json_columns"].items()))]
                if result["json_columns"]
                else []
            ),
        ]
    )


COMMANDS: dict[str, Any] = {
    "introspect": Command(introspect, IntrospectOptions, render_introspection),
    "import": Command(import_, ImportOptions, render_import),
    "mappings": {
        "help": "Saved mappings: list, show, history, rerun, delete.",
        "list": Command(mappings_list, ListOptions, render_mappings),
        "show": Command(mappings_show, MappingNameOptions, render_mapping),
        "history": Command(mappings_history, MappingNameOptions, render_history),
        "rerun": Command(mappings_rerun, RerunOptions, render_rerun),
        "edit": Command(mappings_edit, EditOptions, render_mapping),
        "delete": Command(mappings_delete, MappingNameOptions, lambda r: f"deleted mapping '{r['deleted']}'"),
    },
    "events": Command(events, EventsOptions, render_events),
    "preview": Command(preview, PreviewOptions, render_preview),
    "datasets": Command(datasets, ListOptions, render_datasets),
    "mappers": Command(mappers, ListOptions, render_mappers),
    "sources": Command(sources, ListOptions, render_sources),
    "push": Command(push, PushOptions, render_push),
}
