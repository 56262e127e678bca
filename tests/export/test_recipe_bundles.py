"""Recipe output folders as bundles: the built-in intent, faq_rag and json_extract recipes run on
the tiny model, and their folders (and the exports the pipeline wrote) carry the twist's serving
settings - the tuned threshold and fallback label, the indexed chunks, the target schema."""

from __future__ import annotations

import json
from pathlib import Path

from brewslm.export import resolve_bundle
from brewslm.retrieval import read_chunks
from recipes.test_builtin_recipes import FAST


def _run(name: str, base: Path, out: Path | None, *overrides: str):
    from brewslm.pipeline import run_recipe
    from brewslm.recipes import load_recipe

    # export_anyway: these check the exports' serving settings, whether or not two steps pass the gates
    return run_recipe(
        load_recipe(name, [*FAST, *overrides]), base_model=str(base), out_dir=out, quiet=True, export_anyway=True
    )


def test_intent_recipe_serves_its_tuned_threshold_from_folder_name_and_export(tiny_model_dir) -> None:
    result = _run("intent", tiny_model_dir, None)  # the default out dir, so the recipe name resolves too
    section = result.twist
    bundle = resolve_bundle(str(result.out_dir))
    assert (bundle.kind, bundle.name, bundle.task, bundle.is_adapter) == ("recipe", "intent", "classification", True)
    assert bundle.serving.confidence_threshold == section["threshold"]
    assert bundle.serving.fallback_label == "talk_to_human"
    assert bundle.recipe["name"] == "intent" and bundle.eval_report == Path(result.report_html).with_name("report.json")
    assert resolve_bundle("intent") == bundle

    exported = resolve_bundle(result.export_dir)  # the pipeline's export stage wrote a full hf export
    assert exported.kind == "export" and exported.serving == bundle.serving and exported.recipe == bundle.recipe
    model_dir = Path(result.export_dir)
    assert (model_dir / "README.md").is_file() and (model_dir / "recipe.yaml").is_file()
    assert "talk_to_human" in (model_dir / "README.md").read_text(encoding="utf-8")


def test_faq_rag_and_json_extract_recipes_carry_retrieval_and_schema(tiny_model_dir, tmp_path) -> None:
    rag = _run("faq_rag", tiny_model_dir, tmp_path / "rag", "twist.retrieval=bm25")
    bundle = resolve_bundle(str(rag.out_dir))
    retrieval = bundle.serving.retrieval
    assert retrieval["mode"] == "bm25" and retrieval["top_k"] == 3
    indexed = read_chunks(retrieval["chunks_file"])
    assert indexed and json.loads((rag.out_dir / "twist" / "retrieval.json").read_text())["chunks"] == len(indexed)
    exported = resolve_bundle(rag.export_dir)
    assert Path(exported.serving.retrieval["chunks_file"]) == Path(rag.export_dir).resolve() / "chunks.jsonl"
    assert read_chunks(exported.serving.retrieval["chunks_file"]) == indexed

    extract = _run("json_extract", tiny_model_dir, tmp_path / "extract")
    bundle = resolve_bundle(str(extract.out_dir))
    assert bundle.scoring_mode == "field_match" and bundle.serving.json_schema["type"] == "object"
    assert set(bundle.serving.json_schema["properties"]) >= set(bundle.context().fields)
    assert resolve_bundle(extract.export_dir).serving.json_schema == bundle.serving.json_schema
