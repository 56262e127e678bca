"""Training works on every architecture BrewSLM supports (Llama, Qwen2, Qwen3, Gemma 2, Gemma 3,
Phi-3, Mistral - tiny random models from ``helpers.tiny_architectures``): a LoRA run's loss falls on
a repeated batch, a full fine-tune step runs, and the batch shortcuts the loss takes (the shared
prompt prefix run once, packed rows under a block mask) give the loss of plain per-example
forward passes - with sliding-window attention and soft-capped logits too."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import pytest

from brewslm.errors import ConfigError
from helpers.tiny_architectures import ARCHITECTURES, ATTENTIONS, TinyArchitectureDirs, tiny_architecture_dirs  # noqa: F401
from inference.scoring_models import full_forward_masked_logprob

from .conftest import SENTIMENT

REPEATED = [{"text": t, "label": label} for t, label in SENTIMENT[:2] + SENTIMENT[8:10]]
"""Four rows: with batch_size 4 every step trains on the same batch."""


def run_config(name: str, dirs: TinyArchitectureDirs, tmp_path: Path, **fields: Any):
    from brewslm.training import build_config

    data = {
        "dataset": "repeated",
        "base_model": str(dirs[name]),
        "batch_size": 4,
        "max_seq_len": 192,
        "learning_rate": 1e-2,
        "lora": {"r": 8, "alpha": 16},
        "log_every": 1000,
        "output_dir": str(tmp_path / "run"),
        **fields,
    }
    return build_config(data)


def step_losses(run_dir: Path) -> list[float]:
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [entry["loss"] for entry in map(json.loads, lines) if entry.get("kind") == "train"]


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_lora_loss_falls_on_a_repeated_batch(
    name: str, tiny_architecture_dirs: TinyArchitectureDirs, import_rows: Callable[..., Any], tmp_path: Path, quiet
) -> None:
    from brewslm.training import train

    import_rows("repeated", REPEATED)
    result = train(run_config(name, tiny_architecture_dirs, tmp_path, max_steps=20), progress=quiet)
    losses = step_losses(Path(result.run_dir))
    assert len(losses) == 20 and all(math.isfinite(loss) for loss in losses)
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3, losses
    adapter = json.loads((Path(result.model_dir) / "adapter_config.json").read_text(encoding="utf-8"))
    assert adapter["base_model_name_or_path"] == str(tiny_architecture_dirs[name])


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_a_full_fine_tune_step(
    name: str, tiny_architecture_dirs: TinyArchitectureDirs, import_rows: Callable[..., Any], tmp_path: Path, quiet
) -> None:
    from transformers import AutoModelForCausalLM

    from brewslm.training import train

    import_rows("repeated", REPEATED)
    result = train(
        run_config(
            name, tiny_architecture_dirs, tmp_path, method="full", max_steps=1, warmup_steps=0, learning_rate=1e-3
        ),
        progress=quiet,
    )
    assert result.steps == 1 and math.isfinite(result.final_step_loss)
    before = AutoModelForCausalLM.from_pretrained(str(tiny_architecture_dirs[name])).state_dict()
    after = AutoModelForCausalLM.from_pretrained(str(result.model_dir)).state_dict()
    assert before.keys() == after.keys()
    assert any(not after[key].equal(before[key]) for key in before)


def test_lora_targets_name_the_fused_phi3_projections(
    tiny_architecture_dirs: TinyArchitectureDirs, import_rows: Callable[..., Any], tmp_path: Path, quiet
) -> None:
    from brewslm.training import train

    import_rows("repeated", REPEATED)
    with pytest.raises(
        ConfigError,
        match="'q_proj', 'v_proj' do not exist in this model; its linear layers are: "
        "down_proj, gate_up_proj, o_proj, qkv_proj$",
    ):
        train(
            run_config(
                "phi3", tiny_architecture_dirs, tmp_path, lora={"target_modules": ["q_proj", "v_proj"]}, max_steps=1
            ),
            progress=quiet,
        )


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_shared_prefix_and_packed_rows_give_the_plain_loss(
    name: str, attention: str | None, tiny_architecture_dirs: TinyArchitectureDirs
) -> None:
    import torch

    from brewslm.inference.batching import collate
    from brewslm.tasks import get_task_profile
    from brewslm.tasks.rendering import RenderContext
    from brewslm.training.data import load_examples
    from brewslm.training.model import completion_loss

    model, tokenizer = tiny_architecture_dirs.load(name, attention)
    context = RenderContext(labels=("negative", "positive"))
    examples = load_examples(REPEATED, get_task_profile("classification"), context, tokenizer, 256)
    plain = -sum(full_forward_masked_logprob(model, *map(list, examples.example(i))) for i in range(len(examples)))
    pad_id = tokenizer.pad_token_id
    with torch.no_grad():
        for rows, share in (
            ([(0,), (1,), (2,), (3,)], False),
            ([(0,), (1,), (2,), (3,)], True),
            ([(0, 1), (2, 3)], False),
        ):
            batch = collate(examples, rows, pad_id, share_prefix=share)
            assert share == (batch.prefix_len > 0)
            assert float(completion_loss(model, batch)) == pytest.approx(plain, rel=1e-4), (rows, share)
