"""GGUF through llama.cpp's own tooling. Always: the converter files come out of the pinned sdist's
vendored llama.cpp, and a missing set-up is reported as not cached. With the tooling set up on the
machine (``brewslm export --format gguf --converter llama.cpp`` builds it once; CI machines skip):
a tiny Llama with a real tokenizer (SmolLM2's) and a tiny Qwen2 with Qwen2's real tokenizer (rebuilt
from the vocab-only GGUF the cached sdist's llama.cpp tests its tokenizer with) convert, quantize to
K-quants and run inside llama.cpp with the same token ids, and at f32 the same logits, as in
transformers."""

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


FAKE_BINDING = {  # llama_cpp as the real one: Llama's model parameters start from llama_model_default_params()
    "llama_cpp/__init__.py": "from .llama_cpp import *\nfrom .llama import *\n",
    "llama_cpp/llama_cpp.py": """
import types
def llama_model_default_params():
    return types.SimpleNamespace(use_extra_bufts=True)
""",
    "llama_cpp/llama.py": """
import numpy as np
import llama_cpp.llama_cpp as llama_cpp
class Llama:
    def __init__(self, **kwargs):
        self.params = llama_cpp.llama_model_default_params()
        self.scores = np.zeros((4, 3), dtype=np.float32)
    def tokenize(self, text, add_bos, special):
        return [int(self.params.use_extra_bufts), len(text)]
    def reset(self):
        pass
    def eval(self, tokens):
        self.scores[: len(tokens)] = 1.0
""",
}


def test_the_runtime_check_loads_the_file_without_extra_buffer_types(tmp_path) -> None:
    """llama.cpp's AMX matmul (an extra buffer type, on by default on Intel CPUs that have AMX)
    segfaults on prompts longer than one token (llama.cpp#20824): the check runs the plain CPU kernels."""
    site = tmp_path / "site"
    for name, text in FAKE_BINDING.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text, encoding="utf-8")
    tools = llamacpp.Tooling(tmp_path / "convert_hf_to_gguf.py", tmp_path / "gguf-py", site)
    ids, logits = llamacpp.llama_logits(tools, tmp_path / "m.gguf", ["hi", "hello"])
    assert ids == [[0, 2], [0, 5]]  # use_extra_bufts was False when the model was loaded
    assert [a.shape for a in logits] == [(2, 3), (2, 3)]


MACHINE_TOOLING = llamacpp.tooling_dir()  # before a test's private workspace moves the cache
needs_tooling = pytest.mark.skipif(
    llamacpp.cached_tooling() is None, reason="llama.cpp tooling not set up here (brewslm export --converter llama.cpp)"
)


@pytest.fixture
def machine_tooling(monkeypatch):
    """The machine's set-up tooling, whatever cache the test's workspace points at: a test never builds it."""
    monkeypatch.setattr(llamacpp, "tooling_dir", lambda: MACHINE_TOOLING)


@pytest.fixture(scope="module")
def llama_tokenizer_dir(tmp_path_factory) -> Path:
    """SmolLM2's tokenizer files (llama.cpp's converter recognises its pre-tokenizer by its output)."""
    from brewslm.base_models import embedded_model_dir

    source = embedded_model_dir()
    folder = tmp_path_factory.mktemp("tokenizer")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        if (source / name).is_file():
            (folder / name).write_bytes((source / name).read_bytes())
    return folder


QWEN2_VOCAB = "models/ggml-vocab-qwen2.gguf"  # llama.cpp's tokenizer test data: Qwen2's vocab, no weights


def _vendored(sdist: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    """Files of the sdist's vendored llama.cpp (paths relative to it), read in one pass over the archive."""
    found: dict[str, bytes] = {}
    with tarfile.open(sdist) as archive:
        for member in archive:
            relative = member.name.partition("/")[2].removeprefix(llamacpp.VENDOR)
            if relative in names:
                found[relative] = archive.extractfile(member).read()
                if len(found) == len(names):
                    break
    return found


@pytest.fixture(scope="module")
def qwen2_tokenizer_dir(tmp_path_factory) -> Path:
    """Qwen2's tokenizer (Qwen1.5's vocabulary and merges, ChatML template), rebuilt offline from the
    vocab-only GGUF in the cached sdist's llama.cpp (6 MB, not kept in the repository) as
    transformers' ``Qwen2Tokenizer``. It must tokenize llama.cpp's test texts exactly as Qwen's own
    tokenizer did (the ``.out`` file beside it), or the converter would not recognise its pre-tokenizer."""
    from gguf import GGUFReader
    from transformers import AutoTokenizer
    from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer

    sdist = next(iter(sorted(MACHINE_TOOLING.glob("llama_cpp_python-*.tar.gz"))), None)
    if sdist is None:
        pytest.skip(f"no llama-cpp-python sdist cached in {MACHINE_TOOLING} (it holds Qwen2's vocabulary)")
    files = _vendored(sdist, (QWEN2_VOCAB, f"{QWEN2_VOCAB}.inp", f"{QWEN2_VOCAB}.out"))
    folder = tmp_path_factory.mktemp("qwen2-tokenizer")
    (folder / "vocab.gguf").write_bytes(files[QWEN2_VOCAB])
    fields = GGUFReader(str(folder / "vocab.gguf")).fields

    def strings(key: str) -> list[str]:
        return [bytes(fields[key].parts[index]).decode("utf-8") for index in fields[key].data]

    tokens, kinds = strings("tokenizer.ggml.tokens"), fields["tokenizer.ggml.token_type"].contents()
    special = [token for token, kind in zip(tokens, kinds) if kind == 3]  # CONTROL
    assert special == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokenizer = Qwen2Tokenizer(  # the [PADn] entries (unused, padding the embedding table) are left out
        vocab={token: index for index, (token, kind) in enumerate(zip(tokens, kinds)) if kind in (1, 3)},
        merges=[tuple(merge.split(" ")) for merge in strings("tokenizer.ggml.merges")],
        eos_token="<|im_end|>",  # as Qwen's chat models; <|endoftext|> pads
        pad_token="<|endoftext|>",
        unk_token=None,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": special})
    tokenizer.chat_template = fields["tokenizer.chat_template"].contents()
    (folder / "vocab.gguf").unlink()
    tokenizer.save_pretrained(str(folder))
    saved = AutoTokenizer.from_pretrained(str(folder))
    texts = files[f"{QWEN2_VOCAB}.inp"].decode("utf-8").split("\n__ggml_vocab_test__\n")
    expected = files[f"{QWEN2_VOCAB}.out"].decode("utf-8").split("\n")
    assert len(saved) == 151646 and saved.convert_tokens_to_ids(special) == [151643, 151644, 151645]
    for text, ids in zip(texts, expected, strict=True):
        assert saved.encode(text, add_special_tokens=False) == [int(i) for i in ids.split()], text
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
    with torch.no_grad():  # Qwen2's q/k/v biases start at zero: random ones, so the f32 check covers them
        for name, parameter in model.named_parameters():
            if name.endswith(".bias"):
                parameter.normal_(std=0.5)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


@needs_tooling
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_tiny_models_convert_quantize_and_run_inside_llama_cpp(kind, request, machine_tooling, tmp_path) -> None:
    from brewslm.export.bundle import resolve_bundle
    from brewslm.export.gguf import export_gguf, load_merged, verify_in_llamacpp

    folder = _tiny(kind, request.getfixturevalue(f"{kind}_tokenizer_dir"), tmp_path / kind)
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
