"""Where a run's progress goes: stderr lines, ``metrics.jsonl``, the loss-curve PNG and MLflow.

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
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TextIO

from brewslm.errors import ConfigError

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
            line = f"eval at step {event['step']} | val loss {event['eval_loss']:.4f}{mark}"
        elif kind == "start":
            processes = event.get("processes") or 1
            where = f"{processes} processes ({event.get('strategy')}), {event['device']} each" if processes > 1 else event["device"]
            line = (
                f"training {event['method']} on {event['examples']} examples ({event['tokens']} tokens), "
                f"{event['total_steps']} steps, {event['trainable_params']:,} trainable parameters, "
                f"{event['precision']} on {where} -> {event['run_dir']}"
            )
        elif kind == "end":
            stop = " (early stop)" if event.get("stopped_early") else ""
            val = f", val loss {event['eval_loss']:.4f}" if event.get("eval_loss") is not None else ""
            line = (f"done{stop}: {event['steps']} steps, train loss {event['train_loss']:.4f}{val}, "
                    f"{event['tokens_per_s']:.0f} tok/s -> {event['run_dir']}")
        elif kind == "rank":
            line = (f"rank {event['rank']}/{event['world_size']} ({event['strategy']}): trained "
                    f"{event['micro_batches']} micro-batch shares, {event['examples']} examples, {event['tokens']} tokens")
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
        kept = [line for line in self.path.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= step]
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


# --- MLflow ------------------------------------------------------------------------------------

def check_mlflow_available() -> None:
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise ConfigError("mlflow=true but the mlflow package is not installed; pip install mlflow, or set mlflow=false")


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


MLFLOW_DB = "mlflow.db"  # the default store, in BREWSLM_HOME
MLFLOW_ARTIFACTS = "mlflow-artifacts"  # its artifacts, beside it (MLflow's own default is ./mlruns in the cwd)
tracking_log = logging.getLogger("brewslm.tracking")


def mlflow_tracking_uri(configured: str | None = None) -> str:
    """The store runs are logged to: the config's ``mlflow_tracking_uri``, else
    ``MLFLOW_TRACKING_URI``, else a SQLite file in BREWSLM_HOME (MLflow's ``./mlruns`` file store
    is in maintenance mode: current MLflow refuses to open it)."""
    from brewslm.workspace import home_dir

    return configured or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home_dir() / MLFLOW_DB}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}{'...' if len(text) > 300 else ''}"


class MlflowLogger:
    """Parameters, metrics and artifact files of one run in MLflow (``mlflow_tracking_uri``).

    Tracking is a side channel: everything it logs is also in the run folder or the report. So a
    tracker failure - the store cannot be opened, a server goes away mid-run - never stops the
    training or evaluation (hours of work, or an eval's gate verdict in CI): it becomes one
    warning line on the ``brewslm.tracking`` logger, naming the store and the cause, and the
    rest of the run goes on untracked. (A missing mlflow package is a ``ConfigError`` up front,
    see ``check_mlflow_available``: nothing can be logged and the fix is plain.)
    """

    def __init__(self, experiment: str, run_name: str, params: Mapping[str, Any], tracking_uri: str | None = None):
        self.uri = mlflow_tracking_uri(tracking_uri)
        default_store = self.uri == mlflow_tracking_uri(None) and not os.environ.get("MLFLOW_TRACKING_URI")
        self.active = False
        try:
            import mlflow

            self.mlflow = mlflow
            mlflow.set_tracking_uri(self.uri)  # (which sets MLFLOW_TRACKING_URI: read it before)
            self._open_experiment(experiment, default_store)
            self.run = mlflow.start_run(run_name=run_name)
            self.active = True
            mlflow.log_params({k: ("" if v is None else str(v))[:500] for k, v in flatten(params).items()})
        except Exception as exc:  # noqa: BLE001 - any tracker failure, see the class notes
            self._stop(exc)

    def _open_experiment(self, experiment: str, default_store: bool) -> None:
        """In the default store a new experiment keeps its artifacts in BREWSLM_HOME too."""
        if default_store and self.mlflow.get_experiment_by_name(experiment) is None:
            from mlflow.exceptions import MlflowException

            from brewslm.workspace import home_dir

            try:
                self.mlflow.create_experiment(experiment, artifact_location=(home_dir() / MLFLOW_ARTIFACTS).as_uri())
            except MlflowException:
                if self.mlflow.get_experiment_by_name(experiment) is None:  # not a concurrent create
                    raise
        self.mlflow.set_experiment(experiment)

    def _stop(self, exc: BaseException) -> None:
        was_active, self.active = self.active, False
        if was_active:
            try:
                self.mlflow.end_run(status="FAILED")
            except Exception:  # noqa: BLE001 - already reporting the first failure
                pass
        tracking_log.warning("MLflow tracking stopped (%s at %s); the run goes on without it", _one_line(exc), self.uri)

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        numbers = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if numbers and self.active:
            try:
                self.mlflow.log_metrics(numbers, step=step)
            except Exception as exc:  # noqa: BLE001
                self._stop(exc)

    def log_artifacts(self, paths: Iterable[Path | str]) -> None:
        """Copies of these files (those that exist) in the MLflow run."""
        for path in paths:
            if self.active and Path(path).is_file():
                try:
                    self.mlflow.log_artifact(str(path))
                except Exception as exc:  # noqa: BLE001
                    self._stop(exc)

    def finish(self, status: str) -> None:
        if self.active:
            try:
                self.mlflow.end_run(status="FINISHED" if status == "finished" else "FAILED")
                self.active = False
            except Exception as exc:  # noqa: BLE001
                self._stop(exc)


__all__ = [
    "MLFLOW_DB",
    "MetricsLog",
    "MlflowLogger",
    "Progress",
    "StderrProgress",
    "agg_figure",
    "check_mlflow_available",
    "flatten",
    "format_duration",
    "mlflow_tracking_uri",
    "plot_loss_curve",
]
