"""Calibration metrics: hand-computed values, sklearn's calibration_curve and an independent numpy ECE."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from brewslm.evaluation.metrics.calibration import (
    bin_index,
    calibration_metrics,
    calibration_stats,
    expected_calibration_error,
    max_calibration_error,
    reliability_bins,
    reliability_from_totals,
)
from brewslm.evaluation.metrics.common import sum_stats


def numpy_ece(confidences, correct, bins):
    """The textbook ECE / MCE (Guo et al. 2017) with sklearn's bin assignment, written independently."""
    conf, ok = np.asarray(confidences, dtype=float), np.asarray(correct, dtype=float)
    ids = np.searchsorted(np.linspace(0.0, 1.0, bins + 1)[1:-1], conf)
    gaps, weights = [], []
    for b in np.unique(ids):
        members = ids == b
        gaps.append(abs(ok[members].mean() - conf[members].mean()))
        weights.append(members.mean())
    return float(np.dot(weights, gaps)), float(max(gaps))


def test_hand_computed_ece_and_mce():
    # 5 bins; bin 4 (0.8, 1]: 0.9, 0.9, 0.85 with 2 right -> acc 2/3, conf 0.8833; bin 1 (0.2, 0.4]: 0.3 wrong
    confidences, correct = [0.9, 0.9, 0.85, 0.3], [True, True, False, False]
    gap_high, gap_low = abs(2 / 3 - 2.65 / 3), 0.3
    assert expected_calibration_error(confidences, correct, bins=5) == pytest.approx(0.75 * gap_high + 0.25 * gap_low)
    assert max_calibration_error(confidences, correct, bins=5) == pytest.approx(gap_low)
    found = reliability_bins(confidences, correct, bins=5)
    assert [(b.bin, b.count) for b in found] == [(1, 1.0), (4, 3.0)]
    assert found[1].accuracy == pytest.approx(2 / 3) and found[1].confidence == pytest.approx(2.65 / 3)
    assert (found[0].lower, found[0].upper) == pytest.approx((0.2, 0.4))
    assert found[0].to_dict()["gap"] == pytest.approx(-0.3)


def test_perfect_calibration_is_zero_and_no_examples_is_undefined():
    assert expected_calibration_error([1.0, 1.0, 0.5, 0.5], [True, True, True, False], bins=10) == pytest.approx(0.0)
    assert calibration_metrics({}) == {"ece": None, "max_calibration_error": None}
    assert expected_calibration_error([], []) is None


@pytest.mark.parametrize(
    "confidence, bins, expected",
    [
        (0.0, 5, 0),
        (0.2, 5, 0),
        (0.2000001, 5, 1),
        (0.6, 5, 2),
        (1.0, 5, 4),
        (0.5, 1, 0),
        (1 / 15, 15, 0),
    ],
)
def test_bins_are_closed_on_the_right_like_sklearn(confidence, bins, expected):
    assert bin_index(confidence, bins) == expected
    assert bin_index(confidence, bins) == int(np.searchsorted(np.linspace(0, 1, bins + 1)[1:-1], confidence))


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_a_confidence_outside_0_1_is_refused(bad):
    with pytest.raises(ValueError, match="between 0 and 1"):
        bin_index(bad)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_an_independent_numpy_computation(seed):
    rng = np.random.default_rng(seed)
    confidences = rng.uniform(0.0, 1.0, 400).round(3)  # rounding puts some on bin edges
    correct = rng.uniform(size=400) < confidences**1.5  # over-confident
    ece, mce = numpy_ece(confidences, correct, 15)
    assert expected_calibration_error(confidences.tolist(), correct.tolist()) == pytest.approx(ece, abs=1e-12)
    assert max_calibration_error(confidences.tolist(), correct.tolist()) == pytest.approx(mce, abs=1e-12)


@pytest.mark.parametrize("bins", [5, 10, 15])
def test_reliability_bins_equal_sklearns_calibration_curve(bins):
    # binary case: the confidence is the probability of the positive class, "correct" is y == 1,
    # which is what calibration_curve bins (its prob_true is our accuracy, prob_pred our confidence)
    rng = np.random.default_rng(bins)
    probabilities = rng.uniform(0.0, 1.0, 300).round(2)
    outcomes = rng.uniform(size=300) < probabilities
    prob_true, prob_pred = calibration_curve(outcomes, probabilities, n_bins=bins, strategy="uniform")
    found = reliability_bins(probabilities.tolist(), outcomes.tolist(), bins=bins)
    assert [b.accuracy for b in found] == pytest.approx(prob_true.tolist())
    assert [b.confidence for b in found] == pytest.approx(prob_pred.tolist())


def test_statistics_are_additive():
    rows = [(0.95, True), (0.91, False), (0.4, True), (0.55, False), (0.62, True)]
    halves = [
        sum_stats(calibration_stats(c, ok) for c, ok in rows[:2]),
        sum_stats(calibration_stats(c, ok) for c, ok in rows[2:]),
    ]
    totals = sum_stats(halves)
    assert calibration_metrics(totals)["ece"] == pytest.approx(
        expected_calibration_error([c for c, _ in rows], [ok for _, ok in rows])
    )
    assert sum(b.count for b in reliability_from_totals(totals)) == 5
