"""Appending: the previous version's records carried into the new one, keeping their splits."""

from __future__ import annotations

import json
from typing import Any, Iterator

from brewslm.ingestion.dedup import BATCH_RECORDS, KeyIndex
from brewslm.ingestion.keys import digest_from_hex, json_line, serialise_record
from brewslm.ingestion.stats import ImportStats
from brewslm.storage.datasets import (
    KEY_FIELD,
    SPLITS,
    DatasetVersion,
    VersionWriter,
)


def carry_over(
    parent: DatasetVersion, writer: VersionWriter, index: KeyIndex, summary: Any, stats: ImportStats
) -> None:
    """Copy the previous version's records into the new one, each in the split it had."""
    for split in SPLITS:
        pending: list[tuple[bytes, dict[str, Any], bytes]] = []
        for record, line in _previous_records(parent, split):
            key_hex = record.pop(KEY_FIELD, None)
            digest = digest_from_hex(key_hex)
            if digest is None:  # a record without a usable key (edited by hand): key it afresh
                digest, body = serialise_record(record)
                line = json_line(digest, body)
            pending.append((digest, record, line))
            if len(pending) >= BATCH_RECORDS:
                _flush_carried(split, pending, writer, index, summary, stats)
        _flush_carried(split, pending, writer, index, summary, stats)


def _flush_carried(
    split: str,
    pending: list[tuple[bytes, dict[str, Any], bytes]],
    writer: VersionWriter,
    index: KeyIndex,
    summary: Any,
    stats: ImportStats,
) -> None:
    fresh = index.add_batch([digest for digest, _, _ in pending])
    for (_digest, record, line), new in zip(pending, fresh):
        if new:
            writer.write_line(split, line)
            summary.add(record)
            stats.carried_over += 1
        else:  # the previous version held it twice (edited by hand); keep one
            stats.duplicates += 1
    pending.clear()


def _previous_records(parent: DatasetVersion, split: str) -> Iterator[tuple[dict[str, Any], bytes]]:
    """(record, its JSON line) for each record of one split of the previous version."""
    if parent.output_format == "jsonl":
        with open(parent.split_path(split), "rb") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line), line if line.endswith(b"\n") else line + b"\n"
        return
    for record in parent.iter_records(split):
        # Parquet has one schema for all records and fills fields a record lacked with null.
        record = {k: v for k, v in record.items() if v is not None}
        digest = digest_from_hex(record.get(KEY_FIELD))
        fresh_digest, body = serialise_record({k: v for k, v in record.items() if k != KEY_FIELD})
        yield record, json_line(digest or fresh_digest, body)


__all__ = [
    "carry_over",
]
