"""The dataset catalogue in the database: one row per dataset, one per version with its status.

The files on disk are the data; these rows make datasets queryable alongside the audit log and
record versions that were started but never published (``failed``, or ``writing`` after a crash).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from brewslm.storage.db import session_scope
from brewslm.storage.models import DatasetRow, DatasetVersionRow, RunEvent, utcnow

WRITING = "writing"
PUBLISHED = "published"
FAILED = "failed"


def begin_version(name: str, version: int, *, task_profile: str, path: str, **details: Any) -> None:
    """Record that ``name`` v``version`` is being written (reusing a row left by a crashed attempt)."""
    with session_scope() as session:
        dataset = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
        if dataset is None:
            dataset = DatasetRow(name=name, task_profile=task_profile)
            session.add(dataset)
            session.flush()
        row = session.scalar(
            select(DatasetVersionRow).where(DatasetVersionRow.dataset_id == dataset.id, DatasetVersionRow.version == version)
        )
        if row is None:
            row = DatasetVersionRow(dataset_id=dataset.id, version=version)
            session.add(row)
        row.task_profile = task_profile
        row.status = WRITING
        row.path = path
        row.created_at = utcnow()
        row.finished_at = None
        row.error = None
        for key, value in details.items():
            setattr(row, key, value)


def finish_version(
    name: str,
    version: int,
    *,
    status: str,
    event: RunEvent | None = None,
    task_profile: str | None = None,
    **details: Any,
) -> int | None:
    """Mark a version published or failed and, in the same transaction, append ``event``.
    Returns the event's id."""
    with session_scope() as session:
        dataset = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
        row = None
        if dataset is not None:
            row = session.scalar(
                select(DatasetVersionRow).where(
                    DatasetVersionRow.dataset_id == dataset.id, DatasetVersionRow.version == version
                )
            )
        if row is not None:
            row.status = status
            row.finished_at = utcnow()
            for key, value in details.items():
                setattr(row, key, value)
            if status == PUBLISHED:
                dataset.current_version = version
                dataset.updated_at = utcnow()
                if task_profile:
                    dataset.task_profile = task_profile
        if event is not None:
            session.add(event)
            session.flush()
            return event.id
    return None


def catalogue_versions(name: str) -> list[dict[str, Any]]:
    """Every version the database knows of ``name`` (published, failed or writing), oldest first."""
    with session_scope() as session:
        dataset = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
        if dataset is None:
            return []
        return [_version_dict(row) for row in dataset.versions]


def _version_dict(row: DatasetVersionRow) -> dict[str, Any]:
    return {
        "version": row.version,
        "status": row.status,
        "task_profile": row.task_profile,
        "path": row.path,
        "format": row.output_format,
        "mapper_id": row.mapper_id,
        "source_locator": row.source_locator,
        "config_id": row.config_id,
        "actor": row.actor,
        "records": row.record_count,
        "accepted": row.accepted_count,
        "rejected": row.rejected_count,
        "duplicates": row.duplicate_count,
        "split_counts": row.split_counts,
        "rejection_counts": row.rejection_counts,
        "content_hash": row.content_hash,
        "error": row.error,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }
