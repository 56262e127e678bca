"""``brewslm export RUN --format hf``: a merged, standalone Hugging Face folder that carries its story.

    result = export_hf("intent", "exports/intent")        # a recipe, run folder or run name
    result.out_dir, result.files                          # {"weights": "model.safetensors", "card": "README.md", ...}

The folder holds:

- the merged weights (a LoRA adapter folded in with peft's ``merge_and_unload``; full fine-tunes
  as trained), ``config.json``, ``generation_config.json``, the tokenizer and its chat template -
  written by ``training.merge.export_merged``, so it loads with plain transformers;
- ``recipe.yaml``: the recipe it came from (when it came from one);
- the evaluation report it was measured with: ``report.json`` / ``report.md`` / ``report.html``
  and their PNG pictures (the predictions files stay behind: they hold the test data);
- ``chunks.jsonl``: a rag model's indexed passages (its serving settings point there);
- ``README.md``: the model card (``model_card``);
- ``brewslm_export.json``: the bundle (task, render context, recipe, serving settings, eval
  report) so ``resolve_bundle(folder)`` serves it exactly as the recipe or run would, plus
  ``export_merged``'s provenance keys (run, dataset, method, base_model) that evaluation reads.

A plain model folder or an existing export has nothing to merge: exporting one to ``hf`` is a
one-line error (``--format gguf`` accepts them).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brewslm.errors import ConfigError
from brewslm.export.bundle import EXPORT_RECORD, ModelBundle, export_record, resolve_bundle
from brewslm.retrieval.chunking import CHUNKS_FILE

RECIPE_FILE = "recipe.yaml"
CARD_FILE = "README.md"
REPORT_FILES = ("report.json", "report.md", "report.html")  # plus the report folder's *.png


@dataclass(frozen=True)
class HfExport:
    """What ``export_hf`` wrote: the folder, the bundle it came from and its files by role."""

    out_dir: Path
    bundle: ModelBundle
    files: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "hf",
            "out_dir": str(self.out_dir),
            "name": self.bundle.name,
            "source": self.bundle.kind,
            "task": self.bundle.task,
            "files": self.files,
        }


def source_bundle(spec: str | Path | ModelBundle) -> ModelBundle:
    return spec if isinstance(spec, ModelBundle) else resolve_bundle(spec)


def prepare_out_dir(out: Path, *, overwrite: bool) -> None:
    """Refuse a non-empty folder unless ``overwrite``; a previous export (it has ``brewslm_export.json``)
    is cleared first so no stale file (an old report picture, chunks) survives."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"export folder {out} is a file; choose a folder path")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(f"export folder {out} is not empty; choose a new folder or pass --overwrite")
        if (out / EXPORT_RECORD).is_file():
            shutil.rmtree(out)


def export_hf(spec: str | Path | ModelBundle, out_dir: str | Path, *, overwrite: bool = False) -> HfExport:
    """Write the merged folder with recipe, eval report, chunks, model card and bundle record."""
    from brewslm.export.model_card import collect_card_facts, render_model_card
    from brewslm.training.merge import export_merged

    bundle = source_bundle(spec)
    if bundle.run_dir is None or bundle.kind not in ("run", "recipe"):
        raise ConfigError(
            f"'{bundle.name}' is a {'merged export' if bundle.kind == 'export' else 'plain model'} "
            f"folder, there is nothing to merge; export a training run or recipe "
            "(or use --format gguf on this folder)"
        )
    out = Path(out_dir).expanduser()
    prepare_out_dir(out, overwrite=overwrite)
    export_merged(bundle.run_dir, out, overwrite=True)  # emptiness checked above
    files: dict[str, str] = {"weights": _weights_name(out), "tokenizer": "tokenizer.json", "config": "config.json"}
    if (out / "chat_template.jinja").is_file():
        files["chat_template"] = "chat_template.jinja"
    if bundle.recipe is not None:
        import yaml

        (out / RECIPE_FILE).write_text(
            yaml.safe_dump(bundle.recipe, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        files["recipe"] = RECIPE_FILE
    files.update(copy_report_files(bundle.eval_report, out))
    chunks = (bundle.serving.retrieval or {}).get("chunks_file")
    if chunks:
        if not Path(chunks).is_file():
            raise ConfigError(f"the retrieval chunks file {chunks} is missing; re-run the recipe's data stage")
        shutil.copyfile(chunks, out / CHUNKS_FILE)
        files["chunks"] = CHUNKS_FILE
    files["card"] = CARD_FILE
    files["record"] = EXPORT_RECORD
    facts = collect_card_facts(bundle, files=sorted({p.name for p in out.iterdir()} | {CARD_FILE}))
    (out / CARD_FILE).write_text(render_model_card(facts), encoding="utf-8")
    # export_merged's provenance keys stay (evaluation reads base_model from them); the bundle's join them
    provenance = json.loads((out / EXPORT_RECORD).read_text(encoding="utf-8"))
    record = {
        **provenance,
        **export_record(
            bundle,
            base_model=provenance.get("base_model"),
            files=files,
            extra={k: provenance[k] for k in ("run_name", "dataset", "method") if k in provenance},
        ),
    }
    (out / EXPORT_RECORD).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return HfExport(out, bundle, files)


def copy_report_files(report: Path | None, out: Path) -> dict[str, str]:
    """Copy the eval report (json/md/html and its pictures) into ``out``; roles -> file names."""
    if report is None:
        return {}
    copied: dict[str, str] = {}
    folder = report.parent
    for name in REPORT_FILES:
        if (folder / name).is_file():
            shutil.copyfile(folder / name, out / name)
            copied[f"report_{Path(name).suffix.lstrip('.')}"] = name
    for picture in sorted(folder.glob("*.png")):
        shutil.copyfile(picture, out / picture.name)
        copied[f"picture_{picture.stem}"] = picture.name
    return copied


def _weights_name(out: Path) -> str:
    single = out / "model.safetensors"
    if single.is_file():
        return single.name
    index = out / "model.safetensors.index.json"
    return index.name if index.is_file() else next((p.name for p in sorted(out.glob("*.safetensors"))), "")


__all__ = [
    "CARD_FILE",
    "HfExport",
    "RECIPE_FILE",
    "REPORT_FILES",
    "copy_report_files",
    "export_hf",
    "prepare_out_dir",
    "source_bundle",
]
