"""Ship a fine-tune: the model bundle (what a run, recipe or export folder serves as), the merged
Hugging Face export with its model card, and the GGUF export for llama.cpp / Ollama.

- ``bundle``: ``resolve_bundle(spec) -> ModelBundle`` (weights to load, task, render context,
  recipe, eval report, ``ServingSettings``) - the contract ``brewslm serve`` builds on.
- ``hf``: ``export_hf(spec, out_dir)`` - merged standalone folder + tokenizer + chat template +
  recipe.yaml + eval report files + README.md model card + ``brewslm_export.json``.
- ``gguf``: ``export_gguf(spec, out_dir, quant, converter)`` - a GGUF and its Ollama Modelfile,
  verified against the merged model: by llama.cpp's converter and quantizer (K-quants) and run
  inside llama.cpp (``llamacpp``: the pinned tooling, built once), or by the builtin writer
  (Llama-family f32 / f16 / q8_0, read back through transformers).
- ``hub``, ``dataset_card``: push an export folder or a dataset version to the Hugging Face Hub.
- ``model_card``: ``render_model_card(...)`` - the README.md text (pure).
"""

from brewslm.export.bundle import EXPORT_RECORD, ModelBundle, ServingSettings, resolve_bundle

__all__ = ["EXPORT_RECORD", "ModelBundle", "ServingSettings", "resolve_bundle"]
