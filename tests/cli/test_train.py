"""``brewslm train`` and ``brewslm train export`` (an alias of ``brewslm export``) end to end on the tiny model,
in a private workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.tiny_model import tiny_model_dir  # noqa: F401  (a fixture)


def one_error_line(run) -> str:
    assert run.code == 2, (run.code, run.out, run.err)
    assert "Traceback" not in run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    return lines[0]


@pytest.fixture
def tickets(cli, tickets_jsonl: Path) -> str:
    run = cli(
        "data",
        "import",
        "--locator",
        f"jsonl:{tickets_jsonl}",
        "--mapper",
        "label_to_classification",
        "--dataset",
        "tickets",
        "--json",
    )
    assert run.code == 0, run.err
    return "tickets"


def test_train_then_export(cli, tickets, tiny_model_dir, tmp_path) -> None:
    config = tmp_path / "train.yaml"
    config.write_text("batch_size: 4\nlora:\n  r: 4\nlog_every: 1\n", encoding="utf-8")
    run = cli(
        "train",
        "--dataset",
        tickets,
        "--base",
        str(tiny_model_dir),
        "--config",
        str(config),
        "max_steps=3",
        "max_seq_len=128",
        f"output_dir={tmp_path / 'run'}",
        "--json",
    )
    assert run.code == 0, run.err
    result = run.json()
    assert result["steps"] == 3 and result["run_dir"] == str(tmp_path / "run")
    assert "step 1/3" in run.err and "step 3/3" in run.err and "done:" in run.err
    assert (tmp_path / "run" / "model" / "adapter_config.json").is_file()

    exported = cli("train", "export", str(tmp_path / "run"), "--merge", "--out", str(tmp_path / "merged"))
    assert exported.code == 0, exported.err
    assert exported.err.strip() == (
        f"note: 'brewslm train export' is now 'brewslm export {tmp_path / 'run'} "
        f"--format hf --out {tmp_path / 'merged'}'; it ran that"
    )
    assert "model card" in exported.out and (tmp_path / "merged" / "config.json").is_file()  # export's output
    assert json.loads((tmp_path / "merged" / "brewslm_export.json").read_text())["merged_lora"] is True
    assert (tmp_path / "merged" / "README.md").is_file()  # the model card 'brewslm export' writes too


def test_train_run_is_the_default_command_and_reads_as_text(cli, tickets, tiny_model_dir, tmp_path) -> None:
    run = cli(
        "train",
        "run",
        "--dataset",
        tickets,
        "--base",
        str(tiny_model_dir),
        "--method",
        "full",
        "--quiet",
        "max_steps=1",
        "max_seq_len=128",
        "run_name=first",
    )
    assert run.code == 0, run.err
    assert run.err == "" and "steps" in run.out and "throughput" in run.out
    named = cli("train", "export", "first", "--out", str(tmp_path / "full"), "--json")  # --merge: always
    assert named.code == 0 and named.json()["out_dir"] == str(tmp_path / "full")
    assert named.json() == cli("export", "first", "--out", str(tmp_path / "full"), "--overwrite", "--json").json()


@pytest.mark.parametrize(
    "args, message",
    [
        (["learning_rte=1e-4"], "error: unknown option 'learning_rte'; did you mean 'learning_rate'?"),
        (["lora.r=zero"], "error: option 'lora.r': Input should be a valid integer"),
        (["--dataset", "missing"], "error: dataset 'missing' not found"),
    ],
)
def test_bad_options_are_one_line_errors(cli, tiny_model_dir, args, message) -> None:
    base = [] if "--dataset" in args else ["--dataset", "d"]
    line = one_error_line(cli("train", *base, "--base", str(tiny_model_dir), *args))
    assert line.startswith(message), line


def test_train_export_errors_are_brewslm_exports_in_one_line_saying_where_it_went(cli, tmp_path) -> None:
    line = one_error_line(cli("train", "export", "x", "--merge", "--out", str(tmp_path / "o")))
    assert "'x' is not an export folder" in line
    assert line.endswith(f"('brewslm train export' is now 'brewslm export x --format hf --out {tmp_path / 'o'}')")


def test_help_lists_every_training_option(cli) -> None:
    run = cli("train", "run", "--help")
    assert run.code == 0 and "lora.target_modules" in run.out and "early_stopping.patience" in run.out
    assert "export" in cli("train", "--help").out


def test_train_with_a_search_and_a_task_metric(cli, tickets, tiny_model_dir, tmp_path) -> None:
    common = [
        "--dataset",
        tickets,
        "--base",
        str(tiny_model_dir),
        "batch_size=8",
        "max_seq_len=128",
        "max_train_examples=8",
        "max_eval_examples=4",
    ]
    run = cli(
        "train",
        *common,
        "search.enabled=true",
        "search.learning_rates=[1e-3, 1e-4]",
        "search.max_epochs=1",
        "search.budget_minutes=0.000001",
        "search.max_validation_rows=4",
        f"output_dir={tmp_path / 's'}",
        "--json",
    )
    assert run.code == 0, run.err
    result = run.json()
    assert "search: 2 learning rates 0.001, 0.0001" in run.err and "would pass the budget" in run.err
    assert result["search"]["stopped_by_budget"] and len(result["search"]["trials"]) == 1
    assert result["run_dir"] == str(tmp_path / "s" / "trials" / "rung0-00-lr0.001")
    assert result["best"]["metric"] == "macro_f1" and (tmp_path / "s" / "search.json").is_file()

    text = cli("train", *common, "early_stopping.metric=accuracy", "epochs=1", f"output_dir={tmp_path / 'm'}")
    assert text.code == 0, text.err
    assert "validation accuracy" in text.out and "kept the model of step" in text.out
    line = one_error_line(cli("train", *common, "early_stopping.metric=bleu", f"output_dir={tmp_path / 'x'}"))
    assert line.startswith(
        "error: option 'early_stopping.metric' is 'bleu', which classification validation does "
        "not report; use eval_loss or one of:"
    ), line


def test_help_lists_the_search_options(cli) -> None:
    out = cli("train", "run", "--help").out
    assert "search.budget_minutes" in out and "early_stopping.metric" in out and "search.max_validation_rows" in out
