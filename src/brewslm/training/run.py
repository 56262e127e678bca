"""The run folder and its record.

``<BREWSLM_HOME>/runs/<run_name>/`` (or ``output_dir``) holds::

    config.yaml        the resolved TrainConfig
    run.json           what was trained on what, the render context, data report, final metrics, status
    metrics.jsonl      one line per optimizer step ("kind": "train") and per evaluation ("kind": "eval")
    loss_curve.png     train (raw + EMA) and validation loss
    model/             LoRA adapter (peft) or full weights, plus the tokenizer with its chat template
    best.safetensors   best-so-far trainable weights while early stopping watches validation loss
    checkpoints/       step-NNNNNN/ folders (see checkpoint.py)

A record written with status ``running`` carries its process's owner stamp
(``storage.processes.process_stamp``). ``read_run`` - the one reader of run.json - settles a
``running`` record whose process is provably gone (killed with SIGKILL, crashed, machine
restarted): it becomes ``interrupted`` with a ``training_run_failed`` event (reason
``interrupted``), the way the UI settles a job whose worker died.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from brewslm import workspace
from brewslm.errors import ConfigError
from brewslm.storage.datasets import MANIFEST, DatasetVersion, open_dataset
from brewslm.storage.processes import process_stamp, stamp_alive
from brewslm.tasks.rendering import RenderContext
from brewslm.training.config import TrainConfig

RUN_RECORD = "run.json"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.jsonl"
LOSS_CURVE = "loss_curve.png"
MODEL_DIR = "model"
BEST_WEIGHTS = "best.safetensors"

STAGE = "training"
RUN_STARTED = "training_run_started"
RUN_FINISHED = "training_run_finished"
RUN_FAILED = "training_run_failed"
RUNNING, INTERRUPTED = "running", "interrupted"


def runs_dir() -> Path:
    path = workspace.home_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
        raise ConfigError(f"dataset path {path} is not a dataset folder (no manifest.json); import data with 'brewslm data import'")
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


def read_run(run_dir: str | Path) -> dict[str, Any]:
    """The run's record; a ``running`` one whose process is gone is settled first (module docstring)."""
    path = Path(run_dir).expanduser() / RUN_RECORD
    if not path.is_file():
        raise ConfigError(f"{Path(run_dir)} is not a training run folder (no {RUN_RECORD})")
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("status") == RUNNING and not stamp_alive(record.get("owner")):
        record = _settle_orphan(path.parent, record)
    return record


def _settle_orphan(run_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    from brewslm.storage.events import record_event

    owner = record.get("owner") or {}
    # one settler per dead owner: readers racing here must not log the interruption twice
    claim = run_dir / f".settled-{owner.get('pid')}-{owner.get('start')}"
    try:
        os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return {**record, "status": INTERRUPTED}
    error = (f"interrupted: its process {owner.get('pid')} ended without recording an outcome "
             "(killed, crashed or the machine restarted)")
    record = {**record, "status": INTERRUPTED, "finished_at": now(), "error": error}
    write_run(run_dir, record)
    record_event(STAGE, RUN_FAILED, {"run_dir": str(run_dir), "method": record.get("method"),
                                     "base_model": record.get("base_model"), "error": error,
                                     "reason": INTERRUPTED, "recovered": True},
                 dataset=(record.get("dataset") or {}).get("name"))
    return record


def settle_runs() -> list[Path]:
    """Settle every ``running`` run under ``runs_dir()`` whose process is gone; returns their folders."""
    settled = []
    for folder in sorted(runs_dir().iterdir()):
        path = folder / RUN_RECORD
        try:
            if path.is_file() and json.loads(path.read_text(encoding="utf-8")).get("status") == RUNNING:
                if read_run(folder).get("status") == INTERRUPTED:
                    settled.append(folder)
        except (OSError, ValueError):  # a half-written or foreign file: not ours to settle
            continue
    return settled


def finished_model_dir(run_dir: Path, record: Mapping[str, Any]) -> Path:
    """The trained model folder of the run ``record`` describes; a one-line error when the run
    did not finish (or its model folder is gone)."""
    model_dir = Path(run_dir) / record.get("model_dir", MODEL_DIR)
    if record.get("status") != "finished" or not model_dir.is_dir():
        raise ConfigError(f"run {run_dir} has no finished model (status: {record.get('status')}); "
                          "train it to the end first (resume=<run folder> continues it)")
    return model_dir


def write_run(run_dir: Path, record: Mapping[str, Any]) -> None:
    """Write run.json atomically; a ``running`` record gets this process's owner stamp."""
    if record.get("status") == RUNNING and "owner" not in record:
        record = {**record, "owner": process_stamp()}
    path = Path(run_dir) / RUN_RECORD
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(dict(record), indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def render_context_of(run_dir: str | Path) -> RenderContext:
    """The render context a run was trained with, so evaluation and serving prompt identically."""
    return RenderContext.from_dict(read_run(run_dir).get("render_context"))


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


__all__ = [
    "BEST_WEIGHTS",
    "CONFIG_FILE",
    "LOSS_CURVE",
    "METRICS_FILE",
    "MODEL_DIR",
    "RUN_FAILED",
    "RUN_FINISHED",
    "RUN_RECORD",
    "RUN_STARTED",
    "STAGE",
    "default_run_name",
    "find_run",
    "now",
    "open_dataset_ref",
    "open_training_dataset",
    "read_run",
    "render_context_of",
    "resolve_run_dir",
    "runs_dir",
    "settle_runs",
    "write_run",
]
