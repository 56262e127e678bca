"""The dataset catalogue in the database: one row per dataset, one per version with its status.

The files on disk are the data and ``CURRENT`` is the commit point (see ``datasets.py``); these
rows follow the files, make datasets queryable alongside the audit log and record versions that
were started but never published (``failed``). A row left ``writing`` by a crash, or a committed
version with no ``published`` row, is settled by ``recovery.py``.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from sqlalchemy import select

from brewslm.storage.db import session_scope
from brewslm.storage.events import new_event
from brewslm.storage.tables import DatasetRow, DatasetVersionRow, RunEvent, utcnow

WRITING = "writing"
PUBLISHED = "published"
FAILED = "failed"

# The import's audit-log entries; defined here so the importer and crash recovery log the same ones.
STAGE = "ingestion"
IMPORT_RUN = "dataset_import_run"
IMPORT_FAILED = "dataset_import_failed"
INTERRUPTED = "interrupted"  # the ``reason`` of a failure no process lived to report


def begin_version(name: str, version: int, *, task_profile: str, path: str, **details: Any) -> None:
    """Record that ``name`` v``version`` is being written (reusing a row left by a crashed attempt)."""
    with session_scope() as session:
        dataset = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
        if dataset is None:
            dataset = DatasetRow(name=name, task_profile=task_profile)
            session.add(dataset)
            session.flush()
        row = session.scalar(
            select(DatasetVersionRow).where(
                DatasetVersionRow.dataset_id == dataset.id, DatasetVersionRow.version == version
            )
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
    """Mark a ``writing`` version published or failed and, in the same transaction, append
    ``event``. Returns the event's id; None, logging nothing, when the row was settled already
    (crash recovery got there first), so one version never gets two outcomes."""
    with session_scope() as session:
        dataset = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
        row = None
        if dataset is not None:
            row = session.scalar(
                select(DatasetVersionRow).where(
                    DatasetVersionRow.dataset_id == dataset.id, DatasetVersionRow.version == version
                )
            )
        if row is not None and row.status != WRITING:
            return None
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


def import_outcome(manifest: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``dataset_import_run`` payload and the catalogue row's fields for the published version
    ``manifest`` describes: one reading of a manifest for the importer and for crash recovery."""
    counts = manifest.get("counts") or {}
    rejected = dict(counts.get("rejected") or {})
    splits = dict(counts.get("splits") or {})
    payload = {
        "source_id": (manifest.get("source") or {}).get("locator"),
        "mapper_id": manifest.get("mapper_id"),
        "task_profile": manifest.get("task_profile"),
        "accepted_count": counts.get("accepted"),
        "rejection_counts": rejected,
        "duplicates": counts.get("duplicates"),
        "rows_read": counts.get("rows_read"),
        "records": counts.get("records"),
        "split_counts": splits,
        "config_id": manifest.get("config_id"),
        "dataset": manifest.get("name"),
        "version": manifest.get("version"),
        "mode": manifest.get("mode"),
        "content_hash": manifest.get("content_hash"),
    }
    details = {
        "record_count": counts.get("records"),
        "accepted_count": counts.get("accepted"),
        "rejected_count": sum(rejected.values()),
        "duplicate_count": counts.get("duplicates"),
        "split_counts": splits,
        "rejection_counts": rejected,
        "content_hash": manifest.get("content_hash"),
    }
    return payload, details


def catalogue_state() -> dict[str, tuple[int | None, dict[int, str]]]:
    """Every dataset the catalogue knows: name -> (current version, {version: status}); one query,
    for the cheap is-anything-to-settle check when the workspace opens."""
    query = select(
        DatasetRow.name, DatasetRow.current_version, DatasetVersionRow.version, DatasetVersionRow.status
    ).outerjoin(DatasetVersionRow, DatasetVersionRow.dataset_id == DatasetRow.id)
    state: dict[str, tuple[int | None, dict[int, str]]] = {}
    with session_scope() as session:
        for name, current, version, status in session.execute(query):
            entry = state.setdefault(name, (current, {}))
            if version is not None:
                entry[1][version] = status
    return state


def settle_versions(
    name: str,
    *,
    adopt: Mapping[int, Mapping[str, Any]],
    current: int | None,
    path_of: Callable[[int], str],
    actor: str,
) -> dict[str, list[int]]:
    """Make the catalogue of ``name`` follow its files, in one transaction: each version in
    ``adopt`` (committed, version -> manifest) whose row is not ``published`` is adopted with the
    ``dataset_import_run`` event marked ``recovered``; every other ``writing`` row becomes
    ``failed`` with a ``dataset_import_failed`` event whose reason is ``interrupted``; the
    dataset's current version becomes ``current``. Returns the versions adopted and failed."""
    done: dict[str, list[int]] = {"adopted": [], "failed": []}
    with session_scope() as session:
        dataset = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
        if dataset is None:
            if not adopt:
                return done
            first = adopt[min(adopt)]
            dataset = DatasetRow(name=name, task_profile=str(first.get("task_profile") or "unknown"))
            session.add(dataset)
            session.flush()
        rows = {row.version: row for row in dataset.versions}
        now = utcnow()
        for version in sorted(adopt):
            row = rows.get(version)
            if row is not None and row.status == PUBLISHED:
                continue
            manifest = adopt[version]
            payload, details = import_outcome(manifest)
            if row is None:
                row = DatasetVersionRow(dataset_id=dataset.id, version=version, created_at=now)
                session.add(row)
            row.status, row.finished_at, row.error, row.path = PUBLISHED, now, None, path_of(version)
            row.task_profile = str(manifest.get("task_profile") or row.task_profile or "unknown")
            row.output_format = str(manifest.get("format") or "jsonl")
            row.mapper_id = manifest.get("mapper_id")
            row.source_locator = payload["source_id"]
            row.config_id = manifest.get("config_id")
            row.actor = row.actor or manifest.get("actor")
            for key, value in details.items():
                setattr(row, key, value)
            session.add(
                new_event(
                    STAGE,
                    IMPORT_RUN,
                    {**payload, "recovered": True},
                    actor=actor,
                    dataset=name,
                    config_id=manifest.get("config_id"),
                )
            )
            done["adopted"].append(version)
        for version, row in sorted(rows.items()):
            if row.status != WRITING or version in adopt:
                continue
            error = "interrupted: the import process ended before it committed this version (killed or crashed)"
            row.status, row.finished_at, row.error = FAILED, now, error
            session.add(
                new_event(
                    STAGE,
                    IMPORT_FAILED,
                    {
                        "source_id": row.source_locator,
                        "mapper_id": row.mapper_id,
                        "task_profile": row.task_profile,
                        "accepted_count": 0,
                        "config_id": row.config_id,
                        "dataset": name,
                        "version": version,
                        "error": error,
                        "error_type": "Interrupted",
                        "reason": INTERRUPTED,
                        "recovered": True,
                    },
                    actor=actor,
                    dataset=name,
                    config_id=row.config_id,
                )
            )
            done["failed"].append(version)
        if dataset.current_version != current:
            dataset.current_version = current
            dataset.updated_at = now
            if current in adopt:
                dataset.task_profile = str(adopt[current].get("task_profile") or dataset.task_profile)
    return done


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
