"""rag_qa baselines: the best question-overlap sentence (or window) of the retrieved passages,
refusing below an overlap cut tuned on train, and always refusing.

Both answer with the handler's trained refusal sentence (``tasks.rendering.REFUSAL``) when they
refuse, so format compliance scores them as it scores a fine-tune.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from brewslm.evaluation.baselines._overlap import BestOverlapBaseline
from brewslm.evaluation.baselines.base import Baseline
from brewslm.evaluation.handlers.base import EvalHandler
from brewslm.tasks.rendering import REFUSAL


class BestOverlapSentence(BestOverlapBaseline):
    """The passages' sentence (or window, chosen on train) sharing the most words with the
    question, or the refusal when that overlap is at or below the cut that scores best on train."""

    name = "best_overlap"
    title = "best question-overlap sentence or window of the passages, refusing below a tuned overlap"
    task = "rag_qa"
    refusal = REFUSAL

    def passages(self, record: Mapping[str, Any]) -> list[str]:
        return list(record["passages"])

    def answerable(self, record: Mapping[str, Any]) -> bool:
        return not record["is_refusal"]


class AlwaysRefuse(Baseline):
    """The refusal sentence for every question: right on exactly the unanswerable rows."""

    name = "always_refuse"
    title = "always refuse"
    task = "rag_qa"

    def fit(self, records: Sequence[Mapping[str, Any]], handler: EvalHandler) -> "AlwaysRefuse":
        refusals = sum(bool(record["is_refusal"]) for record in records)
        self.fitted = {"reply": REFUSAL, "train_refusal_share": round(refusals / len(records), 4) if records else None}
        return self

    def predict(self, records: Sequence[Mapping[str, Any]]) -> list[Any]:
        return [REFUSAL for _ in records]


BASELINES = [BestOverlapSentence, AlwaysRefuse]
