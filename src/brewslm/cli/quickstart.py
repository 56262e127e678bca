"""``brewslm quickstart``: the main job on the embedded defaults = ``brewslm run sentiment``.

    brewslm quickstart            # the README's first command runs this after set-up
    brewslm quickstart --json

The built-in ``sentiment`` recipe on the example reviews that ship with BrewSLM and the base model
(the embedded SmolLM2-135M-Instruct, converted once from its GGUF and cached;
``BREWSLM_BASE_MODEL`` when set): import, LoRA fine-tune, base and fine-tune scored on the same
held-out reviews (macro-F1 with the lift and its confidence interval, the majority-class baseline
beside them), merged-model export. It ends with the table and where the model and the HTML
report are; re-running it skips the stages whose inputs did not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brewslm.cli.command import Command
from brewslm.cli.options import json_flag, option
from brewslm.cli.run import RunOptions, render_run, run, run_exit_status

RECIPE = "sentiment"


@dataclass(kw_only=True)
class QuickstartOptions:
    epochs: float | None = option(
        "Fine-tuning epochs over the example's training split (default: the recipe's).", default=None
    )
    out: str | None = option(
        "Pipeline folder (default: <BREWSLM_HOME>/recipe-runs/sentiment).", default=None, metavar="DIR"
    )
    quiet: bool = option("No progress lines on stderr.", default=False)
    json: bool = json_flag()


def quickstart(opts: QuickstartOptions) -> dict[str, Any]:
    """Run the main job: the sentiment recipe on the shipped example reviews and the embedded base model.

    Import -> LoRA fine-tune -> base vs fine-tune on the same held-out reviews -> merged export,
    ending with the base-vs-tuned table and where the model and the HTML report are.
    """
    overrides = [] if opts.epochs is None else [f"train.epochs={opts.epochs}"]
    return run(RunOptions(recipe=RECIPE, out=opts.out, overrides=overrides, quiet=opts.quiet, json=opts.json))


COMMAND = Command(quickstart, QuickstartOptions, render_run, exit_status=run_exit_status)
