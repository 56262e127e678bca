"""The model side of training: load the base, attach LoRA (or unfreeze everything), pick the
precision, and compute the completion-only loss.

Two speed levers live in ``target_hidden`` / ``completion_loss``, both exact:

- the output head runs only where the next token is trained: the body's hidden states are
  gathered at those positions first, so for a classification example of ~60 tokens with 2-3
  trained tokens the 49k-wide LM head (about a fifth of SmolLM2's FLOPs per token) runs on ~4% of
  the positions, and no (batch x length x vocab) logits tensor is ever built;
- the prompt prefix every row of a micro-batch shares (instructions, label list, tool schemas,
  the template's system prompt) runs once, and the rows attend to its cached keys/values
  (``Batch.prefix_len``): templated prompts spend most of their tokens there.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

from brewslm.base_models import default_base_model, load_causal_lm, quiet_loading, quiet_peft, resolve_device
from brewslm.errors import ConfigError
from brewslm.inference.forward import target_logits
from brewslm.training.config import TrainConfig

# --- precision ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Precision:
    """Weights are kept in ``param_dtype``; the forward pass runs under autocast to ``autocast_dtype``
    when set; ``grad_scaler`` is needed for float16 autocast."""

    device: Any
    param_dtype: Any
    autocast_dtype: Any = None
    grad_scaler: bool = False

    def autocast(self) -> contextlib.AbstractContextManager:
        import torch

        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def describe(self) -> str:
        name = str(self.param_dtype).removeprefix("torch.")
        if self.autocast_dtype is None:
            return name
        return f"{name} weights, {str(self.autocast_dtype).removeprefix('torch.')} autocast"


def resolve_precision(config: TrainConfig) -> Precision:
    """auto: float32 on CPU (exact, and what its matmul kernels are best at); bfloat16 autocast on
    a GPU that supports it, else float16 autocast with a gradient scaler. Explicit dtypes are
    honoured where the hardware has them."""
    import torch

    device = resolve_device(config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device '{config.device}' asks for CUDA, but torch sees no GPU; use device=cpu")
    if config.dtype == "float32" or (config.dtype == "auto" and device.type != "cuda"):
        return Precision(device, torch.float32)
    if config.dtype == "float16" and device.type != "cuda":
        raise ConfigError("dtype float16 needs a CUDA device; use dtype=bfloat16 or float32 on CPU")
    if config.dtype == "bfloat16" or (config.dtype == "auto" and torch.cuda.is_bf16_supported()):
        return Precision(device, torch.float32, torch.bfloat16)
    return Precision(device, torch.float32, torch.float16, grad_scaler=True)


# --- loading ------------------------------------------------------------------------------------


def check_base_model(name: str | None) -> None:
    """Fail fast on a base model path that does not exist (before anything heavy is loaded)."""
    from pathlib import Path

    if name is None:
        return
    path = Path(name).expanduser()
    looks_local = name.startswith(("/", ".", "~")) or path.exists() or name.count("/") > 1
    if looks_local and not path.exists():
        raise ConfigError(
            f"base model {path} does not exist; give a local model folder, a .gguf file, or leave base_model unset for the embedded SmolLM2"
        )


def load_base(config: TrainConfig, precision: Precision) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from ``brewslm.base_models.load_causal_lm`` (or 4-bit for QLoRA), in train mode."""

    check_base_model(config.base_model)
    with quiet_loading():
        if config.qlora:
            model, tokenizer = _load_4bit(config, precision)
        else:
            model, tokenizer = load_causal_lm(config.base_model, device=precision.device, dtype=precision.param_dtype)
    if getattr(model.config, "use_cache", None):
        model.config.use_cache = False  # no KV cache while training
    return model, tokenizer


def check_qlora(config: TrainConfig) -> None:
    import importlib.util

    import torch

    if not config.qlora:
        return
    if not torch.cuda.is_available():
        raise ConfigError(
            "qlora needs a CUDA GPU (4-bit bitsandbytes kernels); none is available - use method=lora without qlora on CPU"
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError("qlora needs the bitsandbytes package; install it with: pip install bitsandbytes")


def _load_4bit(config: TrainConfig, precision: Precision) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    check_qlora(config)
    source = config.base_model or default_base_model()
    compute = precision.autocast_dtype or torch.bfloat16
    quantization = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute
    )
    tokenizer = AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(
        source, quantization_config=quantization, device_map={"": precision.device}
    )
    from peft import prepare_model_for_kbit_training

    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
    return model, tokenizer


# --- adapters -----------------------------------------------------------------------------------


def linear_layer_names(model: Any) -> list[str]:
    """The distinct leaf names of the model's linear layers (``q_proj``, ``down_proj``...), without
    the output head: what LoRA ``target_modules`` may name."""
    return sorted({name.rsplit(".", 1)[-1] for name in _linear_module_paths(model)})


def _linear_module_paths(model: Any) -> list[str]:
    import torch

    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return [
        name
        for name, module in model.named_modules()
        if module is not head
        and (isinstance(module, torch.nn.Linear) or type(module).__name__ in ("Linear4bit", "Linear8bitLt"))
    ]


def check_lora_targets(model: Any, targets: str | list[str]) -> None:
    """A target names a linear layer by its leaf name or a dotted tail of its path (peft's rule):
    ``v_proj`` is not Phi-3's fused ``qkv_proj``."""
    if targets == "all-linear":
        return
    targets = [targets] if isinstance(targets, str) else list(targets)
    paths = _linear_module_paths(model)
    missing = [t for t in targets if not any(path == t or path.endswith("." + t) for path in paths)]
    if missing:
        raise ConfigError(
            f"LoRA target module{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} "
            f"do{'' if len(missing) > 1 else 'es'} not exist in this model; its linear layers are: {', '.join(linear_layer_names(model))}"
        )


def enable_gradient_checkpointing(model: Any) -> None:
    """Non-reentrant activation checkpointing (works with frozen inputs, so LoRA needs no
    ``enable_input_require_grads``); the transformers 5 name first, the older one otherwise."""
    enable = getattr(model, "activation_checkpointing_enable", None)
    if callable(enable):
        enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def apply_method(model: Any, config: TrainConfig) -> Any:
    """LoRA adapters (methods lora, dpo, orpo) via peft, or every weight trainable (method full).
    Call with the torch seed set: LoRA's initial A matrices are random."""
    if config.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    if not config.uses_lora:
        for param in model.parameters():
            param.requires_grad_(True)
        model.train()
        return model
    from peft import LoraConfig, get_peft_model

    check_lora_targets(model, config.lora.target_modules)
    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules,
        task_type="CAUSAL_LM",
        bias="none",
    )
    with quiet_peft():
        peft_model = get_peft_model(model, lora)
    peft_model.train()
    return peft_model


def parameter_counts(model: Any) -> tuple[int, int]:
    """(all parameters, trainable parameters), tied weights counted once."""
    total = trainable = 0
    for param in model.parameters():
        total += param.numel()
        trainable += param.numel() if param.requires_grad else 0
    return total, trainable


def trainable_parameters(model: Any) -> Iterator[tuple[str, Any]]:
    for name, param in model.named_parameters():
        if param.requires_grad:
            yield name, param


def completion_loss(model: Any, batch: Any) -> Any:
    """Summed cross-entropy over the batch's trained tokens (divide by the step's trained-token
    count: with gradient accumulation, across all its micro-batches)."""
    import torch.nn.functional as F

    return F.cross_entropy(target_logits(model, batch), batch.target_ids, reduction="sum")


__all__ = [
    "Precision",
    "apply_method",
    "check_base_model",
    "check_lora_targets",
    "check_qlora",
    "completion_loss",
    "linear_layer_names",
    "load_base",
    "parameter_counts",
    "resolve_precision",
    "trainable_parameters",
]
