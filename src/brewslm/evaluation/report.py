"""An evaluation report document -> ``report.json``, ``report.md``, ``report.html`` and PNG pictures.

The report document (built by the runner) has these top-level keys, written to ``report.json``
in this order (``REPORT_KEYS``; keys beyond them follow, in their own order)::

    schema_version, created_at, task, scoring_mode, strategy, headline, lower_is_better,
    dataset {name, version, split, examples, path},
    models {tuned: {name, source, kind}, base: {...} | null,
            baseline: {name, title, fitted, kind: "baseline", fitted_on: {split, examples}} | null},
    metrics {tuned: {metric: value}, base: ... | null, baseline: ... | null},
    intervals {tuned: {metric: [low, high]}, base: ... | null, baseline: ...}, bootstrap percentile CI
    lift {metric: {base, tuned, lift, ci_low, ci_high, better}} | null, paired bootstrap CI of tuned - base
    lift_vs_baseline {metric: {...as lift...}} | null,  tuned - baseline ("base" holds the baseline's value)
    baselines {name: {title, seconds, metrics {headline + a few}, interval, fitted} | {title, seconds, unavailable}},
    baselines_skipped reason | null,                                    why no cheap baseline was fitted at all
    by_subtask {tuned: {subtask: {metric: value}}, base: ..., baseline: ...}, {} when rows carry no subtask
    breakdown {tuned: {...handler.breakdown()...}, base: ... | null, baseline: ... | null},
    judge {win_rate, tie_rate, loss_rate, examples, judge_model} | null,
    gates [{gate, metric, target, op, threshold, value, passed, reason}], passed,
    bootstrap {samples, confidence, seed},
    predictions {tuned: file, base: file | null, baseline: file | null},
    timing {tuned: {seconds, examples_per_second}, base, baseline}, config {...}

``baseline`` is the strongest cheap baseline (``brewslm.evaluation.baselines``: TF-IDF + logistic
regression, a CRF, a cue rule...) by the headline metric, fitted on the train split and scored on
the same rows by the same handler; ``baselines`` lists every one tried. When it beats the
fine-tune, or the lift over it is not clear of 0, the report's first lines say so
(``baseline_verdict``). Schema 2 added the baseline keys; a schema 1 report renders without them.

Breakdowns are rendered generically: ``labels`` + ``confusion_matrix`` (rows gold labels, columns
labels + "unparseable") is a confusion matrix; a mapping of names to mappings of numbers
(``per_class``, ``per_type``, ``per_field``, ``per_tool``) is a table, and a picture of its ``f1``
(else ``accuracy``) per name, base and tuned side by side; other mappings become key/value tables.

Markdown and HTML are two renderings of one list of blocks (``report_blocks``), so the two pages
always say the same thing. Every value from the report is escaped: HTML with ``html.escape``,
Markdown by backslash-escaping the characters that would make markup (a label ``<script>`` shows
as text in both). The HTML page is self-contained: its pictures are embedded as base64 PNG (they
are also written next to it as files). Pictures are drawn with matplotlib on the Agg backend
(``brewslm.training.report.agg_figure``).
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence, Union

from brewslm.output import key_values, table, to_jsonable
from brewslm.training.report import agg_figure

SCHEMA_VERSION = 2
REPORT_KEYS = (
    "schema_version",
    "created_at",
    "task",
    "scoring_mode",
    "strategy",
    "headline",
    "lower_is_better",
    "dataset",
    "models",
    "metrics",
    "intervals",
    "lift",
    "lift_vs_baseline",
    "baselines",
    "baselines_skipped",
    "next_steps",
    "by_subtask",
    "breakdown",
    "judge",
    "gates",
    "passed",
    "bootstrap",
    "predictions",
    "timing",
    "config",
)
MODELS = ("base", "baseline", "tuned")  # column order: the base model, the cheap baseline, then the fine-tune
TABLE_ORDER = ("tuned", "base", "baseline")  # tables and names: the fine-tune's first, it is what the report is about
MAX_TABLE_LABELS = 30  # a wider confusion matrix is a picture only (its numbers stay in report.json)
MAX_ANNOTATED_LABELS = 25  # cells of a larger confusion-matrix picture are colour only, no numbers
BAR_METRICS = ("f1", "accuracy")  # what a per-name breakdown's picture shows, first present wins
BASE_COLOR, TUNED_COLOR, BASELINE_COLOR = "#9ecae1", "#3182bd", "#fdae6b"


# --- numbers -----------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_value(value: Any, signed: bool = False) -> str:
    """A report value for people: rates with 3 decimals, counts as whole numbers, None as ``-``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool) or not _is_number(value):
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    sign = "+" if signed else ""
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 2):  # a count (support, tokens)
        return f"{int(value):{sign},d}"
    return f"{value:{sign},.1f}" if abs(value) >= 1000 else f"{value:{sign}.3f}"


def format_interval(interval: Sequence[Any] | None, signed: bool = False) -> str:
    """``[low, high]`` -> ``"[0.812, 0.901]"``; an absent or undefined interval -> ``""``."""
    if not interval or any(not _is_number(v) for v in interval):
        return ""
    low, high = interval
    return f"[{format_value(low, signed)}, {format_value(high, signed)}]"


def _with_interval(value: Any, interval: Sequence[Any] | None, signed: bool = False) -> str:
    text, span = format_value(value, signed), format_interval(interval, signed)
    return f"{text} {span}" if span and value is not None else text


def _percent(confidence: Any) -> str:
    return f"{float(confidence) * 100:g}%" if _is_number(confidence) else "95%"


# --- the report's parts -----------------------------------------------------------------------


def ordered_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """The document with its keys in ``REPORT_KEYS`` order (unknown keys after, as given)."""
    ordered = {key: report[key] for key in REPORT_KEYS if key in report}
    ordered.update((key, value) for key, value in report.items() if key not in ordered)
    return ordered


def _section(report: Mapping[str, Any], key: str, model: str) -> Any:
    return (report.get(key) or {}).get(model)


def _evaluated(report: Mapping[str, Any]) -> list[str]:
    """The models with metrics, base first."""
    return [model for model in MODELS if _section(report, "metrics", model) is not None]


def _metric_order(report: Mapping[str, Any]) -> list[str]:
    """The headline first, then the tuned model's metrics in their order, then any base-only ones."""
    names: list[str] = []
    for model in TABLE_ORDER:
        names.extend(m for m in _section(report, "metrics", model) or {} if m not in names)
    headline = report.get("headline")
    return ([headline] if headline in names else []) + [m for m in names if m != headline]


def _metric_label(report: Mapping[str, Any], metric: str) -> str:
    notes = (["headline"] if metric == report.get("headline") else []) + (
        ["lower is better"] if metric in (report.get("lower_is_better") or ()) else []
    )
    return metric + (f" ({', '.join(notes)})" if notes else "")


def _model_text(model: Mapping[str, Any] | None) -> str:
    if not model:
        return "none"
    name, source, kind = model.get("name"), model.get("source"), model.get("kind")
    extra = ", ".join(str(v) for v in (kind, source if source and source != name else None) if v)
    return f"{name} ({extra})" if extra else str(name)


def _title(report: Mapping[str, Any]) -> str:
    task = str(report.get("task", "?")) + (f" ({report['scoring_mode']})" if report.get("scoring_mode") else "")
    dataset = report.get("dataset") or {}
    name = str(dataset.get("name", "?")) + (f" v{dataset['version']}" if dataset.get("version") is not None else "")
    where = ", ".join(str(v) for v in (dataset.get("split"), _count(dataset.get("examples"), "example")) if v)
    return f"{task} on {name}" + (f" ({where})" if where else "")


def _count(value: Any, noun: str) -> str | None:
    return None if value is None else f"{format_value(value)} {noun}{'' if value == 1 else 's'}"


def _facts(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    models = report.get("models") or {}
    facts = [
        ("tuned model", _model_text(models.get("tuned"))),
        ("base model", _model_text(models.get("base"))),
        ("cheap baseline", baseline_text(report)),
        ("strategy", str(report.get("strategy") or "-")),
    ]
    for model in MODELS:
        timing = _section(report, "timing", model)
        if timing:
            facts.append(
                (
                    f"{model} time",
                    f"{_one_decimal(timing.get('seconds'))} s, "
                    f"{_one_decimal(timing.get('examples_per_second'))} examples/s",
                )
            )
    boot = report.get("bootstrap") or {}
    if boot.get("samples"):
        facts.append(
            (
                "bootstrap",
                f"{boot['samples']} resamples, {_percent(boot.get('confidence'))} percentile "
                f"intervals, seed {boot.get('seed', 0)}",
            )
        )
    predictions = report.get("predictions") or {}
    files = [f"{predictions[m]} ({m})" for m in TABLE_ORDER if predictions.get(m)]
    if files:
        facts.append(("predictions", ", ".join(files)))
    if report.get("created_at"):
        facts.append(("created", str(report["created_at"])))
    return facts


def _one_decimal(value: Any) -> str:
    return f"{value:,.1f}" if _is_number(value) and math.isfinite(value) else "-"


def _baseline_entry(report: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    """(name, ``baselines`` entry) of the report's baseline: the strongest cheap one."""
    name = ((report.get("models") or {}).get("baseline") or {}).get("name")
    return name, (report.get("baselines") or {}).get(name) or {}


def _seconds(value: Any) -> str:
    return f"{value:.1f} s" if _is_number(value) and math.isfinite(value) else "? s"


def baseline_text(report: Mapping[str, Any]) -> str:
    """``TF-IDF + logistic regression (tfidf_logreg), fitted on 800 train rows in 2.1 s``, or why
    there is none (skipped, or each baseline's reason)."""
    model = (report.get("models") or {}).get("baseline")
    if model:
        _, entry = _baseline_entry(report)
        rows = (model.get("fitted_on") or {}).get("examples")
        where = f" on {format_value(rows)} train rows" if rows is not None else ""
        return (
            f"{model.get('title') or model.get('name')} ({model.get('name')}), fitted{where} in "
            f"{_seconds(entry.get('seconds'))}"
        )
    if report.get("baselines_skipped"):
        return f"none ({report['baselines_skipped']})"
    reasons = [f"{name}: {entry.get('unavailable')}" for name, entry in (report.get("baselines") or {}).items()]
    return f"none could be fitted ({'; '.join(reasons)})" if reasons else "none"


def baseline_verdict(report: Mapping[str, Any]) -> str | None:
    """The plain warning a report opens with when the cheap baseline beats (or matches) the
    fine-tune on the headline metric, or the lift over it has an interval that includes 0; None
    when the fine-tune is clearly better (or there is no baseline to compare with)."""
    headline = report.get("headline")
    entry = (report.get("lift_vs_baseline") or {}).get(headline) or {}
    lift, better = entry.get("lift"), entry.get("better")
    if not _is_number(lift) or better is None:
        return None
    model = (report.get("models") or {}).get("baseline") or {}
    _, fitted = _baseline_entry(report)
    who = f"The cheap baseline ({model.get('title') or model.get('name')}, fitted in {_seconds(fitted.get('seconds'))})"
    numbers = (
        f"{headline} {format_value(entry.get('base'))} vs {format_value(entry.get('tuned'))} "  # baseline first
        f"(lift {_with_interval(lift, [entry.get('ci_low'), entry.get('ci_high')], signed=True)})"
    )
    if not better:
        return (
            f"{who} {'matches' if lift == 0 else 'beats'} this fine-tune: {numbers}. "
            "Do not ship this fine-tune for this task as it is."
        )
    low, high = entry.get("ci_low"), entry.get("ci_high")
    if _is_number(low) and _is_number(high) and low <= 0 <= high:
        confidence = _percent((report.get("bootstrap") or {}).get("confidence"))
        return (
            f"{who} is not clearly beaten by this fine-tune: {numbers}; the lift's {confidence} interval "
            "includes 0. Evaluate on more rows, or improve the fine-tune, before preferring it to the baseline."
        )
    return None


def _baselines_table(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]] | None:
    """Every cheap baseline tried: its headline with interval, seconds, and the strongest marked
    (or why it is unavailable)."""
    entries = report.get("baselines") or {}
    if not entries:
        return None
    headline, chosen = str(report.get("headline")), _baseline_entry(report)[0]
    ci = f"[{_percent((report.get('bootstrap') or {}).get('confidence'))} CI]"
    rows = []
    for name, entry in entries.items():
        value = (entry.get("metrics") or {}).get(headline)
        note = (
            f"unavailable: {entry['unavailable']}"
            if entry.get("unavailable") is not None
            else "strongest: the report's baseline"
            if name == chosen
            else ""
        )
        rows.append(
            [
                str(name),
                str(entry.get("title") or ""),
                _with_interval(value, entry.get("interval")),
                _seconds(entry.get("seconds")),
                note,
            ]
        )
    return ["baseline", "what", f"{headline} {ci}", "fit + predict", "note"], rows


def _verdict(report: Mapping[str, Any]) -> tuple[str, str | None]:
    """(text, tone): ``"gates: PASSED (2 of 2)"`` / ``FAILED`` / no gates."""
    gates = report.get("gates") or []
    if not gates:
        return "gates: none set", None
    passed = sum(bool(g.get("passed")) for g in gates)
    ok = report.get("passed", passed == len(gates))
    return f"gates: {'PASSED' if ok else 'FAILED'} ({passed} of {len(gates)} passed)", ("pass" if ok else "fail")


def _metrics_table(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """metric | base | baseline | tuned | lift vs base [CI] | lift vs baseline [CI] (the columns of
    what was evaluated; a lone lift column is just "lift")."""
    models = _evaluated(report)
    lifts = [(key, report.get(key)) for key in ("lift", "lift_vs_baseline") if report.get(key)]
    ci = f"[{_percent((report.get('bootstrap') or {}).get('confidence'))} CI]"
    headers = ["metric"] + [f"{m} {ci}" if m == "tuned" and len(models) == 1 else m for m in models]
    names = {"lift": "lift vs base", "lift_vs_baseline": "lift vs baseline"}
    headers += [f"{names[key] if len(lifts) > 1 or key != 'lift' else 'lift'} {ci}" for key, _ in lifts]
    rows = []
    for metric in _metric_order(report):
        row = [_metric_label(report, metric)]
        for model in models:
            row.append(
                _with_interval(
                    _section(report, "metrics", model).get(metric),
                    (_section(report, "intervals", model) or {}).get(metric),
                )
            )
        for _, lift in lifts:
            entry = lift.get(metric) or {}
            row.append(_with_interval(entry.get("lift"), [entry.get("ci_low"), entry.get("ci_high")], signed=True))
        rows.append(row)
    return headers, rows


def _gate_rows(report: Mapping[str, Any]) -> list[list[str]]:
    return [
        [
            str(g.get("gate")),
            format_value(g.get("value")),
            "pass" if g.get("passed") else "FAIL",
            str(g.get("reason") or ""),
        ]
        for g in report.get("gates") or []
    ]


def _subtask_table(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]] | None:
    groups = {model: _section(report, "by_subtask", model) or {} for model in _evaluated(report)}
    names = list(dict.fromkeys(name for model in TABLE_ORDER for name in groups.get(model, {})))
    if not names:
        return None
    headline = str(report.get("headline"))
    models = list(groups)
    change = "base" in models and "tuned" in models  # tuned - base, as the lift
    headers = ["subtask", "examples"] + [f"{headline} ({m})" for m in models] + (["change"] if change else [])
    rows = []
    for name in names:
        values = {m: (groups[m].get(name) or {}).get(headline) for m in models}
        examples = next(
            (
                (groups[m].get(name) or {}).get("examples")
                for m in reversed(models)
                if (groups[m].get(name) or {}).get("examples") is not None
            ),
            None,
        )
        row = [name, format_value(examples)] + [format_value(values[m]) for m in models]
        if change:
            pair = (values["tuned"], values["base"])
            row.append(format_value(pair[0] - pair[1], signed=True) if all(map(_is_number, pair)) else "-")
        rows.append(row)
    return headers, rows


# --- breakdowns and their pictures -------------------------------------------------------------


def _confusion(breakdown: Mapping[str, Any] | None) -> tuple[list[str], list[str], list[list[Any]]] | None:
    """(gold labels, predicted columns, matrix) of a classification breakdown, else None."""
    if not isinstance(breakdown, Mapping):
        return None
    labels, matrix = breakdown.get("labels"), breakdown.get("confusion_matrix")
    if not isinstance(labels, list) or not isinstance(matrix, list) or not matrix:
        return None
    width = len(matrix[0])
    columns = [str(label) for label in labels] + (["unparseable"] if width == len(labels) + 1 else [])
    return [str(label) for label in labels], columns[:width], matrix


def _per_name(value: Any) -> bool:
    """A ``{name: {stat: value}}`` section (per_class, per_type, per_field, per_tool)."""
    return isinstance(value, Mapping) and bool(value) and all(isinstance(v, Mapping) for v in value.values())


def _bar_metric(section: Mapping[str, Mapping[str, Any]]) -> str | None:
    present = {key for entry in section.values() for key, v in entry.items() if _is_number(v)}
    return next((metric for metric in BAR_METRICS if metric in present), None)


def _breakdowns(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        model: _section(report, "breakdown", model)
        for model in MODELS
        if isinstance(_section(report, "breakdown", model), Mapping) and _section(report, "breakdown", model)
    }


@dataclass(frozen=True)
class Picture:
    """One picture of the report: ``stem`` names its file (``<stem>.png``) and its place."""

    stem: str
    section: str  # the breakdown key it illustrates ("confusion_matrix", "per_class", ...)
    metric: str | None  # bars: the metric drawn
    caption: str


def report_pictures(report: Mapping[str, Any]) -> list[Picture]:
    """The pictures a report has: a confusion matrix (classification), one bar chart per
    per-name breakdown section with an f1 or accuracy column and a reliability diagram
    (classification predictions with a confidence)."""
    breakdowns = _breakdowns(report)
    pictures = []
    if any(_confusion(b) for b in breakdowns.values()):
        pictures.append(
            Picture(
                "confusion_matrix",
                "confusion_matrix",
                None,
                "Confusion matrix (rows: gold label, columns: prediction; colour: share of the row)",
            )
        )
    for key in _section_keys(breakdowns):
        sections = [b[key] for b in breakdowns.values() if _per_name(b.get(key))]
        metric = next((m for m in map(_bar_metric, sections) if m), None)
        if sections and metric:
            pictures.append(Picture(f"{key}_{metric}", key, metric, f"{metric} {key.replace('_', ' ')}"))
    if _reliability_panels(report):
        pictures.append(RELIABILITY_PICTURE)
    return pictures


CONFUSION_AXES = ("labels", "columns")  # the confusion matrix's row and column names, drawn with it


def _section_keys(breakdowns: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Breakdown keys in the tuned model's order, then the base's (labels, columns and the matrix
    are one section: the confusion matrix)."""
    keys: list[str] = []
    for model in TABLE_ORDER:
        keys.extend(k for k in breakdowns.get(model, {}) if k not in keys and k not in CONFUSION_AXES)
    return keys


def _tick(text: str, width: int = 30) -> str:
    # '$' starts mathtext in matplotlib; a label is text, never a formula
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")


def plot_confusion_matrices(
    panels: Sequence[tuple[str, Sequence[str], Sequence[str], Sequence[Sequence[Any]]]], path: Path
) -> Path:
    """One confusion-matrix panel per ``(title, gold labels, columns, matrix)``, side by side; cell
    colour is the share of its gold row, numbers are written in the cells of small matrices."""
    import numpy as np

    size = max(len(columns) for _, _, columns, _ in panels)
    side = min(30.0, max(4.0, 0.42 * size + 2.5))
    figure = agg_figure(side * len(panels), side * 0.9)
    for index, (title, labels, columns, matrix) in enumerate(panels, start=1):
        counts = np.asarray(matrix, dtype=float)
        rows = counts.sum(axis=1, keepdims=True)
        shares = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
        axes = figure.add_subplot(1, len(panels), index)
        axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        axes.set_xticks(range(len(columns)), [_tick(c) for c in columns], rotation=45, ha="right", fontsize=8)
        axes.set_yticks(range(len(labels)), [_tick(label) for label in labels], fontsize=8)
        axes.set_xlabel("prediction")
        axes.set_ylabel("gold label")
        axes.set_title(title, fontsize=10)
        if len(columns) <= MAX_ANNOTATED_LABELS + 1:
            for (i, j), count in np.ndenumerate(counts):
                axes.text(
                    j,
                    i,
                    f"{int(count)}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if shares[i, j] > 0.5 else "black",
                )
    figure.tight_layout()
    figure.savefig(str(path))
    return Path(path)


def plot_metric_bars(
    names: Sequence[str], series: Mapping[str, Sequence[float | None]], metric: str, path: Path, title: str = ""
) -> Path:
    """Horizontal bars of ``metric`` per name, one bar per model (``series``: model -> values, in
    ``names`` order; None draws no bar)."""
    height = min(60.0, max(2.5, 0.22 * len(names) * max(1, len(series)) + 1.5))
    figure = agg_figure(7, height)
    axes = figure.add_subplot(1, 1, 1)
    bar = 0.8 / max(1, len(series))
    colors = {"base": BASE_COLOR, "tuned": TUNED_COLOR, "baseline": BASELINE_COLOR}
    values_seen: list[float] = []
    for offset, (model, values) in enumerate(series.items()):
        numbers = [float(v) if _is_number(v) else math.nan for v in values]
        values_seen.extend(v for v in numbers if not math.isnan(v))
        positions = [i + (offset - (len(series) - 1) / 2) * bar for i in range(len(names))]
        axes.barh(positions, numbers, height=bar, color=colors.get(model), label=model)
    axes.set_yticks(range(len(names)), [_tick(str(n)) for n in names], fontsize=8)
    axes.invert_yaxis()  # first name on top, like the tables
    if values_seen and all(0.0 <= v <= 1.0 for v in values_seen):
        axes.set_xlim(0.0, 1.0)
    axes.set_xlabel(metric)
    if title:
        axes.set_title(_tick(title, 80), fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    if len(series) > 1:
        axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(str(path))
    return Path(path)


def draw_pictures(report: Mapping[str, Any], out_dir: Path) -> dict[str, Path]:
    """Draw every picture of ``report_pictures`` into ``out_dir``; ``{stem: path}``."""
    breakdowns = _breakdowns(report)
    drawn: dict[str, Path] = {}
    for picture in report_pictures(report):
        path = Path(out_dir) / f"{picture.stem}.png"
        if picture == RELIABILITY_PICTURE:
            drawn[picture.stem] = plot_reliability_diagrams(_reliability_panels(report), path)
            continue
        if picture.metric is None:
            panels = [(model, *_confusion(b)) for model, b in breakdowns.items() if _confusion(b)]
            drawn[picture.stem] = plot_confusion_matrices(panels, path)
            continue
        sections = {m: b[picture.section] for m, b in breakdowns.items() if _per_name(b.get(picture.section))}
        names = list(dict.fromkeys(n for m in TABLE_ORDER for n in sections.get(m, {})))
        series = {m: [(s.get(n) or {}).get(picture.metric) for n in names] for m, s in sections.items()}
        drawn[picture.stem] = plot_metric_bars(names, series, picture.metric, path, picture.caption)
    return drawn


CALIBRATION_SECTION = "calibration"  # a classification breakdown's reliability bins (metrics.calibration)
RELIABILITY_PICTURE = Picture(
    "reliability_diagram",
    CALIBRATION_SECTION,
    None,
    "Reliability diagram: accuracy of the answers in each confidence bin; on the diagonal "
    "a confidence of p is right a share p of the time, below it the model is over-confident",
)


def _reliability_panels(report: Mapping[str, Any]) -> list[tuple[str, Sequence[Mapping[str, Any]], Any]]:
    """``(model, bins, ece)`` of every model whose breakdown has reliability bins, base first."""
    panels = []
    for model, breakdown in _breakdowns(report).items():
        bins = breakdown.get(CALIBRATION_SECTION)
        if isinstance(bins, list) and bins and all(isinstance(b, Mapping) for b in bins):
            panels.append((model, bins, (_section(report, "metrics", model) or {}).get("ece")))
    return panels


def plot_reliability_diagrams(panels: Sequence[tuple[str, Sequence[Mapping[str, Any]], Any]], path: Path) -> Path:
    """One reliability diagram per ``(model, bins, ece)``, side by side: each bin's accuracy as a
    bar over its confidence range, its mean confidence as a dot, the diagonal of perfect
    calibration, the ECE in the title."""
    figure = agg_figure(4.2 * len(panels), 4.2)
    for index, (model, bins, ece) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), index)
        axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=0.8, label="perfect calibration")
        axes.bar(
            [float(b["lower"]) for b in bins],
            [float(b["accuracy"]) for b in bins],
            width=[float(b["upper"]) - float(b["lower"]) for b in bins],
            align="edge",
            color=TUNED_COLOR if model == "tuned" else BASE_COLOR,
            edgecolor="white",
            label="accuracy",
        )
        axes.scatter(
            [(float(b["lower"]) + float(b["upper"])) / 2 for b in bins],
            [float(b["confidence"]) for b in bins],
            color="black",
            s=10,
            zorder=3,
            label="mean confidence",
        )
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)
        axes.set_xlabel("confidence")
        axes.set_ylabel("accuracy")
        axes.set_title(f"{model}: ECE {format_value(ece)}", fontsize=10)
        axes.legend(loc="upper left", fontsize=7)
    figure.tight_layout()
    figure.savefig(str(path))
    return Path(path)


def _tables_of(title: str, value: Any) -> list[tuple[str, list[str], list[list[str]]]]:
    """A breakdown value -> titled tables: ``{name: {stat: v}}`` is one row per name, a mapping of
    scalars is a key/value table, nested mappings recurse (``relaxed · per_type``)."""
    if _per_name(value):
        columns = list(dict.fromkeys(k for entry in value.values() for k in entry))
        rows = [[str(name)] + [format_value(entry.get(c)) for c in columns] for name, entry in value.items()]
        return [(title, ["name"] + columns, rows)]
    if isinstance(value, Mapping):
        scalars = [[str(k), format_value(v)] for k, v in value.items() if not isinstance(v, Mapping)]
        tables = [(title, ["key", "value"], scalars)] if scalars else []
        for key, nested in value.items():
            if isinstance(nested, Mapping) and nested:
                tables.extend(_tables_of(f"{title} · {key}", nested))
        return tables
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        columns = list(dict.fromkeys(k for entry in value for k in entry))
        return [(title, columns, [[format_value(entry.get(c)) for c in columns] for entry in value])]
    return [(title, ["value"], [[format_value(value)]])]


# --- blocks: what the Markdown and HTML pages are made of ----------------------------------------


@dataclass(frozen=True)
class Heading:
    """A section title; ``level`` 1 is the page title."""

    text: str
    level: int


@dataclass(frozen=True)
class Paragraph:
    """One line of text."""

    text: str
    tone: str | None = None  # "pass" | "fail": the gate verdict; "warning": the baseline verdict; shown strong


@dataclass(frozen=True)
class Facts:
    """Label / value pairs about the evaluation (models, timing, bootstrap)."""

    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    """Already formatted cells; each renderer escapes them."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Image:
    """A drawn picture, ``<stem>.png`` (linked in Markdown, embedded in HTML)."""

    picture: Picture


@dataclass(frozen=True)
class Code:
    """Preformatted JSON (the configuration)."""

    text: str


Block = Union[Heading, Paragraph, Facts, Table, Image, Code]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    return Table(tuple(headers), tuple(tuple(row) for row in rows))


def report_blocks(report: Mapping[str, Any], pictures: Collection[str] = ()) -> list[Block]:
    """The report page as blocks; ``pictures`` are the stems of the pictures drawn (an ``Image``
    block is placed for each, with its breakdown section)."""
    blocks: list[Block] = [Heading(f"Evaluation: {_title(report)}", 1)]
    warning = baseline_verdict(report)
    if warning:  # the first thing a reader sees: the fine-tune does not beat the cheap baseline
        blocks.append(Paragraph(warning, "warning"))
        # what to try next, with its cost (written by whoever knows the training run: brewslm.tuning.advice)
        blocks += [Paragraph(str(line)) for line in report.get("next_steps") or []]
    blocks.append(Facts(tuple(_facts(report))))
    verdict, tone = _verdict(report)
    blocks.append(Paragraph(verdict, tone))
    blocks += [Heading("Metrics", 2), _table(*_metrics_table(report))]
    baselines = _baselines_table(report)
    if baselines:
        blocks += [
            Heading("Cheap baselines (fitted on the train split, scored on the same rows)", 2),
            _table(*baselines),
        ]
    judge = report.get("judge")
    if judge:
        blocks += [
            Heading("Pairwise judge (tuned vs base)", 2),
            _table(
                ["win rate", "tie rate", "loss rate", "examples", "judge model"],
                [
                    [format_value(judge.get(k)) for k in ("win_rate", "tie_rate", "loss_rate", "examples")]
                    + [str(judge.get("judge_model") or "-")]
                ],
            ),
        ]
    if report.get("gates"):
        blocks += [Heading("Gates", 2), _table(["gate", "value", "result", "reason"], _gate_rows(report))]
    blocks += _breakdown_blocks(report, pictures)
    subtasks = _subtask_table(report)
    if subtasks:
        blocks += [Heading(f"By subtask ({report.get('headline')})", 2), _table(*subtasks)]
    if report.get("config"):
        blocks += [
            Heading("Configuration", 2),
            Code(json.dumps(report["config"], indent=2, ensure_ascii=False, default=str)),
        ]
    return blocks


def _breakdown_blocks(report: Mapping[str, Any], pictures: Collection[str]) -> list[Block]:
    breakdowns = _breakdowns(report)
    keys = _section_keys(breakdowns)
    if not keys:
        return []
    by_section = {p.section: p for p in report_pictures(report) if p.stem in pictures}
    blocks: list[Block] = [Heading("Breakdown", 2)]
    for key in keys:
        blocks.append(Heading(key.replace("_", " ").capitalize(), 3))
        if key in by_section:
            blocks.append(Image(by_section[key]))
        for model in TABLE_ORDER:
            if model not in breakdowns:
                continue
            breakdown, label = breakdowns[model], f" ({model})" if len(breakdowns) > 1 else ""
            if key == "confusion_matrix":
                blocks += _confusion_blocks(breakdown, label)
            elif key in breakdown:
                for title, headers, rows in _tables_of(key, breakdown[key]):
                    if title != key or label:
                        blocks.append(Paragraph(f"{title}{label}"))
                    blocks.append(_table(headers, rows))
    return blocks


def _confusion_blocks(breakdown: Mapping[str, Any], label: str) -> list[Block]:
    confusion = _confusion(breakdown)
    if confusion is None:
        return []
    labels, columns, matrix = confusion
    if len(labels) > MAX_TABLE_LABELS:
        return [
            Paragraph(
                f"confusion matrix{label}: {len(labels)} labels, too many for a table; see the picture and report.json"
            )
        ]
    rows = [[gold] + [format_value(c) for c in row] for gold, row in zip(labels, matrix)]
    return [
        Paragraph(f"confusion matrix{label}: rows gold, columns predicted"),
        _table(["gold \\ predicted"] + columns, rows),
    ]


# --- Markdown ----------------------------------------------------------------------------------

# the characters that start markup inside a line ("<" an HTML tag, "](" a link or an image); ">"
# and a lone "[" are literal there, so gates ("acc >= 0.9") and intervals stay readable in the raw file
_MARKDOWN_SPECIAL = re.compile(r"([\\`*<|]|\](?=\())")


def markdown_escape(text: Any) -> str:
    """Text that shows as itself in Markdown (and in a table cell): markup characters are
    backslash-escaped and a line break becomes a space."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))


def render_markdown(report: Mapping[str, Any], pictures: Collection[str] = ()) -> str:
    """``report.md``: title, the baseline warning (``baseline_verdict``) if any, facts, gate verdict,
    metric table (metric | base | baseline | tuned | lift vs base [95% CI] | lift vs baseline), the
    cheap baselines, gates, breakdown tables, subtask table; ``pictures`` (stems of PNG files
    written next to it) are linked as images."""
    out: list[str] = []
    for block in report_blocks(report, pictures):
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {markdown_escape(block.text)}")
        elif isinstance(block, Paragraph):
            text = markdown_escape(block.text)
            out.append(f"**{text}**" if block.tone else text)
        elif isinstance(block, Facts):
            out.append("\n".join(f"- **{markdown_escape(k)}**: {markdown_escape(v)}" for k, v in block.pairs))
        elif isinstance(block, Table):
            lines = [block.headers, ("---",) * len(block.headers)] + list(block.rows)
            out.append("\n".join("| " + " | ".join(markdown_escape(c) for c in line) + " |" for line in lines))
        elif isinstance(block, Image):
            out.append(f"![{markdown_escape(block.picture.caption)}]({block.picture.stem}.png)")
        elif isinstance(block, Code):
            fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", block.text)), default=0))
            out.append(f"{fence}json\n{block.text}\n{fence}")
    return "\n\n".join(out) + "\n"


# --- HTML --------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 70rem;
       padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.2rem; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f3f6f9; }
td { font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
.pass { color: #1a7f37; font-weight: 700; }
.fail { color: #cf222e; font-weight: 700; }
.warning { color: #cf222e; font-weight: 700; border-left: 4px solid #cf222e; padding-left: 0.6rem; }
figure { margin: 0.5rem 0 1rem; }
figure img { max-width: 100%; }
figcaption { font-size: 0.85rem; color: #555; }
pre { background: #f6f8fa; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
"""


def render_html(report: Mapping[str, Any], images: Mapping[str, bytes] | None = None) -> str:
    """``report.html``: the same blocks as the Markdown, one self-contained page; ``images`` maps
    a picture stem to its PNG bytes, embedded as base64. Every report value is HTML-escaped."""
    images = dict(images or {})
    esc = lambda value: html.escape(str(value), quote=True)  # noqa: E731
    body: list[str] = []
    for block in report_blocks(report, images):
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{esc(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            css = f' class="{block.tone}"' if block.tone else ""
            body.append(f"<p{css}>{esc(block.text)}</p>")
        elif isinstance(block, Facts):
            body.append("<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in block.pairs) + "</dl>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{esc(h)}</th>" for h in block.headers)
            rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(block, Image):
            data = base64.b64encode(images[block.picture.stem]).decode("ascii")
            caption = esc(block.picture.caption)
            body.append(
                f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
                f"<figcaption>{caption}</figcaption></figure>"
            )
        elif isinstance(block, Code):
            body.append(f"<details><summary>configuration</summary><pre>{esc(block.text)}</pre></details>")
    title = esc(f"BrewSLM evaluation: {_title(report)}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


# --- the terminal summary ----------------------------------------------------------------------


def render_text_summary(report: Mapping[str, Any]) -> str:
    """What ``brewslm eval`` prints: the title, the baseline warning if any, the models, the metric
    table with the lifts and their intervals, the judge's rates, and each gate's verdict."""
    warning = baseline_verdict(report)
    steps = [f"  - {line}" for line in report.get("next_steps") or []] if warning else []
    lines = [_title(report)] + ([warning] if warning else []) + steps + [key_values(_facts(report)[:4]), ""]
    headers, rows = _metrics_table(report)
    lines.append(table(headers, rows, width=80))
    judge = report.get("judge")
    if judge:
        lines += [
            "",
            f"judge ({judge.get('judge_model') or 'base'}): win {format_value(judge.get('win_rate'))}, "
            f"tie {format_value(judge.get('tie_rate'))}, loss {format_value(judge.get('loss_rate'))} "
            f"over {format_value(judge.get('examples'))} examples",
        ]
    verdict, _ = _verdict(report)
    lines += ["", verdict]
    lines += [
        f"  {'pass' if g.get('passed') else 'FAIL'}  {g.get('gate')}: {g.get('reason')}"
        for g in report.get("gates") or []
    ]
    return "\n".join(lines)


# --- files -------------------------------------------------------------------------------------


def write_reports(report: Mapping[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write ``report.json``, ``report.md``, ``report.html`` and the pictures into ``out_dir``
    (created); ``{"json", "markdown", "html", <picture stem>...: path}``."""

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pictures = draw_pictures(report, out)
    paths = {"json": out / "report.json", "markdown": out / "report.md", "html": out / "report.html"}
    paths["json"].write_text(
        json.dumps(to_jsonable(ordered_report(report)), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    paths["markdown"].write_text(render_markdown(report, pictures), encoding="utf-8")
    images = {stem: path.read_bytes() for stem, path in pictures.items()}
    paths["html"].write_text(render_html(report, images), encoding="utf-8")
    return {**paths, **pictures}


__all__ = [
    "REPORT_KEYS",
    "SCHEMA_VERSION",
    "Picture",
    "baseline_text",
    "baseline_verdict",
    "draw_pictures",
    "format_interval",
    "format_value",
    "markdown_escape",
    "ordered_report",
    "plot_confusion_matrices",
    "plot_metric_bars",
    "render_html",
    "render_markdown",
    "render_text_summary",
    "report_blocks",
    "report_pictures",
    "write_reports",
]
