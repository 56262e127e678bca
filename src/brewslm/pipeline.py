"""``brewslm run RECIPE``: import -> (twist data) -> train -> evaluate base and fine-tune -> export,
resumable stage by stage.

This module runs a recipe end to end, so it sits above ``export`` in the package order
(docs/architecture.md): ``brewslm.recipes`` says what a recipe is (its config, its twist) and
``brewslm.export`` reads a recipe's output folder; only this module uses both.

    result = run_recipe(load_recipe("sentiment"), base_model="/models/tiny", out_dir="runs/sentiment")
    result.stages["train"]["status"]      # "ran" or "skipped"
    result.report, result.export_dir, result.report_html

Before anything slow, ``check_recipe`` opens the data, checks the mapper and field map against the
first rows and dry-runs the mapper on them (zero mapped rows is an error naming the top rejection
reasons), so a typo or a wrong field map fails in about a second with one line. The recipe itself
(unknown keys, bad train/eval/twist options, bad gates) was checked when it was loaded.

State lives in ``<out>/pipeline.json``: per stage its input fingerprint and its outputs. A
stage's fingerprint is the sha256 of its recipe sections and its upstream stages' output
content hashes (the dataset version's ``content_hash``, the trained weights' bytes), so a re-run
skips every stage whose fingerprint is unchanged and whose outputs still exist, and a failed run
restarts at the stage that failed. Stages:

- ``data``: the import (a new version of the recipe's dataset), then ``data.test_locator``'s rows
  appended to the test split, and the twist's ``prepare_data``; fingerprint: data + twist sections
  and the source files' bytes (their locators, for remote sources).
- ``train``: fine-tune into ``<out>/runs/<fingerprint>``; fingerprint: train + twist sections,
  the base model and the data's content hash.
- ``eval``: base and fine-tune (and the task's cheap baselines, fitted on the train split) on the
  same held-out rows into ``<out>/eval/<fingerprint>``, then the twist's ``after_eval``; one log
  line names the strongest baseline and the lift over it (``baseline_line``); fingerprint: eval +
  twist sections and the weights' hash.
- ``export``: the merged model into ``<out>/model`` with its model card, recipe and eval report
  (``brewslm.export.export_hf``); fingerprint: export section, the weights, the eval stage and
  the recipe (the card describes it). A failed gate stops the run before it (status ``blocked``,
  the report still written) unless ``export_anyway``: then the card says the gates failed.

``pipeline.json`` also keeps the recipe as run (``"recipe"``), so ``brewslm serve <out>`` and
``brewslm export <out>`` know the twist's serving settings (``brewslm.export.resolve_bundle``).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from brewslm.base_models import default_base_model
from brewslm.errors import ConfigError, MapperError
from brewslm.output import to_jsonable
from brewslm.recipes.config import STATE_FILE, RecipeConfig, default_out_dir, resolve_locator
from brewslm.recipes.twists import RecipeContext, Twist
from brewslm.sources.base import Locator

STATE_VERSION = 1
STAGES = ("data", "train", "eval", "export")
TOP_REASONS = 3  # rejection reasons a zero-rows error names

Log = Callable[[str], None]


# --- fail-fast validation ---------------------------------------------------------------------------


def _import_spec(recipe: RecipeConfig) -> Any:
    from brewslm.ingestion import ImportSpec

    data = recipe.data
    return ImportSpec(
        locator=resolve_locator(data.locator),
        mapper_id=data.mapper,
        field_map=data.field_map or None,
        options=data.options,
        dataset=recipe.dataset_name,
        mode="replace",
        seed=data.seed,
        split_group=data.split_group,
    )


def _test_import_spec(
    recipe: RecipeConfig, mapper_id: str | None = None, field_map: Mapping[str, str] | None = None
) -> Any:
    """The import of ``data.test_locator`` into the test split, with the main import's mapper and field
    map once known (so both files map alike), else the recipe's; None without a test file."""
    if not recipe.data.test_locator:
        return None
    main = _import_spec(recipe)
    return main.model_copy(
        update={
            "locator": resolve_locator(recipe.data.test_locator),
            "mode": "append",
            "split": "test",
            "split_group": None,
            "mapper_id": mapper_id or main.mapper_id,
            "field_map": dict(field_map) if field_map else main.field_map,
        }
    )


def check_recipe(recipe: RecipeConfig) -> dict[str, Any]:
    """Open the data and dry-run the mapping on its first rows; raise one-line errors for what cannot
    work. Returns what it found: the mapper, field map and the sample's accepted share."""
    from brewslm.ingestion import dry_run_plan, plan_import

    def check(spec: Any, locator: str) -> tuple[Any, Any]:
        plan = plan_import(spec)
        mapper_task = plan.mapper.task_profile
        if mapper_task != recipe.task:
            raise ConfigError(
                f"recipe '{recipe.name}': task is '{recipe.task}' but mapper '{plan.mapper.id}' makes "
                f"{mapper_task} records; change task or data.mapper"
            )
        run = dry_run_plan(plan)
        if run.records == 0:
            reasons = (
                ", ".join(
                    f"{reason} x{count} ({run.first_detail[reason]})"
                    for reason, count in run.rejections.most_common(TOP_REASONS)
                )
                or "no rows"
            )
            raise MapperError(
                f"recipe '{recipe.name}': none of the {run.rows} sample rows of {locator} map to "
                f"a {recipe.task} record with mapper '{plan.mapper.id}'; rejected: {reasons}"
            )
        return plan, run

    plan, run = check(_import_spec(recipe), recipe.data.locator)
    found = {
        "mapper": plan.mapper.id,
        "field_map": dict(plan.field_map),
        "sample_rows": run.rows,
        "sample_accepted": run.accepted,
        "locator": plan.spec.locator,
    }
    test_spec = _test_import_spec(recipe, plan.mapper.id, plan.field_map)
    if test_spec is not None:
        test_plan, test_run = check(test_spec, recipe.data.test_locator)
        found["test"] = {
            "sample_rows": test_run.rows,
            "sample_accepted": test_run.accepted,
            "locator": test_plan.spec.locator,
        }
    return found


# --- fingerprints and state -----------------------------------------------------------------------


def fingerprint(*parts: Any) -> str:
    """sha256 of the parts as canonical JSON."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_files(path: Path) -> str:
    """sha256 over a file's bytes, or over every file of a folder (relative names and bytes, in name order)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() if file != path else b"")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()


def _source_identity(locator: str) -> str:
    """The bytes of a local source file (so editing the data re-runs the import); else the locator."""

    try:
        path = Locator.parse(locator).path()
    except Exception:  # noqa: BLE001 - a locator that is not a path names remote data
        return locator
    return hash_files(path) if path.exists() else locator


def read_state(out_dir: Path) -> dict[str, Any]:
    path = out_dir / STATE_FILE
    if not path.is_file():
        return {"version": STATE_VERSION, "stages": {}}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {"version": STATE_VERSION, "stages": {}}  # a torn write: run everything again
    return state if state.get("version") == STATE_VERSION else {"version": STATE_VERSION, "stages": {}}


def write_state(out_dir: Path, state: Mapping[str, Any]) -> None:

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(to_jsonable(state), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / STATE_FILE)


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class PipelineResult:
    """What ``run_recipe`` did: per stage its status (ran / skipped), seconds and outputs."""

    recipe: str
    out_dir: Path
    stages: dict[str, dict[str, Any]]
    report: dict[str, Any] | None = None
    twist: dict[str, Any] = field(default_factory=dict)
    twist_lines: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.report and self.report.get("passed"))

    @property
    def export_dir(self) -> str | None:
        return (self.stages.get("export", {}).get("outputs") or {}).get("model_dir")

    @property
    def report_html(self) -> str | None:
        return ((self.stages.get("eval", {}).get("outputs") or {}).get("files") or {}).get("html")

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "out_dir": str(self.out_dir),
            "passed": self.passed,
            "stages": self.stages,
            "report": self.report,
            "twist": self.twist,
            "twist_lines": self.twist_lines,
            "export_dir": self.export_dir,
            "report_html": self.report_html,
            "seconds": round(self.seconds, 1),
        }


class _Runner:
    def __init__(self, recipe: RecipeConfig, out_dir: Path, base_model: str, log: Log, quiet: bool):
        self.recipe, self.out_dir, self.log, self.quiet = recipe, out_dir, log, quiet
        self.twist: Twist | None = recipe.build_twist()
        self.ctx = RecipeContext(recipe=recipe, out_dir=out_dir, base_model=base_model, log=log)
        self.state = read_state(out_dir)
        # the recipe as run: brewslm.export.resolve_bundle reads it (twist serving settings, model card)
        self.state["recipe"] = recipe.to_dict()
        self.stages: dict[str, dict[str, Any]] = {}

    def stage(
        self,
        name: str,
        inputs: str,
        outputs_exist: Callable[[Mapping[str, Any]], bool],
        work: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        saved = self.state["stages"].get(name) or {}
        started = time.perf_counter()
        if saved.get("fingerprint") == inputs and saved.get("outputs") is not None and outputs_exist(saved["outputs"]):
            self.log(f"{name}: unchanged, skipped")
            self.stages[name] = {
                "status": "skipped",
                "fingerprint": inputs,
                "seconds": 0.0,
                "outputs": saved["outputs"],
            }
            return saved["outputs"]
        self.log(f"{name}: running")
        # Later stages' records go: their inputs are about to change (the fingerprints say so anyway).
        outputs = work()
        seconds = round(time.perf_counter() - started, 1)
        self.state["stages"][name] = {"fingerprint": inputs, "outputs": outputs, "seconds": seconds}
        write_state(self.out_dir, self.state)
        self.stages[name] = {"status": "ran", "fingerprint": inputs, "seconds": seconds, "outputs": outputs}
        return outputs

    # data ---------------------------------------------------------------------------------------
    def data(self) -> dict[str, Any]:
        spec = _import_spec(self.recipe)
        extra = self.twist.input_locators() if self.twist else []
        if self.recipe.data.test_locator:
            extra = [*extra, self.recipe.data.test_locator]
        inputs = fingerprint(
            "data",
            self.recipe.data.model_dump(mode="json"),
            self.recipe.twist,
            _source_identity(spec.locator),
            [_source_identity(resolve_locator(loc)) for loc in extra],
        )

        def work() -> dict[str, Any]:
            from brewslm.ingestion import run_import

            imported = run_import(spec)
            latest, test_summary = imported, None
            test_spec = _test_import_spec(
                self.recipe, imported.manifest.get("mapper_id"), imported.manifest.get("field_map")
            )
            if test_spec is not None:
                latest = run_import(test_spec)  # the dataset's next version: the one later stages use
                test_summary = _import_summary(latest.to_dict())
                self.log(
                    f"data: {latest.accepted} test records from {self.recipe.data.test_locator} "
                    f"({latest.duplicates} already imported, {latest.rejected} rejected)"
                )
            self.ctx.dataset, self.ctx.dataset_version = latest.dataset, latest.version
            out = {
                "import": _import_summary(imported.to_dict()),
                "test_import": test_summary,
                "dataset": latest.dataset,
                "version": latest.version,
                "prepared": None,
            }
            prepared = self.twist.prepare_data(self.ctx) if self.twist else None
            if prepared is not None:
                out.update(
                    dataset=prepared.dataset,
                    version=prepared.version,
                    prepared={"dataset": prepared.dataset, "version": prepared.version, **prepared.summary},
                )
            out["content_hash"] = _dataset_hash(out["dataset"], out["version"])
            return out

        outputs = self.stage(
            "data", inputs, lambda o: _dataset_hash(o["dataset"], o["version"]) == o["content_hash"], work
        )
        self.ctx.dataset, self.ctx.dataset_version = outputs["dataset"], outputs["version"]
        return outputs

    # train --------------------------------------------------------------------------------------
    def train(self, data: Mapping[str, Any]) -> dict[str, Any]:
        inputs = fingerprint("train", self.recipe.train, self.recipe.twist, self.ctx.base_model, data["content_hash"])
        run_dir = self.out_dir / "runs" / inputs[:12]

        def work() -> dict[str, Any]:
            from brewslm.training.report import StderrProgress
            from brewslm.tuning.search import train_as_configured

            config = self.recipe.train_config(
                dataset=data["dataset"],
                dataset_version=data["version"],
                base_model=self.ctx.base_model,
                output_dir=str(run_dir),
                run_name=f"{self.recipe.name}-{inputs[:12]}",
            )
            if self.twist:
                config = self.twist.adjust_train(self.ctx, config)
            progress = (lambda event: None) if self.quiet else StderrProgress(every=config.log_every)
            trained, search = train_as_configured(config, progress)  # train.search.enabled: the search's winner
            summary = {k: v for k, v in trained.to_dict().items() if k not in ("data",)}
            return {
                **summary,
                **({"search": search} if search else {}),
                "weights_hash": hash_files(Path(trained.model_dir)),
            }

        outputs = self.stage(
            "train",
            inputs,
            lambda o: Path(o["model_dir"]).is_dir() and hash_files(Path(o["model_dir"])) == o["weights_hash"],
            work,
        )
        self.ctx.run_dir = Path(outputs["run_dir"])
        return outputs

    # eval ---------------------------------------------------------------------------------------
    def evaluate(self, data: Mapping[str, Any], trained: Mapping[str, Any]) -> dict[str, Any]:
        inputs = fingerprint("eval", self.recipe.eval, self.recipe.twist, trained["weights_hash"], data["content_hash"])
        eval_dir = self.out_dir / "eval" / inputs[:12]

        def work() -> dict[str, Any]:
            from brewslm.evaluation import evaluate
            from brewslm.evaluation.progress import StderrEvalProgress
            from brewslm.tuning.advice import add_next_steps

            config = self.recipe.eval_config(
                model=trained["run_dir"],
                dataset=data["dataset"],
                dataset_version=data["version"],
                out_dir=str(eval_dir),
            )
            if self.twist:
                config = self.twist.adjust_eval(self.ctx, config)
            result = evaluate(config, progress=None if self.quiet else StderrEvalProgress())
            add_next_steps(Path(result.paths["json"]), trained["run_dir"])  # when the baseline is not beaten
            section = self.twist.after_eval(self.ctx, result) if self.twist else {}
            return {
                "out_dir": str(result.out_dir),
                "files": {k: str(v) for k, v in result.paths.items()},
                "passed": result.passed,
                "twist": section,
            }

        return self.stage("eval", inputs, lambda o: Path(o["files"]["json"]).is_file(), work)

    # export -------------------------------------------------------------------------------------
    def export(self, trained: Mapping[str, Any]) -> dict[str, Any] | None:
        if not self.recipe.export.enabled:
            return None
        export = self.recipe.export
        # the eval stage's fingerprint too: the folder carries its report and the twist's serving settings
        inputs = fingerprint(
            "export",
            export.model_dump(mode="json"),
            trained["weights_hash"],
            self.stages["eval"]["fingerprint"],
            self.recipe.to_dict(),
        )
        model_dir = self.out_dir / "model"

        def work() -> dict[str, Any]:
            from brewslm.export.bundle import bundle_from_recipe_dir
            from brewslm.export.hf import export_hf

            if not export.merge:
                return {"model_dir": str(trained["model_dir"]), "merged": False}
            write_state(self.out_dir, self.state)  # the bundle reads the recipe and eval outputs from it
            result = export_hf(bundle_from_recipe_dir(self.out_dir), model_dir, overwrite=True)
            return {"model_dir": str(model_dir), "merged": True, "card": str(model_dir / result.files["card"])}

        return self.stage("export", inputs, lambda o: Path(o["model_dir"]).is_dir(), work)

    def block_export(self) -> None:
        """A gate failed: no model leaves the pipeline (a folder an earlier, passing run exported stays)."""
        if not self.recipe.export.enabled:
            return
        self.log("export: blocked, a gate failed (export_anyway exports it, its model card marked failed)")
        self.stages["export"] = {"status": "blocked", "reason": "a gate failed", "seconds": 0.0, "outputs": None}


def _dataset_hash(name: str, version: int) -> str | None:
    from brewslm.storage.datasets import open_dataset

    try:
        return open_dataset(name, version).manifest.get("content_hash")
    except Exception:  # noqa: BLE001 - gone or unreadable: the stage runs again
        return None


def _import_summary(imported: Mapping[str, Any]) -> dict[str, Any]:
    keep = (
        "dataset",
        "version",
        "path",
        "task_profile",
        "mapper_id",
        "rows_read",
        "accepted",
        "rejected",
        "rejected_counts",
        "duplicates",
        "records",
        "split_counts",
        "rejected_path",
        "content_hash",
        "warnings",
    )
    return {k: imported.get(k) for k in keep}


def baseline_line(report: Mapping[str, Any]) -> str:
    """The eval stage's line about the cheap baseline: its name and headline value and the lift over
    it with its interval (``eval: baseline tfidf_logreg macro_f1 0.801 | lift vs baseline -0.141
    [-0.170, -0.110]``), or why there is none."""
    from brewslm.evaluation.report import baseline_text, format_interval, format_value

    headline = report.get("headline")
    name = ((report.get("models") or {}).get("baseline") or {}).get("name")
    lift = (report.get("lift_vs_baseline") or {}).get(headline)
    if not name or not lift:
        return f"eval: cheap baseline {baseline_text(report)}"
    value = ((report.get("metrics") or {}).get("baseline") or {}).get(headline)
    span = format_interval([lift.get("ci_low"), lift.get("ci_high")], signed=True)
    return (
        f"eval: baseline {name} {headline} {format_value(value)} | lift vs baseline "
        f"{format_value(lift.get('lift'), signed=True)} {span}"
    ).rstrip()


def run_recipe(
    recipe: RecipeConfig,
    *,
    base_model: str | None = None,
    out_dir: str | Path | None = None,
    log: Log | None = None,
    quiet: bool = False,
    export_anyway: bool = False,
) -> PipelineResult:
    """Check the recipe against its data, then run (or skip, when unchanged) every stage; a failed
    gate stops before the export unless ``export_anyway`` (the model card then says it failed)."""

    started = time.perf_counter()
    log = log or (lambda line: None)
    check_recipe(recipe)
    out = Path(out_dir).expanduser() if out_dir else default_out_dir(recipe)
    runner = _Runner(recipe, out, base_model or default_base_model(), log, quiet)
    if runner.twist:
        runner.twist.check(runner.ctx)
    data = runner.data()
    trained = runner.train(data)
    evaluated = runner.evaluate(data, trained)
    report = json.loads(Path(evaluated["files"]["json"]).read_text(encoding="utf-8"))
    log(baseline_line(report))
    for line in report.get("next_steps") or []:
        log(f"eval: next step: {line}")
    if evaluated["passed"] or export_anyway:
        runner.export(trained)
    else:
        runner.block_export()
    section = evaluated.get("twist") or {}
    lines = runner.twist.describe(section) if runner.twist and section else []
    return PipelineResult(
        recipe=recipe.name,
        out_dir=out,
        stages=runner.stages,
        report=report,
        twist=section,
        twist_lines=lines,
        seconds=time.perf_counter() - started,
    )


__all__ = [
    "STAGES",
    "PipelineResult",
    "baseline_line",
    "check_recipe",
    "fingerprint",
    "hash_files",
    "read_state",
    "run_recipe",
    "write_state",
]
