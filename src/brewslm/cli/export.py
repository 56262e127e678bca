"""``brewslm export RUN [--format hf|gguf]``: ship a fine-tune as a merged HF folder or a GGUF file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from brewslm.cli.command import Command
from brewslm.cli.options import json_flag, option
from brewslm.output import key_values
from brewslm.errors import ConfigError

FORMATS = ("hf", "gguf")


@dataclass(kw_only=True)
class ExportOptions:
    run: str = option("What to export: a recipe name or output folder, a training run folder or name (gguf also "
                      "takes an export folder or a plain model folder).", positional=True)
    format: str = option("hf: a merged standalone Hugging Face folder with model card, recipe and eval report; "
                         "gguf: one llama.cpp / Ollama file (Llama-family models).", default="hf", choices=FORMATS)
    out: Optional[str] = option("Folder to write to, new or empty (default: <BREWSLM_HOME>/exports/<name>-<format>).",
                                default=None, metavar="DIR")
    quant: Optional[str] = option("gguf tensor type: f32, f16 (default) or q8_0.", default=None,
                                  choices=("f32", "f16", "q8_0"))
    overwrite: bool = option("Write into a folder that is not empty (a previous export there is replaced).",
                             default=False)
    no_verify: bool = option("gguf: skip loading the file back and comparing its logits with the model.",
                             default=False)
    json: bool = json_flag()


def default_out_dir(name: str, fmt: str, quant: str | None) -> Path:
    from brewslm.workspace import home_dir

    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"
    return home_dir() / "exports" / "-".join(part for part in (slug, fmt, quant) if part)


def export_command(opts: ExportOptions) -> dict[str, Any]:
    """Export a fine-tune so applications can run it.

    --format hf writes a merged standalone folder (LoRA folded in) that loads with plain
    transformers, with its tokenizer and chat template, the recipe, the eval report and a model card
    (README.md: base model, data and mapping, metrics with lift, limitations); `brewslm serve` takes
    it as it is. --format gguf writes one GGUF file for llama.cpp / Ollama (f32, f16 or q8_0) and
    checks it by loading it back through transformers and comparing logits with the model.
    """
    from brewslm.export.bundle import resolve_bundle

    if opts.format == "hf" and opts.quant is not None:
        raise ConfigError("--quant applies to --format gguf; an hf export keeps the trained precision")
    if opts.format == "hf" and opts.no_verify:
        raise ConfigError("--no-verify applies to --format gguf; an hf export has nothing to verify")
    bundle = resolve_bundle(opts.run)
    quant = (opts.quant or "f16") if opts.format == "gguf" else None
    out = Path(opts.out).expanduser() if opts.out else default_out_dir(bundle.name, opts.format, quant)
    if opts.format == "hf":
        from brewslm.export.hf import export_hf

        return export_hf(bundle, out, overwrite=opts.overwrite).to_dict()
    from brewslm.export.gguf import export_gguf

    return export_gguf(bundle, out, quant=quant, overwrite=opts.overwrite,
                       verify=not opts.no_verify).to_dict()


def render_export(result: dict[str, Any]) -> str:
    if result["format"] == "hf":
        files = result["files"]
        return key_values([("exported", f"{result['name']} ({result['source']}, task {result['task'] or '-'})"),
                           ("folder", result["out_dir"]), ("model card", files.get("card")),
                           ("eval report", files.get("report_html") or "none found"),
                           ("recipe", files.get("recipe") or "-"),
                           ("files", ", ".join(sorted(files.values())))])
    check = result.get("verification")
    verified = "skipped (--no-verify)" if not check else (
        f"{'passed' if check['passed'] else 'FAILED'}: max |logit diff| {check['max_abs_diff']:.3g} "
        f"({check['max_rel_diff']:.1e} of the logit scale), top-1 agreement {check['top1_agreement']:.3f} "
        f"over {check['positions']} positions, tokenizer {'identical' if check['tokens_match'] else 'different'}")
    return key_values([("exported", f"{result['name']} ({result['source']})"), ("gguf", result["path"]),
                       ("quantization", f"{result['quant']} ({', '.join(f'{n} {t}' for t, n in result['type_counts'].items())} tensors)"),
                       ("size", f"{result['bytes'] / 1e6:,.1f} MB"), ("verified", verified)])


COMMAND = Command(export_command, ExportOptions, render_export)

__all__ = ["COMMAND", "ExportOptions", "default_out_dir", "export_command"]
