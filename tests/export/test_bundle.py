"""``resolve_bundle``: a run, a run name and a plain model folder give what a server needs (export
folders: test_hf.py; recipe folders: test_recipe_bundles.py); anything else is one line. The
twists' serving hooks and the chunks file, on their own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from brewslm.errors import ConfigError
from brewslm.export import ModelBundle, ServingSettings, resolve_bundle
from brewslm.export.bundle import twist_serving_settings
from brewslm.retrieval import Chunk, read_chunks, write_chunks


def test_a_run_by_folder_or_name(lora_run) -> None:
    bundle = resolve_bundle(str(lora_run))
    assert isinstance(bundle, ModelBundle)
    assert (bundle.name, bundle.kind, bundle.is_adapter, bundle.task) == ("run", "run", True, "classification")
    assert bundle.model_dir == lora_run.resolve() / "model" and bundle.run_dir == lora_run.resolve()
    assert bundle.base_model and Path(bundle.base_model).is_dir()  # the base folder it trained on
    assert bundle.context().labels == ("negative", "positive") and bundle.scoring_mode is None
    assert bundle.eval_report is not None and bundle.eval_report.parent.parent == lora_run.resolve() / "eval"
    assert bundle.serving == ServingSettings() and bundle.recipe is None

    from brewslm.training.run import runs_dir

    shutil.copytree(lora_run, runs_dir() / "named-run")
    named = resolve_bundle("named-run")
    assert named.kind == "run" and named.run_dir == (runs_dir() / "named-run").resolve()


def test_a_plain_model_folder_and_bad_specs(tiny_model_dir, tmp_path) -> None:
    bundle = resolve_bundle(str(tiny_model_dir))
    assert (bundle.kind, bundle.task, bundle.is_adapter, bundle.context()) == ("model", None, False, None)
    for spec in (str(tmp_path / "missing"), "no-such-run", ""):
        with pytest.raises(ConfigError) as error:
            resolve_bundle(spec)
        assert "\n" not in str(error.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="is not an export folder .*pipeline.json.*run.json.*config.json"):
        resolve_bundle(str(empty))


def test_serving_settings_round_trip_and_reject_unknown_keys() -> None:
    settings = ServingSettings(
        confidence_threshold=0.4,
        fallback_label="talk_to_human",
        json_schema={"type": "object"},
        retrieval={"chunks_file": "c.jsonl", "top_k": 3},
    )
    assert ServingSettings.from_dict(settings.to_dict()) == settings
    assert ServingSettings.from_dict(None) == ServingSettings()
    with pytest.raises(ConfigError, match="unknown key\\(s\\) threshold"):
        ServingSettings.from_dict({"threshold": 0.5})


def test_chunks_round_trip_and_a_bad_line_is_named(tmp_path) -> None:
    chunks = [Chunk("doc-1", 0, 0, 11, "Hello world"), Chunk("doc-1", 1, 6, 20, "world, and café")]
    path = write_chunks(tmp_path / "chunks.jsonl", chunks)
    assert read_chunks(path) == chunks
    path.write_text(path.read_text(encoding="utf-8") + '{"doc_id": "x"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="chunks.jsonl line 3 is not a retrieval chunk"):
        read_chunks(path)


def test_twists_serving_hooks(tmp_path) -> None:
    intent = twist_serving_settings(
        {"twist": {"kind": "intent_router", "fallback_label": "human"}},
        {"threshold": 0.42, "fallback_label": "human"},
        tmp_path,
    )
    assert (intent.confidence_threshold, intent.fallback_label) == (0.42, "human")
    schema = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}
    assert (
        twist_serving_settings({"twist": {"kind": "json_constrained", "schema": schema}}, {}, tmp_path).json_schema
        == schema
    )
    assert twist_serving_settings({"twist": {"kind": "json_constrained"}}, {}, tmp_path) == ServingSettings()
    rag = {"twist": {"kind": "faq_rag", "retrieval": "bm25", "top_k": 2}}
    assert twist_serving_settings(rag, {}, tmp_path) == ServingSettings()  # no chunks saved: nothing to retrieve
    write_chunks(tmp_path / "chunks.jsonl", [Chunk("d", 0, 0, 2, "hi")])
    assert twist_serving_settings(rag, {}, tmp_path).retrieval == {
        "chunks_file": str(tmp_path / "chunks.jsonl"),
        "mode": "bm25",
        "top_k": 2,
        "candidates": 50,
    }
    assert twist_serving_settings(None, {}, tmp_path) == ServingSettings()


def test_the_default_export_folder_is_named_by_model_format_and_quant(tmp_path: Path, monkeypatch) -> None:
    """One rule for the CLI and the UI: ``<BREWSLM_HOME>/exports/<slug>-<format>[-<quant>]``."""
    from brewslm.export.bundle import default_export_dir

    monkeypatch.setenv("BREWSLM_HOME", str(tmp_path))
    assert default_export_dir("r1", "hf", None) == tmp_path / "exports" / "r1-hf"
    assert default_export_dir("my run/x", "gguf", "q8_0") == tmp_path / "exports" / "my-run-x-gguf-q8_0"
    assert default_export_dir("..", "gguf", "f16") == tmp_path / "exports" / "model-gguf-f16"
