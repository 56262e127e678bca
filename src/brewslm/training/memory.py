"""A memory estimate checked before training starts, so an impossible run fails in seconds with the
numbers instead of being killed by the OS (or CUDA) an hour in.

The estimate is deliberately simple and a little pessimistic:

- weights: every parameter at its storage size (already resident when we check, but counted so
  the message shows the whole picture);
- gradients + AdamW: 4 + 8 bytes per trainable parameter (fp32 grads, two fp32 moments);
- activations: per layer and token ``34 x hidden + 5 x heads x seq`` bytes at 16-bit (Korthikanti
  et al., 2022), scaled to the compute element size; the ``5 x heads x seq`` part is each head's
  attention scores, which memory-efficient attention (SDPA / flash, transformers' default) never
  stores: ``attention_scores=False`` leaves it out (at 1,024 tokens and 8 heads it would quadruple
  the measured peak); with gradient checkpointing only each layer's input plus one layer's full set;
- logits: the trained positions x vocab, three float32 copies (logits, softmax, gradient).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from brewslm.errors import ConfigError

GIB = 1024**3
HEADROOM = 0.9  # keep 10% of what is available for the allocator, the tokenizer, the data


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    optimizer: int
    activations: int
    logits: int
    batch_rows: int
    seq_len: int

    @property
    def total(self) -> int:
        return self.weights + self.optimizer + self.activations + self.logits

    def describe(self) -> str:
        return (
            f"weights {self.weights / GIB:.2f} + gradients/optimizer {self.optimizer / GIB:.2f} + activations "
            f"{self.activations / GIB:.2f} + logits {self.logits / GIB:.2f} GiB for micro-batches of "
            f"{self.batch_rows} x {self.seq_len} tokens"
        )


def estimate_memory(
    *,
    total_params: int,
    trainable_params: int,
    param_bytes: int,
    compute_bytes: int,
    layers: int,
    hidden: int,
    heads: int,
    vocab: int,
    batch_rows: int,
    seq_len: int,
    targets: int,
    gradient_checkpointing: bool,
    attention_scores: bool = True,
) -> MemoryEstimate:
    tokens = batch_rows * seq_len
    # Korthikanti et al. count bytes at 2 bytes per value; scale to the compute element size
    scores = 5 * heads * seq_len if attention_scores else 0
    per_layer_full = tokens * (hidden * 34 + scores) * compute_bytes // 2
    if gradient_checkpointing:
        activations = layers * tokens * hidden * compute_bytes + per_layer_full
    else:
        activations = layers * per_layer_full
    return MemoryEstimate(
        weights=total_params * param_bytes,
        optimizer=trainable_params * 12,
        activations=int(activations),
        logits=targets * vocab * 4 * 3,
        batch_rows=batch_rows,
        seq_len=seq_len,
    )


def available_memory(device: Any) -> tuple[int, str]:
    """(bytes available, what was measured) for ``device``: free GPU memory, or the OS's
    MemAvailable (falling back to total RAM where /proc/meminfo does not exist)."""
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        return int(free), f"free memory on {device}"
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "available RAM"
    except OSError:
        pass
    pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return int(pages * size), "RAM"


def check_memory(estimate: MemoryEstimate, available: int, what: str, *, already_resident: int = 0) -> None:
    """Raise a one-line ``ConfigError`` with the numbers when the run would not fit.

    ``already_resident`` is the part of the estimate already allocated (weights loaded before the
    check), which ``available`` no longer includes."""
    need = estimate.total - already_resident
    if need > available * HEADROOM:
        raise ConfigError(
            f"out-of-memory risk: training needs about {estimate.total / GIB:.1f} GiB ({estimate.describe()}) "
            f"but only {available / GIB:.1f} GiB of {what} is left; lower batch_size or max_seq_len, set "
            "gradient_checkpointing=true, use method=lora, or set memory_check=false to try anyway"
        )


def model_shape(model: Any) -> dict[str, int]:
    """Layers, hidden size, attention heads and vocabulary from a transformers config."""
    config = getattr(model, "config", None)
    text = getattr(config, "text_config", None) or config

    def first(*names: str, default: int = 0) -> int:
        for name in names:
            value = getattr(text, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return default

    return {
        "layers": first("num_hidden_layers", "n_layer", "num_layers", default=1),
        "hidden": first("hidden_size", "n_embd", "d_model", default=1),
        "heads": first("num_attention_heads", "n_head", default=1),
        "vocab": first("vocab_size", default=1),
    }


__all__ = ["GIB", "MemoryEstimate", "available_memory", "check_memory", "estimate_memory", "model_shape"]
