"""Recipes on real data: every ``recipes/real/*.yaml`` end to end on SmolLM2-135M, base vs fine-tune.

    python bench/recipes_real.py                                   # the six real recipes as written: the results table
    python bench/recipes_real.py --recipes sentiment,intent        # some of them (names with or without real/)
    python bench/recipes_real.py --max-train 500 --max-eval 200 --epochs 1   # bounded time
    python bench/recipes_real.py --readme                          # + the Markdown table (README, docs/recipes.md)
    python bench/recipes_real.py --recipes tool_call --merge --readme   # re-run one, keep the others' rows
    python bench/recipes_real.py --set eval.batch_size=16 --set train.batch_size=4   # any other recipe override
    BREWSLM_BASE_MODEL=/tmp/tiny python bench/recipes_real.py --recipes sentiment \\
        --max-train 16 --max-eval 8 --epochs 0.1                   # wiring smoke run on a tiny model

What runs. Each recipe (``brewslm.recipes.load_recipe("real/<name>", overrides)``) goes through
the whole pipeline as ``brewslm run real/<name>`` does it (``run_recipe``): import from
``../shared/datasets`` (or ``$BREWSLM_SHARED_DATASETS``) with the recipe's mapper and field map,
the twist's data preparation, a LoRA fine-tune, the evaluation of the base model and the
fine-tune on the same held-out test rows (the recipe's headline metric, its bootstrap interval and
the paired-bootstrap interval of the lift, the gates), the twist's own evaluation, and the merged
export. Every recipe runs in its own process with its own fresh, empty workspace
(``BREWSLM_HOME`` under a temporary folder, or under ``--work``), so a failing recipe neither stops
the others nor leaves anything they could reuse; its error line is recorded in the table. The
base model is the embedded SmolLM2-135M-Instruct, converted once into
``bench/out/train_vs_trl_home`` (shared with the other benchmarks), unless ``--base`` or
``BREWSLM_BASE_MODEL`` names another.

Bounding the time. The recipes as written train on the whole training split and evaluate on the
whole test split. ``--max-train N`` sets ``train.max_train_examples`` (a seeded sample of N
training records), ``--max-eval N`` sets ``eval.max_examples`` (a seeded sample of N test rows) and
``train.max_eval_examples`` (the validation-loss rows during training), ``--epochs`` sets
``train.epochs``; ``--set KEY=VALUE`` passes any other dotted recipe override. The overrides are
recorded with the results.

How it is measured. "minutes" is the wall time of the whole pipeline in the recipe's process
(import, twist, training, both evaluations, export; model conversion excluded, process start-up
included in "process minutes" in the JSON). "base -> tuned" is the headline metric of the
evaluation report on the test rows; "lift" is tuned - base with the report's paired bootstrap
interval (95% unless the recipe says otherwise); "baseline" is the strongest cheap baseline of the
report (TF-IDF + logistic regression, a CRF, a cue rule... fitted on the train split, scored on the
same test rows) with its headline value, and "lift vs baseline" is tuned - baseline with the same
paired bootstrap; "gates" are the recipe's gates (passed when all pass). The table is printed and written, with every recipe's metrics, intervals, stage times and
twist findings, to ``bench/out/recipes_real.json``; ``--readme`` also prints it as Markdown.
``--merge`` keeps the rows of the recipes this run did not run from the previous file, so the six
can be measured in several sittings; every row records the command that produced it, and the
Markdown names each command under the table.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_vs_trl as shared  # noqa: E402  (model resolution and machine facts)

OUT = shared.OUT
OUT_FILE = OUT / "recipes_real.json"
REAL_PREFIX = "real/"
ERROR_TAIL_LINES = 20  # stderr lines kept per recipe, for the error line of a process that died
HEADERS = [
    "recipe",
    "dataset",
    "headline metric",
    "base -> tuned",
    "lift [95% CI]",
    "baseline",
    "lift vs baseline [95% CI]",
    "minutes",
    "gates",
]


# --- which recipes, with which overrides ---------------------------------------------------------


def real_recipe_names() -> list[str]:
    """The built-in real-data recipes, without the ``real/`` prefix (sentiment, intent, ...)."""
    from brewslm.recipes import builtin_recipes

    return [name[len(REAL_PREFIX) :] for name in builtin_recipes() if name.startswith(REAL_PREFIX)]


def pick_recipes(option: str | None) -> list[str]:
    known = real_recipe_names()
    if not option:
        return known
    picked = []
    for name in (part.strip() for part in option.split(",")):
        name = name[len(REAL_PREFIX) :] if name.startswith(REAL_PREFIX) else name
        if name not in known:
            sys.exit(f"--recipes: no real recipe '{name}'; known: {', '.join(known)}")
        if name not in picked:
            picked.append(name)
    return picked


def recipe_overrides(args: argparse.Namespace) -> list[str]:
    """The dotted ``KEY=VALUE`` overrides every recipe gets (the time bounds, then ``--set``)."""
    overrides = []
    if args.max_train is not None:
        overrides.append(f"train.max_train_examples={args.max_train}")
    if args.max_eval is not None:
        overrides += [f"eval.max_examples={args.max_eval}", f"train.max_eval_examples={args.max_eval}"]
    if args.epochs is not None:
        overrides.append(f"train.epochs={args.epochs}")
    return overrides + list(args.set)


# --- one recipe, in its own process --------------------------------------------------------------


def _locator_dataset(locator: str) -> str:
    """``shared:sentiment_sst2/train.csv`` -> ``sentiment_sst2``; other locators as given."""
    scheme, _, rest = locator.partition(":")
    return rest.split("/", 1)[0] if scheme == "shared" else locator


def summarize(name: str, recipe: Any, result: Any) -> dict[str, Any]:
    """What the table and the JSON keep of one pipeline run: the headline, its lift, gates, times."""
    report = result.report or {}
    headline = report.get("headline")
    metrics = report.get("metrics") or {}
    lift = (report.get("lift") or {}).get(headline) or {}
    over_baseline = (report.get("lift_vs_baseline") or {}).get(headline) or {}
    cheap = (report.get("models") or {}).get("baseline") or {}
    intervals = report.get("intervals") or {}
    return {
        "recipe": name,
        "recipe_name": recipe.name,
        "task": recipe.task,
        "twist": (recipe.twist or {}).get("kind"),
        "source": _locator_dataset(recipe.data.locator),
        "dataset": report.get("dataset"),
        "headline": headline,
        "lower_is_better": headline in (report.get("lower_is_better") or []),
        "base": (metrics.get("base") or {}).get(headline),
        "tuned": (metrics.get("tuned") or {}).get(headline),
        "lift": lift.get("lift"),
        "lift_ci": [lift.get("ci_low"), lift.get("ci_high")] if lift else None,
        "baseline": {
            "name": cheap.get("name"),
            "title": cheap.get("title"),
            "value": (metrics.get("baseline") or {}).get(headline),
        }
        if cheap
        else None,
        "lift_vs_baseline": over_baseline.get("lift"),
        "lift_vs_baseline_ci": [over_baseline.get("ci_low"), over_baseline.get("ci_high")] if over_baseline else None,
        "baselines": report.get("baselines") or {},
        "baselines_skipped": report.get("baselines_skipped"),
        "confidence": (report.get("bootstrap") or {}).get("confidence"),
        "metrics": metrics,
        "intervals": intervals,
        "gates": report.get("gates") or [],
        "passed": result.passed,
        "timing": report.get("timing"),
        "stages": {
            stage: {"status": info["status"], "seconds": info["seconds"]} for stage, info in result.stages.items()
        },
        "data": ((result.stages.get("data") or {}).get("outputs") or {}).get("import"),
        "twist_lines": result.twist_lines,
        "seconds": round(result.seconds, 1),
        "report_html": result.report_html,
        "error": None,
    }


def run_child(args: argparse.Namespace) -> None:
    """Run one recipe in this (fresh) process and write its summary, or its error, as JSON."""
    from brewslm.errors import BrewError
    from brewslm.pipeline import run_recipe
    from brewslm.recipes import load_recipe

    out_file = Path(args.child_out)
    name = args.child
    try:
        recipe = load_recipe(REAL_PREFIX + name, recipe_overrides(args))
        log = lambda line: print(f"[{name}] {line}", file=sys.stderr, flush=True)  # noqa: E731
        result = run_recipe(recipe, base_model=args.base, out_dir=Path(args.work) / "pipeline", log=log)
        summary = summarize(name, recipe, result)
    except Exception as exc:  # noqa: BLE001 - recorded in the table; the other recipes still run
        first_line = (str(exc).strip().splitlines() or [""])[0]
        summary = {"recipe": name, "error": f"{type(exc).__name__}: {first_line}"}
        out_file.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
        if isinstance(exc, BrewError):  # a user-facing one-line error: no traceback
            sys.exit(f"[{name}] error: {first_line}")
        raise
    out_file.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")


def run_recipe_process(name: str, work: Path, base: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run ``name`` in a child process with its own empty workspace under ``work``; stream its
    stderr (progress) through and keep the tail for the error line of a process that died."""
    work.mkdir(parents=True, exist_ok=True)
    out_file = work / "summary.json"
    env = {
        **os.environ,
        "BREWSLM_HOME": str(work / "home"),
        "BREWSLM_CACHE_DIR": str(work / "cache"),
        "BREWSLM_BASE_MODEL": base,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "WANDB_DISABLED": "true",
    }
    env.pop("BREWSLM_DATABASE_URL", None)  # the fresh workspace's own SQLite
    command = [
        sys.executable,
        __file__,
        *sys.argv[1:],
        "--child",
        name,
        "--work",
        str(work),
        "--child-out",
        str(out_file),
        "--base",
        base,
    ]
    tail: collections.deque[str] = collections.deque(maxlen=ERROR_TAIL_LINES)
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace"
    )

    def forward() -> None:  # progress through to our stderr, the last lines kept
        assert proc.stderr is not None
        for line in proc.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            if line.strip():
                tail.append(line.strip())

    reader = threading.Thread(target=forward, daemon=True)
    reader.start()
    timed_out = False
    try:
        returncode = proc.wait(timeout=args.timeout * 60 if args.timeout else None)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        returncode = proc.wait()
    reader.join()
    process_seconds = round(time.perf_counter() - started, 1)
    summary = json.loads(out_file.read_text(encoding="utf-8")) if out_file.is_file() and not timed_out else {}
    if timed_out:
        summary = {"recipe": name, "error": f"timed out after {args.timeout:g} minutes (--timeout)"}
    elif not summary:
        summary = {"recipe": name, "error": f"exit {returncode}: {tail[-1] if tail else 'no output'}"}
    summary.update(returncode=returncode, process_seconds=process_seconds)
    return summary


def collected_summary(name: str, work: Path) -> dict[str, Any]:
    """The row a finished recipe process left in ``<work>/summary.json`` (``--collect``)."""
    out_file = work / "summary.json"
    if not out_file.is_file():
        sys.exit(f"--collect: {out_file} does not exist; run the recipe first (with --work)")
    summary = json.loads(out_file.read_text(encoding="utf-8"))
    summary.setdefault("returncode", 0)
    summary.setdefault("process_seconds", summary.get("seconds"))
    return summary


# --- the table -----------------------------------------------------------------------------------


def table_cells(row: dict[str, Any]) -> list[str]:
    """One recipe's row: recipe | dataset | headline metric | base -> tuned | lift [CI] | baseline (name
    and value) | lift vs baseline [CI] | minutes | gates."""
    from brewslm.evaluation.report import format_interval, format_value

    if row.get("error"):
        minutes = f"{row['process_seconds'] / 60:.1f}" if row.get("process_seconds") is not None else "-"
        return [row["recipe"], "-", "-", "-", "-", "-", "-", minutes, f"ERROR {row['error']}"]
    examples = (row.get("dataset") or {}).get("examples")
    dataset = row["source"] + (f" (test n={examples})" if examples is not None else "")

    def lift(value: Any, interval: Any) -> str:
        return (
            f"{format_value(value, signed=True)} {format_interval(interval, signed=True) if interval else ''}".strip()
        )

    cheap = row.get("baseline")  # rows written before the cheap baselines have none
    baseline = f"{cheap['name']} {format_value(cheap['value'])}" if cheap else "-"
    gates = row["gates"]
    failed = [g.get("gate") for g in gates if not g.get("passed")]
    verdict = (
        "none"
        if not gates
        else (f"{len(gates)}/{len(gates)} passed" if not failed else "FAILED " + "; ".join(str(g) for g in failed))
    )
    headline = row["headline"] + (" (lower is better)" if row.get("lower_is_better") else "")
    return [
        row["recipe"],
        dataset,
        headline,
        f"{format_value(row['base'])} -> {format_value(row['tuned'])}",
        lift(row["lift"], row.get("lift_ci")),
        baseline,
        lift(row.get("lift_vs_baseline"), row.get("lift_vs_baseline_ci")),
        f"{row['seconds'] / 60:.1f}",
        verdict,
    ]


def render_table(rows: list[dict[str, Any]]) -> str:
    from brewslm.output import table

    return table(HEADERS, [table_cells(row) for row in rows], width=200)  # error lines whole


def render_markdown(rows: list[dict[str, Any]], result: dict[str, Any]) -> str:
    from brewslm.evaluation.report import markdown_escape

    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join("---" for _ in HEADERS) + "|"]
    lines += ["| " + " | ".join(markdown_escape(c) for c in table_cells(row)) + " |" for row in rows]
    machine = result["machine"]
    commands: dict[str, list[str]] = {}
    for row in rows:
        commands.setdefault(row.get("command") or result["command"], []).append(row["recipe"])
    runs = "; ".join(
        f"`{command}`" + (f" ({', '.join(names)})" if len(commands) > 1 else "") for command, names in commands.items()
    )
    lines += [
        "",
        f"{runs} on {machine['cpu']} ({machine['cpus']} cores), base model "
        f"{result['base_model_name']}, {result['created_at'][:10]}"
        + (f"; overrides: {' '.join(result['overrides'])}" if result["overrides"] else "")
        + ".",
    ]
    return "\n".join(lines)


def merge_previous(rows: list[dict[str, Any]], order: list[str]) -> list[dict[str, Any]]:
    """``rows`` plus the previous results file's rows for the recipes not in ``rows``, in ``order``."""
    if not OUT_FILE.is_file():
        return rows
    previous = json.loads(OUT_FILE.read_text(encoding="utf-8"))
    ran = {row["recipe"] for row in rows}
    kept = [
        {"command": previous.get("command"), **row}
        for row in previous.get("recipes", [])
        if row.get("recipe") not in ran
    ]
    position = {name: i for i, name in enumerate(order)}
    return sorted(kept + rows, key=lambda row: position.get(row["recipe"], len(position)))


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", help="comma-separated real recipes (default: all of recipes/real/)")
    parser.add_argument("--max-train", type=int, help="train.max_train_examples: a seeded sample of N training records")
    parser.add_argument("--max-eval", type=int, help="eval.max_examples (and train.max_eval_examples): N rows")
    parser.add_argument("--epochs", type=float, help="train.epochs")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other dotted recipe override (repeatable), e.g. train.batch_size=4",
    )
    parser.add_argument("--base", help="base model folder (default: BREWSLM_BASE_MODEL, else the embedded SmolLM2)")
    parser.add_argument("--timeout", type=float, help="minutes one recipe may run before it is stopped (default: none)")
    parser.add_argument(
        "--work",
        help="keep the workspaces (one per recipe) under this folder (default: a temporary folder, deleted at the end)",
    )
    parser.add_argument("--readme", action="store_true", help="also print the Markdown table for the README")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the previous results file's rows of the "
        "recipes not run this time (measure the six in several sittings)",
    )
    parser.add_argument(
        "--collect",
        action="store_true",
        help="run nothing: build the table from the summaries the "
        "recipes' processes left under --work (when the parent process died after they finished)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for flag in ("max_train", "max_eval"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            sys.exit(f"--{flag.replace('_', '-')} must be at least 1")
    if args.epochs is not None and args.epochs <= 0:
        sys.exit("--epochs must be positive")
    if args.child:
        run_child(args)
        return

    names = pick_recipes(args.recipes)
    base = shared.resolve_base(args)  # before the workspaces: the converted embedded model is kept
    started = datetime.now(timezone.utc)
    rows = []
    with tempfile.TemporaryDirectory(prefix="brewslm-recipes-real-") as temporary:
        root = Path(args.work).expanduser().resolve() if args.work else Path(temporary)
        for name in names:
            if args.collect:
                rows.append(collected_summary(name, root / name))
                continue
            print(f"=== recipe real/{name}", file=sys.stderr, flush=True)
            row = run_recipe_process(name, root / name, base, args)
            if not args.work:
                row.pop("report_html", None)  # it went with the temporary folder
            rows.append(row)
    import torch

    command = " ".join(["python", "bench/recipes_real.py", *(a for a in sys.argv[1:] if a != "--collect")])
    for row in rows:
        row["command"] = command
    if args.merge:
        rows = merge_previous(rows, real_recipe_names())
    result = {
        "created_at": started.isoformat(timespec="seconds"),
        "command": command,
        "base_model": base,
        "base_model_name": Path(base).name,
        "overrides": recipe_overrides(args),
        "machine": {
            "cpu": shared.cpu_name(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.is_available(),
            "python": platform.python_version(),
            "load_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "recipes": rows,
    }
    table = render_table(rows)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(rows, result)
    OUT_FILE.write_text(
        json.dumps({**result, "table": table, "markdown": markdown}, indent=2, default=str) + "\n", encoding="utf-8"
    )
    if args.readme:
        print("\n" + markdown)
    print(f"\nwritten to {OUT_FILE}", file=sys.stderr)
    if any(row.get("error") for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
