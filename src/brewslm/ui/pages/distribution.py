"""What a dataset holds, at a glance: the distribution of its main field per split, and its bar chart
drawn server-side as SVG geometry (the template only draws it, as the Train tab's loss curve).

    dist = dataset_distribution(open_dataset("reviews"))   # label counts per split
    chart = bar_chart(dist)                               # rows of bars, ticks, legend

The main field depends on the task profile:

- classification: the label (records per label);
- structured_extraction: span labels (spans per label, and the records with none) or, in
  field_match mode, the target fields (records that fill each field);
- tool_call: the tool called (calls per tool, and the turns that call none);
- rag_qa: answered vs refusal;
- chat_sft, dpo, qa, language_modeling - free text, no categories: a histogram of the size that
  matters (assistant turns per conversation, words of the chosen reply, of the answer, of the text).

Categories are ordered by their count over every split (histogram buckets by value); beyond
``MAX_CATEGORIES`` the rest is one "other" row. Each split's records are read once per version of
its file (cached) and at most ``MAX_RECORDS`` of them (the chart then says so).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from brewslm.storage.datasets import SPLITS

MAX_RECORDS = 50_000  # per split: a bigger split is charted from its first records
MAX_CATEGORIES = 20  # rows of the chart; the rest are summed in "other"
MAX_BUCKETS = 10  # histogram bars
NO_SPANS, NO_CALL, OTHER = "(no spans)", "(no call)", "other"
SPLIT_COLOURS = {"train": "#3182bd", "validation": "#e6550d", "test": "#31a354"}


# --- what is counted per task -----------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """How a task's records are charted: the categories of one record (a label, the span labels...),
    or one number per record for a histogram."""

    title: str  # what is counted, for the heading
    unit: str  # what one count is ("records", "spans", "calls")
    categories: Callable[[Mapping[str, Any]], Iterable[str]] | None = None
    value: Callable[[Mapping[str, Any]], float | None] | None = None


def _words(text: Any) -> int | None:
    return len(text.split()) if isinstance(text, str) else None


def _span_labels(record: Mapping[str, Any]) -> list[str]:
    spans = record.get("spans") or []
    return [str(span.get("label")) for span in spans if isinstance(span, Mapping)] or [NO_SPANS]


def _target_fields(record: Mapping[str, Any]) -> list[str]:
    target = record.get("target")
    return [str(name) for name, value in target.items() if value is not None] if isinstance(target, Mapping) else []


def _tools_called(record: Mapping[str, Any]) -> list[str]:
    calls = record.get("calls") or []
    return [str(call.get("tool")) for call in calls if isinstance(call, Mapping)] or [NO_CALL]


def _assistant_turns(record: Mapping[str, Any]) -> int:
    return sum(1 for m in record.get("messages") or [] if isinstance(m, Mapping) and m.get("role") == "assistant")


def measure_for(task: str | None, scoring_mode: str | None = None) -> Measure | None:
    """What the chart of a ``task`` dataset counts (None: a task this page does not chart)."""
    if task == "classification":
        return Measure("label", "records", categories=lambda r: [str(r.get("label"))])
    if task == "structured_extraction" and scoring_mode == "field_match":
        return Measure("target field", "records", categories=_target_fields)
    if task == "structured_extraction":
        return Measure("span label", "spans", categories=_span_labels)
    if task == "tool_call":
        return Measure("tool called", "calls", categories=_tools_called)
    if task == "rag_qa":
        return Measure("answer", "records", categories=lambda r: ["refusal" if r.get("is_refusal") else "answered"])
    if task == "chat_sft":
        return Measure("assistant turns per conversation", "records", value=_assistant_turns)
    if task == "dpo":
        return Measure("words in the chosen reply", "records", value=lambda r: _words(r.get("chosen")))
    if task == "qa":
        return Measure("words in the answer", "records", value=lambda r: _words(r.get("answer")))
    if task == "language_modeling":
        return Measure("words per text", "records", value=lambda r: _words(r.get("text")))
    return None


# --- counting --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    """Counts of the main field per split: ``counts[split][category]``, categories in chart order."""

    title: str
    unit: str
    splits: list[str]
    categories: list[str]
    counts: dict[str, dict[str, int]]
    histogram: bool = False
    folded: int = 0  # categories summed into "other"
    capped: list[str] | None = None  # splits charted from their first MAX_RECORDS records only

    def total(self, split: str) -> int:
        return sum(self.counts.get(split, {}).values())


def _nice_step(raw: float) -> int:
    """The smallest round step (1, 2, 5 x 10^k, at least 1) not below ``raw``."""
    raw = max(1.0, raw)
    magnitude = 10 ** math.floor(math.log10(raw))
    return int(next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= raw))


def _bucket_width(high: float) -> int:
    """A round bucket width that covers 0..high in at most MAX_BUCKETS buckets."""
    return _nice_step((high + 1) / MAX_BUCKETS)


def _bucket_label(start: int, width: int) -> str:
    return str(start) if width == 1 else f"{start}–{start + width - 1}"


def count_records(
    measure: Measure, records: Mapping[str, Iterable[Mapping[str, Any]]], limit: int = MAX_RECORDS
) -> Distribution:
    """Count ``records`` (split -> records) by ``measure``; at most ``limit`` records per split."""
    capped: list[str] = []
    if measure.categories is not None:
        per_split: dict[str, Counter[str]] = {}
        for split, rows in records.items():
            counter: Counter[str] = Counter()
            for index, record in enumerate(rows):
                if index >= limit:
                    capped.append(split)
                    break
                counter.update(measure.categories(record))
            per_split[split] = counter
        overall: Counter[str] = sum(per_split.values(), Counter())
        ordered = sorted(overall, key=lambda c: (-overall[c], c))
        kept, rest = ordered[:MAX_CATEGORIES], ordered[MAX_CATEGORIES:]
        counts = {
            split: {
                **{c: counter[c] for c in kept if counter[c]},
                **({OTHER: sum(counter[c] for c in rest)} if rest and sum(counter[c] for c in rest) else {}),
            }
            for split, counter in per_split.items()
        }
        categories = kept + ([OTHER] if rest else [])
        return Distribution(
            measure.title, measure.unit, list(records), categories, counts, folded=len(rest), capped=capped
        )
    assert measure.value is not None
    values: dict[str, list[float]] = {}
    for split, rows in records.items():
        found = []
        for index, record in enumerate(rows):
            if index >= limit:
                capped.append(split)
                break
            value = measure.value(record)
            if isinstance(value, (int, float)):
                found.append(value)
        values[split] = found
    everything = [v for found in values.values() for v in found]
    width = _bucket_width(max(everything, default=0))
    starts = sorted({int(v // width) * width for v in everything})
    buckets = list(range(starts[0], starts[-1] + width, width)) if starts else []  # empty buckets between too
    counts = {
        split: {
            _bucket_label(b, width): n for b, n in sorted(Counter(int(v // width) * width for v in found).items()) if n
        }
        for split, found in values.items()
    }
    return Distribution(
        measure.title,
        measure.unit,
        list(records),
        [_bucket_label(b, width) for b in buckets],
        counts,
        histogram=True,
        capped=capped,
    )


@functools.lru_cache(maxsize=16)
def _cached(key: tuple[tuple[str, str, int, int], ...], task: str, mode: str | None, reader: Any) -> Distribution:
    measure = measure_for(task, mode)
    assert measure is not None
    return count_records(measure, {split: reader(split) for split, _, _, _ in key})


def dataset_distribution(dataset: Any) -> Distribution | None:
    """The chart data of a dataset version (``storage.datasets.DatasetVersion``): its main field per
    split that has records; None when its task has no chart or it has no records."""
    manifest = dataset.manifest
    task = manifest.get("task_profile")
    mode = (manifest.get("output_schema") or {}).get("scoring_mode")
    if measure_for(task, mode) is None:
        return None
    key = []
    for split in SPLITS:
        path = Path(dataset.split_path(split))
        if path.is_file() and path.stat().st_size:
            stat = path.stat()
            key.append((split, str(path), stat.st_mtime_ns, stat.st_size))
    if not key:
        return None
    return _cached(tuple(key), task, mode, _Reader(dataset))


class _Reader:
    """A split's records, for the cache: equal for one dataset version, so the cache key holds."""

    def __init__(self, dataset: Any):
        self.dataset = dataset
        self.path = str(dataset.path)

    def __call__(self, split: str) -> Iterable[Mapping[str, Any]]:
        return itertools.islice(self.dataset.iter_records(split), MAX_RECORDS + 1)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reader) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)


# --- the chart ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    split: str
    x: float
    y: float
    width: float
    height: float
    count: int
    colour: str
    tip: str


@dataclass(frozen=True)
class BarRow:
    label: str
    y: float  # the label's baseline
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    """Horizontal grouped bars, one row per category and one bar per split, in pixels."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    rows: list[BarRow]
    x_ticks: list[tuple[float, str]]
    legend: list[tuple[str, str, int]]  # (split, colour, total)


def _nice_ticks(high: int, count: int = 4) -> list[int]:
    """Round ticks from 0 to at least ``high``, about ``count`` steps."""
    if high <= 0:
        return [0]
    step = _nice_step(high / count)
    return list(range(0, high + step, step))


def bar_chart(dist: Distribution, *, width: int = 720, bar: float = 12.0, gap: float = 9.0) -> BarChart:
    """``dist`` as bar geometry: rows top to bottom in category order, bars scaled to the largest count."""
    splits = [s for s in dist.splits if dist.total(s)]
    longest = max((len(c) for c in dist.categories), default=4)
    left = min(240.0, 14.0 + 7.2 * longest)
    right, top = width - 56.0, 8.0
    row_height = bar * max(1, len(splits)) + gap
    bottom = top + row_height * len(dist.categories)
    peak = max((n for split in splits for n in dist.counts[split].values()), default=0)
    ticks = _nice_ticks(peak)
    scale_max = max(ticks[-1], 1)

    def x(count: int) -> float:
        return round(left + (right - left) * count / scale_max, 1)

    rows = []
    for index, category in enumerate(dist.categories):
        row_top = top + index * row_height + gap / 2
        bars = []
        for position, split in enumerate(splits):
            count = dist.counts[split].get(category, 0)
            share = count / dist.total(split) if dist.total(split) else 0
            bars.append(
                Bar(
                    split=split,
                    x=left,
                    y=round(row_top + position * bar, 1),
                    width=round(x(count) - left, 1),
                    height=bar - 1,
                    count=count,
                    colour=SPLIT_COLOURS.get(split, "#667085"),
                    tip=f"{split}: {category} - {count} {dist.unit} ({share:.0%} of the split)",
                )
            )
        rows.append(BarRow(category, round(row_top + bar * len(splits) / 2 + 3.5, 1), bars))
    return BarChart(
        width=width,
        height=int(bottom + 22),
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        rows=rows,
        x_ticks=[(x(t), str(t)) for t in ticks],
        legend=[(s, SPLIT_COLOURS.get(s, "#667085"), dist.total(s)) for s in splits],
    )


__all__ = [
    "Bar",
    "BarChart",
    "BarRow",
    "Distribution",
    "MAX_CATEGORIES",
    "MAX_RECORDS",
    "Measure",
    "bar_chart",
    "count_records",
    "dataset_distribution",
    "measure_for",
]
