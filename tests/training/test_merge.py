"""Merged export: a LoRA run folded into a plain transformers folder gives the adapter model's logits."""

from __future__ import annotations

import json

import pytest
import torch

from brewslm.errors import ConfigError
from brewslm.training import export_merged, load_trained, train
from brewslm.training.merge import EXPORT_RECORD


def sample_ids(tokenizer) -> torch.Tensor:
    messages = [{"role": "user", "content": "Classify the text. Reply with the label only.\n\nText: a fine film"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])


@pytest.mark.parametrize("method", ["lora", "full"])
def test_merged_export_loads_with_plain_transformers_and_matches(
    sentiment, config_for, quiet, tmp_path, method
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = train(config_for(sentiment, method=method, max_steps=6, learning_rate=1e-2), progress=quiet)
    trained, tokenizer = load_trained(result.run_dir)
    out = export_merged(result.run_dir, tmp_path / "merged")

    merged = AutoModelForCausalLM.from_pretrained(str(out)).eval()
    merged_tokenizer = AutoTokenizer.from_pretrained(str(out))
    assert not any("lora" in name for name, _ in merged.named_parameters())
    assert merged_tokenizer.chat_template == tokenizer.chat_template
    ids = sample_ids(merged_tokenizer)
    with torch.no_grad():
        expected = trained(input_ids=ids).logits
        torch.testing.assert_close(merged(input_ids=ids).logits, expected, rtol=1e-4, atol=1e-4)
    if method == "lora":  # the adapter really changed the model
        base = AutoModelForCausalLM.from_pretrained(json.loads((out / EXPORT_RECORD).read_text())["base_model"]).eval()
        with torch.no_grad():
            assert (base(input_ids=ids).logits - expected).abs().max() > 1e-3
    record = json.loads((out / EXPORT_RECORD).read_text(encoding="utf-8"))
    assert record["merged_lora"] is (method == "lora") and record["render_context"]["labels"] == [
        "negative",
        "positive",
    ]


def test_export_refuses_unfinished_runs_and_full_folders(sentiment, config_for, quiet, tmp_path) -> None:
    with pytest.raises(ConfigError, match="is not a training run folder"):
        export_merged(tmp_path, tmp_path / "out")
    result = train(config_for(sentiment, max_steps=1), progress=quiet)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(ConfigError, match="is not empty"):
        export_merged(result.run_dir, tmp_path / "busy")
    record = json.loads((result.run_dir / "run.json").read_text())
    record["status"] = "failed"
    (result.run_dir / "run.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="has no finished model"):
        export_merged(result.run_dir, tmp_path / "out")
