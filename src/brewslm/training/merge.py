"""Merge a trained run into a standalone Hugging Face model folder (``brewslm.export`` ships it).

``export_merged(run_dir, out_dir)`` folds a LoRA adapter into the base weights (peft
``merge_and_unload``) - or copies full fine-tuned weights - and writes config, weights, generation
config, tokenizer and chat template, so ``AutoModelForCausalLM.from_pretrained(out_dir)`` and
``AutoTokenizer.from_pretrained(out_dir)`` need neither peft nor BrewSLM, in transformers 4.4x as
in 5.x (``training.portable``: the 4.x spellings of the RoPE settings and tokenizer class). The command that ships a
run is ``brewslm export`` (``brewslm.export.hf`` writes the model card, report and bundle around
this); ``brewslm train export`` is only its alias.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from brewslm.base_models import load_causal_lm, quiet_loading, quiet_peft
from brewslm.errors import ConfigError
from brewslm.inference.chat_templates import check_run_template
from brewslm.storage.run_records import read_run
from brewslm.training.portable import make_portable
from brewslm.training.run import finished_model_dir

EXPORT_RECORD = "brewslm_export.json"


def load_trained(run_dir: str | Path, device: Any = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of a finished run, adapter attached (not merged), in eval mode."""
    from transformers import AutoTokenizer

    run_dir = Path(run_dir).expanduser()
    record = read_run(run_dir)
    model_dir = finished_model_dir(run_dir, record)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    check_run_template(tokenizer, record, model_dir)  # prompts render as in training, or not at all
    if record.get("model_kind") == "full":
        model, _ = load_causal_lm(str(model_dir), device=device)
        return model.eval(), tokenizer
    from peft import PeftModel

    base, _ = load_causal_lm(base_model_source(record), device=device)
    with quiet_peft():
        model = PeftModel.from_pretrained(base, str(model_dir))
    return model.eval(), tokenizer


def base_model_source(record: dict[str, Any]) -> str | None:
    """The base model the run trained on: the folder it was loaded from while that still exists
    (so a changed ``BREWSLM_BASE_MODEL`` cannot swap the base under an adapter), else the base as
    configured (None: the default base, re-resolved in this workspace)."""
    recorded = record.get("base_model_path")
    if recorded and Path(recorded).expanduser().exists():
        return recorded
    return record.get("base_model")


def export_merged(run_dir: str | Path, out_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Write the run's model as a plain transformers folder (LoRA merged in); returns ``out_dir``."""
    run_dir, out = Path(run_dir).expanduser(), Path(out_dir).expanduser()
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"export folder {out} is not empty; choose a new folder or pass overwrite")

    record = read_run(run_dir)
    with quiet_loading():
        model, tokenizer = load_trained(run_dir, device="cpu")
        if record.get("model_kind") != "full":
            model = model.merge_and_unload()
    return save_merged(model, tokenizer, run_dir, out, record)


def save_merged(
    model: Any, tokenizer: Any, run_dir: str | Path, out_dir: str | Path, record: dict[str, Any] | None = None
) -> Path:
    """Write a run's model, already merged (``export_merged`` or a caller that merged it for
    something else too, such as the GGUF export), as a plain transformers folder with the record
    of where it came from; returns ``out_dir``."""

    run_dir, out = Path(run_dir).expanduser(), Path(out_dir).expanduser()
    record = read_run(run_dir) if record is None else record
    with quiet_loading():
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))
    make_portable(out)  # transformers 4.4x reads it as 5.x does (rope_theta, a tokenizer class both know)
    (out / EXPORT_RECORD).write_text(
        json.dumps(
            {
                "run": str(run_dir),
                "run_name": record.get("name"),
                "dataset": record.get("dataset"),
                "method": record.get("method"),
                "base_model": record.get("base_model"),
                "render_context": record.get("render_context"),
                "merged_lora": record.get("model_kind") != "full",
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    return out


__all__ = ["EXPORT_RECORD", "base_model_source", "export_merged", "load_trained", "save_merged"]
