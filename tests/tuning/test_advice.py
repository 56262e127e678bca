"""tuning/advice.py: the next steps a report gives when the cheap baseline is not beaten."""

from __future__ import annotations

import json

import pytest

from brewslm.base_models.catalog import CATALOG
from brewslm.tuning.advice import TrainingFacts, curve_trend, next_steps, training_facts


def _report(lift: float, low: float, high: float, tuned: float = 0.66, baseline: float = 0.80) -> dict:
    return {
        "headline": "macro_f1",
        "models": {"baseline": {"name": "tfidf_logreg", "title": "TF-IDF"}},
        "baselines": {"tfidf_logreg": {"seconds": 2.0}},
        "lift_vs_baseline": {
            "macro_f1": {
                "lift": lift,
                "ci_low": low,
                "ci_high": high,
                "better": lift > 0,
                "base": baseline,
                "tuned": tuned,
            }
        },
    }


def _facts(curve, parameters=134_515_008, epochs=3.0, seconds=1800.0) -> TrainingFacts:
    return TrainingFacts(
        parameters=parameters,
        method="lora",
        epochs=epochs,
        train_seconds=seconds,
        metric="macro_f1",
        mode="max",
        curve=tuple(curve),
        learning_rate=5e-4,
    )


@pytest.mark.parametrize(
    "curve, mode, trend",
    [
        ([(1, 0.60), (2, 0.70), (3, 0.78)], "max", "rising"),
        ([(1, 0.60), (2, 0.75), (3, 0.76)], "max", "flat"),  # the last gain is under a quarter of the rise
        ([(1, 0.60), (2, 0.75), (3, 0.70)], "max", "peaked"),
        ([(1, 0.60), (2, 0.60)], "max", "flat"),
        ([(1, 2.0), (2, 1.5), (3, 1.0)], "min", "rising"),  # a loss falling is a curve still improving
        ([(1, 0.6)], "max", "unknown"),
    ],
)
def test_curve_trend_reads_the_validation_curve(curve, mode, trend):
    assert curve_trend(curve, mode) == trend


def test_no_advice_when_the_fine_tune_clearly_beats_the_baseline():
    assert next_steps(_report(+0.05, +0.02, +0.08, tuned=0.85), _facts([(1, 0.6), (2, 0.7)])) == []
    assert next_steps({"headline": "macro_f1"}, None) == []


def test_a_rising_curve_suggests_more_epochs_at_this_runs_speed():
    lines = next_steps(_report(-0.14, -0.17, -0.11), _facts([(1, 0.66), (2, 0.75), (3, 0.82)]))
    assert lines[0].startswith(
        "The fine-tune trails tfidf_logreg by 0.140 macro_f1 (0.660 now, 0.800 for the baseline)"
    )
    assert "still rising" in lines[1] and "epochs=5" in lines[1]
    assert "about 20 more minutes" in lines[1]  # 1800 s over 3 epochs = 10 minutes an epoch, 2 more epochs


def test_a_peaked_curve_points_at_a_search_or_a_larger_model_with_scaled_times():
    lines = next_steps(_report(-0.1, -0.2, -0.05), _facts([(1, 0.66), (2, 0.75), (3, 0.70)]))
    assert "peaked before the end" in lines[1] and "search.enabled=true" in lines[1]
    larger = sorted((m for m in CATALOG if m.parameters > 134_515_008 * 1.2), key=lambda m: (m.parameters, m.id))[:3]
    for model in larger:
        minutes = 30 * model.parameters / 134_515_008  # 30 minutes for 3 epochs, scaled by parameters
        assert f"{model.id} ({model.parameters / 1e6:.0f}M, about {minutes:.0f} minutes for 3 epochs here)" in lines[2]


def test_a_lead_inside_the_noise_is_named_as_such():
    lines = next_steps(_report(+0.02, -0.03, +0.07, tuned=0.82), _facts([(1, 0.6), (2, 0.8)]))
    assert "leads tfidf_logreg by only 0.020 macro_f1" in lines[0]


def test_training_facts_read_the_run_folder(tmp_path):
    (tmp_path / "run.json").write_text(
        json.dumps(
            {
                "status": "finished",
                "method": "lora",
                "parameters": {"total": 1000, "trainable": 10},
                "schedule": {"steps_per_epoch": 10},
                "metrics": {
                    "epochs": 2.0,
                    "train_seconds": 120.0,
                    "best": {"metric": "micro_f1", "mode": "max", "value": 0.5, "step": 20},
                },
            }
        )
    )
    (tmp_path / "metrics.jsonl").write_text(
        "\n".join(
            json.dumps(e)
            for e in [
                {"kind": "step", "step": 10, "loss": 1.0},
                {"kind": "eval", "step": 10, "eval_loss": 0.9, "micro_f1": 0.4},
                {"kind": "eval", "step": 20, "eval_loss": 0.8, "micro_f1": 0.5},
            ]
        )
        + "\n"
    )
    (tmp_path / "config.yaml").write_text("method: lora\nlearning_rate: 0.0005\n")
    facts = training_facts(tmp_path)
    assert facts == TrainingFacts(
        parameters=1000,
        method="lora",
        epochs=2.0,
        train_seconds=120.0,
        metric="micro_f1",
        mode="max",
        curve=((1.0, 0.4), (2.0, 0.5)),
        learning_rate=0.0005,
    )
    assert training_facts(tmp_path / "missing") is None
