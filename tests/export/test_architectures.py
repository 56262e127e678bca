"""Export works on every architecture BrewSLM supports (Llama, Qwen2, Qwen3, Gemma 2, Gemma 3,
Phi-3, Mistral - tiny random models from ``helpers.tiny_architectures``): the merged Hugging Face
folder of a LoRA run reloads with plain ``AutoModelForCausalLM`` and gives the logits of the merged
model in memory, tied heads stay tied and untied ones keep their own weights; GGUF export, which
writes llama.cpp's llama architecture only, refuses the others in one line naming what it takes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brewslm.errors import ConfigError
from helpers.tiny_architectures import (  # noqa: F401  (tiny_architecture_dirs: a fixture)
    ARCHITECTURE_SPECS,
    ARCHITECTURES,
    TinyArchitectureDirs,
    tiny_architecture_dirs,
)
from training.conftest import SENTIMENT

_runs: dict[str, Path] = {}


def lora_run(name: str, dirs: TinyArchitectureDirs, root: Path) -> Path:
    """A finished 2-step LoRA run of architecture ``name`` on the sentiment rows (once per name)."""
    if name not in _runs:
        from brewslm.ingestion import ImportSpec, run_import
        from brewslm.training import build_config, train

        source = root / "sentiment-architectures.jsonl"
        if not source.exists():
            source.write_text(
                "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in SENTIMENT), encoding="utf-8"
            )
            run_import(
                ImportSpec(
                    locator=f"jsonl:{source}",
                    mapper_id="label_to_classification",
                    dataset="sentiment-architectures",
                    split="train",
                )
            )
        config = build_config(
            {
                "dataset": "sentiment-architectures",
                "base_model": str(dirs[name]),
                "batch_size": 4,
                "max_seq_len": 192,
                "learning_rate": 1e-2,
                "max_steps": 2,
                "lora": {"r": 4, "alpha": 8},
                "log_every": 1000,
                "output_dir": str(root / f"run-{name}"),
            }
        )
        _runs[name] = Path(train(config, progress=lambda event: None).run_dir)
    return _runs[name]


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_the_merged_folder_reloads_with_the_merged_models_logits(
    name: str, export_space: Path, tiny_architecture_dirs: TinyArchitectureDirs
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from brewslm.export.hf import export_hf
    from brewslm.training.merge import load_trained

    run_dir = lora_run(name, tiny_architecture_dirs, export_space)
    out = export_hf(run_dir, export_space / f"hf-{name}").out_dir
    merged = load_trained(run_dir, device="cpu")[0].merge_and_unload().eval()
    reloaded = AutoModelForCausalLM.from_pretrained(str(out)).eval()
    assert type(reloaded) is type(merged)
    ids = torch.tensor([list(range(5, 45))])
    with torch.no_grad():
        want, got = merged(input_ids=ids).logits, reloaded(input_ids=ids).logits
    assert torch.allclose(got, want, atol=1e-5)
    tied = ARCHITECTURE_SPECS[name].options["tie_word_embeddings"]
    head, embeddings = reloaded.get_output_embeddings().weight, reloaded.get_input_embeddings().weight
    assert (head.data_ptr() == embeddings.data_ptr()) is tied
    if not tied:  # an untied head keeps its own trained-over weights, not a copy of the embeddings
        assert not torch.equal(head, embeddings)


@pytest.mark.parametrize("name", [name for name in ARCHITECTURES if name != "llama"])
def test_gguf_export_refuses_other_architectures_in_one_line(
    name: str, export_space: Path, tiny_architecture_dirs: TinyArchitectureDirs
) -> None:
    from brewslm.export.gguf import export_gguf

    out = export_space / f"gguf-{name}"
    with pytest.raises(ConfigError, match=r"^GGUF export supports Llama-family models \(model_type 'llama'\)") as error:
        export_gguf(lora_run(name, tiny_architecture_dirs, export_space), out, converter="builtin")
    assert "\n" not in str(error.value)
    assert not out.exists() or not any(out.iterdir())
