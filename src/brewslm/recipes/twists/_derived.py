"""Extra training records a twist derives (hard negatives, no-call examples), added through the importer.

    prepared = append_records(ctx, rows, mapper="span_passthrough", label="hard_negatives")

The rows are written to ``<ctx.twist_dir>/<label>.jsonl`` and imported in ``append`` mode into the
training split of the recipe's dataset with a passthrough mapper, so the new version is built,
validated, counted and recorded exactly like any import (manifest summary, content hash, catalog),
and a row the mapper rejects is counted, never silently lost. Returns the ``PreparedData`` the
pipeline trains and evaluates on.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from brewslm.recipes.twists import PreparedData, RecipeContext


def append_records(
    ctx: RecipeContext,
    rows: Sequence[Mapping[str, Any]],
    *,
    mapper: str,
    label: str,
    split: str = "train",
    summary: Mapping[str, Any] | None = None,
    field_map: Mapping[str, str] | None = None,
    mode: str = "append",
) -> PreparedData:
    """Import ``rows`` (source rows for ``mapper``, fields per ``field_map`` or the mapper's own
    guess) into ``split`` of ``ctx.dataset`` as a new version; ``mode="replace"`` starts that
    version empty (a twist that rewrites every record)."""
    from brewslm.ingestion import ImportSpec, run_import

    path = ctx.twist_dir / f"{label}.jsonl"
    path.write_text("".join(json.dumps(dict(row), ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    result = run_import(
        ImportSpec(
            locator=f"jsonl:{path}",
            mapper_id=mapper,
            dataset=ctx.dataset,
            mode=mode,
            split=split,
            field_map=dict(field_map) if field_map else None,
        )
    )
    rejected = sum(result.rejected_counts.values())
    return PreparedData(
        result.dataset,
        result.version,
        {**dict(summary or {}), f"{label}_added": result.accepted, f"{label}_rejected": rejected},
    )


__all__ = ["append_records"]
