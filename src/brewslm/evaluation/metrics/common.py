"""Pieces every evaluation handler shares: length statistics, safe ratios, precision / recall / F1.

Handlers report *additive* statistics per example (see ``evaluation.handlers.base``) and compute
metrics from their sums, so the helpers here come in pairs: one that makes an example's
statistics, one that turns summed statistics into metric values.

- ``length_stats(gold, prediction)`` -> ``{"pred_chars", "gold_chars"}``: the characters of the
  prediction's and the reference's canonical text (a string as is, a structured value as its
  ``to_json`` text, ``None`` as nothing). ``length_ratio`` is ``ratio(pred_chars, gold_chars)``
  over the summed statistics: total predicted length over total reference length.
- ``example_stats(gold, prediction)``: the statistics every handler starts from (``examples``,
  ``unparseable``, the two lengths); ``shared_metrics(totals)``: the metrics every handler reports
  from them (``length_ratio``, ``unparseable_rate``).
- ``prf(tp, fp, fn)``: precision, recall and F1 with scikit-learn's ``zero_division=0``: a ratio
  whose denominator is zero is 0.0 (so a class never predicted has precision 0, as sklearn reports).
- Per-label counts live in the statistics as ``"tp:<label>"``, ``"fp:<label>"``, ``"fn:<label>"``
  keys (optionally under a namespace: ``"relaxed_tp:<label>"``); ``label_counts`` reads them
  back, ``per_label_scores`` and ``averaged_scores`` give the per-label table and the micro /
  macro / weighted averages exactly as ``sklearn.metrics.classification_report`` computes them
  over the labels that occur.

Undefined values are ``None`` (``ratio`` with a zero denominator), never NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from brewslm.tasks.rendering import to_json

COUNT_KINDS = ("tp", "fp", "fn")


def canonical_text(value: Any) -> str:
    """The text a prediction or reference is measured by: a string as is, ``None`` as nothing,
    anything structured (spans, JSON objects, calls) as its ``to_json`` text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return to_json(value)


def length_stats(gold: Any, prediction: Any) -> dict[str, float]:
    """``{"pred_chars", "gold_chars"}`` of one example (additive; see ``canonical_text``)."""
    return {"pred_chars": float(len(canonical_text(prediction))), "gold_chars": float(len(canonical_text(gold)))}


def ratio(num: float, den: float) -> float | None:
    """``num / den``, or None when the denominator is zero (the ratio is undefined, not 0)."""
    return None if den == 0 else float(num) / float(den)


def prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts; a zero denominator gives 0.0 (sklearn's
    ``zero_division=0``). F1 is ``2tp / (2tp + fp + fn)``, the harmonic mean of the two."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return float(precision), float(recall), float(f1)


def example_stats(gold: Any, prediction: Any, *, unparseable: bool | None = None) -> dict[str, float]:
    """The statistics every handler's example starts with: ``examples: 1``, ``unparseable`` (by
    default: the prediction is None) and the two lengths."""
    unparseable = prediction is None if unparseable is None else unparseable
    return {"examples": 1.0, "unparseable": 1.0 if unparseable else 0.0, **length_stats(gold, prediction)}


def shared_metrics(totals: Mapping[str, float]) -> dict[str, float | None]:
    """``length_ratio`` and ``unparseable_rate`` from summed ``example_stats``."""
    return {
        "length_ratio": ratio(totals.get("pred_chars", 0.0), totals.get("gold_chars", 0.0)),
        "unparseable_rate": ratio(totals.get("unparseable", 0.0), totals.get("examples", 0.0)),
    }


def sum_stats(stats: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Key-wise sum of example statistics (a key missing from an example counts 0)."""
    totals: dict[str, float] = {}
    for row in stats:
        for key, value in row.items():
            totals[key] = totals.get(key, 0.0) + value
    return totals


# --- per-label counts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelCounts:
    """Summed true positives, false positives and false negatives of one label."""

    tp: float = 0.0
    fp: float = 0.0
    fn: float = 0.0

    @property
    def support(self) -> float:
        """Reference items of this label (what sklearn and seqeval call support)."""
        return self.tp + self.fn

    @property
    def predicted(self) -> float:
        return self.tp + self.fp


def count_key(kind: str, label: str, namespace: str = "") -> str:
    """The statistics key of one count: ``"tp:PER"``, or ``"relaxed_tp:PER"`` under a namespace."""
    return f"{namespace}{kind}:{label}"


def label_counts(totals: Mapping[str, float], namespace: str = "") -> dict[str, LabelCounts]:
    """The per-label counts held in summed statistics, for every label with a nonzero count,
    sorted by label (the label set sklearn uses by default: reference ∪ predicted labels)."""
    found: dict[str, dict[str, float]] = {}
    for key, value in totals.items():
        kind, sep, label = key.partition(":")
        if not sep or not kind.startswith(namespace) or kind[len(namespace) :] not in COUNT_KINDS:
            continue
        if value:
            found.setdefault(label, {})[kind[len(namespace) :]] = float(value)
    return {label: LabelCounts(**found[label]) for label in sorted(found)}


def per_label_scores(counts: Mapping[str, LabelCounts]) -> dict[str, dict[str, float]]:
    """``{label: {"precision", "recall", "f1", "support"}}`` in the order of ``counts``."""
    table = {}
    for label, c in counts.items():
        precision, recall, f1 = prf(c.tp, c.fp, c.fn)
        table[label] = {"precision": precision, "recall": recall, "f1": f1, "support": c.support}
    return table


def averaged_scores(counts: Mapping[str, LabelCounts]) -> dict[str, float]:
    """Micro, macro and weighted precision / recall / F1 over the labels of ``counts``
    (``micro_precision``, ``macro_f1``, ``weighted_recall``...), as sklearn averages them: micro
    pools the counts, macro is the unweighted mean of the per-label scores, weighted weights them
    by support. No labels at all gives 0.0 everywhere (nothing to score, nothing scored)."""
    tp = sum(c.tp for c in counts.values())
    fp = sum(c.fp for c in counts.values())
    fn = sum(c.fn for c in counts.values())
    micro = prf(tp, fp, fn)
    table = per_label_scores(counts)
    n_labels = len(table)
    total_support = sum(row["support"] for row in table.values())
    out: dict[str, float] = {}
    for i, name in enumerate(("precision", "recall", "f1")):
        values = [row[name] for row in table.values()]
        out[f"micro_{name}"] = micro[i]
        out[f"macro_{name}"] = sum(values) / n_labels if n_labels else 0.0
        out[f"weighted_{name}"] = (
            sum(row[name] * row["support"] for row in table.values()) / total_support if total_support else 0.0
        )
    return out


__all__ = [
    "COUNT_KINDS",
    "LabelCounts",
    "averaged_scores",
    "canonical_text",
    "count_key",
    "example_stats",
    "label_counts",
    "length_stats",
    "per_label_scores",
    "prf",
    "ratio",
    "shared_metrics",
    "sum_stats",
]
