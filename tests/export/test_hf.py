"""The hf export of a tiny LoRA run: a merged folder plain transformers loads with the adapter
model's logits, carrying its eval report, model card and bundle record; bad inputs are one line."""

from __future__ import annotations

import json

import pytest
import torch

from brewslm.errors import ConfigError
from brewslm.export import resolve_bundle
from brewslm.export.hf import export_hf
from brewslm.training import load_trained


def test_hf_export_is_standalone_and_carries_report_card_and_bundle(lora_run, tmp_path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = export_hf(str(lora_run), tmp_path / "out")
    out = result.out_dir
    merged = AutoModelForCausalLM.from_pretrained(str(out)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    trained, trained_tokenizer = load_trained(lora_run)
    assert tokenizer.chat_template == trained_tokenizer.chat_template
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "a fine film"}], tokenize=False, add_generation_prompt=True
    )
    ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(merged(input_ids=ids).logits, trained(input_ids=ids).logits, rtol=1e-4, atol=1e-4)

    for name in (
        "report.json",
        "report.md",
        "report.html",
        "README.md",
        "brewslm_export.json",
        "config.json",
        "tokenizer.json",
        "chat_template.jinja",
    ):
        assert (out / name).is_file(), name
    assert any(out.glob("*.png")) and not any(out.glob("predictions_*"))  # pictures yes, test data no
    assert set(result.files.values()) <= {p.name for p in out.iterdir()}

    record = json.loads((out / "brewslm_export.json").read_text(encoding="utf-8"))
    assert record["format"] == 2 and record["task"] == "classification" and record["merged_lora"] is True
    assert record["base_model"] and record["eval_report"] == "report.json"  # evaluation's baseline reads base_model

    bundle = resolve_bundle(str(out))
    assert (bundle.kind, bundle.is_adapter, bundle.base_model, bundle.task) == ("export", False, None, "classification")
    assert bundle.context().labels == ("negative", "positive") and bundle.eval_report == out / "report.json"
    assert bundle.run_dir == lora_run.resolve()


def test_model_card_names_base_data_metrics_and_limitations(lora_run, tmp_path) -> None:
    out = export_hf(str(lora_run), tmp_path / "out").out_dir
    card = (out / "README.md").read_text(encoding="utf-8")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert card.startswith("---\n") and "base_model:" in card and "- brewslm" in card
    for section in ("## Model", "## Training data", "## Evaluation", "## Use", "## Limitations", "## Files"):
        assert section in card
    assert "label_to_classification" in card and "text -> text" in card  # mapper and field map
    assert "sentiment v" in card and "validation" in card  # dataset version and the split it was scored on
    assert "| metric | base | baseline | tuned | lift vs base [95% CI] | lift vs baseline [95% CI] |" in card
    assert f"{report['headline']} (headline)" in card and report["models"]["baseline"]["kind"] == "baseline"
    assert "max sequence length**: 160" in card and "truncated" in card
    assert "Evaluated on only 4 held-out validation rows" in card  # 4 rows: a small-test-set warning
    assert "Weakest classes:" in card and "mostly English" in card and "inherits the biases" in card
    assert "labels**: negative, positive" in card


def test_bad_inputs_are_one_line_errors(lora_run, tiny_model_dir, tmp_path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not empty; choose a new folder or pass --overwrite"):
        export_hf(str(lora_run), busy)
    with pytest.raises(ConfigError, match="plain model folder, there is nothing to merge"):
        export_hf(str(tiny_model_dir), tmp_path / "plain")
    with pytest.raises(ConfigError, match="is not an export folder .* or model folder") as error:
        export_hf(str(tmp_path / "no-such-run"), tmp_path / "out")
    assert "\n" not in str(error.value)


def test_overwrite_replaces_a_previous_export(lora_run, tmp_path) -> None:
    out = export_hf(str(lora_run), tmp_path / "out").out_dir
    (out / "stale.png").write_bytes(b"old picture")
    again = export_hf(str(lora_run), out, overwrite=True)
    assert not (again.out_dir / "stale.png").exists() and (again.out_dir / "README.md").is_file()
