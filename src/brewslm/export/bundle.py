"""The model bundle: everything a server (or an export) needs to know about a fine-tune, from
whatever the user points at.

    bundle = resolve_bundle("intent")            # a recipe name whose output folder exists
    bundle = resolve_bundle("runs/reviews-lora")  # a training run, an export folder, a model folder...
    bundle.model_dir, bundle.is_adapter, bundle.base_model   # what to load, and how
    bundle.task, bundle.context()                            # how to render prompts (as training did)
    bundle.serving.confidence_threshold                      # what the recipe's twist tuned for serving

``resolve_bundle(spec)`` accepts, in this order:

1. an export folder (``brewslm export`` wrote it; it holds ``brewslm_export.json``): the merged
   weights in the folder, the task, render context, recipe, serving settings and eval report the
   export recorded (``kind="export"``; a folder from the older ``export_merged`` has no task
   record beyond its render context and run - what it has is used);
2. a recipe output folder (``pipeline.json``): its train stage's run (the LoRA adapter over its
   base, so several recipes over one base can share it), its eval stage's report, and the serving
   settings its twist derives from the eval stage's twist section (``Twist.serving_settings``)
   (``kind="recipe"``);
3. a training run folder or run name (``run.json``; ``find_run``): its model folder, its newest
   ``<run>/eval/*/report.json`` (``kind="run"``);
4. a recipe name (built-in or a recipe file) whose default output folder
   (``recipes.config.default_out_dir``) holds a pipeline: as 2;
5. a plain Hugging Face model folder (``config.json``): no task, chat and completions only
   (``kind="model"``).

Anything else is a one-line ``ConfigError`` naming the spec and what was looked for.

Serving settings (``ServingSettings``): the classification fallback (``confidence_threshold`` and
``fallback_label``, from the intent_router twist), the field_match target schema
(``json_schema``: the json_constrained twist's ``schema`` when given, else the dataset manifest's
``output_schema.json_schema`` - the schema the field_match handler scores against), and rag_qa
retrieval (``retrieval``: the faq_rag twist's indexed chunks file, mode, top_k and candidates).
An export folder stores them in ``brewslm_export.json`` with the chunks file copied beside it,
so ``resolve_bundle(export_folder)`` gives the settings ``resolve_bundle(recipe_folder)`` gave.
Paths inside a bundle are absolute; an export record stores them relative to its folder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from brewslm.errors import ConfigError
from brewslm.output import read_json_object
from brewslm.recipes.config import STATE_FILE as PIPELINE_STATE
from brewslm.recipes.config import builtin_recipes, default_out_dir, load_recipe
from brewslm.recipes.twists import build_twist
from brewslm.retrieval.chunking import CHUNKS_FILE
from brewslm.storage.run_records import read_run
from brewslm.tasks.rendering import RenderContext
from brewslm.training.run import RUN_RECORD, find_run, finished_model_dir
from brewslm.workspace import home_dir

EXPORT_RECORD = "brewslm_export.json"  # the same file name training.merge writes
EXPORT_FORMAT = 2  # brewslm_export.json written by brewslm.export (1: training.export_merged's record)
REWRITE = "re-run the step that wrote it"  # how a broken pipeline.json or export record is mended

BUNDLE_KINDS = ("export", "recipe", "run", "model")


@dataclass(frozen=True)
class ServingSettings:
    """What a served fine-tune does beyond generating: see the module docstring for where each comes from."""

    confidence_threshold: float | None = None  # classification: below it, /v1/classify answers fallback_label
    fallback_label: str | None = None
    json_schema: dict[str, Any] | None = None  # field_match: the target object's JSON schema
    retrieval: dict[str, Any] | None = None  # rag_qa: {"chunks_file", "mode", "top_k", "candidates"}

    def to_dict(self) -> dict[str, Any]:
        return {
            "confidence_threshold": self.confidence_threshold,
            "fallback_label": self.fallback_label,
            "json_schema": self.json_schema,
            "retrieval": self.retrieval,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "ServingSettings":
        data = dict(data or {})
        unknown = sorted(set(data) - {"confidence_threshold", "fallback_label", "json_schema", "retrieval"})
        if unknown:
            raise ConfigError(
                f"serving settings: unknown key(s) {', '.join(unknown)}; known: confidence_threshold, "
                "fallback_label, json_schema, retrieval"
            )
        threshold = data.get("confidence_threshold")
        return cls(
            confidence_threshold=float(threshold) if threshold is not None else None,
            fallback_label=data.get("fallback_label"),
            json_schema=data.get("json_schema"),
            retrieval=dict(data["retrieval"]) if data.get("retrieval") else None,
        )


@dataclass(frozen=True)
class ModelBundle:
    """A servable model and what it was trained for (see the module docstring)."""

    name: str  # the id a server lists: run name, recipe name, or folder name
    kind: str  # one of BUNDLE_KINDS
    model_dir: Path  # merged/full weights folder, or the adapter folder of a LoRA run
    is_adapter: bool  # model_dir holds a peft adapter over base_model
    base_model: str | None  # the adapter's base (training.merge.base_model_source); None: merged/plain,
    #                         or an adapter over the default base (re-resolved here, as training would)
    task: str | None  # task profile id; None for a plain model (chat/completions only)
    scoring_mode: str | None
    render_context: dict[str, Any] | None  # RenderContext.to_dict()
    recipe: dict[str, Any] | None  # RecipeConfig.to_dict() when it came from a recipe
    eval_report: Path | None  # the fine-tune's report.json
    serving: ServingSettings = field(default_factory=ServingSettings)
    run_dir: Path | None = None

    def context(self) -> RenderContext | None:
        """The render context prompts are built with (None for a plain model)."""
        return RenderContext.from_dict(self.render_context) if self.render_context is not None else None


def default_export_dir(name: str, fmt: str, quant: str | None) -> Path:
    """Where an export goes unless told: ``<BREWSLM_HOME>/exports/<name>-<format>[-<quant>]`` (the
    CLI's ``brewslm export`` and the UI's Export page both ask here)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"
    return home_dir() / "exports" / "-".join(part for part in (slug, fmt, quant) if part)


# --- resolving -------------------------------------------------------------------------------------


def resolve_bundle(spec: str | Path) -> ModelBundle:
    """The bundle ``spec`` names (an export, recipe or run folder, a run or recipe name, a model folder)."""
    text = str(spec).strip()
    if not text:
        raise ConfigError("model spec is empty; give an export folder, recipe folder or name, run, or model folder")
    path = Path(text).expanduser()
    if (path / EXPORT_RECORD).is_file():
        return bundle_from_export(path)
    if (path / PIPELINE_STATE).is_file():
        return bundle_from_recipe_dir(path)
    run_dir = find_run(text)
    if run_dir is not None:
        return bundle_from_run(run_dir)
    recipe_dir = _recipe_out_dir(text)
    if recipe_dir is not None:
        return bundle_from_recipe_dir(recipe_dir)
    if (path / "config.json").is_file():
        return ModelBundle(
            name=path.resolve().name,
            kind="model",
            model_dir=path.resolve(),
            is_adapter=False,
            base_model=None,
            task=None,
            scoring_mode=None,
            render_context=None,
            recipe=None,
            eval_report=None,
            serving=ServingSettings(),
        )
    raise ConfigError(
        f"'{text}' is not an export folder ({EXPORT_RECORD}), recipe output folder ({PIPELINE_STATE}), "
        f"training run ({RUN_RECORD}) or run name, recipe name with a finished pipeline, or model "
        "folder (config.json); train or run a recipe first, or check the path"
    )


def bundle_from_run(
    run_dir: str | Path,
    *,
    name: str | None = None,
    recipe: Mapping[str, Any] | None = None,
    eval_report: Path | None = None,
    serving: ServingSettings | None = None,
    kind: str = "run",
) -> ModelBundle:
    """A finished training run as a bundle; the keyword arguments override what the run alone knows."""
    from brewslm.training.merge import base_model_source

    run_dir = Path(run_dir).expanduser().resolve()
    record = read_run(run_dir)
    model_dir = finished_model_dir(run_dir, record)
    context = dict(record.get("render_context") or {})
    task = (record.get("dataset") or {}).get("task_profile")
    is_adapter = record.get("model_kind") != "full"
    settings = serving if serving is not None else ServingSettings()
    return ModelBundle(
        name=name or str(record.get("name") or run_dir.name),
        kind=kind,
        model_dir=model_dir,
        is_adapter=is_adapter,
        base_model=base_model_source(record) if is_adapter else None,
        task=task,
        scoring_mode=context.get("scoring_mode"),
        render_context=context,
        recipe=dict(recipe) if recipe is not None else None,
        eval_report=eval_report if eval_report is not None else newest_eval_report(run_dir),
        serving=with_dataset_schema(settings, task, context.get("scoring_mode"), run_manifest(record)),
        run_dir=run_dir,
    )


def bundle_from_recipe_dir(out_dir: str | Path) -> ModelBundle:
    """A recipe output folder: its trained run, eval report and the twist's serving settings."""
    out_dir = Path(out_dir).expanduser().resolve()
    state = read_json_object(out_dir / PIPELINE_STATE, REWRITE)
    stages = state.get("stages") or {}
    trained = (stages.get("train") or {}).get("outputs") or {}
    if not trained.get("run_dir"):
        raise ConfigError(
            f"recipe folder {out_dir} has no trained model yet (its train stage has not finished); "
            "run the recipe to the end with 'brewslm run'"
        )
    evaluated = (stages.get("eval") or {}).get("outputs") or {}
    report = (evaluated.get("files") or {}).get("json")
    recipe = state.get("recipe")
    settings = twist_serving_settings(recipe, evaluated.get("twist") or {}, out_dir / "twist")
    return bundle_from_run(
        trained["run_dir"],
        name=(recipe or {}).get("name") or out_dir.name,
        recipe=recipe,
        eval_report=Path(report) if report and Path(report).is_file() else None,
        serving=settings,
        kind="recipe",
    )


def bundle_from_export(folder: str | Path) -> ModelBundle:
    """An export folder: merged weights plus what ``brewslm export`` recorded beside them."""
    folder = Path(folder).expanduser().resolve()
    record = read_json_object(folder / EXPORT_RECORD, REWRITE)
    context = record.get("render_context")
    serving = ServingSettings.from_dict(record.get("serving"))
    if serving.retrieval and serving.retrieval.get("chunks_file"):  # stored relative to the folder
        serving = replace(
            serving, retrieval={**serving.retrieval, "chunks_file": str(folder / serving.retrieval["chunks_file"])}
        )
    report = record.get("eval_report")
    task = record.get("task") or _task_of_run_record(record)
    scoring_mode = record.get("scoring_mode") or (context or {}).get("scoring_mode")
    if record.get("format") != EXPORT_FORMAT:  # export_merged's record: its run's dataset may still be there
        serving = with_dataset_schema(serving, task, scoring_mode, run_manifest(record))
    return ModelBundle(
        name=str(record.get("name") or record.get("run_name") or folder.name),
        kind="export",
        model_dir=folder,
        is_adapter=False,
        base_model=None,
        task=task,
        scoring_mode=scoring_mode,
        render_context=dict(context) if context is not None else None,
        recipe=record.get("recipe"),
        eval_report=folder / report if report and (folder / report).is_file() else None,
        serving=serving,
        run_dir=Path(record["run"]) if record.get("run") and Path(record["run"]).is_dir() else None,
    )


def export_record(
    bundle: ModelBundle,
    *,
    base_model: str | None,
    files: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``brewslm_export.json`` of an export folder made from ``bundle``: the bundle's fields with
    paths made relative to the folder (``eval_report`` -> "report.json" once copied there; the chunks
    file -> ``CHUNKS_FILE``). ``base_model`` is the base the merged weights came from (evaluation's
    default baseline reads it); ``extra`` adds provenance (run, dataset, method...)."""
    serving = bundle.serving.to_dict()
    if serving["retrieval"] and serving["retrieval"].get("chunks_file"):
        serving["retrieval"] = {**serving["retrieval"], "chunks_file": CHUNKS_FILE}
    return {
        "format": EXPORT_FORMAT,
        "name": bundle.name,
        "source_kind": bundle.kind,
        "task": bundle.task,
        "scoring_mode": bundle.scoring_mode,
        "render_context": bundle.render_context,
        "base_model": base_model,
        "merged_lora": bundle.is_adapter,
        "run": str(bundle.run_dir) if bundle.run_dir else None,
        "recipe": bundle.recipe,
        "eval_report": "report.json" if bundle.eval_report else None,
        "serving": serving,
        "files": dict(files or {}),
        **dict(extra or {}),
    }


# --- pieces ----------------------------------------------------------------------------------------


def twist_serving_settings(
    recipe: Mapping[str, Any] | None, section: Mapping[str, Any], twist_dir: Path
) -> ServingSettings:
    """The settings the recipe's twist derives from its eval-stage section (none without a twist)."""
    if not recipe or not recipe.get("twist"):
        return ServingSettings()
    twist = build_twist(recipe["twist"])
    return ServingSettings.from_dict(twist.serving_settings(section, twist_dir) if twist else {})


def with_dataset_schema(
    settings: ServingSettings, task: str | None, scoring_mode: str | None, manifest: Mapping[str, Any] | None
) -> ServingSettings:
    """field_match bundles without a recipe schema get the dataset's (the manifest's
    ``output_schema.json_schema``, which the field_match handler scores against too)."""
    if settings.json_schema is not None or task != "structured_extraction" or scoring_mode != "field_match":
        return settings
    schema = ((manifest or {}).get("output_schema") or {}).get("json_schema")
    return replace(settings, json_schema=dict(schema)) if schema else settings


def run_manifest(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The manifest of the dataset version a run trained on, when it still exists."""
    path = (record.get("dataset") or {}).get("path")
    manifest = Path(path) / "manifest.json" if path else None
    if manifest is None or not manifest.is_file():
        return None
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def newest_eval_report(run_dir: Path) -> Path | None:
    """The most recent ``<run>/eval/*/report.json`` (``brewslm eval``'s default output), if any."""
    reports = [p for p in (run_dir / "eval").glob("*/report.json") if p.is_file()]
    return max(reports, key=lambda p: (p.stat().st_mtime, str(p))) if reports else None


def _task_of_run_record(record: Mapping[str, Any]) -> str | None:
    dataset = record.get("dataset")
    return dataset.get("task_profile") if isinstance(dataset, Mapping) else None


def _recipe_out_dir(text: str) -> Path | None:
    """The default output folder of the recipe ``text`` names, when it holds a pipeline."""
    is_file = Path(text).expanduser().suffix in (".yaml", ".yml") and Path(text).expanduser().is_file()
    if text not in builtin_recipes() and not is_file:
        return None
    out = default_out_dir(load_recipe(text))
    return out if (out / PIPELINE_STATE).is_file() else None


__all__ = [
    "default_export_dir",
    "BUNDLE_KINDS",
    "EXPORT_RECORD",
    "ModelBundle",
    "ServingSettings",
    "bundle_from_export",
    "bundle_from_recipe_dir",
    "bundle_from_run",
    "export_record",
    "newest_eval_report",
    "resolve_bundle",
    "run_manifest",
    "twist_serving_settings",
    "with_dataset_schema",
]
