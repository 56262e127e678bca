"""Scored examples -> metrics of the whole set, of each subtask, bootstrap intervals and the lift.

Every handler's per-example statistics are additive (``handlers/base.py``), so they are stacked
into one ``n x k`` matrix (``StatsTable``: one row per example, one column per statistic key, a
key an example does not report is 0) and every aggregate is a sum of rows:

- the point metrics: ``handler.metrics(column sums)``;
- a subtask's metrics: the sums over its rows;
- a bootstrap resample: ``counts @ matrix``, where ``counts`` are how often each example was drawn
  (a multinomial draw of ``n`` out of ``n``), many resamples in one matrix product.

Bootstrap intervals are percentile intervals: the ``(1 - confidence) / 2`` and
``(1 + confidence) / 2`` quantiles of a metric over the resamples. A metric that is undefined
(``None``, or not a finite number) in a resample is left out of that resample's values; a metric
undefined in every resample gets ``[None, None]``.

The lift (``paired_lift``) is paired: tuned and base were scored on the same rows, so each
resample draws the same rows for both models and the interval is that of the per-resample
difference ``tuned - base``. It is always ``tuned - base``, also for lower-is-better metrics
(perplexity), where a negative lift is the improvement; the ``better`` flag says which way the
point values went in the metric's own direction.

Resamples depend only on ``(n, samples, seed)``: two calls with the same seed on the same rows
draw the same resamples, so the intervals of the tuned and the base model are paired too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers.base import EvalHandler, Scored

NO_SUBTASK = "(no subtask)"
"""The ``by_subtask`` group of rows without a ``subtask`` when other rows of the set have one."""

RESAMPLE_CELLS = 2_000_000
"""Upper bound on the entries of one chunk of resample counts (``resamples x examples``), so the
bootstrap of a large set runs in bounded memory; chunking depends only on the number of examples,
which keeps the resamples identical for any two tables of the same rows."""


@dataclass(frozen=True)
class StatsTable:
    """The statistics of ``n`` examples as an ``n x k`` float matrix; columns named by ``keys``."""

    keys: tuple[str, ...]
    matrix: np.ndarray  # shape (n, k), float64

    @classmethod
    def from_scored(cls, scored: Sequence[Scored]) -> "StatsTable":
        """Stack examples' statistics; the columns are the union of their keys (sorted), missing = 0."""
        keys = tuple(sorted({key for item in scored for key in item.stats}))
        column = {key: j for j, key in enumerate(keys)}
        matrix = np.zeros((len(scored), len(keys)), dtype=np.float64)
        for i, item in enumerate(scored):
            for key, value in item.stats.items():
                matrix[i, column[key]] = value
        return cls(keys, matrix)

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def totals(self, indices: Sequence[int] | np.ndarray | None = None) -> dict[str, float]:
        """Statistics summed over all rows, or over ``indices`` (a row listed twice counts twice)."""
        rows = self.matrix if indices is None else self.matrix[np.asarray(indices, dtype=np.intp)]
        return self._named(rows.sum(axis=0))

    def totals_weighted(self, counts: Sequence[float] | np.ndarray) -> dict[str, float]:
        """Statistics summed with a weight per row (a bootstrap resample's draw counts)."""
        counts = np.asarray(counts, dtype=np.float64)
        if counts.shape != (len(self),):
            raise ValueError(f"expected {len(self)} row weights, got shape {counts.shape}")
        return self._named(counts @ self.matrix)

    def resample_totals(self, counts: np.ndarray) -> np.ndarray:
        """``(resamples, n)`` draw counts -> ``(resamples, k)`` summed statistics, in one product."""
        return np.asarray(counts, dtype=np.float64) @ self.matrix

    def named(self, row: np.ndarray) -> dict[str, float]:
        """One ``k``-vector of summed statistics as ``{key: value}`` (what ``handler.metrics`` takes)."""
        return self._named(row)

    def _named(self, vector: np.ndarray) -> dict[str, float]:
        return {key: float(value) for key, value in zip(self.keys, vector)}


def _table(scored: Sequence[Scored] | StatsTable) -> StatsTable:
    return scored if isinstance(scored, StatsTable) else StatsTable.from_scored(scored)


def summarize(
    handler: EvalHandler, scored: Sequence[Scored] | StatsTable, subtasks: Sequence[str | None] | None = None
) -> dict[str, Any]:
    """``{"metrics": {...}, "by_subtask": {subtask: {"examples": n, ...metrics}}}``.

    ``subtasks`` is the rows' ``subtask`` values, aligned with ``scored`` (None for a row without
    one). ``by_subtask`` is ``{}`` when no row has a subtask; rows without one, in a set where
    others have one, form the ``NO_SUBTASK`` group so the groups always add up to the set.
    """
    table = _table(scored)
    result: dict[str, Any] = {"metrics": handler.metrics(table.totals()), "by_subtask": {}}
    if subtasks is None or all(s is None for s in subtasks):
        return result
    if len(subtasks) != len(table):
        raise ValueError(f"{len(subtasks)} subtask values for {len(table)} scored examples")
    groups: dict[str, list[int]] = {}
    for index, subtask in enumerate(subtasks):
        groups.setdefault(NO_SUBTASK if subtask is None else str(subtask), []).append(index)
    for name in sorted(groups, key=lambda g: (g == NO_SUBTASK, g)):
        metrics = handler.metrics(table.totals(groups[name]))
        result["by_subtask"][name] = {"examples": len(groups[name]), **metrics}
    return result


def iter_resample_counts(examples: int, samples: int, seed: int = 0) -> Iterator[np.ndarray]:
    """Bootstrap draws as ``(chunk, examples)`` integer count matrices, ``samples`` rows in all.

    Each row is how often each example is drawn in one resample of ``examples`` out of
    ``examples`` with replacement; the stream depends only on the three arguments.
    """
    if examples <= 0 or samples <= 0:
        return
    rng = np.random.default_rng(seed)
    uniform = np.full(examples, 1.0 / examples)
    chunk = max(1, min(samples, RESAMPLE_CELLS // examples))
    done = 0
    while done < samples:
        size = min(chunk, samples - done)
        yield rng.multinomial(examples, uniform, size=size)
        done += size


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _number(value: Any) -> float:
    """A metric value as a float, NaN when it is undefined (None, not a number, not finite)."""
    if not _is_number(value):
        return math.nan
    value = float(value)
    return value if math.isfinite(value) else math.nan


def _check_bootstrap(samples: int, confidence: float) -> None:
    if not isinstance(samples, int) or samples < 0:
        raise ConfigError(f"bootstrap_samples must be a whole number >= 0 (got {samples!r}); 0 turns intervals off")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be between 0 and 1, e.g. 0.95 (got {confidence!r})")


def _resampled_metrics(
    handler: EvalHandler, tables: Sequence[StatsTable], samples: int, seed: int
) -> list[dict[str, np.ndarray]]:
    """Per table, ``{metric: values over the resamples}`` (NaN where undefined), the same draws
    for every table."""
    values: list[dict[str, list[float]]] = [{} for _ in tables]
    position = 0  # index of the resample being evaluated
    for counts in iter_resample_counts(len(tables[0]), samples, seed):
        totals = [table.resample_totals(counts) for table in tables]
        for offset in range(len(counts)):
            for table, table_totals, series in zip(tables, totals, values):
                for metric, value in handler.metrics(table.named(table_totals[offset])).items():
                    column = series.setdefault(metric, [])
                    column.extend([math.nan] * (position - len(column)))  # undefined where it was missing
                    column.append(_number(value))
            position += 1
    for series in values:
        for column in series.values():
            column.extend([math.nan] * (position - len(column)))
    return [{metric: np.asarray(column) for metric, column in series.items()} for series in values]


def _percentile_interval(values: np.ndarray, confidence: float) -> list[float | None]:
    defined = values[~np.isnan(values)]
    if defined.size == 0:
        return [None, None]
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(defined, [tail, 100.0 - tail])
    return [float(low), float(high)]


def bootstrap_intervals(
    handler: EvalHandler,
    scored: Sequence[Scored] | StatsTable,
    samples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, list[float | None]]:
    """Percentile bootstrap interval ``[low, high]`` of every metric; ``{}`` when there are no
    examples or ``samples`` is 0."""
    _check_bootstrap(samples, confidence)
    table = _table(scored)
    if len(table) == 0 or samples == 0:
        return {}
    (series,) = _resampled_metrics(handler, [table], samples, seed)
    point = handler.metrics(table.totals())
    order = list(point) + [m for m in series if m not in point]
    return {metric: _percentile_interval(series[metric], confidence) for metric in order if metric in series}


def _better(metric: str, tuned: float, base: float, lower_is_better: frozenset[str]) -> bool:
    return tuned < base if metric in lower_is_better else tuned > base


def paired_lift(
    handler: EvalHandler,
    tuned: Sequence[Scored] | StatsTable,
    base: Sequence[Scored] | StatsTable,
    samples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, dict[str, Any]]:
    """The report's ``lift`` section: per metric ``{"base", "tuned", "lift", "ci_low", "ci_high",
    "better"}``.

    ``tuned`` and ``base`` are the two models' scores of the same rows in the same order. ``lift``
    is ``tuned - base`` (None when either is undefined); ``ci_low`` / ``ci_high`` the paired
    bootstrap interval of that difference (None without resamples); ``better`` whether the tuned
    value is better in the metric's direction (``handler.lower_is_better``), None when undefined.
    Metrics undefined for both models are listed with None values; non-numeric ones are left out.
    """
    _check_bootstrap(samples, confidence)
    tuned_table, base_table = _table(tuned), _table(base)
    if len(tuned_table) != len(base_table):
        raise ValueError(
            f"paired lift needs the same rows for both models: {len(tuned_table)} tuned "
            f"vs {len(base_table)} base scored examples"
        )
    tuned_point, base_point = handler.metrics(tuned_table.totals()), handler.metrics(base_table.totals())
    differences: dict[str, np.ndarray] = {}
    if len(tuned_table) and samples:
        tuned_series, base_series = _resampled_metrics(handler, [tuned_table, base_table], samples, seed)
        differences = {m: tuned_series[m] - base_series[m] for m in tuned_series if m in base_series}
    lift: dict[str, dict[str, Any]] = {}
    for metric in list(tuned_point) + [m for m in base_point if m not in tuned_point]:
        tuned_value, base_value = tuned_point.get(metric), base_point.get(metric)
        if not all(v is None or _is_number(v) for v in (tuned_value, base_value)):
            continue  # a non-numeric entry (a list, a label) has no lift
        t, b = _number(tuned_value), _number(base_value)
        defined = not (math.isnan(t) or math.isnan(b))
        low, high = _percentile_interval(differences[metric], confidence) if metric in differences else [None, None]
        lift[metric] = {
            "base": None if math.isnan(b) else b,
            "tuned": None if math.isnan(t) else t,
            "lift": t - b if defined else None,
            "ci_low": low,
            "ci_high": high,
            "better": _better(metric, t, b, handler.lower_is_better) if defined else None,
        }
    return lift


__all__ = ["NO_SUBTASK", "StatsTable", "bootstrap_intervals", "iter_resample_counts", "paired_lift", "summarize"]
