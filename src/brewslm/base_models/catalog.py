"""The catalog of small instruct models people fine-tune, with the architecture numbers needed to
count their parameters and estimate their memory and speed without downloading them.

Every entry's numbers are its ``config.json`` on the Hugging Face hub as published (``source``
names the file); this module was written offline, so an entry whose numbers were not checked
against the file carries ``approximate=True`` and says which in ``note``. Parameter counts are
computed from the architecture (``parameter_count``), never copied from a model card: the tests
build each architecture from the same numbers with transformers (on the meta device) and count
``model.parameters()``.

A catalog id (``qwen2.5-0.5b-instruct``) works wherever a base model is named: it stands for its
hub id (``hub_id_for``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brewslm.errors import ConfigError


@dataclass(frozen=True)
class CatalogModel:
    id: str
    hub_id: str
    model_type: str  # transformers' config model_type, the architecture
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied_embeddings: bool
    max_context: int
    licence: str
    template: str  # the chat template family
    attention_bias: bool = False  # q/k/v projections have biases (Qwen2)
    qk_norm: bool = False  # RMSNorm on each head's queries and keys (Qwen3, Gemma 3)
    norms_per_layer: int = 2  # input + post-attention; Gemma 3 adds pre/post feed-forward norms
    fused_projections: bool = False  # one qkv_proj and one gate_up_proj (Phi-3 / Phi-4)
    approximate: bool = False
    note: str = ""
    source: str = field(default="")

    @property
    def parameters(self) -> int:
        return parameter_count(self)

    def linear_shapes(self) -> list[tuple[int, int]]:
        """(in, out) of each linear layer in one decoder layer: what LoRA's ``all-linear`` adapts."""
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        h, i = self.hidden, self.intermediate
        if self.fused_projections:
            return [(h, q + 2 * kv), (q, h), (h, 2 * i), (i, h)]
        return [(h, q), (h, kv), (h, kv), (q, h), (h, i), (h, i), (i, h)]


def parameter_count(model: CatalogModel) -> int:
    """Embedding (+ an untied output head) + per layer: attention projections (and their biases),
    q/k norms, the gated MLP's three matrices, the layer's norms; + the final norm."""
    embedding = model.vocab * model.hidden
    head = 0 if model.tied_embeddings else embedding
    linear = sum(n_in * n_out for n_in, n_out in model.linear_shapes())
    bias = (model.heads + 2 * model.kv_heads) * model.head_dim if model.attention_bias else 0
    qk_norm = 2 * model.head_dim if model.qk_norm else 0
    per_layer = linear + bias + qk_norm + model.norms_per_layer * model.hidden
    return embedding + head + model.layers * per_layer + model.hidden


def lora_parameter_count(model: CatalogModel, rank: int = 16) -> int:
    """Trainable parameters of LoRA on every linear layer but the output head (``all-linear``, the
    training default): ``rank x (in + out)`` per adapted matrix."""
    return model.layers * sum(rank * (n_in + n_out) for n_in, n_out in model.linear_shapes())


def _hub(hub_id: str) -> str:
    return f"https://huggingface.co/{hub_id}/blob/main/config.json"


def _entry(id: str, hub_id: str, **numbers: Any) -> CatalogModel:
    return CatalogModel(id=id, hub_id=hub_id, source=_hub(hub_id), **numbers)


_SMOL = dict(
    model_type="llama",
    vocab=49152,
    tied_embeddings=True,
    max_context=8192,
    licence="apache-2.0",
    template="chatml",
    head_dim=64,
)
_QWEN25 = dict(
    model_type="qwen2",
    vocab=151936,
    tied_embeddings=True,
    max_context=32768,
    licence="apache-2.0",
    template="chatml",
    head_dim=128,
    attention_bias=True,
)
_QWEN3 = dict(
    model_type="qwen3",
    vocab=151936,
    tied_embeddings=True,
    max_context=40960,
    licence="apache-2.0",
    template="chatml",
    head_dim=128,
    qk_norm=True,
)
_LLAMA32 = dict(
    model_type="llama",
    vocab=128256,
    tied_embeddings=True,
    max_context=131072,
    licence="llama3.2 community licence",
    template="llama3",
)
_GEMMA3 = dict(
    model_type="gemma3_text",
    vocab=262144,
    tied_embeddings=True,
    max_context=32768,
    licence="gemma terms of use",
    template="gemma",
    head_dim=256,
    qk_norm=True,
    norms_per_layer=4,
)

CATALOG: tuple[CatalogModel, ...] = (
    # SmolLM2-135M: checked against the embedded model's config.json (the same numbers as the hub's)
    _entry(
        "smollm2-135m-instruct",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        layers=30,
        hidden=576,
        intermediate=1536,
        heads=9,
        kv_heads=3,
        **_SMOL,
    ),
    _entry(
        "smollm2-360m-instruct",
        "HuggingFaceTB/SmolLM2-360M-Instruct",
        layers=32,
        hidden=960,
        intermediate=2560,
        heads=15,
        kv_heads=5,
        **_SMOL,
    ),
    _entry(
        "smollm2-1.7b-instruct",
        "HuggingFaceTB/SmolLM2-1.7B-Instruct",
        layers=24,
        hidden=2048,
        intermediate=8192,
        heads=32,
        kv_heads=32,
        **_SMOL,
    ),
    _entry(
        "qwen2.5-0.5b-instruct",
        "Qwen/Qwen2.5-0.5B-Instruct",
        layers=24,
        hidden=896,
        intermediate=4864,
        heads=14,
        kv_heads=2,
        **{**_QWEN25, "head_dim": 64},
    ),
    _entry(
        "qwen2.5-1.5b-instruct",
        "Qwen/Qwen2.5-1.5B-Instruct",
        layers=28,
        hidden=1536,
        intermediate=8960,
        heads=12,
        kv_heads=2,
        **_QWEN25,
    ),
    _entry("qwen3-0.6b", "Qwen/Qwen3-0.6B", layers=28, hidden=1024, intermediate=3072, heads=16, kv_heads=8, **_QWEN3),
    _entry("qwen3-1.7b", "Qwen/Qwen3-1.7B", layers=28, hidden=2048, intermediate=6144, heads=16, kv_heads=8, **_QWEN3),
    _entry(
        "llama-3.2-1b-instruct",
        "meta-llama/Llama-3.2-1B-Instruct",
        layers=16,
        hidden=2048,
        intermediate=8192,
        heads=32,
        kv_heads=8,
        head_dim=64,
        **_LLAMA32,
    ),
    _entry(
        "llama-3.2-3b-instruct",
        "meta-llama/Llama-3.2-3B-Instruct",
        layers=28,
        hidden=3072,
        intermediate=8192,
        heads=24,
        kv_heads=8,
        head_dim=128,
        **_LLAMA32,
    ),
    _entry(
        "gemma-3-270m-it",
        "google/gemma-3-270m-it",
        layers=18,
        hidden=640,
        intermediate=2048,
        heads=4,
        kv_heads=1,
        **_GEMMA3,
    ),
    _entry(
        "gemma-3-1b-it",
        "google/gemma-3-1b-it",
        layers=26,
        hidden=1152,
        intermediate=6912,
        heads=4,
        kv_heads=1,
        **_GEMMA3,
    ),
    _entry(
        "phi-4-mini-instruct",
        "microsoft/Phi-4-mini-instruct",
        model_type="phi3",
        layers=32,
        hidden=3072,
        intermediate=8192,
        heads=24,
        kv_heads=8,
        head_dim=128,
        vocab=200064,
        tied_embeddings=True,
        max_context=131072,
        licence="mit",
        template="phi4",
        fused_projections=True,
        approximate=True,
        note="written from memory without the file at hand: vocab 200064 and tied embeddings approximate",
    ),
)

_BY_ID = {entry.id: entry for entry in CATALOG}
_BY_HUB_ID = {entry.hub_id.lower(): entry for entry in CATALOG}


def find_model(name: str) -> CatalogModel | None:
    """The catalog entry for a catalog id or hub id (case-insensitive), else None."""
    key = name.strip().lower()
    return _BY_ID.get(key) or _BY_HUB_ID.get(key)


def get_model(name: str) -> CatalogModel:
    entry = find_model(name)
    if entry is None:
        raise ConfigError(f"model '{name}' is not in the catalog; `brewslm models list` shows the ids")
    return entry


def hub_id_for(name: str) -> str:
    """A catalog id's hub id; any other name unchanged (a local folder, another hub id)."""
    entry = _BY_ID.get(name.strip().lower())
    return entry.hub_id if entry else name


__all__ = [
    "CATALOG",
    "CatalogModel",
    "find_model",
    "get_model",
    "hub_id_for",
    "lora_parameter_count",
    "parameter_count",
]
