"""Calibration of a classifier's confidence: expected / maximum calibration error and reliability bins.

A classifier that says "90% sure" should be right 9 times in 10; the intent router trusts exactly
that when it hands every answer below a confidence threshold to a human. The confidence of one
example is the probability of its predicted label (label scoring's ``LabelScores.confidence``),
``correct`` whether that label is the gold one.

Confidences fall into ``bins`` equal-width bins over [0, 1], closed on the right as
``sklearn.calibration.calibration_curve(strategy="uniform")`` cuts them (0.2 with 5 bins is in the
first bin, 0.0 too). With ``n`` examples, ``B_b`` the examples of bin ``b``, ``acc(B_b)`` their
accuracy and ``conf(B_b)`` their mean confidence:

    ECE = sum_b |B_b| / n * |acc(B_b) - conf(B_b)|        MCE = max_b |acc(B_b) - conf(B_b)|

(Guo et al., 2017), over the non-empty bins. Lower is better for both; 0 is perfectly calibrated.

The statistics are additive, like every handler's (see ``evaluation.handlers.base``):
``calibration_stats(confidence, correct)`` gives one example's ``cal_n:<bin>``,
``cal_conf:<bin>`` and ``cal_correct:<bin>``; ``calibration_metrics(totals)`` and
``reliability_from_totals(totals)`` read their sums, so the errors of a subtask or of a bootstrap
resample come from the same code as the point value. ``expected_calibration_error`` /
``max_calibration_error`` / ``reliability_bins`` are the same computations over plain arrays.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

from brewslm.evaluation.metrics.common import sum_stats

CALIBRATION_BINS = 15
COUNT_PREFIX, CONFIDENCE_PREFIX, CORRECT_PREFIX = "cal_n:", "cal_conf:", "cal_correct:"


@lru_cache(maxsize=None)
def bin_edges(bins: int = CALIBRATION_BINS) -> tuple[float, ...]:
    """The ``bins + 1`` edges ``numpy.linspace(0, 1, bins + 1)`` gives (sklearn's), as floats."""
    import numpy as np

    if bins < 1:
        raise ValueError(f"calibration needs at least one bin, not {bins}")
    return tuple(float(edge) for edge in np.linspace(0.0, 1.0, bins + 1))


def bin_index(confidence: float, bins: int = CALIBRATION_BINS) -> int:
    """The bin of one confidence: bins are closed on the right, ``(lower, upper]``, the first one
    also holds 0 (what ``numpy.searchsorted(edges[1:-1], confidence)`` gives)."""
    if not (isinstance(confidence, (int, float)) and 0.0 <= confidence <= 1.0):
        raise ValueError(f"a confidence is a probability between 0 and 1, not {confidence!r}")
    inner = bin_edges(bins)[1:-1]
    return bisect.bisect_left(inner, float(confidence))


def calibration_stats(confidence: float, correct: bool, bins: int = CALIBRATION_BINS) -> dict[str, float]:
    """One example's additive calibration statistics (see the module docstring)."""
    b = bin_index(confidence, bins)
    return {
        f"{COUNT_PREFIX}{b}": 1.0,
        f"{CONFIDENCE_PREFIX}{b}": float(confidence),
        f"{CORRECT_PREFIX}{b}": 1.0 if correct else 0.0,
    }


@dataclass(frozen=True)
class ReliabilityBin:
    """One non-empty bin: its edges, how many examples fell in it, their mean confidence and their
    accuracy (``gap`` = accuracy - confidence: negative is over-confident)."""

    bin: int
    lower: float
    upper: float
    count: float
    confidence: float
    accuracy: float

    @property
    def gap(self) -> float:
        return self.accuracy - self.confidence

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gap": self.gap}


def reliability_from_totals(totals: Mapping[str, float], bins: int = CALIBRATION_BINS) -> list[ReliabilityBin]:
    """The non-empty bins of summed calibration statistics, by increasing confidence."""
    edges = bin_edges(bins)
    found = []
    for b in range(bins):
        count = totals.get(f"{COUNT_PREFIX}{b}", 0.0)
        if count > 0:
            found.append(
                ReliabilityBin(
                    b,
                    edges[b],
                    edges[b + 1],
                    count,
                    totals.get(f"{CONFIDENCE_PREFIX}{b}", 0.0) / count,
                    totals.get(f"{CORRECT_PREFIX}{b}", 0.0) / count,
                )
            )
    return found


def calibration_metrics(totals: Mapping[str, float], bins: int = CALIBRATION_BINS) -> dict[str, float | None]:
    """``ece`` and ``max_calibration_error`` of summed statistics; None for both when no example
    carried a confidence (a generated label has none)."""
    found = reliability_from_totals(totals, bins)
    n = sum(b.count for b in found)
    if not n:
        return {"ece": None, "max_calibration_error": None}
    return {
        "ece": math.fsum(b.count / n * abs(b.gap) for b in found),
        "max_calibration_error": max(abs(b.gap) for b in found),
    }


def _summed(confidences: Iterable[float], correct: Iterable[bool], bins: int) -> dict[str, float]:
    confidences, correct = list(confidences), list(correct)
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences but {len(correct)} correctness flags; one each per example")
    return sum_stats(calibration_stats(c, ok, bins) for c, ok in zip(confidences, correct))


def reliability_bins(
    confidences: Iterable[float], correct: Iterable[bool], bins: int = CALIBRATION_BINS
) -> list[ReliabilityBin]:
    """Per non-empty bin: count, mean confidence and accuracy of these examples."""
    return reliability_from_totals(_summed(confidences, correct, bins), bins)


def expected_calibration_error(
    confidences: Iterable[float], correct: Iterable[bool], bins: int = CALIBRATION_BINS
) -> float | None:
    """ECE of these examples (None for none)."""
    return calibration_metrics(_summed(confidences, correct, bins), bins)["ece"]


def max_calibration_error(
    confidences: Iterable[float], correct: Iterable[bool], bins: int = CALIBRATION_BINS
) -> float | None:
    """The largest |accuracy - confidence| of a non-empty bin (None for no examples)."""
    return calibration_metrics(_summed(confidences, correct, bins), bins)["max_calibration_error"]


__all__ = [
    "CALIBRATION_BINS",
    "ReliabilityBin",
    "bin_edges",
    "bin_index",
    "calibration_metrics",
    "calibration_stats",
    "expected_calibration_error",
    "max_calibration_error",
    "reliability_bins",
    "reliability_from_totals",
]
