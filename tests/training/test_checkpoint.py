"""Checkpoint files: atomic folders, retention, resume targets, weights that must fit the model."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from brewslm.errors import ConfigError
from brewslm.training.checkpoint import (
    LoopState,
    check_resume_compatible,
    list_checkpoints,
    load_checkpoint,
    load_trainable,
    resolve_resume,
    save_checkpoint,
    save_trainable,
)


def tiny_module(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    module[0].weight.requires_grad_(False)  # frozen weights are not part of a checkpoint
    return module


def test_round_trip_restores_weights_optimizer_rng_and_state(tmp_path: Path) -> None:
    module = tiny_module()
    optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=0.1)
    module(torch.ones(1, 4)).sum().backward()
    optimizer.step()
    state = LoopState(step=3, epoch=1, batch_in_epoch=2, tokens=99, best_eval_loss=0.5, best_step=2)
    path = save_checkpoint(tmp_path, module, optimizer, state, {"seed": 0})
    assert path.name == "step-000003"
    expected = (random.random(), np.random.rand(), torch.rand(1))

    other = tiny_module(seed=1)
    other[0].weight.data.copy_(module[0].weight.data)
    other_optimizer = torch.optim.AdamW([p for p in other.parameters() if p.requires_grad], lr=0.1)
    restored = load_checkpoint(path, other, other_optimizer)
    assert restored == state
    for a, b in zip(module.parameters(), other.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert other_optimizer.state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]
    assert (random.random(), np.random.rand(), torch.rand(1)) == expected


def test_only_the_newest_checkpoints_are_kept(tmp_path: Path) -> None:
    module = tiny_module()
    optimizer = torch.optim.SGD([p for p in module.parameters() if p.requires_grad], lr=0.1)
    for step in (2, 4, 6, 8):
        save_checkpoint(tmp_path, module, optimizer, LoopState(step=step), {}, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-000006", "step-000008"]
    (tmp_path / "checkpoints" / ".tmp-step-000010-1").mkdir()  # a save that crashed half-way
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-000006", "step-000008"]


def test_resume_targets(tmp_path: Path) -> None:
    module = tiny_module()
    optimizer = torch.optim.SGD([p for p in module.parameters() if p.requires_grad], lr=0.1)
    newest = save_checkpoint(tmp_path / "run", module, optimizer, LoopState(step=5), {})
    assert resolve_resume(str(newest), None) == newest
    assert resolve_resume(str(tmp_path / "run"), None) == newest
    assert resolve_resume("latest", tmp_path / "run") == newest
    with pytest.raises(ConfigError, match="resume=latest needs output_dir"):
        resolve_resume("latest", None)
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_resume(str(tmp_path / "nowhere"), None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="has no checkpoint yet"):
        resolve_resume(str(tmp_path / "empty"), None)


def test_weights_must_fit_the_model(tmp_path: Path) -> None:
    save_trainable(tiny_module(), tmp_path / "w.safetensors")
    wider = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2), torch.nn.Linear(2, 2))
    with pytest.raises(ConfigError, match="do not fit this model"):
        load_trainable(wider, tmp_path / "w.safetensors")


def test_resume_invariants() -> None:
    check_resume_compatible({"seed": 1, "epochs": 3}, {"seed": 1, "epochs": 5})  # more epochs: fine
    with pytest.raises(ConfigError, match="option 'seed' is 2 but the checkpoint was written with 1"):
        check_resume_compatible({"seed": 1}, {"seed": 2})
