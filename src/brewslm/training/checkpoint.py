"""Checkpoints that resume exactly: trainable weights, optimizer, loop state, RNG states, data position.

A checkpoint is a folder ``<run>/checkpoints/step-000120/``::

    trainable.safetensors   the parameters being trained (LoRA adapters, or every weight), exact
    optimizer.pt            AdamW state (and the fp16 gradient scaler's, when used)
    rng.pt                  Python, NumPy, torch CPU and CUDA generator states (of a multi-process
                            run: rank 0's, and every process's under "ranks")
    state.json              step, data position (epoch, micro-batch), early-stopping counters,
                            token/time totals, and the config it was written under

It is written into a temporary sibling and renamed into place, so a crash mid-save never leaves a
half checkpoint that ``latest_checkpoint`` would pick. The learning rate is a pure function of the
step (see ``loop.lr_at``), so there is no scheduler object to save, and the batch plan is a pure
function of (seed, epoch), so the data position is two integers.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from brewslm.errors import ConfigError

CHECKPOINTS = "checkpoints"
WEIGHTS = "trainable.safetensors"
OPTIMIZER = "optimizer.pt"
RNG = "rng.pt"
STATE = "state.json"
_STEP_DIR = re.compile(r"^step-(\d+)$")


@dataclass
class LoopState:
    """Everything the loop needs besides weights and optimizer to continue where it stopped."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # data position: the epoch being read...
    batch_in_epoch: int = 0  # ...and the next micro-batch of it
    tokens: int = 0  # input tokens trained on so far
    trained_tokens: int = 0  # target tokens that carried loss
    train_seconds: float = 0.0  # time spent in training steps (evaluation and saving excluded)
    best_eval_loss: float | None = None
    best_step: int | None = None
    evals_without_improvement: int = 0
    last_eval_step: int | None = None
    last_eval_loss: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # objective-specific state (e.g. preference metrics)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LoopState":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def trainable_state(model: Any) -> dict[str, Any]:
    """The trainable parameters by name, detached, contiguous, on CPU (tied weights appear once)."""
    return {name: p.detach().to("cpu").contiguous() for name, p in model.named_parameters() if p.requires_grad}


def save_trainable(model: Any, path: Path) -> None:
    from safetensors.torch import save_file

    save_file(trainable_state(model), str(path))


def load_trainable(model: Any, path: Path) -> None:
    """Copy saved trainable parameters back into ``model`` in place (names must match exactly)."""
    from safetensors.torch import load_file

    apply_trainable(model, load_file(str(path)), path)


def apply_trainable(model: Any, saved: Mapping[str, Any], path: Path) -> None:
    """Copy ``saved`` (name -> tensor, as ``trainable_state`` gives) into ``model``'s parameters;
    ``path`` names where they came from in the error when they do not fit."""
    import torch

    params = dict(model.named_parameters())
    missing = [name for name, p in params.items() if p.requires_grad and name not in saved]
    unknown = [name for name in saved if name not in params]
    if missing or unknown:
        example = (missing or unknown)[0]
        raise ConfigError(
            f"checkpoint weights {path} do not fit this model ({len(missing)} missing, {len(unknown)} unexpected, "
            f"e.g. '{example}'); resume with the same base model and LoRA settings"
        )
    with torch.no_grad():
        for name, tensor in saved.items():
            params[name].copy_(tensor.to(params[name].device, params[name].dtype))


def rng_state() -> dict[str, Any]:
    import numpy as np
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_checkpoint(
    run_dir: Path,
    model: Any,
    optimizer: Any,
    state: LoopState,
    config: Mapping[str, Any],
    *,
    scaler: Any = None,
    keep: int = 2,
) -> Path:
    """Write a checkpoint for ``state.step`` and delete all but the newest ``keep``."""
    return write_checkpoint(
        run_dir,
        state,
        config,
        weights=trainable_state(model),
        optimizer=optimizer.state_dict(),
        scaler=scaler.state_dict() if scaler is not None else None,
        rng=rng_state(),
        keep=keep,
    )


def write_checkpoint(
    run_dir: Path,
    state: LoopState,
    config: Mapping[str, Any],
    *,
    weights: Mapping[str, Any],
    optimizer: Mapping[str, Any],
    scaler: Mapping[str, Any] | None,
    rng: Mapping[str, Any],
    keep: int = 2,
) -> Path:
    """``save_checkpoint`` from states already taken out of the model, optimizer and RNGs (a
    multi-process run gathers them from every process first, see ``distributed``)."""
    import torch
    from safetensors.torch import save_file

    root = Path(run_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{state.step:06d}"
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(dict(weights), str(tmp / WEIGHTS))
    torch.save({"optimizer": dict(optimizer), "scaler": scaler}, tmp / OPTIMIZER)
    torch.save(dict(rng), tmp / RNG)
    (tmp / STATE).write_text(
        json.dumps({"state": state.to_dict(), "config": dict(config)}, indent=2) + "\n", encoding="utf-8"
    )
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _STEP_DIR.match(child.name)
        if match and (child / STATE).is_file():
            found.append((int(match.group(1)), child))
    return [path for _, path in sorted(found)]


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def resolve_resume(resume: str, output_dir: Path | None) -> Path:
    """A checkpoint folder from ``resume``: a checkpoint, a run folder (its newest checkpoint), or
    ``latest`` (the newest checkpoint in ``output_dir``)."""
    if resume == "latest":
        if output_dir is None:
            raise ConfigError("resume=latest needs output_dir (or run_name) to say which run to continue")
        target = output_dir
    else:
        target = Path(resume).expanduser()
    if (target / STATE).is_file():
        return target
    if not target.is_dir():
        raise ConfigError(f"resume: {target} does not exist; give a checkpoint folder or a run folder")
    found = latest_checkpoint(target)
    if found is None:
        raise ConfigError(f"resume: run folder {target} has no checkpoint yet (set save_every to write some)")
    return found


def read_checkpoint_state(path: Path) -> tuple[LoopState, dict[str, Any]]:
    data = json.loads((Path(path) / STATE).read_text(encoding="utf-8"))
    return LoopState.from_dict(data["state"]), dict(data.get("config") or {})


@dataclass
class Checkpoint:
    """A checkpoint folder read back: what ``write_checkpoint`` wrote."""

    path: Path
    weights: dict[str, Any]
    optimizer: dict[str, Any]
    scaler: dict[str, Any] | None
    rng: dict[str, Any]
    state: LoopState


def read_checkpoint(path: Path) -> Checkpoint:
    import torch
    from safetensors.torch import load_file

    path = Path(path)
    saved = torch.load(path / OPTIMIZER, map_location="cpu", weights_only=False)
    state, _ = read_checkpoint_state(path)
    return Checkpoint(
        path,
        load_file(str(path / WEIGHTS)),
        saved["optimizer"],
        saved.get("scaler"),
        torch.load(path / RNG, map_location="cpu", weights_only=False),
        state,
    )


def load_checkpoint(path: Path, model: Any, optimizer: Any, *, scaler: Any = None) -> LoopState:
    """Restore weights, optimizer, gradient scaler and RNG states; returns the loop state."""
    saved = read_checkpoint(path)
    apply_trainable(model, saved.weights, saved.path / WEIGHTS)
    optimizer.load_state_dict(saved.optimizer)
    if scaler is not None and saved.scaler is not None:
        scaler.load_state_dict(saved.scaler)
    set_rng_state(saved.rng)
    return saved.state


RESUME_INVARIANTS = (
    "dataset",
    "dataset_version",
    "base_model",
    "method",
    "lora",
    "qlora",
    "batch_size",
    "grad_accum",
    "max_seq_len",
    "max_train_examples",
    "seed",
    "batching",
    "class_balance",
    "learning_rate",
    "lr_schedule",
    "warmup_ratio",
    "warmup_steps",
    "min_lr_ratio",
    "weight_decay",
    "adam_beta1",
    "adam_beta2",
    "max_grad_norm",
    "dtype",
)
"""Options a resumed run must share with its checkpoint for the continuation to be the same run
(epochs, max_steps, evaluation, saving and early stopping may change)."""


def check_resume_compatible(saved: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    for key in RESUME_INVARIANTS:
        if key in saved and saved.get(key) != current.get(key):
            raise ConfigError(
                f"resume: option '{key}' is {current.get(key)!r} but the checkpoint was written with "
                f"{saved.get(key)!r}; resume with the same value (or start a new run)"
            )


__all__ = [
    "CHECKPOINTS",
    "Checkpoint",
    "LoopState",
    "RESUME_INVARIANTS",
    "check_resume_compatible",
    "latest_checkpoint",
    "apply_trainable",
    "list_checkpoints",
    "load_checkpoint",
    "load_trainable",
    "read_checkpoint",
    "read_checkpoint_state",
    "resolve_resume",
    "rng_state",
    "save_checkpoint",
    "save_trainable",
    "seed_everything",
    "set_rng_state",
    "trainable_state",
    "write_checkpoint",
]
