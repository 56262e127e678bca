"""The run folder and its record.

``<BREWSLM_HOME>/runs/<run_name>/`` (or ``output_dir``) holds::

    config.yaml        the resolved TrainConfig
    run.json           what was trained on what, the render context, data report, final metrics, status
    metrics.jsonl      one line per optimizer step ("kind": "train") and per evaluation ("kind": "eval")
    loss_curve.png     train (raw + EMA) and validation loss
    model/             LoRA adapter (peft) or full weights, plus the tokenizer with its chat template
    best.safetensors   best-so-far trainable weights while early stopping watches validation loss
    checkpoints/       step-NNNNNN/ folders (see checkpoint.py)

run.json itself - reading and writing it, its ``running`` owner stamp and settling a run whose
process is gone - lives in ``storage/run_records.py`` (re-exported here), so the workspace's
once-per-process crash settling can reach it from below.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from brewslm.errors import ConfigError
from brewslm.storage.datasets import MANIFEST, DatasetVersion, open_dataset
from brewslm.storage.events import record_event
from brewslm.storage.run_records import (
    CONFIG_FILE,
    INTERRUPTED,
    RUN_FAILED,
    RUN_FINISHED,
    RUN_RECORD,
    RUN_STARTED,
    RUNNING,
    STAGE,
    now,
    read_run,
    runs_dir,
    settle_runs,
    write_run,
)
from brewslm.tasks.rendering import RenderContext
from brewslm.training.config import TrainConfig

METRICS_FILE = "metrics.jsonl"
LOSS_CURVE = "loss_curve.png"
MODEL_DIR = "model"
BEST_WEIGHTS = "best.safetensors"


class RunRecorder:
    """A run's record (``run.json``) and its audit events (started, finished, failed). Every process
    calls it the same way; only the main one (``write``) touches the files and the audit log."""

    def __init__(self, run_dir: Path, dataset_name: str, record: dict[str, Any], event: dict[str, Any], *, write: bool):
        self.run_dir, self.dataset_name, self.record, self.event, self.write = (
            run_dir,
            dataset_name,
            record,
            event,
            write,
        )

    def started(self) -> None:
        if self.write:
            write_run(self.run_dir, self.record)
            record_event(STAGE, RUN_STARTED, self.event, dataset=self.dataset_name)

    def finished(self, metrics: Mapping[str, Any], data: Mapping[str, Any]) -> int | None:
        """Status ``finished`` with the final metrics; the audit event's id."""
        if not self.write:
            return None
        self.record.update(status="finished", finished_at=now(), metrics=dict(metrics), data=dict(data))
        write_run(self.run_dir, self.record)
        return record_event(STAGE, RUN_FINISHED, {**self.event, "metrics": dict(metrics)}, dataset=self.dataset_name)

    def failed(self, message: str, step: int, *, interrupted: bool) -> None:
        if self.write:
            self.record.update(
                status="interrupted" if interrupted else "failed", finished_at=now(), error=message, step=step
            )
            write_run(self.run_dir, self.record)
            record_event(STAGE, RUN_FAILED, {**self.event, "error": message, "step": step}, dataset=self.dataset_name)


def open_training_dataset(config: TrainConfig) -> DatasetVersion:
    """The dataset ``config.dataset`` names (see ``open_dataset_ref``)."""
    return open_dataset_ref(config.dataset, config.dataset_version)


def open_dataset_ref(name: str, version: int | None = None) -> DatasetVersion:
    """A workspace dataset by name (``version``: None = the current one), or a dataset version
    folder (one holding ``manifest.json``) or dataset folder given by path."""
    path = Path(name).expanduser()
    if (path / MANIFEST).is_file():
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        return DatasetVersion(str(manifest.get("name") or path.parent.name), int(manifest.get("version") or 0), path)
    if path.is_dir() and (path / "CURRENT").is_file():
        version = (path / "CURRENT").read_text(encoding="utf-8").strip()
        if (path / version / MANIFEST).is_file():
            return DatasetVersion(path.name, int(version.lstrip("v")), path / version)
    if "/" in name or name.startswith("."):
        raise ConfigError(
            f"dataset path {path} is not a dataset folder (no manifest.json); import data with 'brewslm data import'"
        )
    return open_dataset(name, version)


def default_run_name(config: TrainConfig, dataset: DatasetVersion) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset.name).strip("-") or "run"
    return f"{slug}-{config.method}-{stamp}"


def resolve_run_dir(config: TrainConfig, dataset: DatasetVersion) -> Path:
    if config.output_dir:
        return Path(config.output_dir).expanduser()
    if config.run_name:
        return runs_dir() / config.run_name
    base = runs_dir() / default_run_name(config, dataset)
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def find_run(name: str) -> Path | None:
    """A run folder (one holding ``run.json``), or the name of a run under ``<BREWSLM_HOME>/runs``;
    None when ``name`` is neither."""
    path = Path(name).expanduser()
    if (path / RUN_RECORD).is_file():
        return path
    if "/" not in name and "\\" not in name and (runs_dir() / name / RUN_RECORD).is_file():
        return runs_dir() / name
    return None


def finished_model_dir(run_dir: Path, record: Mapping[str, Any]) -> Path:
    """The trained model folder of the run ``record`` describes; a one-line error when the run
    did not finish (or its model folder is gone)."""
    model_dir = Path(run_dir) / record.get("model_dir", MODEL_DIR)
    if record.get("status") != "finished" or not model_dir.is_dir():
        raise ConfigError(
            f"run {run_dir} has no finished model (status: {record.get('status')}); "
            "train it to the end first (resume=<run folder> continues it)"
        )
    return model_dir


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    """The run's resolved training config (``config.yaml``) as a mapping; {} when it has none."""
    import yaml

    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def render_context_of(run_dir: str | Path) -> RenderContext:
    """The render context a run was trained with, so evaluation and serving prompt identically."""
    return RenderContext.from_dict(read_run(run_dir).get("render_context"))


__all__ = [
    "BEST_WEIGHTS",
    "CONFIG_FILE",
    "INTERRUPTED",
    "LOSS_CURVE",
    "METRICS_FILE",
    "MODEL_DIR",
    "RUN_FAILED",
    "RUN_FINISHED",
    "RUN_RECORD",
    "RUN_STARTED",
    "RUNNING",
    "RunRecorder",
    "STAGE",
    "default_run_name",
    "find_run",
    "now",
    "open_dataset_ref",
    "open_training_dataset",
    "read_run",
    "read_run_config",
    "render_context_of",
    "resolve_run_dir",
    "runs_dir",
    "settle_runs",
    "write_run",
]
