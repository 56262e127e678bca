"""A dataset version as a Hub dataset folder: one Parquet file per split and a dataset card.

    folder = write_dataset_folder(open_dataset("reviews"), Path("/tmp/reviews-hub"))
    # data/train-00000-of-00001.parquet, data/validation-..., data/test-..., README.md

The card (README.md) carries the Hub's YAML header (``configs`` mapping each split to its file, so
``datasets.load_dataset(repo)`` finds them; task category; size category) and what a reader needs
to trust the data: where it came from (the source's name and fingerprint, never a local path), the
mapper with its field map and options, the split policy, the counts per split, and what the import
dropped - duplicates and every rejection reason with its count. Rejected rows themselves are not
uploaded (they are raw source rows, kept in the workspace).

A column whose values Parquet cannot hold under one type (an ``int`` in one record and a ``str``
in another, say) is written as JSON text, and the card lists it: a change the reader is told of.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from brewslm.errors import ConfigError

SPLIT_ORDER = ("train", "validation", "test")
DATA_DIR = "data"
CARD = "README.md"
TASK_CATEGORIES = {  # task profile -> the Hub's task category
    "classification": "text-classification",
    "qa": "question-answering",
    "rag_qa": "question-answering",
    "structured_extraction": "token-classification",
    "language_modeling": "text-generation",
    "chat_sft": "text-generation",
    "messages": "text-generation",
    "tool_call": "text-generation",
    "dpo": "text-generation",
}
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))


def split_file(split: str) -> str:
    return f"{DATA_DIR}/{split}-00000-of-00001.parquet"


def size_category(records: int) -> str:
    return next((name for bound, name in SIZE_CATEGORIES if records < bound), "n>1M")


def table_of(rows: Sequence[Mapping[str, Any]]) -> tuple[Any, list[str]]:
    """A pyarrow table of ``rows`` and the columns that had to be stored as JSON text."""
    import pyarrow as pa

    try:
        return pa.Table.from_pylist(list(rows)), []
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, [])
    for key in columns:
        columns[key] = [row.get(key) for row in rows]
    arrays, as_json = {}, []
    for key, values in columns.items():
        try:
            arrays[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            arrays[key] = pa.array(
                [None if v is None else json.dumps(v, ensure_ascii=False) for v in values], type=pa.string()
            )
            as_json.append(key)
    return pa.table(arrays), as_json


def write_dataset_folder(version: Any, out: Path) -> dict[str, Any]:
    """Write ``version`` (a ``DatasetVersion``) as Parquet splits and a card under ``out`` (new or
    empty); return ``{"folder", "splits": {split: rows}, "json_columns": {split: [...]}}``."""
    import pyarrow.parquet as pq

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty; give a new or empty folder")
    (out / DATA_DIR).mkdir(parents=True, exist_ok=True)
    splits: dict[str, int] = {}
    json_columns: dict[str, list[str]] = {}
    for split in SPLIT_ORDER:
        rows = list(version.iter_records(split))
        if not rows:
            continue
        table, as_json = table_of(rows)
        pq.write_table(table, out / split_file(split))
        splits[split] = len(rows)
        if as_json:
            json_columns[split] = as_json
    if not splits:
        raise ConfigError(f"dataset '{version.name}' v{version.version} has no records to push")
    (out / CARD).write_text(render_dataset_card(version.manifest, splits, json_columns), encoding="utf-8")
    return {"folder": str(out), "splits": splits, "json_columns": json_columns}


def _yaml_header(manifest: Mapping[str, Any], splits: Mapping[str, int]) -> list[str]:
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for split in splits:
        lines += [f"  - split: {split}", f"    path: {split_file(split)}"]
    category = TASK_CATEGORIES.get(str(manifest.get("task_profile")))
    if category:
        lines += ["task_categories:", f"- {category}"]
    lines += [
        "size_categories:",
        f"- {size_category(sum(splits.values()))}",
        "tags:",
        "- brewslm",
        f"- {manifest.get('task_profile')}",
        "---",
    ]
    return lines


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("|", "\\|").replace("\n", " ")


def render_dataset_card(
    manifest: Mapping[str, Any], splits: Mapping[str, int], json_columns: Mapping[str, Sequence[str]] | None = None
) -> str:
    """The card's Markdown from the version's manifest (pure: the same manifest gives the same card)."""
    counts = manifest.get("counts") or {}
    source = manifest.get("source") or {}
    split_policy = manifest.get("split") or {}
    name, version = manifest.get("name"), manifest.get("version")
    lines = _yaml_header(manifest, splits)
    lines += [
        "",
        f"# {name} (version {version})",
        "",
        f"A {manifest.get('task_profile')} dataset imported and mapped with BrewSLM "
        f"{manifest.get('brewslm_version') or ''}".rstrip()
        + ".",
        "",
        "## Source",
        "",
        f"- name: `{source.get('name') or '-'}`",
        f"- fingerprint: `{source.get('fingerprint') or '-'}`",
        f"- content hash of the records: `{manifest.get('content_hash') or '-'}`",
        f"- imported: {manifest.get('created_at') or '-'}",
        "",
        "## Mapping",
        "",
        f"- mapper: `{manifest.get('mapper_id')}`",
    ]
    field_map = manifest.get("field_map") or {}
    if field_map:
        lines += ["", "| source field | mapped to |", "|---|---|"]
        lines += [f"| {_cell(source_field)} | {_cell(target)} |" for source_field, target in field_map.items()]
    options = manifest.get("options") or {}
    if options:
        lines += ["", "Mapper options: " + ", ".join(f"`{k}={_cell(v)}`" for k, v in options.items())]
    lines += ["", "## Splits", "", "| split | records |", "|---|---|"]
    lines += [f"| {split} | {count} |" for split, count in splits.items()]
    if split_policy:
        ratios = split_policy.get("ratios") or {}
        lines += [
            "",
            f"Split policy: {split_policy.get('assign', '-')} by {split_policy.get('policy', '-')} "
            f"(seed {split_policy.get('seed', '-')}"
            + (", " + ", ".join(f"{k} {v}" for k, v in ratios.items()) if ratios else "")
            + ").",
        ]
    rejected = counts.get("rejected") or {}
    lines += [
        "",
        "## What the import dropped",
        "",
        f"- rows read: {counts.get('rows_read', '-')}, records accepted: {counts.get('accepted', '-')}",
        f"- duplicates dropped: {counts.get('duplicates', 0)}",
        f"- rows rejected: {counts.get('rejected_total', sum(rejected.values()) if rejected else 0)}",
    ]
    if rejected:
        lines += ["", "| rejection reason | rows |", "|---|---|"]
        lines += [f"| {_cell(reason)} | {count} |" for reason, count in sorted(rejected.items(), key=lambda kv: -kv[1])]
    lines += [
        "",
        "Rejected rows are not part of this upload; they stay in the BrewSLM workspace "
        f"(`brewslm data preview {name} --rejected`).",
    ]
    warnings = manifest.get("warnings") or []
    if warnings:
        lines += ["", "## Import warnings", ""] + [f"- {_cell(w)}" for w in warnings]
    if json_columns:
        lines += [
            "",
            "## Columns stored as JSON text",
            "",
            "These columns hold values of more than one type, which a Parquet column cannot; each value is "
            "its JSON text:",
            "",
        ]
        lines += [f"- {split}: {', '.join(f'`{c}`' for c in columns)}" for split, columns in json_columns.items()]
    return "\n".join(lines) + "\n"


__all__ = ["render_dataset_card", "split_file", "table_of", "write_dataset_folder"]
