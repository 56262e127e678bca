"""A saved model folder that transformers 4.4x and 5.x load identically.

transformers 5 writes a config and tokenizer files that 4.x (what many vLLM / TGI stacks still
pin) misreads or refuses:

- RoPE settings live only in ``rope_parameters`` (``{"rope_type": "default", "rope_theta": ...}``,
  or one such mapping per attention type for Gemma 3). 4.x reads ``rope_theta`` /
  ``rope_scaling`` (/ ``rope_local_base_freq``) and, finding none, silently falls back to its
  default base 10000 - the model loads and answers differently (SmolLM2 uses 100000).
- The dtype is ``dtype``; 4.x before 4.56 read ``torch_dtype``.
- ``tokenizer_config.json`` names ``TokenizersBackend``, a class 4.x does not have, so
  ``AutoTokenizer`` fails; ``PreTrainedTokenizerFast`` is the same fast tokenizer in both.

``make_portable(folder)`` adds the 4.x spellings next to the 5.x ones (5.x keeps reading
``rope_parameters``, and a test checks the logits do not move); ``portable_config`` and
``portable_tokenizer_config`` are the pure rewrites.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

V5_ONLY_TOKENIZER_CLASSES = {"TokenizersBackend": "PreTrainedTokenizerFast"}
PER_LAYER_TYPE = ("full_attention", "sliding_attention")  # Gemma 3's rope_parameters keys


def _v4_rope(parameters: Mapping[str, Any]) -> tuple[float | None, dict[str, Any] | None]:
    """(rope_theta, rope_scaling) in 4.x's spelling from one 5.x ``rope_parameters`` mapping."""
    theta = parameters.get("rope_theta")
    scaling = {k: v for k, v in parameters.items() if k != "rope_theta"}
    if scaling.get("rope_type", "default") == "default" and set(scaling) <= {"rope_type"}:
        return theta, None
    return theta, scaling


def portable_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with 4.x's ``rope_theta`` / ``rope_scaling`` (Gemma 3: also
    ``rope_local_base_freq``) and ``torch_dtype`` added from their 5.x forms; keys already there
    are kept, nested ``text_config`` is rewritten the same way."""
    out = dict(config)
    if isinstance(out.get("text_config"), Mapping):
        out["text_config"] = portable_config(out["text_config"])
    rope = out.get("rope_parameters")
    if isinstance(rope, Mapping) and rope:
        if all(isinstance(rope.get(kind), Mapping) for kind in rope) and set(rope) & set(PER_LAYER_TYPE):
            full = rope.get("full_attention") or next(iter(rope.values()))
            theta, scaling = _v4_rope(full)
            local = (rope.get("sliding_attention") or {}).get("rope_theta")
            if local is not None:
                out.setdefault("rope_local_base_freq", local)
        else:
            theta, scaling = _v4_rope(rope)
        if theta is not None:
            out.setdefault("rope_theta", theta)
        out.setdefault("rope_scaling", scaling)
    if "dtype" in out and "torch_dtype" not in out:
        out["torch_dtype"] = out["dtype"]
    return out


def portable_tokenizer_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with a tokenizer class that 4.x knows too (``TokenizersBackend`` ->
    ``PreTrainedTokenizerFast``, the fast tokenizer over ``tokenizer.json`` in both)."""
    out = dict(config)
    name = out.get("tokenizer_class")
    if name in V5_ONLY_TOKENIZER_CLASSES:
        out["tokenizer_class"] = V5_ONLY_TOKENIZER_CLASSES[name]
    return out


def make_portable(folder: str | Path) -> list[str]:
    """Rewrite ``config.json`` and ``tokenizer_config.json`` in ``folder`` (where present) with the
    4.x spellings added; returns the files changed."""
    changed = []
    for name, rewrite in (("config.json", portable_config), ("tokenizer_config.json", portable_tokenizer_config)):
        path = Path(folder) / name
        if not path.is_file():
            continue
        before = json.loads(path.read_text(encoding="utf-8"))
        after = rewrite(before)
        if after != before:
            path.write_text(json.dumps(after, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
            changed.append(name)
    return changed


__all__ = ["make_portable", "portable_config", "portable_tokenizer_config"]
