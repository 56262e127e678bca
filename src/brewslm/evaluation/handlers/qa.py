"""qa handler: question answering scored with SQuAD's exact match and token F1.

Predictions are answer strings: the generated reply, stripped (``parse``, the task's
``tasks.qa.QaReader``, never fails; an empty reply is an answer that matches nothing). The golds
are the record's ``answer`` and its ``alternatives`` (the other gold answers of an alias list,
SQuAD's extra crowd answers; records written before that field kept them in
``meta.alternatives``, read too): each metric takes the best match, as the official SQuAD v2.0
script does (``metrics.text.scoring_golds``). Training teaches ``answer`` only, so a model is
trained on the first gold and scored against all of them.

Metrics: ``exact_match`` and ``f1`` (headline; ``metrics.text``: lower-cased, without punctuation
and articles, whitespace collapsed), ``length_ratio`` (predicted / gold answer characters) and
``unparseable_rate`` (only a null prediction in a predictions file is unparseable).
"""

from __future__ import annotations

from typing import Any, Mapping

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers.base import GENERATION, EvalHandler, Scored
from brewslm.evaluation.metrics.common import example_stats, ratio, shared_metrics
from brewslm.evaluation.metrics.text import best_exact_match, best_token_f1


def accepted_answers(record: Mapping[str, Any]) -> list[str]:
    """The record's answer and its other golds (text items of ``alternatives``, or of
    ``meta.alternatives`` in records written before that field), in that order."""
    alternatives = record.get("alternatives")
    meta = record.get("meta")
    if alternatives is None and isinstance(meta, Mapping):
        alternatives = meta.get("alternatives")
    extra = [a for a in alternatives if isinstance(a, str)] if isinstance(alternatives, list) else []
    return [record["answer"], *extra]


def check_answer_prediction(prediction: Any, task: str) -> None:
    """Answer predictions are text (or null for unparseable); anything else is a file error."""
    if prediction is not None and not isinstance(prediction, str):
        raise ConfigError(
            f"a {task} prediction is an answer string or null, not the {type(prediction).__name__} "
            f"{prediction!r}; write each prediction as the answer text"
        )


def answer_scores(prediction: str | None, record: Mapping[str, Any]) -> tuple[float, float]:
    """``(exact_match, f1)`` of an answer against the record's accepted answers; no answer (None)
    scores 0 even against a gold that normalises to nothing."""
    if prediction is None:
        return 0.0, 0.0
    answers = accepted_answers(record)
    return best_exact_match(prediction, answers), best_token_f1(prediction, answers)


class QaHandler(EvalHandler):
    task = "qa"
    strategies = (GENERATION,)
    headline = "f1"

    def gold(self, record: Mapping[str, Any]) -> str:
        return record["answer"]

    def score_example(self, record: Mapping[str, Any], prediction: Any) -> Scored:
        check_answer_prediction(prediction, self.task)
        em, f1 = answer_scores(prediction, record)
        stats = {**example_stats(self.gold(record), prediction), "exact_match": em, "f1": f1}
        return Scored(stats, {"exact_match": em, "f1": f1})

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float | None]:
        examples = totals.get("examples", 0.0)
        return {
            "exact_match": ratio(totals.get("exact_match", 0.0), examples),
            "f1": ratio(totals.get("f1", 0.0), examples),
            **shared_metrics(totals),
        }


HANDLER = QaHandler
