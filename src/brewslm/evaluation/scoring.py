"""Scoring predictions with a handler: per-example stats, the set's metrics with intervals, and
the rows of a ``predictions_<model>.jsonl`` file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from brewslm.evaluation.handlers import EvalHandler, Scored
from brewslm.evaluation.model_refs import ModelRef
from brewslm.evaluation.predicting import Predicted
from brewslm.tasks.rendering import Rendered


@dataclass
class ModelEval:
    """One model's predictions, scores and timing on the evaluated rows."""

    ref: ModelRef
    predicted: list[Predicted]
    scored: list[Scored]
    seconds: float

    @property
    def predictions(self) -> list[Any]:
        return [p.prediction for p in self.predicted]

    def timing(self) -> dict[str, Any]:
        n = len(self.predicted)
        return {"seconds": self.seconds, "examples_per_second": n / self.seconds if self.seconds > 0 else None}


PREDICTIONS_FILE = "predictions_{model}.jsonl"


def score_all(
    handler: EvalHandler,
    records: Sequence[Mapping[str, Any]],
    predictions: Sequence[Any],
    support: Sequence[Sequence[float] | None] | None = None,
) -> list[Scored]:
    """Every row's ``Scored``; ``support`` (judged handlers): the judge's verdicts per row."""
    if not handler.judged:
        return [handler.score_example(record, prediction) for record, prediction in zip(records, predictions)]
    support = support if support is not None else [None] * len(records)
    return [
        handler.score_example(record, prediction)
        if verdicts is None
        else handler.score_judged(record, prediction, verdicts)
        for record, prediction, verdicts in zip(records, predictions, support)
    ]


def statistics(
    handler: EvalHandler,
    scored: Sequence[Scored],
    subtasks: Sequence[str | None],
    *,
    samples: int,
    confidence: float,
    seed: int,
) -> dict[str, Any]:
    """``{"metrics", "by_subtask", "intervals"}`` of one model's scored rows."""
    from brewslm.evaluation.aggregate import bootstrap_intervals, summarize

    summary = summarize(handler, scored, subtasks)
    intervals = bootstrap_intervals(handler, scored, samples=samples, seed=seed, confidence=confidence)
    return {"metrics": summary["metrics"], "by_subtask": summary["by_subtask"], "intervals": intervals}


def prediction_rows(
    handler: EvalHandler, rows: Sequence[Mapping[str, Any]], rendered: Sequence[Rendered], result: ModelEval
) -> Iterator[dict[str, Any]]:
    """The ``predictions_<model>.jsonl`` rows (see the module docstring of ``brewslm.evaluation``)."""
    for index, (record, render, predicted, scored) in enumerate(zip(rows, rendered, result.predicted, result.scored)):
        row = {
            "index": index,
            "id": record.get("id"),
            "subtask": record.get("subtask"),
            "record": record,
            "input": render.prompt if render.is_chat else render.text,
            "gold": handler.gold(record),
            "prediction": predicted.prediction,
            "raw": predicted.raw,
            "scores": predicted.scores,
            "detail": scored.detail,
        }
        if predicted.judge_support is not None:
            row["judge_support"] = predicted.judge_support
        yield row


def write_jsonl(path: Path, rows: Iterator[Mapping[str, Any]]) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    return path


__all__ = [
    "PREDICTIONS_FILE",
    "ModelEval",
    "prediction_rows",
    "score_all",
    "statistics",
    "write_jsonl",
]
