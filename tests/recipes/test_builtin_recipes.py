"""Every built-in recipe runs end to end on the tiny model: import, its twist, a couple of
training steps, base-vs-tuned evaluation, export. Wiring, not quality: gates may fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from brewslm.pipeline import run_recipe
from brewslm.recipes import load_recipe
from brewslm.recipes.config import builtin_recipes

FAST = [
    "train.max_steps=2",
    "train.batch_size=4",
    "train.max_train_examples=32",
    "train.max_eval_examples=8",
    "eval.max_examples=6",
    "eval.bootstrap_samples=10",
    "eval.max_new_tokens=12",
]
BUILTIN = sorted(name for name in builtin_recipes() if not name.startswith("real/"))


def test_the_six_use_cases_ship_as_recipes() -> None:
    assert BUILTIN == ["faq_rag", "intent", "json_extract", "pii_spans", "sentiment", "tool_call"]


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_recipe_runs_end_to_end(name: str, tiny_model_dir: Path, tmp_path: Path) -> None:
    recipe = load_recipe(name, FAST)
    # export_anyway: a failed gate would stop before the export, and this is about wiring
    result = run_recipe(recipe, base_model=str(tiny_model_dir), out_dir=tmp_path / name, quiet=True, export_anyway=True)
    assert {stage: s["status"] for stage, s in result.stages.items()} == dict.fromkeys(
        ("data", "train", "eval", "export"), "ran"
    )
    report = result.report
    assert report["task"] == recipe.task and report["metrics"]["tuned"] and report["metrics"]["base"]
    assert report["headline"] in report["lift"]
    assert Path(result.report_html).is_file() and (Path(result.export_dir) / "config.json").is_file()
    assert result.twist is not None and result.twist_lines


@pytest.mark.parametrize("name", sorted(n for n in builtin_recipes() if n.startswith("real/")))
def test_real_data_recipes_load_and_name_their_shared_data(name: str) -> None:
    recipe = load_recipe(name)
    assert recipe.data.locator.split(":", 1)[0] in ("shared", "csv", "jsonl") or "shared:" in recipe.data.locator
