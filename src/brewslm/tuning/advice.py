"""What to try when the cheap baseline beats the fine-tune: the evidence of the run itself, then
the next steps with their cost on this machine.

A report that only says "the baseline wins" leaves the user where they started. The run that lost
holds the evidence for the next move:

- the validation curve of the metric training watched (``early_stopping.metric``): still rising at
  the last evaluation means the model was stopped while learning, and more epochs of the same
  model are the cheapest step; flat or falling since an earlier peak means this model has learnt
  what it can at this learning rate, and a bigger model (or a search over learning rates) is next;
- the run's own speed (tokens/s, minutes per epoch), measured, not estimated: a LoRA step costs
  about 4 FLOPs per parameter and token (``recommend.FLOPS_PER_PARAMETER``), so a catalog model
  with k times the parameters takes about k times as long per epoch on the same machine.

These are next steps with their cost, not promises: nothing here was trained, and the lines say
so. ``next_steps`` is pure (the report and the facts of the run in, lines out);
``training_facts`` reads the run folder.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from brewslm.base_models.catalog import CATALOG
from brewslm.errors import BrewError
from brewslm.tuning.recommend import SIZE_MARGIN

RISING_SHARE = 0.25  # the last evaluation gained at least a quarter of the curve's whole rise: still learning
MORE_EPOCHS = 2  # the extra epochs suggested for a curve still rising
LARGER_MODELS = 3  # catalog models listed above the run's size


@dataclass(frozen=True)
class TrainingFacts:
    """What the advice needs of a finished run (``training_facts`` reads it from the run folder)."""

    parameters: int  # the model's total parameters
    method: str  # lora | full | ...
    epochs: float
    train_seconds: float
    metric: str | None  # the validation metric training watched
    mode: str  # max | min
    curve: tuple[tuple[float, float], ...]  # (epoch, value) of each validation evaluation
    learning_rate: float | None = None


def training_facts(run_dir: str | Path) -> TrainingFacts | None:
    """The facts of the run in ``run_dir`` (``run.json`` and the eval lines of ``metrics.jsonl``);
    None when the run did not finish or left no record."""
    import yaml

    from brewslm.storage.run_records import read_run
    from brewslm.training.report import MetricsLog
    from brewslm.training.run import METRICS_FILE, read_run_config

    folder = Path(run_dir)
    try:
        record = read_run(folder)
    except (BrewError, ValueError):
        return None
    metrics = record.get("metrics") or {}
    if record.get("status") != "finished" or not metrics:
        return None
    best = metrics.get("best") or {}
    metric, mode = best.get("metric") or "eval_loss", best.get("mode") or "min"
    steps_per_epoch = ((record.get("schedule") or {}).get("steps_per_epoch")) or 0
    try:
        entries = MetricsLog(folder / METRICS_FILE).read()
    except ValueError:  # a line cut short by a crash: no curve rather than a wrong one
        entries = []
    curve = []
    for entry in entries:
        value = entry.get(metric)
        if entry.get("kind") == "eval" and isinstance(value, (int, float)) and math.isfinite(value):
            step = entry.get("step") or 0
            curve.append((round(step / steps_per_epoch, 2) if steps_per_epoch else float(step), float(value)))
    try:
        config = read_run_config(folder)
    except yaml.YAMLError:
        config = {}
    return TrainingFacts(
        parameters=int(((record.get("parameters") or {}).get("total")) or 0),
        method=str(record.get("method") or config.get("method") or "lora"),
        epochs=float(metrics.get("epochs") or 0),
        train_seconds=float(metrics.get("train_seconds") or 0),
        metric=metric,
        mode=mode,
        curve=tuple(curve),
        learning_rate=config.get("learning_rate"),
    )


def curve_trend(curve: Sequence[tuple[float, float]], mode: str) -> str:
    """``rising`` (the last evaluation is the best and gained at least RISING_SHARE of the whole
    improvement), ``peaked`` (the best came earlier), ``flat`` (no improvement at all, or a last
    gain too small to count) or ``unknown`` (fewer than two evaluations)."""
    if len(curve) < 2:
        return "unknown"
    values = [v if mode == "max" else -v for _, v in curve]
    best = max(values)
    if values[-1] < best:
        return "peaked"
    total = best - values[0]
    if total <= 0:
        return "flat"
    return "rising" if values[-1] - values[-2] >= RISING_SHARE * total else "flat"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f}" if seconds >= 600 else f"{seconds / 60:.1f}"


def next_steps(report: Mapping[str, Any], facts: TrainingFacts | None) -> list[str]:
    """The lines a report adds under its baseline warning: the gap, what the validation curve
    says, and the next steps with their cost on this machine (more epochs when the curve was
    still rising; the next larger catalog models otherwise, and always as the stronger option);
    [] when the fine-tune clearly beats the baseline or there is none."""
    from brewslm.evaluation.report import baseline_verdict

    if baseline_verdict(report) is None:  # clearly beaten, or nothing to compare with
        return []
    headline = report.get("headline")
    entry = (report.get("lift_vs_baseline") or {}).get(headline) or {}
    lift = entry["lift"]
    baseline_name = ((report.get("models") or {}).get("baseline") or {}).get("name") or "the baseline"
    tuned, baseline = entry.get("tuned"), entry.get("base")  # lift_vs_baseline's "base" is the baseline
    numbers = (
        f" ({tuned:.3f} now, {baseline:.3f} for the baseline)"
        if isinstance(tuned, (int, float)) and isinstance(baseline, (int, float))
        else ""
    )
    gap = (
        f"trails {baseline_name} by {-lift:.3f} {headline}"
        if lift < 0
        else f"leads {baseline_name} by only {lift:.3f} {headline}, within the interval's noise"
    )
    lines = [
        f"The fine-tune {gap}{numbers}; to ship it, the lift's interval must clear 0. The steps below are "
        "estimates from this run, not measured results."
    ]
    if facts is None or facts.train_seconds <= 0 or facts.epochs <= 0:
        lines.append(
            "No finished training run to read: train with early_stopping.metric set to the headline "
            "metric, then compare again."
        )
        return lines
    per_epoch = facts.train_seconds / facts.epochs
    trend = curve_trend(facts.curve, facts.mode)
    points = ", ".join(f"epoch {e:g}: {v:.3f}" for e, v in facts.curve)
    watched = facts.metric or "the validation metric"
    if trend == "rising":
        lines.append(
            f"Validation {watched} was still rising at the last evaluation ({points}): the model stopped "
            f"while learning. Cheapest next step: epochs={facts.epochs + MORE_EPOCHS:g} "
            f"(about {_minutes(per_epoch * MORE_EPOCHS)} more minutes of training at this run's "
            f"{_minutes(per_epoch)} minutes per epoch)."
        )
    elif trend in ("peaked", "flat"):
        lr = f" at learning rate {facts.learning_rate:g}" if facts.learning_rate else ""
        lines.append(
            f"Validation {watched} {'peaked before the end' if trend == 'peaked' else 'stopped improving'} "
            f"({points}): more epochs of this model{lr} will not close the gap; search.enabled=true "
            "tries other learning rates, a larger model adds capacity."
        )
    else:
        lines.append(
            "Training kept no validation curve of the headline metric: set "
            f"early_stopping.metric={headline} to see whether more epochs would help."
        )
    larger = [
        m for m in sorted(CATALOG, key=lambda m: (m.parameters, m.id)) if m.parameters > facts.parameters * SIZE_MARGIN
    ]
    if facts.parameters > 0 and larger:
        options = "; ".join(
            f"{m.id} ({m.parameters / 1e6:.0f}M, about {_minutes(per_epoch * m.parameters / facts.parameters * facts.epochs)}"
            f" minutes for {facts.epochs:g} epochs here)"
            for m in larger[:LARGER_MODELS]
        )
        lines.append(
            f"Larger models, same recipe (base_model=<id or folder>; time scaled from this run's "
            f"{facts.parameters / 1e6:.0f}M parameters by parameter count): {options}."
        )
    return lines


def add_next_steps(report_path: str | Path, run_dir: str | Path | None) -> list[str]:
    """When the cheap baseline is not clearly beaten, write the next steps (read from the training
    run in ``run_dir``) into the report next to ``report_path``: its json, md and html. Returns them."""
    from brewslm.evaluation.report import write_reports

    path = Path(report_path)
    report = json.loads(path.read_text(encoding="utf-8"))
    lines = next_steps(report, training_facts(run_dir) if run_dir else None)
    if lines:
        write_reports({**report, "next_steps": lines}, path.parent)
    return lines


__all__ = ["TrainingFacts", "add_next_steps", "curve_trend", "next_steps", "training_facts"]
