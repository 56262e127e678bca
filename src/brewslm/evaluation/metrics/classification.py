"""Classification metrics from additive per-example statistics, equal to scikit-learn's.

``label_stats(gold, prediction)`` gives one example's statistics: ``correct``, one of
``tp:<gold>`` (right) or ``fn:<gold>`` + ``fp:<prediction>`` (wrong), and the confusion cell
``cm:["<gold>", "<prediction>"]`` (a JSON pair, so any label text reads back unambiguously). An
unparseable prediction (None) is a miss for its gold class (``fn:<gold>``) with no false positive
anywhere, and its cell is ``cm:["<gold>", null]``.

``classification_metrics(totals)`` then gives accuracy, per-class and micro / macro / weighted
precision, recall and F1 over the label set gold ∪ predicted labels (scikit-learn's default set).
Equality with ``sklearn.metrics.classification_report(y_true, y_pred, output_dict=True,
zero_division=0)`` holds to float rounding; with unparseable predictions it holds for
``labels=`` that set (the unparseable marker is not a class): micro recall stays accuracy, micro
precision counts only the predictions that named a label.

``majority_baseline(totals, label)`` scores the trivial model that always answers the majority
label, on the same gold totals: the floor a fine-tune must clear (a 95%-negative set gives 95%
accuracy for free).
"""

from __future__ import annotations

import json
from typing import Mapping, Sequence

from brewslm.evaluation.metrics.common import (
    LabelCounts,
    averaged_scores,
    count_key,
    label_counts,
    per_label_scores,
    prf,
    ratio,
)

CONFUSION_PREFIX = "cm:"
UNPARSEABLE_COLUMN = "unparseable"
"""The confusion matrix's extra last column: gold rows whose prediction did not parse."""


def confusion_key(gold: str, prediction: str | None) -> str:
    return CONFUSION_PREFIX + json.dumps([gold, prediction], ensure_ascii=False)


def label_stats(gold: str, prediction: str | None) -> dict[str, float]:
    """One example's additive statistics (see the module docstring)."""
    stats = {"correct": 1.0 if prediction == gold else 0.0, confusion_key(gold, prediction): 1.0}
    if prediction == gold:
        stats[count_key("tp", gold)] = 1.0
    else:
        stats[count_key("fn", gold)] = 1.0
        if prediction is not None:
            stats[count_key("fp", prediction)] = 1.0
    return stats


def class_counts(totals: Mapping[str, float]) -> dict[str, LabelCounts]:
    """Per-class counts of every label that occurs in gold or predictions, sorted."""
    return label_counts(totals)


def classification_metrics(totals: Mapping[str, float]) -> dict[str, float | None]:
    """``accuracy`` (correct / examples; None for no examples), ``micro_* / macro_* / weighted_*``
    ``precision``, ``recall`` and ``f1`` (see ``common.averaged_scores``)."""
    return {
        "accuracy": ratio(totals.get("correct", 0.0), totals.get("examples", 0.0)),
        **averaged_scores(class_counts(totals)),
    }


def per_class(totals: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """``{label: {"precision", "recall", "f1", "support"}}`` for every label that occurs."""
    return per_label_scores(class_counts(totals))


def confusion_matrix(
    totals: Mapping[str, float], labels: Sequence[str] | None = None
) -> tuple[list[str], list[list[int]]]:
    """``(labels, matrix)``: rows are gold labels in ``labels`` order (default: every label that
    occurs, sorted), columns the same labels plus a last ``unparseable`` column. Cells whose gold
    or predicted label is not in ``labels`` are left out."""
    labels = list(labels) if labels is not None else list(class_counts(totals))
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * (len(labels) + 1) for _ in labels]
    for key, value in totals.items():
        if not key.startswith(CONFUSION_PREFIX) or not value:
            continue
        gold, prediction = json.loads(key[len(CONFUSION_PREFIX) :])
        column = len(labels) if prediction is None else index.get(prediction)
        if gold in index and column is not None:
            matrix[index[gold]][column] += int(round(value))
    return labels, matrix


def majority_baseline(totals: Mapping[str, float], majority_label: str) -> dict[str, float | None]:
    """Accuracy and macro F1 of always predicting ``majority_label`` on these gold totals, over the
    label set gold ∪ {majority_label} (what sklearn would report for that constant prediction)."""
    support = {label: c.support for label, c in class_counts(totals).items() if c.support}
    examples = sum(support.values())
    hits = support.get(majority_label, 0.0)
    labels = set(support) | {majority_label}
    _, _, f1 = prf(hits, examples - hits, 0.0)  # every gold row predicted as the majority label
    return {
        "majority_baseline_accuracy": ratio(hits, examples),
        "majority_baseline_macro_f1": f1 / len(labels) if examples else None,
    }


__all__ = [
    "CONFUSION_PREFIX",
    "UNPARSEABLE_COLUMN",
    "class_counts",
    "classification_metrics",
    "confusion_key",
    "confusion_matrix",
    "label_stats",
    "majority_baseline",
    "per_class",
]
