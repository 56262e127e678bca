"""``brewslm train ...``: fine-tune a base model on an imported dataset, export the result.

    brewslm train --dataset reviews                         # LoRA on the embedded SmolLM2
    brewslm train --dataset reviews --config train.yaml lora.r=8 epochs=2
    brewslm train export reviews-lora-20250101-120000 --merge --out ./reviews-model

``brewslm train`` is ``brewslm train run`` (the group's default command). Every training option
lives in ``brewslm.training.TrainConfig``; the command line sets the common ones as flags and any
other as ``KEY=VALUE``. The library calls are imported inside each command so ``brewslm --help``
stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brewslm.cli.command import Command
from brewslm.cli.options import json_flag, option, options_help
from brewslm.output import key_values
from brewslm.errors import ConfigError
from brewslm.training.config import describe_options


@dataclass(kw_only=True)
class TrainOptions:
    dataset: str | None = option("Dataset name in the workspace, or a dataset version folder (or set 'dataset' in --config).",
                                 default=None, metavar="NAME|PATH")
    config: str | None = option("YAML file of training options; flags and KEY=VALUE overrides win over it.",
                                default=None, metavar="FILE")
    base: str | None = option("Base model: a local model folder, a .gguf file or a hub id "
                              "(default: BREWSLM_BASE_MODEL, else the embedded SmolLM2-135M-Instruct).",
                              default=None, metavar="MODEL")
    method: str | None = option("lora (default), full, dpo or orpo.", default=None, choices=("lora", "full", "dpo", "orpo"))
    overrides: list[str] = option("Any training option as KEY=VALUE, dotted for sections (e.g. lora.r=8 epochs=2); "
                                  "the options are listed below.", default=[], positional=True, metavar="KEY=VALUE")
    quiet: bool = option("No progress lines on stderr.", default=False)
    json: bool = json_flag()


def _options_help() -> str:
    return options_help(describe_options(), "training options (KEY=VALUE):")


def train_run(opts: TrainOptions) -> dict[str, Any]:
    from brewslm.training import load_config, train
    from brewslm.training.report import StderrProgress

    config = load_config(opts.config, overrides=opts.overrides, dataset=opts.dataset, base_model=opts.base,
                         method=opts.method)
    progress = (lambda event: None) if opts.quiet else StderrProgress(every=config.log_every)
    return train(config, progress=progress).to_dict()


train_run.__doc__ = f"""Fine-tune a base model on an imported dataset (LoRA or full, completion-only loss).

Writes a run folder (adapter or weights, tokenizer, resolved config, metrics.jsonl, loss curve)
under <BREWSLM_HOME>/runs unless output_dir is set; progress goes to stderr. Bad options or data
fail before training starts.

{_options_help()}
"""


def render_train(result: dict[str, Any]) -> str:
    if result.get("rank"):  # a multi-process run: rank 0 prints the summary
        return ""
    eval_loss = result.get("eval_loss")
    return key_values([
        ("run", result["run_dir"]),
        ("model", result["model_dir"]),
        ("steps", f"{result['steps']} ({result['epochs']:.2f} epochs){' - stopped early' if result['stopped_early'] else ''}"),
        ("train loss", f"{result['train_loss']:.4f}"),
        ("validation loss", f"{eval_loss:.4f}" if eval_loss is not None else "-"),
        ("throughput", f"{result['tokens_per_second']:.0f} tokens/s over {result['train_seconds']:.0f} s"),
    ])


@dataclass(kw_only=True)
class ExportOptions:
    run: str = option("Run folder, or a run name under <BREWSLM_HOME>/runs.", positional=True)
    merge: bool = option("Fold the LoRA adapter into the base weights, giving a standalone model (required).", default=False)
    out: str = option("Folder to write the model to (new or empty).", metavar="DIR")
    overwrite: bool = option("Write into a folder that is not empty.", default=False)
    json: bool = json_flag()


def _run_folder(name: str) -> Path:
    from brewslm.training.run import find_run, runs_dir

    run = find_run(name)
    if run is None:
        raise ConfigError(f"no training run '{name}': give a run folder or the name of a run under {runs_dir()}")
    return run


def train_export(opts: ExportOptions) -> dict[str, Any]:
    """Export a finished run as a standalone Hugging Face model folder (LoRA merged in).

    The folder loads with plain transformers (AutoModelForCausalLM / AutoTokenizer.from_pretrained)
    and keeps the tokenizer's chat template. It is what 'brewslm export RUN --format hf' writes
    (model card and the run's latest evaluation report included); that command also writes GGUF.
    """
    from brewslm.export.hf import export_hf

    if not opts.merge:
        raise ConfigError("export writes a merged standalone model; pass --merge (the adapter itself is in the run's model/ folder)")
    run = _run_folder(opts.run)
    exported = export_hf(run, opts.out, overwrite=opts.overwrite)
    return {"run": str(run), "out": str(exported.out_dir)}


def render_export(result: dict[str, Any]) -> str:
    return key_values([("run", result["run"]), ("merged model", result["out"])])


COMMANDS: dict[str, Any] = {
    "default": "run",
    "run": Command(train_run, TrainOptions, render_train),
    "export": Command(train_export, ExportOptions, render_export),
}

__all__ = ["COMMANDS", "ExportOptions", "TrainOptions", "train_export", "train_run"]
