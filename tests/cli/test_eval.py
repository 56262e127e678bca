"""``brewslm eval``, ``eval score`` and ``eval harness`` end to end on the tiny model, in a private workspace:
exit 0 when the gates pass, 1 when one fails (report still printed), 2 with one line on errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.test_train import one_error_line, tickets  # noqa: F401  (tickets: a fixture)
from helpers.tiny_model import tiny_model_dir  # noqa: F401  (a fixture)


@pytest.fixture
def lora_run(cli, tickets, tiny_model_dir, tmp_path) -> Path:
    run = cli(
        "train",
        "--dataset",
        tickets,
        "--base",
        str(tiny_model_dir),
        "--quiet",
        "max_steps=2",
        "max_seq_len=128",
        "lora.r=4",
        f"output_dir={tmp_path / 'run'}",
    )
    assert run.code == 0, run.err
    return tmp_path / "run"


def test_eval_gates_decide_the_exit_status_and_predictions_rescore(cli, tickets, lora_run, tmp_path) -> None:
    assert cli("data", "datasets", "--json").json()[0]["splits"]["test"] > 0  # the import's hash split left test rows
    config = tmp_path / "eval.yaml"
    config.write_text("bootstrap_samples: 40\ngates:\n  - accuracy >= 0\n", encoding="utf-8")
    passed = cli(
        "eval",
        "--model",
        str(lora_run),
        "--dataset",
        tickets,
        "--config",
        str(config),
        "--gate",
        "lift.accuracy >= -1",
        "--out",
        str(tmp_path / "pass"),
        "max_seq_len=128",
        "--json",
    )
    assert passed.code == 0, passed.err
    result = passed.json()
    assert result["passed"] is True and [g["gate"] for g in result["report"]["gates"]] == [
        "accuracy >= 0",
        "lift.accuracy >= -1",
    ]
    assert "label_scoring: " in passed.err and "examples/s" in passed.err
    assert Path(result["files"]["html"]).is_file()

    rescored = cli(
        "eval",
        "score",
        "--task",
        "classification",
        "--pred",
        result["files"]["predictions_tuned"],
        "--dataset",
        tickets,
        "--bootstrap-samples",
        "40",
        "--json",
    )
    assert rescored.code == 0, rescored.err
    assert rescored.json()["metrics"] == result["report"]["metrics"]["tuned"]
    assert rescored.json()["intervals"] == result["report"]["intervals"]["tuned"]
    text = cli("eval", "score", "--task", "classification", "--pred", result["files"]["predictions_base"])
    assert text.code == 0 and "macro_f1" in text.out and "95% CI" in text.out

    # the wrong examples: for classification, exactly the rows whose label differs from the gold one
    # (label scoring saves {label, confidence})
    rows = [json.loads(line) for line in Path(result["files"]["predictions_tuned"]).read_text().splitlines()]
    wrong = [row["index"] for row in rows if row["prediction"]["label"] != row["gold"]]
    errors = cli("eval", "errors", str(tmp_path / "pass"), "--limit", "0", "--json")
    assert errors.code == 0, errors.err
    assert errors.json()["errors"] == len(wrong) and [e["index"] for e in errors.json()["shown"]] == wrong
    every = cli("eval", "errors", str(tmp_path / "pass" / "report.json"), "--model", "base", "--all", "--limit", "2")
    assert every.code == 0 and f"of {len(rows)} wrong by macro_f1" in every.out
    assert f"... {len(rows) - 2} more" in every.out
    assert one_error_line(cli("eval", "errors", str(tmp_path))).startswith(f"error: {tmp_path} has no report.json")

    # one value per --gate: the KEY=VALUE words after it stay overrides
    failed = cli(
        "eval",
        "run",
        "--model",
        str(lora_run),
        "--dataset",
        tickets,
        "--gate",
        "accuracy > 1",
        "bootstrap_samples=0",
        "max_seq_len=128",
        "--out",
        str(tmp_path / "fail"),
        "--quiet",
    )
    assert failed.code == 1, failed.err
    assert failed.err == "" and "FAIL" in failed.out and "accuracy > 1" in failed.out
    assert "report.html" in failed.out and (tmp_path / "fail" / "report.json").is_file()
    saved = json.loads((tmp_path / "fail" / "report.json").read_text(encoding="utf-8"))
    assert saved["bootstrap"]["samples"] == 0 and saved["gates"][0]["passed"] is False
    # the model is a training run: when the cheap baseline is not beaten, what to try next follows the warning
    from brewslm.evaluation.report import baseline_verdict

    assert bool(saved.get("next_steps")) == (baseline_verdict(saved) is not None)
    for step in saved.get("next_steps") or []:
        assert f"  - {step}" in failed.out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--gate", "macro_f1 >> 0.8"], "error: "),
        (["bootstrap_sample=10"], "error: unknown option 'bootstrap_sample'; did you mean 'bootstrap_samples'?"),
        (["--split", "validation", "--dataset", "missing"], "error: dataset 'missing' not found"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, args, message) -> None:
    base = [] if "--dataset" in args else ["--dataset", "d"]
    line = one_error_line(cli("eval", "--model", "m", *base, *args))
    assert line.startswith(message), line
    if "--gate" in args:
        assert "macro_f1 >> 0.8" in line


def test_eval_score_errors_name_file_and_line(cli, tmp_path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"text": "a", "label": "x"}) + "\n", encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    pred.write_text('{"prediction": "x"}\n{"prediction": "y"}\n', encoding="utf-8")
    line = one_error_line(cli("eval", "score", "--task", "classification", "--gold", gold, "--pred", pred))
    assert "has 1 records but" in line and "2 predictions" in line
    line = one_error_line(cli("eval", "score", "--task", "nope", "--gold", gold, "--pred", pred))
    assert "unknown task profile 'nope'" in line


def test_eval_score_on_a_generation_task(cli, tmp_path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"question": "Who?", "answer": "The Fox"}) + "\n", encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    pred.write_text(json.dumps({"prediction": "fox"}) + "\n", encoding="utf-8")
    run = cli("eval", "score", "--task", "qa", "--gold", gold, "--pred", pred, "--bootstrap-samples", "0", "--json")
    assert run.code == 0, run.err
    assert run.json()["metrics"]["exact_match"] == 1.0


def test_harness_is_skipped_cleanly_without_lm_eval(cli, tiny_model_dir) -> None:
    from brewslm.evaluation.harness import lm_eval_available

    if lm_eval_available():
        pytest.skip("lm-eval is installed here; the skip path is what this test checks")
    run = cli("eval", "harness", "--model", str(tiny_model_dir), "--tasks", "arc_easy")
    assert run.code == 0 and run.out.startswith("skipped: lm-eval is not installed"), (run.out, run.err)
    assert one_error_line(cli("eval", "harness", "--model", "m", "--tasks"))  # argparse: --tasks needs a value


def test_help_lists_every_eval_option(cli) -> None:
    run = cli("eval", "run", "--help")
    assert run.code == 0 and "handler_options" in run.out and "bootstrap_samples" in run.out and "--gate" in run.out
    group = cli("eval", "--help").out
    assert "score" in group and "harness" in group
