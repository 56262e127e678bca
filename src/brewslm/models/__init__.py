"""Models: the embedded default (SmolLM2-135M-Instruct, converted once from its GGUF) and the
loader every part uses for causal LMs (embedded, a local folder, or a hub id when online)."""

from brewslm.models.embedded import (
    EMBEDDED_MODEL_NAME,
    embedded_gguf_path,
    embedded_model_dir,
    load_causal_lm,
    resolve_device,
    resolve_dtype,
)

__all__ = [
    "EMBEDDED_MODEL_NAME",
    "embedded_gguf_path",
    "embedded_model_dir",
    "load_causal_lm",
    "resolve_device",
    "resolve_dtype",
]
