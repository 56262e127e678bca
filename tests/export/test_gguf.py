"""GGUF export of a tiny LoRA run: f32 / f16 / q8_0 files in llama.cpp's layout that transformers'
GGUF loader reads back with the merged model's logits; a wrong layout or a non-Llama model fails clearly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from brewslm.errors import ConfigError
from brewslm.export import gguf as gguf_export
from brewslm.export.gguf import TOLERANCES, compare_logits, export_gguf, permute_qk, tokenizer_pre


@pytest.mark.parametrize("quant, weight_type", [("f32", "F32"), ("f16", "F16"), ("q8_0", "Q8_0")])
def test_lora_run_round_trips_through_gguf(lora_run, tmp_path, quant, weight_type) -> None:
    import gguf

    result = export_gguf(str(lora_run), tmp_path / quant, quant=quant, converter="builtin")
    check = result.verification
    assert check is not None and check.passed and check.tokens_match and check.positions > 50
    assert check.top1_agreement == 1.0  # a tiny model has no near-tied logits to flip
    if quant == "f32":
        assert check.max_abs_diff <= 1e-5
    assert check.max_rel_diff <= TOLERANCES[quant].max_rel_diff
    assert json.loads(result.path.with_suffix(".verify.json").read_text())["passed"] is True
    assert result.path.name == f"run-{quant}.gguf"

    reader = gguf.GGUFReader(str(result.path))
    fields = {
        name: field.contents()
        for name, field in reader.fields.items()
        if name not in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges")
    }
    assert fields["general.architecture"] == "llama" and fields["llama.block_count"] == 2
    assert (fields["llama.attention.head_count"], fields["llama.attention.head_count_kv"]) == (4, 2)
    assert fields["tokenizer.ggml.model"] == "gpt2" and fields["tokenizer.ggml.pre"] == "gpt-2"
    assert "<|im_start|>" in fields["tokenizer.chat_template"]
    assert fields["tokenizer.ggml.eos_token_id"] == 2  # <|im_end|>, the tiny tokenizer's eos
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    assert "output.weight" not in types  # tied embeddings: llama.cpp reuses token_embd
    assert types["blk.0.attn_norm.weight"] == "F32" and types["blk.1.ffn_down.weight"] == weight_type
    assert len(reader.fields["tokenizer.ggml.merges"].data) > 0


def test_a_wrong_tensor_layout_fails_the_check(lora_run, tmp_path, monkeypatch) -> None:
    # Without llama.cpp's q/k permutation, transformers' loader un-permutes weights that were never
    # permuted: the attention is wrong and the check must say so instead of shipping the file.
    monkeypatch.setattr(gguf_export, "permute_qk", lambda weights, n_head, n_head_kv=None: weights)
    with pytest.raises(ConfigError, match="GGUF check failed .* of the logit scale .* allowed 0.0001") as error:
        export_gguf(str(lora_run), tmp_path / "bad", quant="f32", converter="builtin")
    assert "\n" not in str(error.value) and (tmp_path / "bad" / "run-f32.gguf").is_file()


def test_non_llama_models_and_bad_options_are_refused(tmp_path, lora_run) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    from helpers.tiny_model import build_tiny_tokenizer

    folder = tmp_path / "gpt2"
    tokenizer = build_tiny_tokenizer()
    GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=1, n_head=2)).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    with pytest.raises(ConfigError, match="supports Llama-family models .* architecture is 'gpt2'"):
        export_gguf(str(folder), tmp_path / "out", converter="builtin")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match="GGUF quantization 'q4' is not one the builtin converter writes"):
        export_gguf(str(lora_run), tmp_path / "out", quant="q4", converter="builtin")
    with pytest.raises(
        ConfigError, match="'q4_k_m' is not one the builtin converter writes.*need --converter llama.cpp"
    ):
        export_gguf(str(lora_run), tmp_path / "out", quant="q4_k_m", converter="builtin")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x.gguf").write_bytes(b"")
    with pytest.raises(ConfigError, match="is not empty"):
        export_gguf(str(lora_run), busy)


def test_permutation_is_what_transformers_gguf_loader_undoes() -> None:
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    weights = np.arange(8 * 4 * 3, dtype=np.float32).reshape(8 * 4, 3)  # 8 heads of dim 4
    undo = LlamaTensorProcessor(config={})._reverse_permute_weights
    assert np.array_equal(undo(permute_qk(weights, 8, 8), 8, 8), weights)
    assert np.array_equal(undo(permute_qk(weights, 16, 8), 16, 8), weights)  # k: kv heads
    assert not np.array_equal(permute_qk(weights, 8, 8), weights)


def test_pre_tokenizer_names_follow_llama_cpp() -> None:
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
    assert tokenizer_pre(byte_level) == "gpt-2"
    assert (
        tokenizer_pre(
            {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, byte_level]}
        )
        == "smollm"
    )
    assert (
        tokenizer_pre(
            {
                "type": "Sequence",
                "pretokenizers": [
                    {"type": "Split", "pattern": {"Regex": gguf_export.LLAMA3_SPLIT}},
                    {**byte_level, "use_regex": False},
                ],
            }
        )
        == "llama-bpe"
    )
    with pytest.raises(ConfigError, match="pre-tokenizers"):
        tokenizer_pre({"type": "Whitespace"})


def test_tolerances_are_relative_to_the_logit_scale() -> None:
    expected = [np.array([[10.0, 0.0, -10.0], [0.0, 5.0, 1.0]])]
    close = compare_logits(expected, [expected[0] + 0.05], quant="f16", tokens_match=True)
    assert close.passed and close.max_rel_diff == pytest.approx(0.005)
    flipped = compare_logits(
        expected, [np.array([[10.0, 0.0, -10.0], [5.1, 5.0, 1.0]])], quant="q8_0", tokens_match=True
    )
    assert flipped.top1_agreement == 0.5 and not flipped.passed
    assert not compare_logits(expected, expected, quant="f32", tokens_match=False).passed
