"""The recipe pipeline (``brewslm.pipeline``) on the tiny model: end to end, resumable, fail-fast."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from brewslm.errors import BrewError
from brewslm.pipeline import run_recipe
from brewslm.recipes import load_recipe
from brewslm.recipes.config import STATE_FILE
from helpers.tiny_model import tiny_model_dir  # noqa: F401  (fixture)
from helpers.workspace import private_workspace

FAST = ["train.max_steps=2", "train.batch_size=4", "eval.max_examples=16", "eval.bootstrap_samples=20"]
WIRING = {"export_anyway": True}  # two training steps may fail the recipe's gate; these tests are about stages


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_workspace(tmp_path, monkeypatch)


def test_sentiment_runs_end_to_end_and_resumes(tiny_model_dir: Path, tmp_path: Path):
    out = tmp_path / "pipe"
    first = run_recipe(
        load_recipe("sentiment", FAST), base_model=str(tiny_model_dir), out_dir=out, quiet=True, **WIRING
    )
    assert {name: s["status"] for name, s in first.stages.items()} == dict.fromkeys(
        ("data", "train", "eval", "export"), "ran"
    )
    assert first.report["task"] == "classification" and first.report["metrics"]["base"] is not None
    assert "macro_f1" in first.report["lift"]
    assert Path(first.report_html).is_file() and (Path(first.export_dir) / "config.json").is_file()
    assert first.twist["scores"]["majority"]["accuracy"] is not None
    assert any("majority-class baseline" in line for line in first.twist_lines)
    state = json.loads((out / STATE_FILE).read_text())
    assert set(state["stages"]) == {"data", "train", "eval", "export"}

    again = run_recipe(
        load_recipe("sentiment", FAST), base_model=str(tiny_model_dir), out_dir=out, quiet=True, **WIRING
    )
    assert {s["status"] for s in again.stages.values()} == {"skipped"}
    assert again.report == first.report

    # a changed training key re-runs train and what depends on it; the data stage stays
    changed = run_recipe(
        load_recipe("sentiment", [*FAST, "train.learning_rate=1e-3"]),
        base_model=str(tiny_model_dir),
        out_dir=out,
        quiet=True,
        **WIRING,
    )
    assert {n: s["status"] for n, s in changed.stages.items()} == {
        "data": "skipped",
        "train": "ran",
        "eval": "ran",
        "export": "ran",
    }

    # a changed eval key re-runs the evaluation and the export (the exported folder carries the
    # report and the model card quotes it); the weights are not retrained
    evaluated = run_recipe(
        load_recipe("sentiment", [*FAST, "train.learning_rate=1e-3", "eval.max_examples=12"]),
        base_model=str(tiny_model_dir),
        out_dir=out,
        quiet=True,
        **WIRING,
    )
    assert {n: s["status"] for n, s in evaluated.stages.items()} == {
        "data": "skipped",
        "train": "skipped",
        "eval": "ran",
        "export": "ran",
    }


def test_a_failed_gate_stops_before_the_export_unless_export_anyway(tiny_model_dir: Path, tmp_path: Path):
    out = tmp_path / "pipe"
    failing = load_recipe("sentiment", [*FAST, "eval.gates=[macro_f1 > 2]"])
    lines: list[str] = []
    blocked = run_recipe(failing, base_model=str(tiny_model_dir), out_dir=out, quiet=True, log=lines.append)
    assert not blocked.passed and blocked.export_dir is None and not (out / "model").exists()
    assert blocked.stages["export"]["status"] == "blocked" and Path(blocked.report_html).is_file()  # report written
    assert "export: blocked, a gate failed (export_anyway exports it, its model card marked failed)" in lines
    # the cheap baseline (fitted on the recipe's train split) is named with the lift over it, in the log and the report
    cheap = blocked.report["models"]["baseline"]["name"]
    line = next(line for line in lines if line.startswith("eval: baseline "))
    assert line.startswith(f"eval: baseline {cheap} macro_f1 ") and " | lift vs baseline " in line
    assert blocked.report["lift_vs_baseline"]["macro_f1"]["lift"] is not None
    # the tiny model loses to it: the report, its pages and the log say what to try next, read from the run
    steps = blocked.report["next_steps"]
    assert steps[0].startswith("The fine-tune trails ") and f"eval: next step: {steps[0]}" in lines
    assert any("Larger models, same recipe" in step for step in steps)
    assert steps[1] in Path(blocked.report_html).read_text(encoding="utf-8")
    assert "export" not in json.loads((out / STATE_FILE).read_text())["stages"]

    anyway = run_recipe(failing, base_model=str(tiny_model_dir), out_dir=out, quiet=True, export_anyway=True)
    assert {n: s["status"] for n, s in anyway.stages.items()} == {
        "data": "skipped",
        "train": "skipped",
        "eval": "skipped",
        "export": "ran",
    }
    assert not anyway.passed and anyway.export_dir == str(out / "model")
    card = (out / "model" / "README.md").read_text(encoding="utf-8")
    assert "> **Warning: this model FAILED its quality gates (macro_f1 > 2) and was exported anyway.**" in card


def _recipe_file(tmp_path: Path, rows: list[dict], field_map: dict[str, str]) -> Path:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = tmp_path / "r.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "broken",
                "task": "classification",
                "data": {"locator": f"jsonl:{data}", "mapper": "label_to_classification", "field_map": field_map},
            }
        )
    )
    return path


def _fails_fast(recipe_path: Path, tmp_path: Path, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(BrewError) as err:
        run_recipe(load_recipe(recipe_path), base_model=str(tmp_path / "never-loaded"), out_dir=tmp_path / "o")
    assert time.perf_counter() - started < 5
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "o").exists()  # nothing ran


def test_a_field_map_naming_a_missing_field_fails_before_anything_runs(tmp_path: Path):
    rows = [{"review": f"text {i}", "rating": "good" if i % 2 else "bad"} for i in range(20)]
    _fails_fast(
        _recipe_file(tmp_path, rows, {"reveiw": "text", "rating": "label"}),
        tmp_path,
        "field map 'reveiw=text': the source has no field 'reveiw'",
    )


def test_data_that_maps_to_zero_rows_fails_with_the_rejection_reasons(tmp_path: Path):
    rows = [{"review": f"text {i}", "rating": None} for i in range(20)]
    _fails_fast(
        _recipe_file(tmp_path, rows, {"review": "text", "rating": "label"}), tmp_path, "none of the 20 sample rows"
    )


def test_a_mapper_for_another_task_fails_fast(tmp_path: Path):
    rows = [{"text": f"text {i}"} for i in range(20)]
    path = _recipe_file(tmp_path, rows, {"text": "text"})
    raw = yaml.safe_load(path.read_text())
    raw["data"]["mapper"] = "text_only"
    path.write_text(yaml.safe_dump(raw))
    _fails_fast(path, tmp_path, "task is 'classification' but mapper 'text_only' makes language_modeling records")


def _rows(prefix: str, count: int) -> list[dict]:
    return [{"review": f"{prefix} review number {i}", "rating": "good" if i % 2 else "bad"} for i in range(count)]


def test_a_test_file_goes_whole_into_the_test_split_and_is_what_eval_scores(tiny_model_dir: Path, tmp_path: Path):
    path = _recipe_file(tmp_path, _rows("train", 60), {"review": "text", "rating": "label"})
    held_out = tmp_path / "held_out.jsonl"
    # two rows repeat the main file: already imported there, so not added again (no train/test leak)
    held_out.write_text("".join(json.dumps(r) + "\n" for r in [*_rows("held-out", 30), *_rows("train", 2)]))
    raw = yaml.safe_load(path.read_text())
    raw["data"]["test_locator"] = f"jsonl:{held_out}"
    raw["export"] = {"enabled": False}
    path.write_text(yaml.safe_dump(raw))

    result = run_recipe(
        load_recipe(path, FAST[:2] + ["eval.bootstrap_samples=20"]),
        base_model=str(tiny_model_dir),
        out_dir=tmp_path / "o",
        quiet=True,
    )
    data = result.stages["data"]["outputs"]
    main, test = data["import"], data["test_import"]
    assert main["accepted"] == 60 and test["accepted"] == 30 and test["duplicates"] == 2
    assert test["split_counts"]["test"] == main["split_counts"]["test"] + 30
    assert sum(test["split_counts"].values()) == 90
    assert result.report["dataset"]["examples"] == test["split_counts"]["test"]


def test_split_group_reaches_the_main_import_not_the_test_file(tmp_path: Path):
    from brewslm.pipeline import _import_spec, _test_import_spec

    path = _recipe_file(tmp_path, _rows("train", 20), {"review": "text", "rating": "label"})
    recipe = load_recipe(path, ["data.split_group=rating", f"data.test_locator=jsonl:{tmp_path / 'held_out.jsonl'}"])
    assert _import_spec(recipe).split_group == "rating"
    test_spec = _test_import_spec(recipe)
    assert (test_spec.split, test_spec.split_group) == ("test", None)  # the test file's rows all go to test


def test_a_test_file_that_maps_to_zero_rows_fails_fast_naming_it(tmp_path: Path):
    path = _recipe_file(tmp_path, _rows("train", 20), {"review": "text", "rating": "label"})
    held_out = tmp_path / "held_out.jsonl"
    held_out.write_text("".join(json.dumps({"review": f"x {i}", "rating": None}) + "\n" for i in range(20)))
    raw = yaml.safe_load(path.read_text())
    raw["data"]["test_locator"] = f"jsonl:{held_out}"
    path.write_text(yaml.safe_dump(raw))
    _fails_fast(path, tmp_path, f"none of the 20 sample rows of jsonl:{held_out}")


def test_the_baseline_line_says_why_there_is_none() -> None:
    from brewslm.pipeline import baseline_line

    assert (
        baseline_line({"headline": "macro_f1", "baselines_skipped": "the evaluated split is train"})
        == "eval: cheap baseline none (the evaluated split is train)"
    )
    report = {
        "headline": "macro_f1",
        "models": {"baseline": {"name": "tfidf_logreg", "title": "TF-IDF"}},
        "metrics": {"baseline": {"macro_f1": 0.8}},
        "lift_vs_baseline": {"macro_f1": {"lift": -0.1, "ci_low": -0.2, "ci_high": 0.05}},
    }
    assert (
        baseline_line(report) == "eval: baseline tfidf_logreg macro_f1 0.800 | lift vs baseline -0.100 [-0.200, +0.050]"
    )
