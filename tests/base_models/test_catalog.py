"""The model catalog: parameter counts computed from the architecture numbers equal the count of a
model transformers builds from the same numbers (on the meta device: no memory, no download)."""

from __future__ import annotations

import pytest

from brewslm.base_models.catalog import CATALOG, find_model, get_model, hub_id_for, lora_parameter_count
from brewslm.errors import ConfigError


def build_on_meta(entry):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(
        entry.model_type,
        num_hidden_layers=entry.layers,
        hidden_size=entry.hidden,
        intermediate_size=entry.intermediate,
        num_attention_heads=entry.heads,
        num_key_value_heads=entry.kv_heads,
        head_dim=entry.head_dim,
        vocab_size=entry.vocab,
        tie_word_embeddings=entry.tied_embeddings,
        max_position_embeddings=entry.max_context,
    )
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


@pytest.mark.parametrize("entry", CATALOG, ids=[entry.id for entry in CATALOG])
def test_computed_parameter_count_equals_the_built_architecture(entry) -> None:
    model = build_on_meta(entry)
    assert entry.parameters == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "entry",
    [get_model("qwen2.5-0.5b-instruct"), get_model("phi-4-mini-instruct")],
    ids=["separate projections", "fused projections"],
)
def test_lora_count_equals_peft_all_linear(entry) -> None:
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(build_on_meta(entry), LoraConfig(r=16, target_modules="all-linear"))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert lora_parameter_count(entry, rank=16) == trainable


def test_every_entry_names_its_source_and_the_embedded_model_is_listed() -> None:
    assert all(entry.source.endswith("/config.json") and entry.licence and entry.template for entry in CATALOG)
    assert len({entry.id for entry in CATALOG}) == len(CATALOG)
    assert get_model("HuggingFaceTB/SmolLM2-135M-Instruct").id == "smollm2-135m-instruct"


def test_catalog_ids_resolve_to_hub_ids_and_other_names_pass_through() -> None:
    assert hub_id_for("Qwen3-0.6B") == "Qwen/Qwen3-0.6B"
    assert hub_id_for("/models/mine") == "/models/mine"
    assert find_model("no-such-model") is None
    with pytest.raises(ConfigError, match="not in the catalog; `brewslm models list`"):
        get_model("no-such-model")


def test_a_catalog_id_loads_as_its_hub_id_and_offline_says_how_to_get_it(tmp_path, monkeypatch) -> None:
    from brewslm.base_models import embedded, load_causal_lm

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(embedded, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(ConfigError) as info:
        load_causal_lm("qwen3-0.6b")
    message = str(info.value)
    assert message.startswith(
        "model 'qwen3-0.6b' (Qwen/Qwen3-0.6B) is not present locally and the Hugging Face hub "
        "cannot be reached (offline)"
    )
    assert "hf download Qwen/Qwen3-0.6B" in message and "local model folder" in message and "\n" not in message
