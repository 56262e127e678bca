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
import warnings
from dataclasses import dataclass
from typing import Any, Iterator

from brewslm.base_models import default_base_model, load_causal_lm, quiet_loading, resolve_device
from brewslm.base_models.kv_cache import cache_argument, output_cache
from brewslm.errors import ConfigError
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


@contextlib.contextmanager
def quiet_peft() -> Iterator[None]:
    """peft probes a property transformers 5 deprecated every time it wraps a model; the warning
    says nothing a BrewSLM user can act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


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


def causal_lm(model: Any) -> Any:
    """The transformers ``*ForCausalLM`` under a peft wrapper (or the model itself)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


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


# --- the loss -----------------------------------------------------------------------------------


def body_and_head(model: Any) -> tuple[Any, Any]:
    lm = causal_lm(model)
    body = lm.get_decoder() if hasattr(lm, "get_decoder") else None
    if body is None:
        body = getattr(lm, getattr(lm, "base_model_prefix", "model"), None)
    head = lm.get_output_embeddings()
    if body is None or head is None:
        raise ConfigError(
            f"{type(lm).__name__} does not expose a decoder body and an output head; completion-only training needs both"
        )
    return body, head


def scale_logits(lm: Any, logits: Any) -> Any:
    """The few output-logit transforms causal LMs apply after their head (Gemma 2 soft-capping,
    Cohere's logit_scale, Granite's logits_scaling), so the loss equals the model's own."""
    import torch

    config = lm.config
    scale = getattr(config, "logit_scale", None)
    if scale:
        logits = logits * scale
    divisor = getattr(config, "logits_scaling", None)
    if divisor:
        logits = logits / divisor
    cap = getattr(config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return logits


def target_hidden(model: Any, batch: Any) -> Any:
    """The last hidden states (targets x hidden) at the batch's target positions.

    With ``batch.prefix_len = P > 0`` the rows' shared first P tokens run once, as one row; their
    keys and values are repeated for every row and the rows' own tokens attend to them from the
    cache. Gradients flow back through the shared prefix, summed over rows, so loss and gradients
    are those of the plain batch (up to float rounding) at a fraction of the cost when prompts
    share a long template (instructions, tool schemas, a system prompt).
    """
    import torch

    body, _ = body_and_head(model)
    ids = batch.input_ids
    rows_n, width = ids.shape
    rows, cols = batch.target_index // width, batch.target_index % width
    shared = batch.prefix_len
    if shared:
        cache = output_cache(body(input_ids=ids[:1, :shared], use_cache=True))
        cache.batch_repeat_interleave(rows_n)
        positions = torch.arange(shared, width, device=ids.device)[None].expand(rows_n, -1)
        out = body(input_ids=ids[:, shared:], **cache_argument(body, cache), position_ids=positions, use_cache=True)
        return last_hidden(out)[rows, cols - shared]
    mask = block_mask_for(body, batch.attention_mask, batch.position_ids)
    out = body(input_ids=ids, attention_mask=mask, position_ids=batch.position_ids, use_cache=False)
    return last_hidden(out)[rows, cols]


def block_mask_for(body: Any, mask: Any, positions: Any = None, key_positions: Any = None) -> Any:
    """A boolean block mask (rows x 1 x Q x K, True = may attend; a packed batch's, label scoring's)
    in the form the model's attention implementation reads: as is for SDPA, additive (0 / most
    negative float) for eager attention - which adds the mask to the scores, so a boolean one would
    add 1.0 instead of blocking - and none for flash attention, which reads packed sequences from
    the restarting position_ids. Given the queries' ``positions`` (rows x Q) and the keys' (rows x
    K, default the same), sliding-window layers get the mask cut to their window
    (``sliding_window_masks``)."""
    import torch

    if mask is None or mask.dim() != 4 or mask.dtype != torch.bool:
        return mask
    implementation = str(getattr(body.config, "_attn_implementation", ""))
    if "flash" in implementation:
        return None
    if positions is not None:
        mask = sliding_window_masks(body.config, mask, positions, positions if key_positions is None else key_positions)
    if implementation == "eager":
        dtype = next(body.parameters()).dtype

        def additive(allowed: Any) -> Any:
            return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(
                ~allowed, torch.finfo(dtype).min
            )

        return {kind: additive(m) for kind, m in mask.items()} if isinstance(mask, dict) else additive(mask)
    return mask


def sliding_window_masks(config: Any, allowed: Any, positions: Any, key_positions: Any) -> Any:
    """``allowed`` (rows x 1 x Q x K) as the model's layers need it. A custom 4-D mask reaches the
    attention as is - transformers builds no sliding window into it - so for a model with a
    ``sliding_window`` a key more than the window behind its query (by position) is masked here:
    for every layer when all of them slide (Mistral, Phi-3), else as the ``{layer type: mask}``
    mapping models with mixed layers read (Gemma 2 / 3, Qwen2 with sliding layers)."""
    window = getattr(config, "sliding_window", None)
    if not window:
        return allowed
    distance = positions[:, None, :, None] - key_positions[:, None, None, :]
    windowed = allowed & (distance < window)
    layer_types = getattr(config, "layer_types", None)
    if not layer_types:
        return windowed
    return {kind: windowed if kind == "sliding_attention" else allowed for kind in set(layer_types)}


def unbounded_cache() -> Any:
    """An empty key/value cache that keeps every position in every layer. A model builds its own
    cache with sliding-window layers that drop all but the last window of keys; a shared prefix
    cached that way no longer lines up with a mask spanning the whole prefix."""
    from transformers import DynamicCache

    return DynamicCache()


def last_hidden(out: Any) -> Any:
    return out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]


def target_logits(model: Any, batch: Any) -> Any:
    """Float32 logits (targets x vocab) at the positions whose next token is trained, only there."""
    _, head = body_and_head(model)
    return scale_logits(causal_lm(model), head(target_hidden(model, batch))).float()


def completion_loss(model: Any, batch: Any) -> Any:
    """Summed cross-entropy over the batch's trained tokens (divide by the step's trained-token
    count: with gradient accumulation, across all its micro-batches)."""
    import torch.nn.functional as F

    return F.cross_entropy(target_logits(model, batch), batch.target_ids, reduction="sum")


def target_logprobs(model: Any, batch: Any) -> Any:
    """Log-probability of every trained target token (targets,), for preference objectives that
    sum them per sequence (``batch.target_index // T`` gives each target's row)."""
    import torch

    logits = target_logits(model, batch)
    return torch.log_softmax(logits, dim=-1).gather(1, batch.target_ids[:, None]).squeeze(1)


__all__ = [
    "Precision",
    "apply_method",
    "block_mask_for",
    "body_and_head",
    "causal_lm",
    "check_base_model",
    "check_lora_targets",
    "check_qlora",
    "completion_loss",
    "target_hidden",
    "linear_layer_names",
    "last_hidden",
    "load_base",
    "parameter_counts",
    "quiet_peft",
    "resolve_precision",
    "scale_logits",
    "sliding_window_masks",
    "target_logits",
    "target_logprobs",
    "trainable_parameters",
    "unbounded_cache",
]
