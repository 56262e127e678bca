"""``brewslm quickstart``: the main job on the embedded defaults.

    brewslm quickstart            # the README's first command runs this after set-up
    brewslm quickstart --json

Stage 1, data: the example review set that ships with BrewSLM is introspected, and the accepted
mapping is imported into a fresh version of the ``quickstart-reviews`` dataset (rejected rows
kept with their reasons). Stage 2, model: the base model is made ready, the embedded
SmolLM2-135M-Instruct (converted once from its GGUF and cached in the workspace) or
``BREWSLM_BASE_MODEL`` when set. Fine-tuning and the base-vs-tuned evaluation join this job as
those stages land.
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

EXAMPLE_FILE = "sentiment_reviews.jsonl"


@dataclass(kw_only=True)
class QuickstartOptions:
    dataset: str = option("Dataset name the example is imported into.", default="quickstart-reviews")
    json: bool = json_flag()


def example_locator() -> str:
    path = resources.files("brewslm") / "examples" / EXAMPLE_FILE
    return f"jsonl:{path}"


def quickstart(opts: QuickstartOptions) -> dict[str, Any]:
    """Run the main job on the embedded defaults: import the example reviews and ready the base model.

    The shipped example (product reviews with a few broken rows) is introspected, imported with
    the accepted mapping into a new dataset version, and the embedded SmolLM2 model is converted
    once and cached, ready for fine-tuning.
    """
    from brewslm.ingestion import ImportSpec, run_import
    from brewslm.introspection import introspect
    from brewslm.models import default_base_model

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
    model_started = time.perf_counter()
    model_dir = default_base_model()
    return {
        "introspection": {
            "mapper_id": found.accepted.mapper_id,
            "field_map": found.accepted.field_map,
            "confidence": found.accepted.confidence,
        },
        "import": imported,
        "model": {"path": str(model_dir), "seconds": round(time.perf_counter() - model_started, 1)},
        "seconds": round(time.perf_counter() - started, 1),
    }


def render_quickstart(result: dict[str, Any]) -> str:
    found = result["introspection"]
    mapping = ", ".join(f"{src}={dst}" for src, dst in found["field_map"].items())
    return "\n".join([
        f"data: introspected as {found['mapper_id']} ({mapping}) at confidence {found['confidence']:.2f}",
        render_import(result["import"]),
        "",
        key_values([
            ("base model", result["model"]["path"]),
            ("total time", f"{result['seconds']} s"),
        ]),
        f"next: brewslm data preview {result['import']['dataset']} --rows 5",
    ])


COMMAND = Command(quickstart, QuickstartOptions, render_quickstart)
