"""``brewslm train ...``: fine-tune a base model on an imported dataset, export the result.

    brewslm train --dataset reviews                         # LoRA on the embedded SmolLM2
    brewslm train --dataset reviews --config train.yaml lora.r=8 epochs=2
    brewslm train --dataset reviews early_stopping.metric=macro_f1 early_stopping.patience=2
    brewslm train --dataset reviews search.enabled=true search.budget_minutes=20   # choose lr and epochs first
    brewslm export reviews-lora-20250101-120000 --out ./reviews-model   # the merged, standalone model

``brewslm train`` is ``brewslm train run`` (the group's default command); ``brewslm train export``
is an alias of ``brewslm export ... --format hf``, kept for old scripts: it says so and runs it.
Every training option lives in ``brewslm.training.TrainConfig``; the command line sets the common
ones as flags and any other as ``KEY=VALUE``. The library calls are imported inside each command
so ``brewslm --help`` stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brewslm.cli import export as export_cli
from brewslm.cli.command import Command
from brewslm.cli.options import json_flag, option, options_help
from brewslm.errors import BrewError
from brewslm.options import describe_options
from brewslm.output import key_values
from brewslm.training.config import TrainConfig


@dataclass(kw_only=True)
class TrainOptions:
    dataset: str | None = option(
        "Dataset name in the workspace, or a dataset version folder (or set 'dataset' in --config).",
        default=None,
        metavar="NAME|PATH",
    )
    config: str | None = option(
        "YAML file of training options; flags and KEY=VALUE overrides win over it.", default=None, metavar="FILE"
    )
    base: str | None = option(
        "Base model: a local model folder, a .gguf file or a hub id "
        "(default: BREWSLM_BASE_MODEL, else the embedded SmolLM2-135M-Instruct).",
        default=None,
        metavar="MODEL",
    )
    method: str | None = option(
        "lora (default), full, dpo or orpo.", default=None, choices=("lora", "full", "dpo", "orpo")
    )
    overrides: list[str] = option(
        "Any training option as KEY=VALUE, dotted for sections (e.g. lora.r=8 epochs=2); the options are listed below.",
        default=[],
        positional=True,
        metavar="KEY=VALUE",
    )
    quiet: bool = option("No progress lines on stderr.", default=False)
    json: bool = json_flag()


def _options_help() -> str:
    return options_help(describe_options(TrainConfig), "training options (KEY=VALUE):")


def train_run(opts: TrainOptions) -> dict[str, Any]:
    from brewslm.storage.processes import stop_cleanly_on_sigterm
    from brewslm.training import load_config
    from brewslm.training.report import StderrProgress
    from brewslm.tuning.search import train_as_configured

    config = load_config(
        opts.config, overrides=opts.overrides, dataset=opts.dataset, base_model=opts.base, method=opts.method
    )
    progress = (lambda event: None) if opts.quiet else StderrProgress(every=config.log_every)

    def run() -> dict[str, Any]:
        result, search = train_as_configured(config, progress)
        return {**result.to_dict(), **({"search": search} if search is not None else {})}

    # SIGTERM (kill, a scheduler) stops it like Ctrl-C: the loop records the run interrupted, with its event
    return stop_cleanly_on_sigterm(run)


train_run.__doc__ = f"""Fine-tune a base model on an imported dataset (LoRA or full, completion-only loss).

Writes a run folder (adapter or weights, tokenizer, resolved config, metrics.jsonl, loss curve)
under <BREWSLM_HOME>/runs unless output_dir is set; progress goes to stderr. Bad options or data
fail before training starts. early_stopping.metric may name a task metric (macro_f1, f1...), scored on
the validation split at every evaluation; search.enabled=true first chooses the learning rate and
epochs by successive halving on the validation split (search.json in the search folder), and the
model kept is the winning trial's run.

{_options_help()}
"""


def render_train(result: dict[str, Any]) -> str:
    if result.get("rank"):  # a multi-process run: rank 0 prints the summary
        return ""
    eval_loss = result.get("eval_loss")
    best, search = result.get("best"), result.get("search")
    rows = [
        ("run", result["run_dir"]),
        ("model", result["model_dir"]),
        (
            "steps",
            f"{result['steps']} ({result['epochs']:.2f} epochs){' - stopped early' if result['stopped_early'] else ''}",
        ),
        ("train loss", f"{result['train_loss']:.4f}"),
        ("validation loss", f"{eval_loss:.4f}" if eval_loss is not None else "-"),
    ]
    if best and best.get("metric") != "eval_loss":
        rows.append((f"validation {best['metric']}", f"{best['value']:.4f} (kept the model of step {best['step']})"))
    if search:
        settings = search["best_settings"]
        budget = " - stopped by the time budget" if search["stopped_by_budget"] else ""
        rows.append(
            (
                "search",
                f"{len(search['trials'])} trials, best lr {settings['learning_rate']:g} x "
                f"{settings['epochs']:g} epochs{budget} ({search['search_dir']})",
            )
        )
    rows.append(("throughput", f"{result['tokens_per_second']:.0f} tokens/s over {result['train_seconds']:.0f} s"))
    return key_values(rows)


@dataclass(kw_only=True)
class ExportOptions:
    run: str = option("Run folder, or a run name under <BREWSLM_HOME>/runs.", positional=True)
    merge: bool = option("Accepted for old scripts: 'brewslm export' always merges the adapter in.", default=False)
    out: str | None = option(
        "Folder to write the model to, new or empty (default: <BREWSLM_HOME>/exports/<name>-hf).",
        default=None,
        metavar="DIR",
    )
    overwrite: bool = option("Write into a folder that is not empty.", default=False)
    json: bool = json_flag()


def train_export(opts: ExportOptions) -> dict[str, Any]:
    """Moved: this is 'brewslm export RUN --format hf' now; this alias says so and runs it.

    'brewslm export' writes the same merged standalone folder (model card, recipe and the run's
    latest evaluation report included) and also writes GGUF.
    """
    import shlex
    import sys

    argv = [
        "brewslm",
        "export",
        opts.run,
        "--format",
        "hf",
        *(["--out", opts.out] if opts.out else []),
        *(["--overwrite"] if opts.overwrite else []),
    ]
    moved = f"'brewslm train export' is now '{shlex.join(argv)}'"
    try:
        result = export_cli.export_command(
            export_cli.ExportOptions(run=opts.run, format="hf", out=opts.out, overwrite=opts.overwrite)
        )
    except BrewError as exc:  # still one error line, saying where the command went
        raise type(exc)(f"{exc} ({moved})") from exc
    # stderr: a --json caller's stdout stays one JSON document
    print(f"note: {moved}; it ran that", file=sys.stderr)
    return result


COMMANDS: dict[str, Any] = {
    "default": "run",
    "run": Command(train_run, TrainOptions, render_train),
    "export": Command(train_export, ExportOptions, export_cli.render_export),
}

__all__ = ["COMMANDS", "ExportOptions", "TrainOptions", "train_export", "train_run"]
