"""training/portable.py: merged folders carry transformers 4.x's spellings (rope_theta / rope_scaling,
torch_dtype, a tokenizer class 4.x knows) beside 5.x's, and 5.x loads them exactly as before.

The 4.x side is checked by ``bench/portable_check.py`` in a second, pinned environment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from brewslm.training.portable import make_portable, portable_config, portable_tokenizer_config
from helpers.tiny_architectures import ARCHITECTURES, save_tiny_architecture


def test_default_rope_becomes_rope_theta_and_no_scaling():
    config = {"model_type": "llama", "dtype": "float32", "rope_parameters": {"rope_type": "default", "rope_theta": 1e5}}
    assert portable_config(config) == {**config, "rope_theta": 1e5, "rope_scaling": None, "torch_dtype": "float32"}


def test_scaled_rope_keeps_its_scaling_in_4x_form():
    rope = {
        "rope_type": "llama3",
        "rope_theta": 500000.0,
        "factor": 32.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
    }
    out = portable_config({"rope_parameters": rope})
    assert out["rope_theta"] == 500000.0
    assert out["rope_scaling"] == {k: v for k, v in rope.items() if k != "rope_theta"}


def test_per_attention_type_rope_gives_the_global_and_the_local_base():
    rope = {
        "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6},
        "sliding_attention": {"rope_type": "default", "rope_theta": 1e4},
    }
    out = portable_config({"text_config": {"rope_parameters": rope}})["text_config"]
    assert (out["rope_theta"], out["rope_local_base_freq"]) == (1e6, 1e4)
    assert out["rope_scaling"] == {"rope_type": "linear", "factor": 8.0}


def test_keys_already_written_are_kept():
    config = {
        "rope_theta": 5.0,
        "torch_dtype": "bfloat16",
        "dtype": "float32",
        "rope_parameters": {"rope_type": "default", "rope_theta": 7.0},
    }
    out = portable_config(config)
    assert out["rope_theta"] == 5.0 and out["torch_dtype"] == "bfloat16"


def test_the_v5_only_tokenizer_class_is_renamed_and_others_kept():
    assert (
        portable_tokenizer_config({"tokenizer_class": "TokenizersBackend"})["tokenizer_class"]
        == "PreTrainedTokenizerFast"
    )
    assert portable_tokenizer_config({"tokenizer_class": "GPT2Tokenizer"}) == {"tokenizer_class": "GPT2Tokenizer"}


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_transformers_5_loads_the_portable_folder_exactly_as_before(name: str, tmp_path: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    saved = save_tiny_architecture(name, tmp_path / "saved")
    portable = Path(shutil.copytree(saved, tmp_path / "portable"))
    make_portable(portable)
    written = json.loads((portable / "config.json").read_text(encoding="utf-8"))
    text = written.get("text_config", written)
    assert "rope_theta" in text and "rope_scaling" in text
    assert json.loads((portable / "tokenizer_config.json").read_text())["tokenizer_class"] != "TokenizersBackend"

    before, after = AutoConfig.from_pretrained(str(saved)), AutoConfig.from_pretrained(str(portable))
    assert after.to_dict().get("rope_parameters") == before.to_dict().get("rope_parameters")
    ids = torch.tensor([[5, 17, 33, 60, 7, 90, 120, 3, 44, 61, 12, 80, 99, 101]])
    logits = [AutoModelForCausalLM.from_pretrained(str(f)).eval()(input_ids=ids).logits for f in (saved, portable)]
    assert torch.equal(logits[0], logits[1])
    text_in = "Hello <|im_start|> world, 123 ünïcode"
    old, new = AutoTokenizer.from_pretrained(str(saved)), AutoTokenizer.from_pretrained(str(portable))
    assert new(text_in)["input_ids"] == old(text_in)["input_ids"]
    assert new.chat_template == old.chat_template
