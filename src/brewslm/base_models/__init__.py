"""Base models: the catalog of small instruct models, the embedded default (SmolLM2-135M-Instruct,
converted once from its GGUF) and the loader every part uses for causal LMs (embedded, a local
folder, or a hub id when online)."""

from brewslm.base_models.embedded import (
    BASE_MODEL_ENV,
    EMBEDDED_MODEL_NAME,
    default_base_model,
    embedded_gguf_path,
    embedded_model_dir,
    load_causal_lm,
    quiet_loading,
    quiet_peft,
    resolve_device,
    resolve_dtype,
)

__all__ = [
    "BASE_MODEL_ENV",
    "EMBEDDED_MODEL_NAME",
    "default_base_model",
    "embedded_gguf_path",
    "embedded_model_dir",
    "load_causal_lm",
    "quiet_loading",
    "quiet_peft",
    "resolve_device",
    "resolve_dtype",
]
