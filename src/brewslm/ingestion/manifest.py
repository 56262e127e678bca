"""The new version's ``manifest.json``: counts, rejections, split policy, schema, warnings."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from brewslm import __version__
from brewslm.ingestion.keys import KEY_BYTES, KEY_EXCLUDED
from brewslm.ingestion.planning import ImportPlan
from brewslm.ingestion.spec import SPLIT_RATIOS
from brewslm.ingestion.stats import ImportStats, RunState
from brewslm.storage.datasets import (
    KEY_FIELD,
    SPLITS,
    DatasetVersion,
    VersionWriter,
)


def _top_reasons(stats: ImportStats, limit: int = 3) -> str:
    ranked = sorted(stats.rejection_counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return "; ".join(f"{reason} x{count} (e.g. {stats.first_detail.get(reason, '')})" for reason, count in ranked)


def nothing_accepted_message(plan: ImportPlan, stats: ImportStats) -> str:
    if stats.rows_read == 0:
        return f"source '{plan.spec.locator}' yielded no rows; nothing was imported"
    return (
        f"mapper '{plan.mapper.id}' accepted none of the {stats.rows_read} rows of '{plan.spec.locator}': "
        f"{_top_reasons(stats)}; check the field map (--field-map SOURCE=FIELD) or pick another mapper"
    )


def _warnings(stats: ImportStats, drop_reasons: Iterable[str], rejected_path: str) -> list[str]:
    expected = set(drop_reasons)
    out = []
    for reason, count in sorted(stats.rejection_counts.items(), key=lambda item: (-item[1], item[0])):
        if reason in expected:
            continue
        out.append(f"{count} rejected as {reason} (e.g. {stats.first_detail.get(reason, '')}); see {rejected_path}")
    return out


def build_manifest(
    plan: ImportPlan,
    writer: VersionWriter,
    stats: ImportStats,
    parent: DatasetVersion | None,
    fingerprint: str | None,
    state: RunState,
) -> dict[str, Any]:
    spec = plan.spec
    summary_result = stats.summary.result() or {}
    output_schema = dict(summary_result.get("output_schema") or plan.output_schema)
    split_policy: dict[str, Any] = {"assign": spec.split, "seed": spec.seed}
    if spec.split == "auto" and spec.split_group is not None:
        split_policy.update(
            policy="group_hash",
            group_field=spec.split_group,
            ratios=dict(SPLIT_RATIOS),
            detail=(
                f"blake2b(the source row's '{spec.split_group}' value, key=seed) bucket: all rows with one "
                "value share a split (the ratios hold for groups, not rows), and a group keeps its split "
                "across re-imports"
            ),
        )
    elif spec.split == "auto":
        split_policy.update(
            policy="content_hash",
            ratios=dict(SPLIT_RATIOS),
            detail=(
                "blake2b(key of the source row's first record, key=seed) bucket: all records of one "
                "row share a split, and a record keeps its split across re-imports"
            ),
        )
    else:
        split_policy["policy"] = "fixed"
    rejected_path = str(writer.final_path / "rejected.jsonl")
    return {
        "format_version": 1,
        "name": plan.dataset,
        "version": writer.version,
        "parent_version": parent.version if parent is not None else None,
        "mode": spec.mode,
        "task_profile": plan.profile.id,
        "mapper_id": plan.mapper.id,
        "field_map": dict(plan.field_map),
        "options": dict(plan.options),
        "output_schema": output_schema,
        "source": {"locator": spec.locator, "name": plan.source.name, "fingerprint": fingerprint},
        "introspection": plan.introspected,
        "counts": {
            "rows_read": stats.rows_read,
            "valid": stats.valid,
            "accepted": stats.accepted,
            "duplicates": stats.duplicates,
            "carried_over": stats.carried_over,
            "rejected": dict(sorted(stats.rejection_counts.items(), key=lambda item: (-item[1], item[0]))),
            "rejected_total": sum(stats.rejection_counts.values()),
            "records": sum(writer.split_counts.values()),
            "splits": dict(writer.split_counts),
        },
        "summary": summary_result.get("stats", {}),
        "content_hash": writer.content_hash(),
        "record_key": f"sha256 of the record's canonical JSON without {', '.join(sorted(KEY_EXCLUDED - {KEY_FIELD}))}, first {KEY_BYTES * 8} bits, hex, in '{KEY_FIELD}'",
        "split": split_policy,
        "drop_reasons": sorted(set(spec.drop_reasons)),
        "warnings": _warnings(stats, spec.drop_reasons, rejected_path),
        "format": spec.format,
        "files": {**{split: f"{split}.{spec.format}" for split in SPLITS}, "rejected": "rejected.jsonl"},
        "config_id": spec.config_id,
        "actor": state.actor,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "brewslm_version": __version__,
    }


__all__ = [
    "build_manifest",
    "nothing_accepted_message",
]
