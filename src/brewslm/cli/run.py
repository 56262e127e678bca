"""``brewslm run RECIPE`` and ``brewslm recipes list|show|twists``: a use case as one command.

    brewslm run sentiment                                  # a built-in recipe
    brewslm run my_recipe.yaml --data csv:/data/x.csv train.epochs=1 eval.max_examples=50
    brewslm recipes list
    brewslm recipes show intent

``run`` checks the recipe against its data first (a typo or a wrong field map fails in a second),
then runs import -> twist data -> train -> evaluate base and fine-tune -> export, skipping the
stages whose inputs did not change since the last run in the same folder, and prints the
base-vs-tuned table with the lift and its interval, the twist's findings, the gates, and where the
model and the HTML report are. A failed gate stops before the export (--export-anyway exports it,
its model card marked failed). Exit status: 0 when every gate passes, 1 when one fails, 2 on errors.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from brewslm.cli.command import Command
from brewslm.cli.options import json_flag, option
from brewslm.options import describe_options
from brewslm.output import key_values, table
from brewslm.recipes import builtin_recipes, find_recipe, list_twists, load_recipe


@dataclass(kw_only=True)
class RunOptions:
    recipe: str = option("A built-in recipe name (see 'brewslm recipes list') or a recipe YAML file.", positional=True)
    data: str | None = option(
        "Replace the recipe's data locator (jsonl:/path, csv:/path, shared:<dataset>/<file>...); "
        "the recipe's data.test_locator goes with it (set data.test_locator=... for yours).",
        default=None,
        metavar="LOCATOR",
    )
    base: str | None = option(
        "Base model: a model folder, .gguf file or hub id (default: BREWSLM_BASE_MODEL, else "
        "the embedded SmolLM2-135M-Instruct).",
        default=None,
        metavar="MODEL",
    )
    out: str | None = option(
        "Pipeline folder; re-running into the same folder skips unchanged stages (default: "
        "<BREWSLM_HOME>/recipe-runs/<recipe>).",
        default=None,
        metavar="DIR",
    )
    overrides: list[str] = option(
        "Recipe overrides as dotted KEY=VALUE, e.g. train.epochs=1 eval.max_examples=50.",
        default=[],
        positional=True,
        metavar="KEY=VALUE",
    )
    export_anyway: bool = option(
        "Export the model even when a gate fails (its model card says the gates failed; the exit status is still 1).",
        default=False,
    )
    quiet: bool = option("No progress lines on stderr.", default=False)
    json: bool = json_flag()


def run(opts: RunOptions) -> dict[str, Any]:
    """Run a recipe end to end: import, fine-tune, evaluate against the base on the same rows, export.

    Each stage is skipped when its inputs (recipe sections, upstream content hashes) did not change,
    so a failed or interrupted run restarts where it stopped.
    """
    from brewslm.pipeline import run_recipe

    recipe = load_recipe(opts.recipe, opts.overrides, data=opts.data)
    log = (lambda line: None) if opts.quiet else (lambda line: print(f"[{recipe.name}] {line}", file=sys.stderr))
    return run_recipe(
        recipe, base_model=opts.base, out_dir=opts.out, log=log, quiet=opts.quiet, export_anyway=opts.export_anyway
    ).to_dict()


def render_run(result: dict[str, Any]) -> str:
    from brewslm.evaluation.report import render_text_summary

    stages = ", ".join(
        f"{name} {info['status']}" + (f" ({info['seconds']} s)" if info["status"] == "ran" else "")
        for name, info in result["stages"].items()
    )
    lines = [f"recipe {result['recipe']}: {stages}", ""]
    if result.get("report"):
        lines += [render_text_summary(result["report"]), ""]
    if result.get("twist_lines"):
        lines += [*result["twist_lines"], ""]
    blocked = (result["stages"].get("export") or {}).get("status") == "blocked"
    model = result.get("export_dir") or (
        "not exported: a gate failed (--export-anyway exports it, its model card marked failed)"
        if blocked
        else "not exported"
    )
    paths = [
        ("model", model),
        ("report", result.get("report_html")),
        ("pipeline", result["out_dir"]),
        ("total time", f"{result['seconds']} s"),
    ]
    lines.append(key_values([(k, v) for k, v in paths if v is not None]))
    return "\n".join(lines)


def run_exit_status(result: dict[str, Any]) -> int:
    return 0 if result["passed"] else 1


@dataclass(kw_only=True)
class ListOptions:
    json: bool = json_flag()


def recipes_list(opts: ListOptions) -> list[dict[str, Any]]:
    """The built-in recipes: name, task, description and data locator."""

    rows = []
    for name in builtin_recipes():
        recipe = load_recipe(name)
        rows.append(
            {
                "name": name,
                "task": recipe.task,
                "twist": (recipe.twist or {}).get("kind"),
                "description": recipe.description,
                "data": recipe.data.locator,
            }
        )
    return rows


def render_list(rows: list[dict[str, Any]]) -> str:
    return table(
        ["name", "task", "twist", "data", "description"],
        [[r["name"], r["task"], r["twist"] or "-", r["data"], r["description"]] for r in rows],
        width=60,
    )


@dataclass(kw_only=True)
class ShowOptions:
    recipe: str = option("A built-in recipe name or a recipe YAML file.", positional=True)
    json: bool = json_flag()


def recipes_show(opts: ShowOptions) -> dict[str, Any]:
    """Print a recipe's YAML (copy it to start your own)."""

    path = find_recipe(opts.recipe)
    recipe = load_recipe(path)  # a broken file is reported, not shown as if it worked
    return {"path": str(path), "yaml": path.read_text(encoding="utf-8"), "recipe": recipe.to_dict()}


def render_show(result: dict[str, Any]) -> str:
    return f"# {result['path']}\n{result['yaml'].rstrip()}"


@dataclass(kw_only=True)
class TwistsOptions:
    json: bool = json_flag()


def recipes_twists(opts: TwistsOptions) -> list[dict[str, Any]]:
    """The twists a recipe's 'twist' section can name, with their options."""

    return [
        {
            "kind": cls.kind,
            "summary": cls.summary,
            "options": [o for o in describe_options(cls.Options) if o["name"] != "kind"],
        }
        for cls in list_twists()
    ]


def render_twists(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        lines.append(f"{row['kind']}: {row['summary']}")
        lines += [f"  {o['name']} (default: {o['default']}): {o['help']}" for o in row["options"]]
    return "\n".join(lines)


RUN = Command(run, RunOptions, render_run, exit_status=run_exit_status)
COMMANDS: dict[str, Any] = {
    "list": Command(recipes_list, ListOptions, render_list),
    "show": Command(recipes_show, ShowOptions, render_show),
    "twists": Command(recipes_twists, TwistsOptions, render_twists),
}
