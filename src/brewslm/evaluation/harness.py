"""Smoke checks on public benchmarks through lm-evaluation-harness (``lm_eval``), offline only.

    result = run_harness("reviews-lora-20250101-120000", ["hellaswag", "arc_easy"], limit=50)
    result.status  # "ran" or "skipped"; result.reason says why a check was skipped

A fine-tune should not lose the general ability of its base: a few public benchmarks on a
sample of their rows show it. This module never downloads anything: it runs only when ``lm_eval``
is importable, and it runs with the Hugging Face hub and datasets clients offline, so a task
whose data is not in the local cache is skipped with its reason instead of fetched. A training run
is passed to lm-eval as its base model plus the LoRA adapter (``pretrained=...,peft=...``), or
as its full weights.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from brewslm.base_models import default_base_model
from brewslm.errors import ConfigError

OFFLINE_ENV = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


@dataclass
class HarnessResult:
    """``status``: "ran" (``results`` per task: metric -> value) or "skipped" (``reason``)."""

    status: str
    tasks: list[str]
    model: str
    reason: str | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "tasks": self.tasks,
            "model": self.model,
            "reason": self.reason,
            "results": self.results,
        }


def lm_eval_available() -> bool:
    return importlib.util.find_spec("lm_eval") is not None


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """The hub and datasets clients in offline mode for the block: local caches only, no download."""
    saved = {name: os.environ.get(name) for name in OFFLINE_ENV}
    os.environ.update({name: "1" for name in OFFLINE_ENV})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def model_args(model: str) -> str:
    """lm-eval's ``hf`` model arguments for a run (base + adapter, or full weights) or a model folder / hub id."""
    from brewslm.storage.run_records import read_run
    from brewslm.training.merge import base_model_source
    from brewslm.training.run import MODEL_DIR, find_run

    run_dir = find_run(model)
    if run_dir is None:
        path = Path(model).expanduser()
        if path.suffix.lower() == ".gguf":
            raise ConfigError(
                f"lm-eval loads Hugging Face folders, not .gguf files; export {path} to a model folder first"
            )
        return f"pretrained={path if path.exists() else model}"
    record = read_run(run_dir)
    weights = run_dir / record.get("model_dir", MODEL_DIR)
    if record.get("model_kind") == "full":
        return f"pretrained={weights}"
    return f"pretrained={base_model_source(record) or default_base_model()},peft={weights}"


def run_harness(
    model: str,
    tasks: Sequence[str],
    *,
    limit: int | None = None,
    num_fewshot: int | None = None,
    batch_size: int = 8,
    device: str | None = None,
) -> HarnessResult:
    """Run lm-eval ``tasks`` on ``model`` when lm-eval and the tasks' data are available locally;
    otherwise a "skipped" result that says what is missing."""
    tasks = [t for task in tasks for t in task.split(",") if t.strip()]
    if not tasks:
        raise ConfigError("no benchmark tasks given; name lm-eval tasks, e.g. --tasks hellaswag arc_easy")
    if not lm_eval_available():
        return HarnessResult(
            "skipped", tasks, model, "lm-eval is not installed (pip install lm-eval); no smoke checks run"
        )
    arguments = model_args(model)
    with offline():
        from lm_eval import simple_evaluate
        from lm_eval.tasks import TaskManager

        known = set(TaskManager().all_tasks)
        unknown = [t for t in tasks if t not in known]
        if unknown:
            raise ConfigError(f"unknown lm-eval task(s): {', '.join(unknown)}; 'lm-eval --tasks list' shows them")
        try:
            output = simple_evaluate(
                model="hf",
                model_args=arguments,
                tasks=tasks,
                num_fewshot=num_fewshot,
                batch_size=batch_size,
                device=device,
                limit=limit,
            )
        except Exception as exc:  # lm-eval raises many types when a task's data is not cached offline
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return HarnessResult(
                "skipped",
                tasks,
                model,
                "lm-eval could not run these tasks offline (is their data "
                f"in the local Hugging Face cache?): {type(exc).__name__}: {first}",
            )
    results = {
        task: {metric: value for metric, value in values.items() if isinstance(value, (int, float))}
        for task, values in (output or {}).get("results", {}).items()
    }
    return HarnessResult("ran", tasks, model, None, results)


__all__ = ["HarnessResult", "lm_eval_available", "model_args", "offline", "run_harness"]
