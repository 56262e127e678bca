"""``brewslm models ...``: the catalog of base models and which one to fine-tune.

    brewslm models list --seq-len 512 --batch-size 8
    brewslm models recommend --dataset tickets --budget 30m

Any catalog id works wherever a base model is named (``brewslm train --base qwen3-0.6b``): it stands
for its hub id, which loads when the hub is reachable or the model is already in the local hub
cache. The library calls are imported inside each command so ``brewslm --help`` stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brewslm.cli.command import Command
from brewslm.cli.options import json_flag, option
from brewslm.errors import ConfigError
from brewslm.output import key_values, table

DEVICES = ("cpu", "cuda")


@dataclass(kw_only=True)
class ListOptions:
    seq_len: int = option("Tokens per training sequence, for the memory estimates.", default=512)
    batch_size: int = option("Sequences per micro-batch, for the memory estimates.", default=8)
    device: str = option("Where training would run, for the tokens/s estimates.", default="cpu", choices=DEVICES)
    no_measure: bool = option(
        "Do not time the embedded model's training once (the tokens/s then rest on a default "
        "efficiency unless an earlier measurement is cached).",
        default=False,
    )
    json: bool = json_flag()


def models_list(opts: ListOptions) -> dict[str, Any]:
    """List the catalog: parameters, context, licence, chat template, LoRA / full fine-tuning memory
    and training tokens/s on this machine.

    Memory is training's own pre-flight estimate (weights, gradients, AdamW, activations, logits)
    for fp32 and bf16 compute. Tokens/s come from a matmul probe of this machine and an efficiency
    measured once with a few timed LoRA steps of the embedded SmolLM2 (both cached); each value says
    whether it was measured or estimated.
    """
    from brewslm.tuning.recommend import list_models, machine_speed

    if opts.seq_len < 1 or opts.batch_size < 1:
        raise ConfigError("--seq-len and --batch-size must be at least 1")
    speed = machine_speed(opts.device, measure=not opts.no_measure)
    models = list_models(speed, seq_len=opts.seq_len, batch_rows=opts.batch_size)
    return {"seq_len": opts.seq_len, "batch_size": opts.batch_size, "machine": speed, "models": models}


def _millions(count: int) -> str:
    return f"{count / 1e9:.2f}B" if count >= 995e6 else f"{count / 1e6:.0f}M"


def _rate(tokens_per_s: float, source: str) -> str:
    """Whole tokens/s, or two significant digits below 10 (a slow CPU's big models are not 0)."""
    return f"{tokens_per_s:.0f} {source}" if tokens_per_s >= 10 else f"{tokens_per_s:.2g} {source}"


def render_list(result: dict[str, Any]) -> str:
    speed = result["machine"]
    rows = [
        [
            m.id,
            _millions(m.parameters),
            m.max_context,
            m.licence,
            m.template,
            f"{m.memory['lora']['fp32']:.1f} / {m.memory['lora']['bf16']:.1f}",
            f"{m.memory['full']['fp32']:.1f} / {m.memory['full']['bf16']:.1f}",
            _rate(m.tokens_per_s["lora"], m.tokens_per_s_source["lora"]),
            "yes" if m.present_locally else "no",
        ]
        for m in result["models"]
    ]
    headers = [
        "id",
        "params",
        "context",
        "licence",
        "template",
        "LoRA GiB fp32/bf16",
        "full GiB fp32/bf16",
        "LoRA tokens/s",
        "local",
    ]
    notes = [
        f"memory for micro-batches of {result['batch_size']} x {result['seq_len']} tokens; tokens/s on "
        f"{speed.device} ({speed.name}): {speed.gflops:g} GFLOP/s x efficiency {speed.efficiency:g} "
        f"({speed.efficiency_source}); full fine-tuning runs at about 2/3 of LoRA's tokens/s",
    ]
    approximate = [m.id for m in result["models"] if m.approximate]
    if approximate:
        notes.append(f"approximate architecture numbers: {', '.join(approximate)}")
    return table(headers, rows) + "\n" + "\n".join(notes)


@dataclass(kw_only=True)
class RecommendOptions:
    dataset: str = option("Dataset name in the workspace, or a dataset version folder.", metavar="NAME|PATH")
    budget: str = option("Training time to fit in: 30m, 2h, 90s (a bare number is minutes).", default="30m")
    device: str = option("Where training would run.", default="cpu", choices=DEVICES)
    no_probe: bool = option(
        "Skip the short probe run (a few dozen LoRA steps of the smallest model that measure "
        "the validation-loss curve; also skipped when expected to take over a fifth of the "
        "budget); the training default of 3 epochs is then assumed.",
        default=False,
    )
    no_measure: bool = option("Do not time the embedded model's training once (see 'models list').", default=False)
    json: bool = json_flag()


def models_recommend(opts: RecommendOptions) -> Any:
    """Recommend the smallest catalog model expected to train enough epochs on a dataset within a
    time budget and to beat its cheap baseline, and say why.

    Reads the dataset (training rows, labels, token lengths of its examples rendered with the
    default tokenizer), estimates each model's minutes per epoch on this machine, and (unless
    --no-probe) runs a short probe to see whether the validation loss is still falling, which
    decides how many epochs are needed. Evaluations of earlier fine-tunes of the dataset in the
    workspace count: a model size whose fine-tune did not beat the cheap baseline (TF-IDF, CRF...)
    is passed over for a larger one.
    """
    from brewslm.tuning.recommend import (
        PROBE_BUDGET_SHARE,
        available_bytes,
        dataset_facts,
        machine_speed,
        parse_budget,
        past_results,
        probe_minutes,
        recommend,
        run_probe,
    )

    budget = parse_budget(opts.budget)
    speed = machine_speed(opts.device, measure=not opts.no_measure)
    facts = dataset_facts(opts.dataset)
    probe, notes = None, ()
    if not opts.no_probe:
        expected = probe_minutes(facts, speed)
        if expected > PROBE_BUDGET_SHARE * budget:
            notes = (
                f"no probe run: it would take about {expected:.1f} minutes, more than "
                f"{PROBE_BUDGET_SHARE:.0%} of the budget",
            )
        else:
            probe = run_probe(opts.dataset)
    return recommend(
        facts,
        speed,
        budget_minutes=budget,
        probe=probe,
        available_bytes=available_bytes(opts.device),
        notes=notes,
        past=past_results(facts.name),
    )


def render_recommend(result: Any) -> str:
    rows = [
        [
            c["model"],
            _millions(c["parameters"]),
            c["minutes_per_epoch"],
            _rate(c["tokens_per_s"], c["tokens_per_s_source"]),
            c["memory_gib"],
            ("no (baseline)" if c.get("ruled_out") else "yes")
            if c["fits_budget"]
            else ("no" if c["fits_memory"] else "no (memory)"),
        ]
        for c in result.candidates
    ]
    head = key_values(
        [
            ("recommended", f"{result.model} ({result.hub_id}), {result.epochs:g} epochs" if result.model else "none"),
            ("budget", f"{result.budget_minutes:g} minutes on {result.device}"),
        ]
    )
    why = "\n".join(f"- {line}" for line in result.why)
    return "\n".join(
        [head, "why:", why, "", table(["model", "params", "min/epoch", "LoRA tokens/s", "GiB", "fits"], rows)]
    )


COMMANDS = {
    "list": Command(models_list, ListOptions, render_list),
    "recommend": Command(models_recommend, RecommendOptions, render_recommend),
}
