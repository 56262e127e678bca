"""The cheap-baseline contract: what an experienced engineer would try before fine-tuning a model.

A baseline is fitted on the canonical records of the dataset's *train* split and predicts
*target-shaped* predictions for the evaluated rows - the same shape a model's predictions have
(a label string, a list of spans, a JSON object, an answer string, a tool call...), so the task's
own ``EvalHandler`` scores it with the same code, the same rows and the same bootstrap as the base
model and the fine-tune. A report can then say "the fine-tune beats TF-IDF + logistic regression by
+0.05 [+0.02, +0.08]" - or that it does not.

    baseline = TfidfLogisticRegression().fit(train_records, handler)
    predictions = baseline.predict(test_records)          # one per record, in order
    scored = [handler.score_example(r, p) for r, p in zip(test_records, predictions)]

Rules every baseline keeps:

- deterministic: the same train records give the same predictions (fixed seeds, no wall clock);
- fitted on train records only, never on the evaluated rows (a baseline may read an evaluated
  record's *inputs* - text, question, context, offered tools - never its target);
- a well-kept library where one does the job (scikit-learn, python-crfsuite), no network;
- fast: seconds on 2 CPU cores for thousands of rows, so every evaluation can afford it;
- a baseline that cannot fit (too few rows, a single class, no usable feature) raises
  ``BaselineUnavailable`` with a one-line reason; the evaluation reports the reason and goes on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Mapping, Sequence

from brewslm.errors import BrewError
from brewslm.evaluation.handlers.base import EvalHandler


class BaselineUnavailable(BrewError):
    """This baseline cannot be fitted on these records; the message says why in one line."""


class Baseline(ABC):
    """One cheap baseline of one task profile (``task``, and ``scoring_mode`` for
    structured_extraction, as the eval handlers are keyed)."""

    name: ClassVar[str]  # short id, used as a report key: "tfidf_logreg", "always_refuse"
    title: ClassVar[str]  # what a report prints: "TF-IDF (word + char n-grams) + logistic regression"
    task: ClassVar[str]
    scoring_mode: ClassVar[str | None] = None

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.fitted: dict[str, Any] = {}  # what fitting learnt, JSON-able, for the report (sizes, chosen cue...)

    @abstractmethod
    def fit(self, records: Sequence[Mapping[str, Any]], handler: EvalHandler) -> "Baseline":
        """Learn from the train split's canonical records (``handler``: the task's EvalHandler,
        for its label set / render context / options); return self."""

    @abstractmethod
    def predict(self, records: Sequence[Mapping[str, Any]]) -> list[Any]:
        """One target-shaped prediction per record, in order (None: no prediction, scored as the
        handler scores an unparseable reply)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "fitted": dict(self.fitted)}


__all__ = ["Baseline", "BaselineUnavailable"]
