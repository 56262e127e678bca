"""qa baselines: the best question-overlap sentence (or window) of the context, and the most
frequent answer for closed-book questions.

The qa handler has no notion of an unanswerable question (every qa record has an answer), so there
is no always-refuse baseline here; rag_qa has one.
"""

from __future__ import annotations

from typing import Any, Mapping

from brewslm.evaluation.baselines._overlap import BestOverlapBaseline, MostFrequentAnswerBaseline


class BestOverlapSentence(BestOverlapBaseline):
    """The context's sentence (or window, chosen on train) sharing the most words with the
    question; a record without a context gets no prediction (None). Unavailable when no train
    record has a context (closed-book data: ``MostFrequentAnswer`` is its baseline)."""

    name = "best_overlap"
    title = "best question-overlap sentence or window of the context"
    task = "qa"

    def passages(self, record: Mapping[str, Any]) -> list[str]:
        context = record.get("context")
        return [context] if context else []


class MostFrequentAnswer(MostFrequentAnswerBaseline):
    task = "qa"


BASELINES = [BestOverlapSentence, MostFrequentAnswer]
