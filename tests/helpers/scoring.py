"""Scoring rows with an evaluation handler in tests: every example scored, metrics from the summed
statistics (what the service does, without bootstrap or subtasks)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from brewslm.evaluation.handlers.base import EvalHandler, Scored
from brewslm.evaluation.metrics.common import sum_stats


def metrics_of(
    handler: EvalHandler, records: Sequence[Mapping[str, Any]], predictions: Sequence[Any]
) -> tuple[dict[str, float | None], list[Scored]]:
    """``(metrics, scored)`` of ``predictions`` against ``records`` (aligned)."""
    assert len(records) == len(predictions)
    scored = [handler.score_example(record, prediction) for record, prediction in zip(records, predictions)]
    return handler.metrics(sum_stats(s.stats for s in scored)), scored
