"""Which models an evaluation compares and how they load: a run, an export, a model folder, a
.gguf or a hub id (``resolve_model``); the baseline a fine-tune is measured against
(``resolve_baseline``: a LoRA run's own base, with the adapter switched off).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from brewslm.base_models import default_base_model, load_causal_lm, quiet_loading
from brewslm.evaluation.config import EvalConfig
from brewslm.inference.chat_templates import set_chat_template
from brewslm.storage.run_records import read_run
from brewslm.training.run import find_run, finished_model_dir


@dataclass(frozen=True)
class ModelRef:
    """What ``--model`` / ``--baseline`` named, resolved: a training run or a loadable model."""

    spec: str  # as the user gave it
    kind: str  # "run" | "model"
    source: str | None  # run folder, model folder / .gguf / hub id; None = the default base model
    name: str
    record: Mapping[str, Any] = field(default_factory=dict)  # run.json, or an export's brewslm_export.json
    adapter_of: "ModelRef | None" = None  # set when this is a LoRA run's base: that run with its adapter off

    @property
    def run_dir(self) -> Path | None:
        return Path(self.source) if self.kind == "run" and self.source else None

    @property
    def is_lora_run(self) -> bool:
        return self.kind == "run" and self.record.get("model_kind") != "full"

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "source": self.source, "kind": self.kind}
        if self.adapter_of is not None:
            out["adapter_disabled_from"] = self.adapter_of.source
        return out


def resolve_model(spec: str) -> ModelRef:
    """``spec`` -> a run (its record read) or a model source; loading happens later."""
    from brewslm.training.merge import EXPORT_RECORD

    run_dir = find_run(spec)
    if run_dir is not None:
        record = read_run(run_dir)
        finished_model_dir(run_dir, record)
        return ModelRef(spec, "run", str(run_dir), str(record.get("name") or run_dir.name), record)
    path = Path(spec).expanduser()
    exported = path / EXPORT_RECORD
    record = json.loads(exported.read_text(encoding="utf-8")) if exported.is_file() else {}
    return ModelRef(spec, "model", spec, path.name if path.exists() else spec, record)


def _base_source_name(source: str | None) -> tuple[str, str]:

    if source is None:  # the default base, re-resolved here as training would
        source = default_base_model()
    return source, Path(source).name or source


def resolve_baseline(config: EvalConfig, tuned: ModelRef) -> ModelRef | None:
    """The model the lift is measured against (see ``EvalConfig.baseline``); None = no baseline."""
    if config.skips_baseline:
        return None
    if config.baseline is None:
        if tuned.is_lora_run:
            return _adapter_off(tuned)
        if tuned.kind == "run":  # full fine-tune: its base is a separate model
            from brewslm.training.merge import base_model_source

            source, name = _base_source_name(base_model_source(dict(tuned.record)))
            return ModelRef(source, "model", source, name)
        if tuned.record:  # an exported run knows its base
            source, name = _base_source_name(tuned.record.get("base_model"))
            return ModelRef(source, "model", source, name)
        return None
    if tuned.is_lora_run and _same_path(config.baseline, tuned.record.get("base_model_path")):
        return _adapter_off(tuned)
    return resolve_model(config.baseline)


def _adapter_off(run: ModelRef) -> ModelRef:
    source = run.record.get("base_model_path") or run.record.get("base_model")
    source, name = _base_source_name(source)
    return ModelRef(source, "model", source, name, adapter_of=run)


def _same_path(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except OSError:
        return False


def load_model(ref: ModelRef, device: str | None, chat_template: str = "model") -> tuple[Any, Any]:
    """``(model, tokenizer)`` in eval mode. A run renders with the template it trained with (checked
    on load); a plain model with ``chat_template`` (``model``: its own, else the ChatML training
    would give it, so the baseline sees the same prompt text as the fine-tune)."""
    from brewslm.training.merge import load_trained

    with quiet_loading():
        if ref.kind == "run":
            return load_trained(ref.source, device=device)
        model, tokenizer = load_causal_lm(ref.source, device=device)
    set_chat_template(tokenizer, chat_template)
    return model, tokenizer


@contextlib.contextmanager
def adapter_disabled(model: Any) -> Iterator[None]:
    """The LoRA model as its base: the adapter is bypassed inside the block (peft's ``disable_adapter``)."""
    with model.disable_adapter():
        yield


@dataclass
class LoadedModel:
    ref: ModelRef
    model: Any
    tokenizer: Any

    def active(self) -> contextlib.AbstractContextManager:
        return adapter_disabled(self.model) if self.ref.adapter_of is not None else contextlib.nullcontext()


__all__ = [
    "LoadedModel",
    "ModelRef",
    "adapter_disabled",
    "load_model",
    "resolve_baseline",
    "resolve_model",
]
