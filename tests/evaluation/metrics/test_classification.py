"""metrics.classification equals scikit-learn's classification_report and confusion_matrix."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import classification_report, f1_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from brewslm.evaluation.metrics.classification import (
    classification_metrics,
    confusion_matrix,
    label_stats,
    majority_baseline,
    per_class,
)
from brewslm.evaluation.metrics.common import sum_stats

UNPARSEABLE = "<unparseable>"  # stands in for None on the sklearn side; never a class there


def totals_of(gold, predictions):
    return {"examples": float(len(gold)), **sum_stats(label_stats(g, p) for g, p in zip(gold, predictions))}


def sklearn_view(gold, predictions):
    """sklearn's report over gold ∪ predicted labels, an unparseable prediction a non-class."""
    y_pred = [UNPARSEABLE if p is None else p for p in predictions]
    labels = sorted(set(gold) | {p for p in predictions if p is not None})
    report = classification_report(gold, y_pred, labels=labels, output_dict=True, zero_division=0)
    return labels, report


def assert_matches_sklearn(gold, predictions):
    totals = totals_of(gold, predictions)
    ours = classification_metrics(totals)
    labels, report = sklearn_view(gold, predictions)
    table = per_class(totals)
    assert list(table) == labels
    for label in labels:
        expected = report[label]
        assert table[label]["precision"] == pytest.approx(expected["precision"], abs=1e-9)
        assert table[label]["recall"] == pytest.approx(expected["recall"], abs=1e-9)
        assert table[label]["f1"] == pytest.approx(expected["f1-score"], abs=1e-9)
        assert table[label]["support"] == expected["support"]
    for average in ("macro", "weighted"):
        for ours_name, sk_name in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert ours[f"{average}_{ours_name}"] == pytest.approx(report[f"{average} avg"][sk_name], abs=1e-9)
    accuracy = np.mean([g == p for g, p in zip(gold, predictions)])
    assert ours["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    if "micro avg" in report:  # sklearn reports micro averages when labels= leaves a prediction out
        for name, sk_name in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert ours[f"micro_{name}"] == pytest.approx(report["micro avg"][sk_name], abs=1e-9)
    else:
        assert report["accuracy"] == pytest.approx(accuracy, abs=1e-12)
        assert ours["micro_f1"] == pytest.approx(accuracy, abs=1e-9)
    return totals, labels


@pytest.mark.parametrize("seed", range(25))
def test_random_labels_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    classes = ["neg", "neu", "pos", "never_predicted", "only_predicted"]
    n = int(rng.integers(1, 60))
    gold = list(rng.choice(classes[:4], size=n, p=[0.4, 0.3, 0.2, 0.1]))
    predictions = [str(x) for x in rng.choice(["neg", "neu", "pos", "only_predicted"], size=n)]
    unparseable_share = [0.0, 0.2][seed % 2]
    predictions = [None if rng.random() < unparseable_share else p for p in predictions]
    gold = [str(g) for g in gold]
    totals, labels = assert_matches_sklearn(gold, predictions)
    if "never_predicted" in gold:
        assert per_class(totals)["never_predicted"]["precision"] == 0.0


def test_named_edge_cases():
    assert_matches_sklearn(["a", "a", "b"], ["a", "c", "c"])  # b never predicted, c never gold
    assert_matches_sklearn(["a", "b"], [None, None])  # nothing parsed
    assert_matches_sklearn(["a"], ["a"])
    totals = totals_of(["a", "b"], [None, None])
    metrics = classification_metrics(totals)
    assert metrics["accuracy"] == 0.0 and metrics["micro_precision"] == 0.0 and metrics["macro_f1"] == 0.0


def test_no_examples_has_undefined_accuracy():
    assert classification_metrics({})["accuracy"] is None


@pytest.mark.parametrize("seed", range(5))
def test_confusion_matrix_matches_sklearn_plus_unparseable_column(seed):
    rng = np.random.default_rng(100 + seed)
    gold = [str(x) for x in rng.choice(["x", "y", "z"], size=40)]
    predictions = [None if rng.random() < 0.15 else str(p) for p in rng.choice(["x", "y", "w"], size=40)]
    labels, matrix = confusion_matrix(totals_of(gold, predictions))
    assert labels == ["w", "x", "y", "z"]
    y_pred = [UNPARSEABLE if p is None else p for p in predictions]
    expected = sk_confusion_matrix(gold, y_pred, labels=labels + [UNPARSEABLE])[: len(labels)]
    assert matrix == expected.tolist()
    assert sum(map(sum, matrix)) == len(gold)


def test_confusion_keys_survive_labels_with_separators():
    gold = ['say "hi"', "a, b", "a, b"]
    predictions = ["a, b", "a, b", None]
    labels, matrix = confusion_matrix(totals_of(gold, predictions), labels=["a, b", 'say "hi"'])
    assert matrix == [[1, 0, 1], [1, 0, 0]]


@pytest.mark.parametrize("majority", ["a", "b", "unseen"])
def test_majority_baseline_equals_sklearn_on_a_constant_prediction(majority):
    gold = ["a"] * 6 + ["b"] * 3 + ["c"]
    baseline = majority_baseline(totals_of(gold, ["c"] * len(gold)), majority)  # the model's predictions don't matter
    constant = [majority] * len(gold)
    assert baseline["majority_baseline_accuracy"] == pytest.approx(np.mean([g == majority for g in gold]))
    assert baseline["majority_baseline_macro_f1"] == pytest.approx(
        f1_score(gold, constant, average="macro", zero_division=0), abs=1e-12
    )
    assert majority_baseline({}, "a") == {"majority_baseline_accuracy": None, "majority_baseline_macro_f1": None}
