"""classification handler: one label per text, scored like scikit-learn's classification_report.

Predictions are label strings - a generated reply read by ``parse``, a baseline's answer, a
hand-written file - or, under label scoring (the default strategy: every candidate label's
log-likelihood given the prompt), the argmax label *with its probability*:
``{"label": "refund", "confidence": 0.83}`` (``scored_label``; ``label_prediction`` makes it), so
a predictions file carries everything its metrics need and re-scores to the same numbers, under
any ``confidence_threshold``. Parsing is the task's (``tasks.classification.ClassificationReader``)
and strict: the reply, stripped of surrounding whitespace and quotes and a trailing period and
compared without case, must be exactly one candidate label; anything else ("not positive",
"positive, I think") is unparseable - counted, scored as a miss of the gold class, never guessed.

Metrics (``metrics.classification``) score the classifier's own answers: ``accuracy``, micro /
macro / weighted precision, recall and F1 over gold ∪ predicted labels, the legacy aliases
``exact_match`` (= accuracy) and ``f1`` (= macro_f1) that existing gates use,
``majority_baseline_accuracy`` / ``_macro_f1`` when the manifest names the majority label,
``length_ratio`` and ``unparseable_rate``. Headline: macro_f1. Calibration
(``metrics.calibration``): ``ece`` and ``max_calibration_error`` of the predictions that carry a
confidence (lower is better; None when none does, e.g. under generation). Breakdown: the confusion
matrix (gold rows; predicted columns plus ``unparseable``), the per-class table and, with
confidences, the reliability bins (``calibration``: count, mean confidence, accuracy per bin).

Options: ``majority_label`` overrides the manifest's majority label for the baseline metrics.
``confidence_threshold``: an answer whose confidence is below it is routed to ``fallback_label``
(default ``talk_to_human``) instead - the intent router's "ask a human"
(``tasks.classification.LabelRouter``, which the server routes with too). Routing never changes the
headline metrics above (they stay the classifier's own answers, so base, fine-tune and baselines
compare label for label); it is reported beside them: ``coverage`` (rows answered, not routed),
``routed_accuracy`` (accuracy over the answered rows) and ``routed_macro_f1`` (macro F1 of the
answers after routing: a routed row is a miss for its gold class with no false positive - the
router abstained - unless the fallback is itself one of the labels, an out-of-scope class, which
is then scored like any label). An answer equal to the fallback label counts as routed; a plain
label string equal to it (a file written before predictions carried their confidence) has no
answer of the classifier's own, and is an abstention in the headline metrics too.
``rare_labels`` (a list) adds ``rare_recall``: the mean recall of those classes (the ones with gold
rows in the scored set), after routing when routing is configured - intent recipes name the
bottom quartile of training counts.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any, Mapping, Sequence

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers._options import check_options
from brewslm.evaluation.handlers.base import GENERATION, LABEL_SCORING, EvalHandler, Scored
from brewslm.evaluation.metrics.calibration import calibration_metrics, calibration_stats, reliability_from_totals
from brewslm.evaluation.metrics.classification import (
    CONFUSION_PREFIX,
    UNPARSEABLE_COLUMN,
    class_counts,
    classification_metrics,
    confusion_key,
    confusion_matrix,
    label_stats,
    majority_baseline,
    per_class,
)
from brewslm.evaluation.metrics.common import count_key, example_stats, ratio, shared_metrics, sum_stats
from brewslm.tasks.classification import LabelRouter
from brewslm.tasks.rendering import RenderContext

OPTIONS = ("majority_label", "confidence_threshold", "fallback_label", "rare_labels")
ROUTED_PREFIX = "routed_"  # the statistics of the answers after routing: "routed_correct", "routed_tp:<label>"...


def scored_label(label: str | None, confidence: float) -> dict[str, Any]:
    """A label-scoring prediction: the classifier's answer and its probability."""
    return {"label": label, "confidence": float(confidence)}


def read_prediction(prediction: Any) -> tuple[str | None, float | None]:
    """``(label, confidence)`` of a prediction: a label string (no confidence), None (unparseable)
    or a ``scored_label`` object; anything else is a one-line error."""
    if prediction is None or isinstance(prediction, str):
        return prediction, None
    if isinstance(prediction, Mapping) and set(prediction) <= {"label", "confidence"} and "label" in prediction:
        label, confidence = prediction["label"], prediction.get("confidence")
        if label is not None and not isinstance(label, str):
            raise ConfigError(f'a classification prediction\'s "label" is a label string or null, not {label!r}')
        if confidence is None:
            return label, None
        if (
            isinstance(confidence, bool)
            or not isinstance(confidence, (int, float))
            or not math.isfinite(confidence)
            or not 0.0 <= confidence <= 1.0
        ):
            raise ConfigError(
                f'a classification prediction\'s "confidence" is a probability between 0 and 1, not {confidence!r}'
            )
        return label, float(confidence)
    raise ConfigError(
        f'a classification prediction is a label string, {{"label", "confidence"}} or null, not the '
        f"{type(prediction).__name__} {prediction!r}; write labels as the records do (text)"
    )


class ClassificationHandler(EvalHandler):
    task = "classification"
    strategies = (LABEL_SCORING, GENERATION)
    headline = "macro_f1"
    lower_is_better = frozenset({"ece", "max_calibration_error"})

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        context: RenderContext | None = None,
        manifest: Mapping[str, Any] | None = None,
    ):
        super().__init__(options, context, manifest)
        check_options(self.options, OPTIONS, self.task)
        self.router = LabelRouter(self.options.get("confidence_threshold"), self.options.get("fallback_label"))
        rare = self.options.get("rare_labels")
        if rare is not None and (isinstance(rare, str) or not all(isinstance(label, str) for label in rare)):
            raise ConfigError(f"handler option 'rare_labels' must be a list of label strings, not {rare!r}")

    @property
    def confidence_threshold(self) -> float | None:
        return self.router.confidence_threshold

    @property
    def fallback_label(self) -> str | None:
        """The label low-confidence rows are routed to; None when no routing is configured."""
        return self.router.fallback_label

    def label_prediction(self, scores: Any) -> dict[str, Any]:
        """The argmax label with its probability; routing is applied when scoring, so the saved
        prediction keeps the classifier's own answer."""
        return scored_label(scores.best, scores.confidence)

    def routed_answer(self, label: str | None, confidence: float | None) -> str | None:
        """What the router answers: the fallback below the confidence threshold, else the label."""
        return self.router.routed_answer(label, confidence)

    def gold(self, record: Mapping[str, Any]) -> str:
        return record["label"]

    def candidate_labels(self) -> list[str]:
        return self.reader.candidate_labels()

    def label_replies(self) -> list[str]:
        return self.reader.label_replies()

    @cached_property
    def _candidates(self) -> frozenset[str]:
        return frozenset(self.candidate_labels())

    def _answer_stats(self, gold: str, answer: str | None) -> dict[str, float]:
        """``label_stats`` of one answer; the fallback label, when it is no candidate, is an
        abstention: a miss of the gold class, not a predicted class (nor unparseable)."""
        if answer is None or answer != self.fallback_label or answer in self._candidates:
            return label_stats(gold, answer)
        counts = label_stats(gold, None)
        del counts[confusion_key(gold, None)]  # not unparseable: the cell names the fallback
        counts[confusion_key(gold, answer)] = 1.0
        return counts

    def score_example(self, record: Mapping[str, Any], prediction: Any) -> Scored:
        answer, confidence = read_prediction(prediction)
        gold = self.gold(record)
        stats = {**example_stats(gold, answer), **self._answer_stats(gold, answer)}
        detail: dict[str, Any] = {"correct": answer == gold}
        if confidence is not None:
            stats.update(calibration_stats(confidence, answer == gold))
        fallback = self.fallback_label
        if fallback is not None:
            final = self.routed_answer(answer, confidence)
            routed = final == fallback
            stats.update(
                (ROUTED_PREFIX + key, value)
                for key, value in self._answer_stats(gold, final).items()
                if not key.startswith(CONFUSION_PREFIX)
            )
            stats["routed"] = 1.0 if routed else 0.0
            detail["routed"] = routed
        if answer is None:
            detail["unparseable"] = True
        return Scored(stats, detail)

    @property
    def majority_label(self) -> str | None:
        if self.options.get("majority_label") is not None:
            return str(self.options["majority_label"])
        summary = self.manifest.get("summary") or self.manifest.get("stats") or {}
        if summary.get("majority_label") is not None:
            return str(summary["majority_label"])
        counts = summary.get("label_counts") or {}
        return min(counts, key=lambda label: (-counts[label], label)) if counts else None  # ties: by name

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float | None]:
        values = classification_metrics(totals)
        out: dict[str, float | None] = {
            "accuracy": values["accuracy"],
            "exact_match": values["accuracy"],
            "macro_f1": values["macro_f1"],
            "f1": values["macro_f1"],
            **values,
        }
        if self.majority_label is not None:
            out.update(majority_baseline(totals, self.majority_label))
        out.update(calibration_metrics(totals))
        answers = totals  # what the rows were finally answered: the classifier's, or after routing
        if self.fallback_label is not None:
            answers = routed_totals(totals)
            examples, routed = totals.get("examples", 0.0), totals.get("routed", 0.0)
            answered_correct = answers.get("correct", 0.0) - answers.get(count_key("tp", self.fallback_label), 0.0)
            out["coverage"] = ratio(examples - routed, examples)
            out["routed_accuracy"] = ratio(answered_correct, examples - routed)
            out["routed_macro_f1"] = classification_metrics(answers)["macro_f1"]
        if self.options.get("rare_labels") is not None:
            out["rare_recall"] = rare_recall(answers, self.options["rare_labels"])
        out.update(shared_metrics(totals))
        return out

    def breakdown(
        self, records: Sequence[Mapping[str, Any]], predictions: Sequence[Any], scored: Sequence[Scored]
    ) -> dict[str, Any]:
        totals = sum_stats(s.stats for s in scored)
        labels, matrix = confusion_matrix(totals)
        out: dict[str, Any] = {
            "labels": labels,
            "columns": labels + [UNPARSEABLE_COLUMN],
            "confusion_matrix": matrix,
            "per_class": per_class(totals),
        }
        bins = reliability_from_totals(totals)
        if bins:
            out["calibration"] = [b.to_dict() for b in bins]
        return out


def routed_totals(totals: Mapping[str, float]) -> dict[str, float]:
    """The statistics of the answers after routing, under the names the classifier's own carry
    (``routed_tp:x`` -> ``tp:x``), with the same ``examples``."""
    view = {key[len(ROUTED_PREFIX) :]: value for key, value in totals.items() if key.startswith(ROUTED_PREFIX)}
    view["examples"] = totals.get("examples", 0.0)
    return view


def rare_recall(totals: Mapping[str, float], labels: Sequence[str]) -> float | None:
    """Mean recall of ``labels`` over those with gold rows in ``totals`` (None when none has)."""
    counts = class_counts(totals)
    recalls = [
        counts[label].tp / counts[label].support for label in labels if label in counts and counts[label].support
    ]
    return sum(recalls) / len(recalls) if recalls else None


HANDLER = ClassificationHandler
