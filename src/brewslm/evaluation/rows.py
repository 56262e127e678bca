"""The rows an evaluation scores: one split of a dataset version, rendered exactly as training
rendered them (the run's render context), with the records a renderer refuses set aside.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Mapping

from brewslm.errors import ConfigError
from brewslm.storage.datasets import SPLITS, DatasetVersion
from brewslm.tasks.base import TaskProfile
from brewslm.tasks.rendering import NotRenderable, RenderContext, Rendered


@dataclass(frozen=True)
class EvalRows:
    """The gold rows evaluated, each rendered as the model sees it; rows that cannot be rendered
    (e.g. a no-call tool record with no known answer) are counted in ``skipped``, never dropped silently."""

    records: list[dict[str, Any]]
    rendered: list[Rendered]
    skipped: dict[str, int]
    sampled_from: int

    @property
    def subtasks(self) -> list[str | None]:
        return [r.get("subtask") for r in self.records]


def load_rows(
    dataset: DatasetVersion,
    split: str,
    profile: TaskProfile,
    context: RenderContext,
    *,
    max_examples: int | None = None,
    seed: int = 0,
) -> EvalRows:
    records = list(dataset.iter_records(split))
    if not records:
        splits = (dataset.counts or {}).get("splits") or {}
        with_rows = [s for s in SPLITS if splits.get(s)]
        hint = (
            f"splits with rows: {', '.join(f'{s} ({splits[s]})' for s in with_rows)}; pass --split"
            if with_rows
            else "the dataset has no records; import data with 'brewslm data import'"
        )
        raise ConfigError(f"dataset '{dataset.name}' v{dataset.version} has no '{split}' rows; {hint}")
    total = len(records)
    if max_examples is not None and max_examples < total:
        keep = sorted(random.Random(seed).sample(range(total), max_examples))
        records = [records[i] for i in keep]
    kept, rendered, skipped = [], [], {}
    for record in records:
        try:
            rendered.append(profile.render_prompt(record, context))
        except NotRenderable as exc:
            skipped[str(exc)] = skipped.get(str(exc), 0) + 1
            continue
        kept.append(record)
    if not kept:
        raise ConfigError(
            f"none of the {len(records)} '{split}' rows of dataset '{dataset.name}' can be rendered "
            f"as a prompt ({'; '.join(skipped)})"
        )
    return EvalRows(kept, rendered, skipped, total)


def scoring_mode_of(manifest: Mapping[str, Any], context: RenderContext) -> str | None:
    return (manifest.get("output_schema") or {}).get("scoring_mode") or context.scoring_mode


__all__ = [
    "EvalRows",
    "load_rows",
    "scoring_mode_of",
]
