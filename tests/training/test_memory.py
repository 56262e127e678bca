"""The out-of-memory pre-check: the estimate and the one-line error with its numbers."""

from __future__ import annotations

import pytest

from brewslm.errors import ConfigError
from brewslm.training.memory import GIB, available_memory, check_memory, estimate_memory


def smol_estimate(batch_rows: int, seq_len: int, checkpointing: bool = False):
    return estimate_memory(
        total_params=134_515_008,
        trainable_params=4_884_480,
        param_bytes=4,
        compute_bytes=4,
        layers=30,
        hidden=576,
        heads=9,
        vocab=49152,
        batch_rows=batch_rows,
        seq_len=seq_len,
        targets=batch_rows * 3,
        gradient_checkpointing=checkpointing,
    )


def test_memory_estimate_scales_with_the_batch() -> None:
    small, big = smol_estimate(8, 64), smol_estimate(8, 4096)
    assert small.total < 2 * GIB < big.total
    assert smol_estimate(8, 4096, checkpointing=True).activations < big.activations / 10
    check_memory(small, 4 * GIB, "available RAM", already_resident=small.weights)
    with pytest.raises(ConfigError) as info:
        check_memory(big, 16 * GIB, "available RAM", already_resident=big.weights)
    message = str(info.value)
    assert message.startswith(f"out-of-memory risk: training needs about {big.total / GIB:.1f} GiB (weights 0.50 + ")
    assert "micro-batches of 8 x 4096 tokens) but only 16.0 GiB of available RAM is left" in message
    assert "gradient_checkpointing=true" in message and "memory_check=false" in message


def test_available_memory_on_cpu() -> None:
    import torch

    free, what = available_memory(torch.device("cpu"))
    assert free > 0 and "RAM" in what
