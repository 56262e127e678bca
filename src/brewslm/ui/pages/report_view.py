"""An evaluation report as the Evaluate tab shows it: the headline first, then the pictures, then the
tables - the same blocks ``report.html`` is made of (``evaluation.report.report_blocks``), re-ordered
and trimmed for reading on a page. Only the presentation differs; every number is still there.

- **Lead**: the baseline warning and its next steps (when the cheap baseline wins), the gate
  verdict (none when no gate was set).
- **Headline**: the headline metric for the fine-tune with its interval, the lift over the base
  model and over the cheap baseline with theirs, and a bar per model with its interval drawn
  server-side (``HeadlineChart``).
- **Pictures**: every PNG the report drew (confusion matrix, per-class bars, reliability diagram),
  right under the headline; the breakdown tables they illustrate follow further down, folded.
- **Gates**, the cheap baselines, a judge's verdict and subtasks come next, the breakdown tables
  last.
- **Metrics**: one row per distinct set of numbers. Metrics whose values, intervals and lifts are
  exactly those of another (accuracy = exact_match = micro_f1 in single-label classification;
  f1 = macro_f1) are one row, named by the first and listing the others (``MetricRow.aliases``).
- **Empty sections are left out**: a heading with nothing under it, a table without rows, "gates:
  none set", a breakdown with no numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Collection, Mapping, Sequence

from brewslm.evaluation.report import (
    Code,
    Facts,
    Heading,
    Image,
    Paragraph,
    Picture,
    Table,
    format_interval,
    format_value,
    report_blocks,
)

MODEL_ORDER = ("base", "baseline", "tuned")  # the report's own column order
LIFTS = ("lift", "lift_vs_baseline")
MODEL_COLOURS = {"base": "#9ecae1", "baseline": "#fdae6b", "tuned": "#3182bd"}  # as the report's pictures
ROLE_NAMES = {"base": "base model", "baseline": "cheap baseline", "tuned": "fine-tune"}
NO_GATES = "gates: none set"


# --- the headline ------------------------------------------------------------------------------------


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class ModelFigure:
    """One model's headline value, as text and for the chart."""

    model: str  # base | baseline | tuned
    name: str  # the model's name (the baseline's title)
    value: float | None
    interval: tuple[float, float] | None
    text: str  # "0.812 [0.774, 0.850]"


@dataclass(frozen=True)
class LiftFigure:
    """The fine-tune minus another model on the headline: the change, its interval, the verdict."""

    against: str  # "base model" | "cheap baseline"
    text: str  # "+0.120 [+0.050, +0.190]"
    tone: str  # "pass" (clear gain) | "fail" (no gain or a loss) | "unsure" (the interval holds 0)
    note: str  # what the tone means in words


@dataclass(frozen=True)
class HeadlineBar:
    model: str
    label: str  # the model's role: base model, cheap baseline, fine-tune
    name: str  # its name (a tooltip)
    y: float
    x: float
    width: float
    whisker: tuple[float, float] | None
    value_text: str
    colour: str


@dataclass(frozen=True)
class HeadlineChart:
    width: int
    height: int
    left: float
    right: float
    bars: list[HeadlineBar]
    ticks: list[tuple[float, str]]
    bottom: float


@dataclass(frozen=True)
class Headline:
    metric: str
    lower_is_better: bool
    confidence: str  # "95%"
    tuned: ModelFigure | None
    others: list[ModelFigure]  # base, baseline (those evaluated)
    lifts: list[LiftFigure]
    chart: HeadlineChart | None


def _interval(value: Any) -> tuple[float, float] | None:
    if isinstance(value, Sequence) and len(value) == 2 and all(_number(v) for v in value):
        return float(value[0]), float(value[1])
    return None


def _model_name(report: Mapping[str, Any], model: str) -> str:
    entry = (report.get("models") or {}).get(model) or {}
    return str(entry.get("title") or entry.get("name") or model)


def _lift(
    report: Mapping[str, Any], key: str, metric: str, lower_is_better: bool, confidence: str
) -> LiftFigure | None:
    entry = (report.get(key) or {}).get(metric)
    if not isinstance(entry, Mapping) or not _number(entry.get("lift")):
        return None
    low, high = entry.get("ci_low"), entry.get("ci_high")
    text = format_value(entry["lift"], signed=True)
    span = format_interval([low, high], signed=True)
    holds_zero = _number(low) and _number(high) and low <= 0 <= high and not (low == high == 0)
    if entry.get("better") and not holds_zero:
        tone, note = "pass", "clearly better"
    elif entry.get("better"):
        tone, note = "unsure", f"better, but the {confidence} interval includes 0"
    else:
        tone, note = "fail", "no better" if entry["lift"] == 0 else "worse"
    against = "base model" if key == "lift" else "cheap baseline"
    return LiftFigure(against, f"{text} {span}".strip(), tone, note)


def headline_chart(figures: Sequence[ModelFigure], *, width: int = 520) -> HeadlineChart | None:
    """A bar per model (base, baseline, tuned) with its interval as a whisker, on a scale from 0
    (rates: 0 to 1 when every value fits)."""
    drawn = [f for f in figures if f.value is not None]
    if not drawn:
        return None
    highs = [f.interval[1] if f.interval else f.value for f in drawn] + [f.value for f in drawn]
    lows = [f.interval[0] if f.interval else f.value for f in drawn] + [f.value for f in drawn]
    if min(lows) < 0:
        return None  # a signed metric: the numbers above say it better than bars from 0
    top = 1.0 if max(highs) <= 1.0 else max(highs) * 1.1
    left, right, row, first = 104.0, width - 60.0, 26.0, 8.0

    def x(value: float) -> float:
        return round(left + (right - left) * value / top, 1)

    bars = []
    for index, figure in enumerate(drawn):
        y = first + index * row
        bars.append(
            HeadlineBar(
                model=figure.model,
                label=ROLE_NAMES.get(figure.model, figure.model),
                name=figure.name,
                y=y,
                x=left,
                width=round(x(figure.value) - left, 1),
                whisker=(x(figure.interval[0]), x(figure.interval[1])) if figure.interval else None,
                value_text=format_value(figure.value),
                colour=MODEL_COLOURS.get(figure.model, "#667085"),
            )
        )
    bottom = first + len(drawn) * row
    ticks = [top * i / 4 for i in range(5)]
    return HeadlineChart(
        width=width,
        height=int(bottom + 20),
        left=left,
        right=right,
        bars=bars,
        ticks=[(x(t), format_value(round(t, 6))) for t in ticks],
        bottom=bottom,
    )


def headline(report: Mapping[str, Any]) -> Headline | None:
    metric = report.get("headline")
    if not metric:
        return None
    metrics, intervals = report.get("metrics") or {}, report.get("intervals") or {}
    lower = metric in (report.get("lower_is_better") or ())
    confidence = f"{float((report.get('bootstrap') or {}).get('confidence') or 0.95) * 100:g}%"
    figures = {}
    for model in MODEL_ORDER:
        if metrics.get(model) is None:
            continue
        value = metrics[model].get(metric)
        interval = _interval((intervals.get(model) or {}).get(metric))
        text = format_value(value) + (f" {format_interval(list(interval))}" if interval and _number(value) else "")
        figures[model] = ModelFigure(
            model, _model_name(report, model), float(value) if _number(value) else None, interval, text
        )
    lifts = [lift for key in LIFTS if (lift := _lift(report, key, metric, lower, confidence))]
    return Headline(
        metric=str(metric),
        lower_is_better=lower,
        confidence=confidence,
        tuned=figures.get("tuned"),
        others=[figures[m] for m in ("base", "baseline") if m in figures],
        lifts=lifts,
        chart=headline_chart([figures[m] for m in MODEL_ORDER if m in figures]),
    )


# --- metrics, once each ----------------------------------------------------------------------------------


def metric_signature(report: Mapping[str, Any], metric: str) -> tuple:
    """Everything a metric's row shows, raw: each model's value and interval, each lift entry."""
    parts: list[Any] = []
    for model in MODEL_ORDER:
        values = (report.get("metrics") or {}).get(model)
        if values is None:
            continue
        interval = ((report.get("intervals") or {}).get(model) or {}).get(metric)
        parts.append((model, values.get(metric), tuple(interval) if isinstance(interval, list) else interval))
    for key in LIFTS:
        entry = (report.get(key) or {}).get(metric)
        parts.append((key, tuple(sorted(entry.items())) if isinstance(entry, Mapping) else entry))
    return tuple(parts)


@dataclass(frozen=True)
class MetricRow:
    name: str  # the row's metric (the first of its group in the report's order)
    label: str  # as the report writes it: "macro_f1 (headline)"
    aliases: list[str]  # other metrics with exactly the same numbers
    cells: list[str]
    headline: bool = False


@dataclass(frozen=True)
class MetricTable:
    headers: list[str]
    rows: list[MetricRow]
    metrics: int  # metrics in the report (rows before merging)


def _metric_name(label: str) -> str:
    return label.split(" (", 1)[0]


def metric_table(report: Mapping[str, Any], table: Table) -> MetricTable:
    """The report's metrics table with rows of identical numbers merged (see the module docstring)."""
    groups: dict[tuple, MetricRow] = {}
    order: list[tuple] = []
    for row in table.rows:
        name = _metric_name(row[0])
        signature = metric_signature(report, name)
        if signature in groups:
            groups[signature].aliases.append(name)
            continue
        groups[signature] = MetricRow(name, row[0], [], list(row[1:]), headline=name == report.get("headline"))
        order.append(signature)
    return MetricTable(list(table.headers), [groups[s] for s in order], len(table.rows))


# --- the page ----------------------------------------------------------------------------------------------


@dataclass
class Section:
    """A level-2 part of the report: its heading and blocks as ``(kind, block)`` pairs for the
    template; level-3 parts become ``Subsection``s."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)
    subsections: list["Subsection"] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.blocks and not self.subsections


@dataclass
class Subsection:
    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)
    pictured: bool = False  # its picture is among the report's pictures at the top


@dataclass(frozen=True)
class ReportView:
    title: str
    warning: str | None
    next_steps: list[str]
    verdict: Paragraph | None  # the gate verdict; None when no gate was set
    headline: Headline | None
    pictures: list[Picture]
    facts: list[tuple[str, str]]
    metrics: MetricTable | None
    sections: list[Section]  # what follows the metrics table, empty ones left out
    configuration: str | None


def _kind(block: Any) -> str:
    return type(block).__name__.lower()


def _has_content(block: Any) -> bool:
    if isinstance(block, Table):
        return bool(block.rows)
    if isinstance(block, (Paragraph, Code)):
        return bool(block.text.strip())
    if isinstance(block, Facts):
        return bool(block.pairs)
    return True


def _prune(blocks: list[Any]) -> list[Any]:
    """Drop tables without rows, and a caption paragraph whose table was dropped."""
    kept: list[Any] = []
    for index, block in enumerate(blocks):
        if not _has_content(block):
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        caption = isinstance(block, Paragraph) and block.tone is None and isinstance(following, Table)
        if caption and not _has_content(following):
            continue
        kept.append(block)
    return kept


SECTION_ORDER = ("Gates", "Cheap baselines", "Pairwise judge", "By subtask", "Breakdown")


def _section_rank(section: Section) -> int:
    """Gates first (pass or fail is the decision), the detail of the breakdowns last."""
    return next((i for i, start in enumerate(SECTION_ORDER) if section.title.startswith(start)), len(SECTION_ORDER))


def report_view(report: Mapping[str, Any], drawn: Collection[str]) -> ReportView:
    """The page of ``report`` whose pictures ``drawn`` (stems) exist (see the module docstring)."""
    blocks = report_blocks(report, drawn)
    title = blocks[0].text if blocks and isinstance(blocks[0], Heading) else "Evaluation"
    warning, next_steps, verdict, facts = None, [], None, []
    index = 1
    while index < len(blocks) and not (isinstance(blocks[index], Heading) and blocks[index].level == 2):
        block = blocks[index]
        if isinstance(block, Paragraph) and block.tone == "warning":
            warning = block.text
        elif isinstance(block, Paragraph) and block.tone in ("pass", "fail"):
            verdict = block
        elif isinstance(block, Paragraph) and block.text != NO_GATES and facts == [] and warning:
            next_steps.append(block.text)
        elif isinstance(block, Facts):
            facts = [(label, value) for label, value in block.pairs if value not in ("", "-", "none")]
        index += 1

    pictures: list[Picture] = []
    sections: list[Section] = []
    metrics: MetricTable | None = None
    configuration: str | None = None
    current: Section | None = None
    sub: Subsection | None = None
    for block in blocks[index:]:
        if isinstance(block, Heading) and block.level == 2:
            current, sub = Section(block.text), None
            sections.append(current)
        elif isinstance(block, Heading):
            sub = Subsection(block.text)
            if current is not None:
                current.subsections.append(sub)
        elif isinstance(block, Image):
            pictures.append(block.picture)
            if sub is not None:
                sub.pictured = True
        elif isinstance(block, Code):
            configuration = block.text
        elif current is not None and current.title == "Metrics" and isinstance(block, Table):
            metrics = metric_table(report, block)
        elif sub is not None:
            sub.blocks.append(block)
        elif current is not None:
            current.blocks.append(block)

    shown = []
    for section in sorted(sections, key=_section_rank):
        if section.title in ("Metrics", "Configuration"):
            continue
        section.blocks = [(_kind(b), b) for b in _prune(section.blocks)]
        for subsection in section.subsections:
            subsection.blocks = [(_kind(b), b) for b in _prune(subsection.blocks)]
        section.subsections = [s for s in section.subsections if s.blocks]
        if not section.empty:
            shown.append(section)
    return ReportView(
        title=title,
        warning=warning,
        next_steps=next_steps,
        verdict=verdict,
        headline=headline(report),
        pictures=pictures,
        facts=facts,
        metrics=metrics if metrics and metrics.rows else None,
        sections=shown,
        configuration=configuration,
    )


__all__ = [
    "Headline",
    "HeadlineChart",
    "LiftFigure",
    "MetricRow",
    "MetricTable",
    "ModelFigure",
    "ReportView",
    "Section",
    "Subsection",
    "headline",
    "headline_chart",
    "metric_signature",
    "metric_table",
    "report_view",
]
