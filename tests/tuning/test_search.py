"""The hyper-parameter search (successive halving on the validation split) and the task-metric
evaluator it ranks with, on the tiny model and the 16-row sentiment dataset."""

from __future__ import annotations

import json
import math

import pytest

from brewslm.errors import ConfigError
from brewslm.training import load_trained, read_run
from brewslm.tuning.search import Trial, rank, rung_epochs, search
from brewslm.tuning.validation import validation_evaluator, with_task_metric
from training.conftest import config_for, import_rows, quiet, sentiment, tiny_lm_dir, workspace  # noqa: F401  (fixtures)

SMALL_SPACE = {"learning_rates": [5e-3, 1e-6], "max_epochs": 2}


def searched(config_for, search=None, **fields):  # noqa: F811  (the fixture, passed in)
    """One optimizer step per epoch (8 of the 16 rows, batches of 8), halving by 2, 8 validation rows."""
    settings = {"eta": 2, "max_validation_rows": 8, **(search or {})}
    return config_for("sentiment", batch_size=8, max_train_examples=8, search=settings, **fields)


def test_rungs_and_ranking_are_fixed_by_the_settings() -> None:
    assert rung_epochs(3, 3, 3) == [1.0, 3.0] and rung_epochs(9, 9, 3) == [1.0, 3.0, 9.0]
    assert rung_epochs(2, 2, 2) == [1.0, 2.0] and rung_epochs(3, 1, 3) == [3.0]
    trials = [Trial(0, i, 1e-4, 1, value, None, None, 1.0, "") for i, value in enumerate([0.5, 0.9, None, 0.9, 0.1])]
    assert [t.candidate for t in rank(trials, "max")] == [1, 3, 0, 4, 2]  # a tie goes to the earlier candidate
    assert [t.candidate for t in rank(trials, "min")] == [4, 0, 1, 3, 2]  # no metric: last either way


def test_the_search_is_deterministic_and_keeps_the_winners_model(sentiment, config_for, quiet, tmp_path) -> None:
    first = search(searched(config_for, output_dir=str(tmp_path / "a")), SMALL_SPACE, 3600, progress=quiet)
    second = search(searched(config_for, output_dir=str(tmp_path / "b")), SMALL_SPACE, 3600)
    assert first.metric == "macro_f1" and first.mode == "max" and not first.stopped_by_budget
    # rung 1: both rates for 1 epoch; rung 2: the better one for 2 epochs
    assert [(t.rung, t.learning_rate, t.epochs) for t in first.trials][:2] == [(0, 5e-3, 1.0), (0, 1e-6, 1.0)]
    leader = rank(first.trials[:2], "max")[0]
    assert [(t.rung, t.learning_rate, t.epochs) for t in first.trials[2:]] == [(1, leader.learning_rate, 2.0)]
    assert first.best == first.trials[-1] and first.best_config.learning_rate == leader.learning_rate
    assert [(t.learning_rate, t.metric, t.best_step) for t in first.trials] == [
        (t.learning_rate, t.metric, t.best_step) for t in second.trials
    ]
    # the model kept is the winner's run, and it scores what the search says it scored
    assert (
        first.result.run_dir == tmp_path / "a" / "trials" / f"rung1-{leader.candidate:02d}-lr{leader.learning_rate:g}"
    )
    assert read_run(first.result.run_dir)["metrics"]["best"]["value"] == first.best.metric
    model, tokenizer = load_trained(first.result.run_dir)
    evaluator = validation_evaluator(first.best_config, max_rows=8)
    assert math.isclose(evaluator(model, tokenizer)["macro_f1"], first.best.metric)
    saved = json.loads((tmp_path / "a" / "search.json").read_text(encoding="utf-8"))
    assert [t["metric"] for t in saved["trials"]] == [t.metric for t in first.trials]
    assert saved["best_settings"]["learning_rate"] == leader.learning_rate
    assert (tmp_path / "a" / "search.png").read_bytes()[:4] == b"\x89PNG"
    messages = [e["message"] for e in quiet.events if e.get("event") == "info"]
    assert messages[0].startswith("search: 2 learning rates 0.005, 1e-06; rungs of 1, 2 epochs")
    assert not any(e.get("event") == "step" for e in quiet.events)


def test_the_budget_bounds_the_trials(sentiment, config_for, quiet, tmp_path) -> None:
    outcome = search(searched(config_for, output_dir=str(tmp_path / "s")), SMALL_SPACE, 0.0, progress=quiet)
    assert len(outcome.trials) == 1 and outcome.stopped_by_budget  # the first trial always runs, no other fits
    assert outcome.best.learning_rate == 5e-3 and (tmp_path / "s" / "search.json").is_file()
    assert any("would pass the budget" in e.get("message", "") for e in quiet.events)
    with pytest.raises(ConfigError, match="already holds a search"):
        search(searched(config_for, output_dir=str(tmp_path / "s")), SMALL_SPACE, 0.0)


def test_bad_search_settings_fail_before_training(import_rows, sentiment, config_for, tmp_path) -> None:
    with pytest.raises(
        ConfigError,
        match="option 'search.metric' is 'bleu', which classification validation does "
        "not report; use eval_loss or one of: .*macro_f1",
    ):
        search(searched(config_for, search={"metric": "bleu"}), SMALL_SPACE, 60)
    with pytest.raises(ConfigError, match="unset max_steps"):
        search(searched(config_for, max_steps=3), SMALL_SPACE, 60)
    import_rows("no-val", [{"text": "fine", "label": "positive"}, {"text": "bad", "label": "negative"}])
    with pytest.raises(ConfigError, match="the hyper-parameter search needs validation data, and dataset 'no-val' v1"):
        search(config_for("no-val"), SMALL_SPACE, 60)
    with pytest.raises(ConfigError, match="option 'learning_rates'|search.learning_rates"):
        config_for("sentiment", search={"learning_rates": []})
    assert not any(p.name.startswith("run-") and (p / "run.json").exists() for p in tmp_path.iterdir())


def test_early_stopping_on_macro_f1_with_the_task_evaluator(sentiment, config_for, quiet) -> None:
    config, evaluator = with_task_metric(
        config_for(sentiment, epochs=2, batch_size=8, early_stopping={"metric": "macro_f1"})
    )
    assert config.early_stopping.mode == "max" and evaluator.headline == "macro_f1"
    from brewslm.training import train

    result = train(config, progress=quiet, validation_metrics=evaluator)
    evals = [
        e for e in map(json.loads, (result.run_dir / "metrics.jsonl").read_text().splitlines()) if e["kind"] == "eval"
    ]
    assert len(evals) == 2 and all("macro_f1" in e and "accuracy" in e for e in evals)
    assert result.best["value"] == max(e["macro_f1"] for e in evals)
    model, tokenizer = load_trained(result.run_dir)
    assert math.isclose(evaluator(model, tokenizer)["macro_f1"], result.best["value"])
