"""Stats tables, subtask summaries, bootstrap intervals and the paired lift, on small hand-written
handlers (no model)."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pytest

import brewslm.evaluation.aggregate as aggregate
from brewslm.errors import ConfigError
from brewslm.evaluation.aggregate import (
    NO_SUBTASK,
    StatsTable,
    bootstrap_intervals,
    iter_resample_counts,
    paired_lift,
    summarize,
)
from brewslm.evaluation.handlers.base import EvalHandler, Scored


class Accuracy(EvalHandler):
    """Label equality; precision of the label "yes" (undefined when nothing is predicted "yes")."""

    task = "test_accuracy"
    headline = "accuracy"

    def gold(self, record: Mapping[str, Any]) -> Any:
        return record["label"]

    def score_example(self, record: Mapping[str, Any], prediction: Any) -> Scored:
        stats = {"examples": 1.0, "correct": float(prediction == record["label"])}
        if prediction == "yes":
            stats["pred_yes"] = 1.0
            stats["tp_yes"] = float(record["label"] == "yes")
        return Scored(stats)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float | None]:
        examples, predicted = totals.get("examples", 0.0), totals.get("pred_yes", 0.0)
        return {
            "accuracy": totals.get("correct", 0.0) / examples if examples else None,
            "precision_yes": totals.get("tp_yes", 0.0) / predicted if predicted else None,
            "examples": examples,
        }


class Perplexity(EvalHandler):
    task = "test_perplexity"
    headline = "perplexity"
    lower_is_better = frozenset({"perplexity"})

    def gold(self, record: Mapping[str, Any]) -> Any:
        return record["text"]

    def score_example(self, record: Mapping[str, Any], prediction: Any) -> Scored:
        return Scored({"examples": 1.0, "nll": prediction["nll"], "tokens": float(prediction["tokens"])})

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float | None]:
        tokens = totals.get("tokens", 0.0)
        return {"perplexity": math.exp(totals["nll"] / tokens) if tokens else None}


def scored_accuracy(correct: list[int]) -> list[Scored]:
    handler = Accuracy()
    return [handler.score_example({"label": "a"}, "a" if ok else "b") for ok in correct]


def test_stats_table_unions_keys_and_sums_rows() -> None:
    table = StatsTable.from_scored([Scored({"a": 1.0, "b": 2.0}), Scored({"b": 3.0, "c": 4.0}), Scored({})])
    assert table.keys == ("a", "b", "c")
    assert table.matrix.tolist() == [[1.0, 2.0, 0.0], [0.0, 3.0, 4.0], [0.0, 0.0, 0.0]]
    assert len(table) == 3
    assert table.totals() == {"a": 1.0, "b": 5.0, "c": 4.0}
    assert table.totals([1, 1, 0]) == {"a": 1.0, "b": 8.0, "c": 8.0}  # a row drawn twice counts twice
    assert table.totals([]) == {"a": 0.0, "b": 0.0, "c": 0.0}
    assert table.totals_weighted([2, 0, 5]) == {"a": 2.0, "b": 4.0, "c": 0.0}
    assert all(type(v) is float for v in table.totals().values())
    with pytest.raises(ValueError):
        table.totals_weighted([1, 2])
    empty = StatsTable.from_scored([])
    assert empty.keys == () and len(empty) == 0 and empty.totals() == {}


def test_summarize_whole_set_and_subtasks() -> None:
    handler = Accuracy()
    scored = scored_accuracy([1, 1, 0, 1, 0, 0])
    plain = summarize(handler, scored)
    assert plain == {"metrics": {"accuracy": 0.5, "precision_yes": None, "examples": 6.0}, "by_subtask": {}}
    assert summarize(handler, scored, [None] * 6)["by_subtask"] == {}

    result = summarize(handler, scored, ["math", "math", "math", "code", "code", None])
    assert result["metrics"]["accuracy"] == 0.5
    assert list(result["by_subtask"]) == ["code", "math", NO_SUBTASK]  # sorted, the rest last
    assert result["by_subtask"]["math"]["accuracy"] == pytest.approx(2 / 3)
    assert result["by_subtask"]["code"] == {"examples": 2, "accuracy": 0.5, "precision_yes": None}
    assert result["by_subtask"][NO_SUBTASK]["accuracy"] == 0.0
    assert sum(group["examples"] for group in result["by_subtask"].values()) == 6
    # a table built once serves both calls
    assert summarize(handler, StatsTable.from_scored(scored))["metrics"] == plain["metrics"]
    with pytest.raises(ValueError):
        summarize(handler, scored, ["x"])


def test_resample_counts_are_seeded_and_independent_of_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = np.vstack(list(iter_resample_counts(7, 50, seed=3)))
    assert whole.shape == (50, 7) and (whole.sum(axis=1) == 7).all()
    assert (np.vstack(list(iter_resample_counts(7, 50, seed=3))) == whole).all()
    assert not (np.vstack(list(iter_resample_counts(7, 50, seed=4))) == whole).all()
    monkeypatch.setattr(aggregate, "RESAMPLE_CELLS", 20)  # chunks of 2 resamples
    chunks = list(iter_resample_counts(7, 50, seed=3))
    assert len(chunks) == 25 and (np.vstack(chunks) == whole).all()
    assert list(iter_resample_counts(0, 50)) == [] and list(iter_resample_counts(5, 0)) == []


def naive_percentiles(
    handler: EvalHandler, table: StatsTable, metric: str, samples: int, seed: int, confidence: float
) -> list[float]:
    """The slow way: resample row indices, sum them, compute the metric, take percentiles."""
    values = []
    for counts in np.vstack(list(iter_resample_counts(len(table), samples, seed))):
        value = handler.metrics(table.totals(np.repeat(np.arange(len(table)), counts)))[metric]
        if value is not None:
            values.append(value)
    tail = (1 - confidence) / 2 * 100
    return [float(v) for v in np.percentile(values, [tail, 100 - tail])]


def test_bootstrap_intervals_equal_the_naive_resampling() -> None:
    handler = Accuracy()
    rng = np.random.default_rng(0)
    scored = scored_accuracy(list(rng.integers(0, 2, size=40)))
    intervals = bootstrap_intervals(handler, scored, samples=300, seed=5, confidence=0.9)
    expected = naive_percentiles(handler, StatsTable.from_scored(scored), "accuracy", 300, 5, 0.9)
    assert intervals["accuracy"] == pytest.approx(expected, abs=1e-12)
    assert list(intervals) == ["accuracy", "precision_yes", "examples"]  # the handler's order
    assert intervals["precision_yes"] == [None, None]  # undefined in every resample
    assert intervals["examples"] == [40.0, 40.0]
    assert bootstrap_intervals(handler, scored, samples=300, seed=5, confidence=0.9) == intervals


def test_bootstrap_interval_matches_the_normal_approximation() -> None:
    handler = Accuracy()
    scored = scored_accuracy([1] * 280 + [0] * 120)  # accuracy 0.7 on 400 examples
    low, high = bootstrap_intervals(handler, scored, samples=2000, seed=1)["accuracy"]
    half_width = 1.96 * math.sqrt(0.7 * 0.3 / 400)
    assert low == pytest.approx(0.7 - half_width, abs=0.01)
    assert high == pytest.approx(0.7 + half_width, abs=0.01)
    narrow = bootstrap_intervals(handler, scored, samples=2000, seed=1, confidence=0.5)["accuracy"]
    assert low < narrow[0] < 0.7 < narrow[1] < high


def test_bootstrap_skips_resamples_where_a_metric_is_undefined() -> None:
    handler = Accuracy()
    # one "yes" prediction (a true positive) among 4 examples: resamples without it leave
    # precision undefined, the others give exactly 1.0
    scored = [handler.score_example({"label": "yes"}, "yes")] + scored_accuracy([1, 0, 1])
    interval = bootstrap_intervals(handler, scored, samples=200, seed=0)["precision_yes"]
    assert interval == [1.0, 1.0]


def test_bootstrap_edge_cases() -> None:
    handler = Accuracy()
    assert bootstrap_intervals(handler, [], samples=100) == {}
    assert bootstrap_intervals(handler, scored_accuracy([1, 0]), samples=0) == {}
    single = bootstrap_intervals(handler, scored_accuracy([1]), samples=50)
    assert single["accuracy"] == [1.0, 1.0]
    with pytest.raises(ConfigError, match="confidence"):
        bootstrap_intervals(handler, scored_accuracy([1]), confidence=95)
    with pytest.raises(ConfigError, match="bootstrap_samples"):
        bootstrap_intervals(handler, scored_accuracy([1]), samples=-1)


def test_paired_lift_uses_the_same_resamples_for_both_models() -> None:
    handler = Accuracy()
    rng = np.random.default_rng(2)
    base_ok = rng.random(60) < 0.5
    tuned_ok = base_ok | (rng.random(60) < 0.5)  # the fine-tune keeps every base success and adds some
    tuned, base = scored_accuracy(list(tuned_ok)), scored_accuracy(list(base_ok))
    lift = paired_lift(handler, tuned, base, samples=400, seed=3)
    entry = lift["accuracy"]
    assert entry["tuned"] == pytest.approx(tuned_ok.mean()) and entry["base"] == pytest.approx(base_ok.mean())
    assert entry["lift"] == pytest.approx(tuned_ok.mean() - base_ok.mean())
    assert entry["better"] is True
    # paired: the tuned model never loses an example, so no resample can show a negative lift
    assert 0.0 <= entry["ci_low"] <= entry["lift"] <= entry["ci_high"]

    # the interval is the percentile of the per-resample difference, computed the slow way
    tuned_table, base_table = StatsTable.from_scored(tuned), StatsTable.from_scored(base)
    differences = []
    for counts in np.vstack(list(iter_resample_counts(60, 400, 3))):
        rows = np.repeat(np.arange(60), counts)
        differences.append(
            handler.metrics(tuned_table.totals(rows))["accuracy"] - handler.metrics(base_table.totals(rows))["accuracy"]
        )
    assert [entry["ci_low"], entry["ci_high"]] == pytest.approx(list(np.percentile(differences, [2.5, 97.5])))

    assert lift["precision_yes"] == {
        "base": None,
        "tuned": None,
        "lift": None,
        "ci_low": None,
        "ci_high": None,
        "better": None,
    }
    assert set(entry) == {"base", "tuned", "lift", "ci_low", "ci_high", "better"}


def test_paired_lift_of_identical_models_is_exactly_zero() -> None:
    handler = Accuracy()
    scored = scored_accuracy([1, 0, 1, 1, 0])
    entry = paired_lift(handler, scored, scored, samples=100)["accuracy"]
    assert entry["lift"] == 0.0 and entry["ci_low"] == 0.0 and entry["ci_high"] == 0.0
    assert entry["better"] is False


def test_paired_lift_lower_is_better_reports_tuned_minus_base() -> None:
    handler = Perplexity()
    base = [handler.score_example({}, {"nll": 30.0, "tokens": 10}) for _ in range(8)]
    tuned = [handler.score_example({}, {"nll": 20.0, "tokens": 10}) for _ in range(8)]
    entry = paired_lift(handler, tuned, base, samples=50)["perplexity"]
    assert entry["lift"] == pytest.approx(math.exp(2.0) - math.exp(3.0)) and entry["lift"] < 0
    assert entry["better"] is True  # lower perplexity is the improvement
    assert entry["ci_high"] == pytest.approx(entry["lift"])  # every example is the same: no spread
    worse = paired_lift(handler, base, tuned, samples=0)["perplexity"]
    assert worse["better"] is False and worse["lift"] > 0 and worse["ci_low"] is None


def test_paired_lift_needs_the_same_rows() -> None:
    with pytest.raises(ValueError, match="same rows"):
        paired_lift(Accuracy(), scored_accuracy([1, 0]), scored_accuracy([1]))
