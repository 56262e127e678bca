"""``brewslm export RUN [--format hf|gguf] [--push-to-hub ORG/NAME]``: ship a fine-tune as a merged HF folder or a
GGUF file, and publish it on the Hub."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from brewslm.cli.command import Command
from brewslm.cli.options import json_flag, option
from brewslm.errors import ConfigError
from brewslm.export.bundle import default_export_dir
from brewslm.export.check import check_folder
from brewslm.export.hub import check_repo_id, push_folder
from brewslm.output import key_values

FORMATS = ("hf", "gguf")


@dataclass(kw_only=True)
class ExportOptions:
    run: str = option(
        "What to export: a recipe name or output folder, a training run folder or name (gguf also "
        "takes an export folder or a plain model folder).",
        positional=True,
    )
    format: str = option(
        "hf: a merged standalone Hugging Face folder with model card, recipe and eval report; "
        "gguf: one llama.cpp / Ollama file (Llama-family models).",
        default="hf",
        choices=FORMATS,
    )
    out: Optional[str] = option(
        "Folder to write to, new or empty (default: <BREWSLM_HOME>/exports/<name>-<format>).",
        default=None,
        metavar="DIR",
    )
    quant: Optional[str] = option(
        "gguf tensor type: f32, f16 (default), q8_0, or the K-quants q4_k_m, q5_k_m, q6_k (llama.cpp's quantizer).",
        default=None,
        choices=("f32", "f16", "q8_0", "q4_k_m", "q5_k_m", "q6_k"),
    )
    converter: str = option(
        "gguf: llama.cpp (its converter and quantizer, verified inside llama.cpp; built once and "
        "cached, 10-30 minutes the first time on a small CPU), builtin (Llama-family f32/f16/q8_0, "
        "no build), or auto: llama.cpp when it is set up or a K-quant needs it, else builtin.",
        default="auto",
        choices=("auto", "llama.cpp", "builtin"),
    )
    overwrite: bool = option(
        "Write into a folder that is not empty (a previous export there is replaced).", default=False
    )
    no_verify: bool = option("gguf: skip loading the file back and comparing its logits with the model.", default=False)
    check: bool = option(
        "hf: load the exported folder with transformers 4.57 too (a cached environment, created "
        "on first use) and compare greedy outputs on fixed prompts with this transformers.",
        default=False,
    )
    check_python: Optional[str] = option(
        "hf --check: the interpreter of the other environment (one with transformers 4.x) instead of the cached one.",
        default=None,
        metavar="PATH",
    )
    push_to_hub: Optional[str] = option(
        "Also push the exported folder to this Hugging Face Hub repository, ORG/NAME "
        "(created when missing; token from HF_TOKEN or `hf auth login`; HF_ENDPOINT "
        "for a mirror).",
        default=None,
        metavar="ORG/NAME",
    )
    private: bool = option("--push-to-hub: create the repository as private.", default=False)
    json: bool = json_flag()


def export_command(opts: ExportOptions) -> dict[str, Any]:
    """Export a fine-tune so applications can run it.

    --format hf writes a merged standalone folder (LoRA folded in) that loads with plain
    transformers, with its tokenizer and chat template, the recipe, the eval report and a model card
    (README.md: base model, data and mapping, metrics with lift, limitations); `brewslm serve` takes
    it as it is. The folder loads the same in transformers 4.4x and 5.x (both spellings of the RoPE
    settings, a tokenizer class both know); --check proves it on this model by comparing greedy
    outputs under transformers 4.57 and this one, exiting 1 when they differ. --format gguf writes one GGUF file for llama.cpp / Ollama (f32, f16 or q8_0) and
    checks it by loading it back through transformers and comparing logits with the model.
    --push-to-hub ORG/NAME uploads the exported folder (weights, tokenizer, model card, eval report)
    to the Hugging Face Hub in one commit, once the export (and its check) passed.
    """
    from brewslm.export.bundle import resolve_bundle

    if opts.format == "hf" and opts.quant is not None:
        raise ConfigError("--quant applies to --format gguf; an hf export keeps the trained precision")
    if opts.format == "hf" and opts.converter != "auto":
        raise ConfigError("--converter applies to --format gguf")
    if opts.format == "hf" and opts.no_verify:
        raise ConfigError("--no-verify applies to --format gguf; an hf export has nothing to verify")
    if opts.format != "hf" and (opts.check or opts.check_python):
        raise ConfigError("--check applies to --format hf; a gguf export is verified by default")
    if opts.check_python and not opts.check:
        raise ConfigError("--check-python goes with --check")
    if opts.private and not opts.push_to_hub:
        raise ConfigError("--private goes with --push-to-hub")
    if opts.push_to_hub:
        check_repo_id(opts.push_to_hub)  # before minutes of exporting
    bundle = resolve_bundle(opts.run)
    quant = (opts.quant or "f16") if opts.format == "gguf" else None
    out = Path(opts.out).expanduser() if opts.out else default_export_dir(bundle.name, opts.format, quant)
    if opts.format == "hf":
        from brewslm.export.hf import export_hf

        result = export_hf(bundle, out, overwrite=opts.overwrite).to_dict()
        if opts.check:
            import sys

            result["check"] = check_folder(out, opts.check_python, progress=lambda line: print(line, file=sys.stderr))
    else:
        import sys

        from brewslm.export.gguf import export_gguf

        result = export_gguf(
            bundle,
            out,
            quant=quant,
            overwrite=opts.overwrite,
            verify=not opts.no_verify,
            converter=opts.converter,
            progress=lambda line: print(line, file=sys.stderr),
        ).to_dict()
    failed = export_exit_status(result) or (result.get("verification") or {}).get("passed") is False
    if opts.push_to_hub and failed:  # an export that failed its check or verification is not published
        result["hub_refused"] = (
            f"not pushed to {opts.push_to_hub}: the export failed its "
            f"{'check' if result.get('check') else 'verification'}"
        )
    elif opts.push_to_hub:
        import sys

        result["hub"] = push_folder(
            out,
            opts.push_to_hub,
            repo_type="model",
            private=opts.private,
            commit_message=f"Upload {bundle.name} ({opts.format} export) with BrewSLM",
            progress=lambda line: print(line, file=sys.stderr),
        ).to_dict()
    return result


def render_export(result: dict[str, Any]) -> str:
    hub = result.get("hub")
    pushed = (
        [("pushed", result["hub_refused"])]
        if result.get("hub_refused")
        else [("pushed", f"{hub['url']} ({len(hub['files'])} files, commit {hub['commit'][:12]})")]
        if hub
        else []
    )
    return key_values(_export_lines(result) + pushed)


def _export_lines(result: dict[str, Any]) -> list[tuple[str, Any]]:
    if result["format"] == "hf":
        files = result["files"]
        return [
            ("exported", f"{result['name']} ({result['source']}, task {result['task'] or '-'})"),
            ("folder", result["out_dir"]),
            ("model card", files.get("card")),
            ("eval report", files.get("report_html") or "none found"),
            ("recipe", files.get("recipe") or "-"),
            ("files", ", ".join(sorted(files.values()))),
            *([("checked", _check_text(result["check"]))] if result.get("check") else []),
        ]
    check = result.get("verification")
    verified = (
        "skipped (--no-verify)"
        if not check
        else (
            f"{'passed' if check['passed'] else 'FAILED'}: max |logit diff| {check['max_abs_diff']:.3g} "
            f"({check['max_rel_diff']:.1e} of the logit scale), top-1 agreement {check['top1_agreement']:.3f} "
            f"over {check['positions']} positions, tokenizer {'identical' if check['tokens_match'] else 'different'}"
        )
    )
    return [
        ("exported", f"{result['name']} ({result['source']}, {result.get('converter', 'builtin')} converter)"),
        ("gguf", result["path"]),
        (
            "quantization",
            f"{result['quant']} ({', '.join(f'{n} {t}' for t, n in result['type_counts'].items())} tensors)",
        ),
        ("size", f"{result['bytes'] / 1e6:,.1f} MB"),
        ("verified", verified),
    ]


def _check_text(check: dict[str, Any]) -> str:
    versions = " and ".join(f"transformers {v}" for v in check["versions"] if v)
    errors = [e for e in check["errors"] if e]
    if errors:
        return f"FAILED to load under {versions or 'the other environment'}: {errors[0]}"
    return (
        f"{'passed' if check['passed'] else 'FAILED'} under {versions}: prompt ids agree on "
        f"{check['tokens_agree']:.0%}, greedy outputs on {check['outputs_agree']:.0%} of {check['prompts']} prompts, "
        f"RoPE base {' / '.join(map(str, check['rope_theta']))}"
    )


def export_exit_status(result: dict[str, Any]) -> int:
    return 1 if (result.get("check") and not result["check"]["passed"]) or result.get("hub_refused") else 0


COMMAND = Command(export_command, ExportOptions, render_export, export_exit_status)

__all__ = ["COMMAND", "ExportOptions", "export_command"]
