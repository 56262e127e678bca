"""``brewslm run`` and ``brewslm recipes``: the recipe commands on the tiny model."""

from __future__ import annotations

from pathlib import Path

from helpers.tiny_model import tiny_model_dir  # noqa: F401  (fixture)

FAST = ["train.max_steps=2", "train.batch_size=4", "eval.max_examples=12", "eval.bootstrap_samples=20"]


def test_run_prints_the_table_paths_and_exits_by_the_gates(cli, tiny_model_dir, tmp_path: Path):  # noqa: F811
    out = tmp_path / "pipe"
    result = cli(
        "run", "sentiment", *FAST, "eval.gates=[macro_f1 >= 0]", "--base", tiny_model_dir, "--out", out, "--quiet"
    )
    assert result.code == 0, result.err
    assert "recipe sentiment: data ran" in result.out and "macro_f1 (headline)" in result.out
    assert "majority-class baseline" in result.out and f"{out / 'model'}" in result.out
    assert "report.html" in result.out

    failing = cli(
        "run",
        "sentiment",
        *FAST,
        "eval.gates=[macro_f1 > 2]",
        "--base",
        tiny_model_dir,
        "--out",
        out,
        "--quiet",
        "--json",
    )
    assert failing.code == 1
    document = failing.json()
    assert document["stages"]["train"]["status"] == "skipped" and document["passed"] is False
    assert document["stages"]["export"]["status"] == "blocked" and document["export_dir"] is None

    text = cli("run", "sentiment", *FAST, "eval.gates=[macro_f1 > 2]", "--base", tiny_model_dir, "--out", out)
    assert text.code == 1 and "export: blocked, a gate failed" in text.err
    assert (
        "model       not exported: a gate failed (--export-anyway exports it, its model card marked failed)" in text.out
    )

    anyway = cli(
        "run",
        "sentiment",
        *FAST,
        "eval.gates=[macro_f1 > 2]",
        "--base",
        tiny_model_dir,
        "--out",
        out,
        "--quiet",
        "--export-anyway",
    )
    assert anyway.code == 1 and f"{out / 'model'}" in anyway.out  # exported, and still a failed gate
    assert "FAILED its quality gates" in (out / "model" / "README.md").read_text(encoding="utf-8")


def test_a_recipe_typo_is_one_line_and_exit_2(cli):
    result = cli("run", "sentiment", "train.epoch=1")
    assert result.code == 2 and result.out == ""
    assert result.err.strip().startswith("error: recipe ") and "did you mean 'train.epochs'" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_recipes_list_show_and_twists(cli):
    listed = cli("recipes", "list", "--json")
    assert listed.code == 0
    sentiment = next(r for r in listed.json() if r["name"] == "sentiment")
    assert sentiment["task"] == "classification" and sentiment["twist"] == "class_balance"
    shown = cli("recipes", "show", "sentiment")
    assert shown.code == 0 and "name: sentiment" in shown.out
    twists = cli("recipes", "twists")
    assert twists.code == 0 and "class_balance" in twists.out and "train_balance" in twists.out
