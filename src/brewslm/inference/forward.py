"""The forward pass pieces every model runner shares: training's loss, label scoring, sequence
scores, generation's prefill.

- ``causal_lm`` / ``body_and_head``: the transformers ``*ForCausalLM`` under a peft wrapper, and
  its decoder body and output head (run separately so the head - a vocabulary-wide matmul - runs
  only where a logit is needed);
- ``scale_logits``: the output-logit transforms some models apply after the head;
- ``target_hidden`` / ``target_logits`` / ``target_logprobs``: a collated batch's hidden states,
  float32 logits and log-probs at its trained positions (a shared prompt prefix run once);
- ``block_mask_for`` / ``sliding_window_masks``: a boolean block mask in the form the model's
  attention implementation reads, cut to sliding windows;
- ``unbounded_cache``, ``last_hidden``: a KV cache that keeps every position; a body's output.
"""

from __future__ import annotations

from typing import Any

from brewslm.base_models.kv_cache import cache_argument, output_cache
from brewslm.errors import ConfigError


def causal_lm(model: Any) -> Any:
    """The transformers ``*ForCausalLM`` under a peft wrapper (or the model itself)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


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


def target_logprobs(model: Any, batch: Any) -> Any:
    """Log-probability of every trained target token (targets,), for preference objectives that
    sum them per sequence (``batch.target_index // T`` gives each target's row)."""
    import torch

    logits = target_logits(model, batch)
    return torch.log_softmax(logits, dim=-1).gather(1, batch.target_ids[:, None]).squeeze(1)


__all__ = [
    "block_mask_for",
    "body_and_head",
    "causal_lm",
    "last_hidden",
    "scale_logits",
    "sliding_window_masks",
    "target_hidden",
    "target_logits",
    "target_logprobs",
    "unbounded_cache",
]
