"""Where a run's progress goes: stderr lines, ``metrics.jsonl`` and the loss-curve PNG (trackers:
``brewslm.training.tracking``).

The loop emits plain dict events to one ``progress`` callable:

- ``{"event": "start", "total_steps", "examples", "run_dir", ...}``
- ``{"event": "step", "step", "total_steps", "epoch", "loss", "lr", "tokens_per_s", "eta_s", ...}``
- ``{"event": "eval", "step", "eval_loss", "best_eval_loss", "improved", ...}``
- ``{"event": "info", "message"}``
- ``{"event": "end", "steps", "train_loss", "eval_loss", "stopped_early", "run_dir", ...}``
- ``{"event": "rank", "rank", "world_size", "micro_batches", "examples", "tokens", ...}`` - one per
  process of a multi-process run, its own share (the other events come from rank 0 only)

``StderrProgress`` prints them for people; the web UI or a notebook can pass its own callable.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, TextIO

Progress = Callable[[dict[str, Any]], None]


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class StderrProgress:
    """One line per logged step / evaluation on stderr (``every`` steps, plus the first and last)."""

    def __init__(self, stream: TextIO | None = None, every: int = 10):
        self.stream = stream or sys.stderr
        self.every = max(1, every)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "step":
            step, total = event["step"], event["total_steps"]
            if step != 1 and step != total and step % self.every:
                return
            line = (
                f"step {step}/{total} | epoch {event['epoch']:.2f} | loss {event['loss']:.4f} | "
                f"lr {event['lr']:.2e} | {event['tokens_per_s']:.0f} tok/s | ETA {format_duration(event.get('eta_s'))}"
            )
        elif kind == "eval":
            mark = " (best)" if event.get("improved") else ""
            line = f"eval at step {event['step']} | val loss {event['eval_loss']:.4f}"
            watched = event.get("best_metric")
            if watched and watched != "eval_loss" and isinstance(event.get(watched), (int, float)):
                # early stopping watches a task metric: show it, since "(best)" refers to it
                line += f" | val {watched} {event[watched]:.4f} (best so far {event['best_value']:.4f})"
            line += mark
        elif kind == "start":
            processes = event.get("processes") or 1
            where = (
                f"{processes} processes ({event.get('strategy')}), {event['device']} each"
                if processes > 1
                else event["device"]
            )
            line = (
                f"training {event['method']} on {event['examples']} examples ({event['tokens']} tokens), "
                f"{event['total_steps']} steps, {event['trainable_params']:,} trainable parameters, "
                f"{event['precision']} on {where} -> {event['run_dir']}"
            )
        elif kind == "end":
            stop = " (early stop)" if event.get("stopped_early") else ""
            val = f", val loss {event['eval_loss']:.4f}" if event.get("eval_loss") is not None else ""
            line = (
                f"done{stop}: {event['steps']} steps, train loss {event['train_loss']:.4f}{val}, "
                f"{event['tokens_per_s']:.0f} tok/s -> {event['run_dir']}"
            )
        elif kind == "rank":
            line = (
                f"rank {event['rank']}/{event['world_size']} ({event['strategy']}): trained "
                f"{event['micro_batches']} micro-batch shares, {event['examples']} examples, {event['tokens']} tokens"
            )
        elif kind == "info":
            line = str(event.get("message", ""))
        else:
            return
        print(line, file=self.stream, flush=True)


class MetricsLog:
    """``metrics.jsonl``: one JSON object per step or evaluation, appended and flushed as it happens."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def truncate_after(self, step: int) -> None:
        """Drop entries past ``step`` (written after the checkpoint a resumed run restarts from)."""
        if not self.path.is_file():
            return
        kept = [
            line
            for line in self.path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step
        ]
        self.path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")

    def write(self, entry: Mapping[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(dict(entry), ensure_ascii=False) + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]


def agg_figure(width: float, height: float, dpi: int = 110) -> Any:
    """A matplotlib ``Figure`` on the Agg backend (no display needed), for ``figure.savefig(path)``.
    Shared by every PNG BrewSLM draws (loss curve, evaluation pictures)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi)


def plot_loss_curve(entries: list[Mapping[str, Any]], path: Path, title: str = "") -> Path | None:
    """Training loss per step (raw and smoothed) and validation loss, as a PNG (matplotlib Agg)."""
    train = [(e["step"], e["loss"]) for e in entries if e.get("kind") == "train"]
    evals = [(e["step"], e["eval_loss"]) for e in entries if e.get("kind") == "eval"]
    if not train and not evals:
        return None
    figure = agg_figure(7, 4)
    axes = figure.add_subplot(1, 1, 1)
    if train:
        steps, losses = zip(*train)
        axes.plot(steps, losses, color="#9ecae1", linewidth=1, label="train loss")
        if len(losses) >= 5:
            smooth, value = [], losses[0]
            for loss in losses:
                value = 0.9 * value + 0.1 * loss
                smooth.append(value)
            axes.plot(steps, smooth, color="#3182bd", linewidth=1.8, label="train loss (EMA)")
    if evals:
        steps, losses = zip(*evals)
        axes.plot(steps, losses, "o-", color="#e6550d", linewidth=1.5, markersize=4, label="validation loss")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("cross-entropy per trained token")
    if title:
        axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(str(path))
    return Path(path)


__all__ = [
    "MetricsLog",
    "Progress",
    "StderrProgress",
    "agg_figure",
    "format_duration",
    "plot_loss_curve",
]
