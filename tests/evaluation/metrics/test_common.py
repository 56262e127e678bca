"""metrics.common: length statistics, ratios, P/R/F1 with sklearn's zero_division=0, per-label counts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_recall_fscore_support

from brewslm.evaluation.metrics.common import (
    LabelCounts,
    averaged_scores,
    canonical_text,
    count_key,
    example_stats,
    label_counts,
    length_stats,
    per_label_scores,
    prf,
    ratio,
    shared_metrics,
    sum_stats,
)
from brewslm.tasks.rendering import to_json


def test_length_stats_measure_canonical_text():
    assert length_stats("positive", "neg") == {"pred_chars": 3.0, "gold_chars": 8.0}
    assert length_stats("positive", None) == {"pred_chars": 0.0, "gold_chars": 8.0}
    spans = [{"start": 0, "end": 3, "label": "PER"}]
    assert length_stats(spans, []) == {"pred_chars": 2.0, "gold_chars": float(len(to_json(spans)))}
    assert canonical_text({"tool": "f", "arguments": {"x": "é"}}) == '{"tool": "f", "arguments": {"x": "é"}}'


def test_ratio_is_none_when_undefined():
    assert ratio(1, 4) == 0.25
    assert ratio(0, 0) is None
    assert ratio(3, 0) is None
    assert ratio(0, 2) == 0.0


def test_example_stats_and_shared_metrics():
    rows = [example_stats("abcd", "ab"), example_stats("abcd", None), example_stats("xy", "xyz", unparseable=True)]
    assert rows[0] == {"examples": 1.0, "unparseable": 0.0, "pred_chars": 2.0, "gold_chars": 4.0}
    totals = sum_stats(rows)
    assert totals == {"examples": 3.0, "unparseable": 2.0, "pred_chars": 5.0, "gold_chars": 10.0}
    assert shared_metrics(totals) == {"length_ratio": 0.5, "unparseable_rate": pytest.approx(2 / 3)}
    assert shared_metrics({}) == {"length_ratio": None, "unparseable_rate": None}


def _arrays(tp: int, fp: int, fn: int, tn: int) -> tuple[list[int], list[int]]:
    gold = [1] * tp + [0] * fp + [1] * fn + [0] * tn
    pred = [1] * tp + [1] * fp + [0] * fn + [0] * tn
    return gold, pred


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6), st.integers(0, 3))
def test_prf_equals_sklearn_with_zero_division_0(tp, fp, fn, tn):
    gold, pred = _arrays(tp, fp, fn, tn)
    if not gold:
        gold, pred = [0], [0]
    expected = precision_recall_fscore_support(gold, pred, labels=[1], average=None, zero_division=0)
    assert prf(tp, fp, fn) == pytest.approx((expected[0][0], expected[1][0], expected[2][0]), abs=1e-12)


def test_prf_edge_cases():
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)
    assert prf(0, 0, 3) == (0.0, 0.0, 0.0)  # never predicted: precision 0, as sklearn
    assert prf(2, 0, 0) == (1.0, 1.0, 1.0)


def test_label_counts_read_namespaced_keys_and_odd_labels():
    totals = {
        count_key("tp", "a:b"): 2.0,
        count_key("fn", "a:b"): 1.0,
        count_key("fp", "c"): 1.0,
        count_key("tp", "a:b", "relaxed_"): 3.0,
        count_key("fn", "zero"): 0.0,
        "examples": 4.0,
        "cm:x": 1.0,
    }
    assert label_counts(totals) == {"a:b": LabelCounts(tp=2, fn=1), "c": LabelCounts(fp=1)}
    assert label_counts(totals, "relaxed_") == {"a:b": LabelCounts(tp=3)}
    assert LabelCounts(tp=2, fp=1, fn=3).support == 5 and LabelCounts(tp=2, fp=1).predicted == 3


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("abcde")), min_size=1, max_size=30))
def test_averaged_scores_equal_sklearn(pairs):
    gold = [g for g, _ in pairs]
    pred = [p for _, p in pairs]
    totals = sum_stats(
        {count_key("tp", g): 1.0} if g == p else {count_key("fn", g): 1.0, count_key("fp", p): 1.0} for g, p in pairs
    )
    counts = label_counts(totals)
    assert list(counts) == sorted(set(gold) | set(pred))
    scores = averaged_scores(counts)
    table = per_label_scores(counts)
    labels = list(counts)
    for average in ("micro", "macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(gold, pred, labels=labels, average=average, zero_division=0)
        assert (scores[f"{average}_precision"], scores[f"{average}_recall"], scores[f"{average}_f1"]) == pytest.approx(
            (p, r, f), abs=1e-9
        )
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=labels, average=None, zero_division=0)
    for i, label in enumerate(labels):
        assert table[label] == pytest.approx({"precision": p[i], "recall": r[i], "f1": f[i], "support": s[i]}, abs=1e-9)


def test_averaged_scores_without_labels_are_zero():
    assert set(averaged_scores({}).values()) == {0.0}
