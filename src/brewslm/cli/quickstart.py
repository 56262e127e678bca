"""``brewslm quickstart``: the main job on the embedded defaults.

    brewslm quickstart            # the README's first command runs this after set-up
    brewslm quickstart --json

Stage 1, data: the example review set that ships with BrewSLM is introspected, and the accepted
mapping is imported into a fresh version of the ``quickstart-reviews`` dataset (rejected rows
kept with their reasons). Stage 2, fine-tune: LoRA on the base model (the embedded
SmolLM2-135M-Instruct, converted once from its GGUF and cached; ``BREWSLM_BASE_MODEL`` when set),
completion-only loss on the labels, with the validation loss before and after. The base-vs-tuned
evaluation on the held-out split joins this job with the evaluation stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from brewslm.cli.command import Command
from brewslm.cli.data import render_import
from brewslm.cli.options import json_flag, option
from brewslm.cli.output import key_values, to_jsonable
from brewslm.cli.progress import import_progress
from brewslm.cli.train import render_train

EXAMPLE_FILE = "sentiment_reviews.jsonl"


@dataclass(kw_only=True)
class QuickstartOptions:
    dataset: str = option("Dataset name the example is imported into.", default="quickstart-reviews")
    epochs: float = option("Fine-tuning epochs over the example's training split.", default=2.0)
    quiet: bool = option("No training progress lines on stderr.", default=False)
    json: bool = json_flag()


def example_locator() -> str:
    path = resources.files("brewslm") / "examples" / EXAMPLE_FILE
    return f"jsonl:{path}"


def quickstart(opts: QuickstartOptions) -> dict[str, Any]:
    """Run the main job on the embedded defaults: import the example reviews, fine-tune the base model on them.

    The shipped example (product reviews with a few broken rows) is introspected and imported
    with the accepted mapping into a new dataset version; then LoRA fine-tunes the base model on
    its training split (completion-only loss), reporting the validation loss and the run folder.
    """
    from brewslm.ingestion import ImportSpec, run_import
    from brewslm.introspection import introspect
    from brewslm.models import default_base_model
    from brewslm.training import build_config, train
    from brewslm.training.report import StderrProgress

    locator = example_locator()
    started = time.perf_counter()
    found = introspect(locator)
    if found.accepted is None:  # the shipped example must always introspect; anything else is a bug
        raise RuntimeError(f"the shipped example {locator} was not recognised by the introspector")
    spec = ImportSpec(
        locator=locator,
        mapper_id=found.accepted.mapper_id,
        field_map=found.accepted.field_map,
        options=found.accepted.options,
        dataset=opts.dataset,
        mode="replace",
    )
    with import_progress(f"importing {locator}") as progress:
        imported = to_jsonable(run_import(spec, progress=progress))

    config = build_config({
        "dataset": opts.dataset,
        "base_model": default_base_model(),
        "method": "lora",
        "epochs": opts.epochs,
        "run_name": f"{opts.dataset}-v{imported['version']}-lora",
    })
    progress = (lambda event: None) if opts.quiet else StderrProgress(every=config.log_every)
    trained = train(config, progress=progress).to_dict()
    return {
        "introspection": {
            "mapper_id": found.accepted.mapper_id,
            "field_map": found.accepted.field_map,
            "confidence": found.accepted.confidence,
        },
        "import": imported,
        "training": trained,
        "seconds": round(time.perf_counter() - started, 1),
    }


def render_quickstart(result: dict[str, Any]) -> str:
    found = result["introspection"]
    mapping = ", ".join(f"{src}={dst}" for src, dst in found["field_map"].items())
    return "\n".join([
        f"data: introspected as {found['mapper_id']} ({mapping}) at confidence {found['confidence']:.2f}",
        render_import(result["import"]),
        "",
        "fine-tune:",
        render_train(result["training"]),
        "",
        key_values([("total time", f"{result['seconds']} s")]),
        f"next: brewslm train export {result['training']['run_dir']} --merge --out ./quickstart-model",
    ])


COMMAND = Command(quickstart, QuickstartOptions, render_quickstart)
