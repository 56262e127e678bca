"""Cheap baselines on real data: every cheap baseline of every ``recipes/real/*.yaml`` task, fitted on
the recipe's own train split and scored on its own test rows, as the recipe's evaluation scores them.

    python bench/baselines.py                                  # the six real recipes: one table
    python bench/baselines.py --recipes sentiment,intent       # some of them (names with or without real/)
    python bench/baselines.py --recipes intent --set data.test_locator=shared:intent_banking77/dev.csv
                                                               # any dotted recipe override (repeatable)
    nice -n 10 python bench/baselines.py --work /tmp/bl        # keep the workspace (imported datasets)

What runs. Each recipe is loaded as ``brewslm run real/<name>`` loads it
(``brewslm.recipes.load_recipe``, with the ``--set`` overrides) and its data stage runs as the
pipeline runs it (``check_recipe``, then the pipeline's own data stage: the import of
``data.locator`` with the recipe's mapper, field map and options, ``data.test_locator``'s rows
appended to the test split, and the twist's data preparation - faq_rag's retrieved passages,
pii_recall's hard negatives, tool_negatives' no-call rows), in one fresh temporary workspace
(``BREWSLM_HOME``), from ``../shared/datasets`` (or ``$BREWSLM_SHARED_DATASETS``). Then, on the
dataset version the recipe's evaluation would use, the task's eval handler is built as
``brewslm eval`` builds it for a fine-tune of that dataset (its render context, scoring mode and the
recipe's ``eval.handler_options``), the recipe's evaluated rows are loaded (``eval.split``,
``eval.max_examples``, ``eval.seed``) and ``brewslm.evaluation.baselines.fitting.run_baselines`` fits every
registered baseline of the task on the train split and scores it with the handler - the very code
the evaluation runs, so a number here is the report's ``baselines.<name>``. No model is loaded, so
a twist's evaluation adjustments that need the fine-tune (intent_router's threshold, tuned with its
confidences) are not applied; the headline is the classifier's own answers, as in the report. A
recipe that fails (a missing shared dataset, a bad override) is a row with its one-line error; the
others still run.

How it is measured. "value [95% CI]" is the handler's headline metric on the evaluated rows with
the percentile bootstrap interval of the evaluation (``eval.bootstrap_samples`` resamples, seeded by
``eval.seed``, at ``eval.confidence``). "fit+predict s" is the wall time of one baseline's fit on
the train split plus its predictions for the evaluated rows (``FittedBaseline.seconds``), scoring
and bootstrap excluded (wall time: on a busy machine it stretches; the JSON records the load at the
end); a baseline that cannot fit says why (``BaselineUnavailable``). "test rows" is the number of
evaluated rows (how many of them came from ``data.test_locator`` in brackets); "*" marks the
strongest baseline by the headline, the one a report compares the fine-tune with. The import and
twist time per recipe ("data seconds"), the train rows and a few more metrics and what each
baseline learnt are in the JSON. The table is printed and written, with the machine and the
command, to ``bench/out/baselines.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recipes_real  # noqa: E402  (the real recipes' names and their source datasets)
from measure import OUT  # noqa: E402

OUT_FILE = OUT / "baselines.json"
NO_MODEL = "(cheap baselines only: no model)"  # the recipe context's base model; the data stage loads none
HEADERS = ["recipe", "dataset", "test rows", "baseline", "headline metric", "value [{confidence} CI]", "fit+predict s"]


# --- one recipe ----------------------------------------------------------------------------------


def prepare_data(recipe: Any, work: Path, log: Any) -> dict[str, Any]:
    """The recipe's data stage, as ``run_recipe`` runs it: the dataset version its evaluation uses."""
    from brewslm.pipeline import _Runner, check_recipe

    check_recipe(recipe)
    # The pipeline's own stage runner (no public entry point runs the data stage alone): the same
    # import, test_locator append and twist data preparation as ``brewslm run``.
    runner = _Runner(recipe, work, NO_MODEL, log, quiet=True)
    if runner.twist:
        runner.twist.check(runner.ctx)
    return runner.data()


def fit_and_score(recipe: Any, data: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """Every cheap baseline of the recipe's task fitted on the train split and scored on the
    evaluated rows by the task's handler: ``(config, handler, rows, BaselineRun)``."""
    from brewslm.evaluation.baselines.fitting import run_baselines
    from brewslm.evaluation.handlers import get_eval_handler
    from brewslm.evaluation.rows import load_rows, scoring_mode_of
    from brewslm.evaluation.runner import EvalPlan
    from brewslm.storage.datasets import open_dataset
    from brewslm.tasks import get_task_profile
    from brewslm.tasks.rendering import RenderContext

    config = recipe.eval_config(model=NO_MODEL, dataset=data["dataset"], dataset_version=data["version"])
    dataset = open_dataset(data["dataset"], data["version"])
    profile = get_task_profile(dataset.task_profile)
    context = RenderContext.from_manifest(dataset.manifest)  # what a fine-tune of this dataset renders with
    handler = get_eval_handler(
        profile.id,
        scoring_mode_of(dataset.manifest, context),
        options=config.handler_options,
        context=context,
        manifest=dataset.manifest,
    )
    rows = load_rows(dataset, config.split, profile, context, max_examples=config.max_examples, seed=config.seed)
    plan = EvalPlan(dataset, handler, handler.strategy, rows, tuned=None, base=None, gates=[])
    return config, handler, rows, run_baselines(plan, config)


def measure_recipe(name: str, overrides: list[str], work: Path) -> dict[str, Any]:
    """One recipe's row of the JSON: its data, evaluated rows and every baseline's entry."""
    from brewslm.recipes import load_recipe

    recipe = load_recipe(recipe_real_name(name), overrides)
    log = lambda line: print(f"[{name}] {line}", file=sys.stderr, flush=True)  # noqa: E731
    started = time.perf_counter()
    data = prepare_data(recipe, work / name, log)
    data_seconds = time.perf_counter() - started
    config, handler, rows, run = fit_and_score(recipe, data)
    strongest = run.strongest(handler)
    baselines = {f.name: {**f.entry(handler), "strongest": f is strongest} for f in run.fitted}
    for entry in baselines.values():
        log(
            f"{entry['title']}: {entry.get('metrics', {}).get(handler.headline, entry.get('unavailable'))} "
            f"({entry['seconds']:.1f} s)"
        )
    test_import = data.get("test_import") or {}
    return {
        "recipe": name,
        "recipe_name": recipe.name,
        "task": handler.task,
        "scoring_mode": handler.scoring_mode,
        "source": recipes_real._locator_dataset(recipe.data.locator),
        "test_locator": recipe.data.test_locator,
        "dataset": {"name": data["dataset"], "version": data["version"], "prepared": data.get("prepared")},
        "split": config.split,
        "headline": handler.headline,
        "lower_is_better": handler.headline in handler.lower_is_better,
        "confidence": config.confidence,
        "bootstrap_samples": config.bootstrap_samples,
        "train_rows": run.train_examples,
        "test_rows": len(rows.records),
        "test_locator_rows": test_import.get("accepted"),
        "rows_not_renderable": rows.skipped,
        "data_seconds": round(data_seconds, 1),
        "baselines": baselines,
        "strongest": strongest.name if strongest else None,
        "skipped": run.skipped,
        "error": None,
    }


def recipe_real_name(name: str) -> str:
    return recipes_real.REAL_PREFIX + name


def safe_measure(name: str, overrides: list[str], work: Path) -> dict[str, Any]:
    """``measure_recipe``, or the recipe's row with its one-line error (the other recipes still run)."""
    try:
        return measure_recipe(name, overrides, work)
    except Exception as exc:  # noqa: BLE001 - recorded in the table
        first_line = (str(exc).strip().splitlines() or [""])[0]
        print(f"[{name}] error: {type(exc).__name__}: {first_line}", file=sys.stderr, flush=True)
        return {"recipe": name, "error": f"{type(exc).__name__}: {first_line}"}


# --- the table -----------------------------------------------------------------------------------


def table_rows(row: dict[str, Any]) -> list[list[str]]:
    """One line per baseline of a recipe: recipe | dataset | test rows | baseline | headline | value
    [CI] | seconds; one line with the error or the reason none ran."""
    from brewslm.evaluation.report import format_interval, format_value

    if row.get("error"):
        return [[row["recipe"], "-", "-", "-", "-", f"ERROR {row['error']}", "-"]]
    extra = f" ({row['test_locator_rows']} from test_locator)" if row.get("test_locator_rows") else ""
    first = [row["recipe"], row["source"], f"{row['test_rows']}{extra}"]
    headline = row["headline"] + (" (lower is better)" if row["lower_is_better"] else "")
    if not row["baselines"]:
        return [first + ["-", headline, f"none: {row['skipped']}", "-"]]
    lines = []
    for name, entry in row["baselines"].items():
        if entry.get("unavailable") is not None:
            value = f"unavailable: {entry['unavailable']}"
        else:
            value = f"{format_value(entry['metrics'].get(row['headline']))} {format_interval(entry.get('interval'))}"
        label = name + (" *" if entry.get("strongest") else "")
        lines.append(first + [label, headline, value.strip(), f"{entry['seconds']:.2f}"])
        first = ["", "", ""]
    return lines


def render_table(rows: list[dict[str, Any]]) -> str:
    from brewslm.output import table

    confidences = {row["confidence"] for row in rows if row.get("confidence")}
    level = f"{confidences.pop():.0%}" if len(confidences) == 1 else "the recipe's"
    headers = [h.format(confidence=level) for h in HEADERS]
    return table(headers, [line for row in rows for line in table_rows(row)], width=200)


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", help="comma-separated real recipes (default: all of recipes/real/)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a dotted recipe override for every recipe (repeatable), e.g. eval.max_examples=200",
    )
    parser.add_argument(
        "--work",
        help="keep the workspace (the imported datasets) under this folder (default: a "
        "temporary folder, deleted at the end)",
    )
    args = parser.parse_args()
    names = recipes_real.pick_recipes(args.recipes)
    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="brewslm-baselines-") as temporary:
        root = Path(args.work).expanduser().resolve() if args.work else Path(temporary)
        # a fresh workspace of our own, set before brewslm opens one (its database and datasets)
        os.environ.update(
            BREWSLM_HOME=str(root / "home"),
            BREWSLM_CACHE_DIR=str(root / "cache"),
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            TOKENIZERS_PARALLELISM="false",
        )
        os.environ.pop("BREWSLM_DATABASE_URL", None)
        rows = []
        for name in names:
            print(f"=== recipe real/{name}", file=sys.stderr, flush=True)
            rows.append(safe_measure(name, list(args.set), root / "pipelines"))
    from recipes_real import shared

    result = {
        "created_at": started.isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/baselines.py", *sys.argv[1:]]),
        "overrides": list(args.set),
        "machine": {
            "cpu": shared.cpu_name(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "recipes": rows,
    }
    table = render_table(rows)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    OUT_FILE.write_text(json.dumps({**result, "table": table}, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwritten to {OUT_FILE}", file=sys.stderr)
    if any(row.get("error") for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
