"""Pruning the uploads folder: files uploaded to the wizard and never used.

An upload is kept while anything may read it again: a dataset version whose manifest names it as its
source, a saved mapping (any of its versions) that re-runs it, or a job whose parameters name it. An
upload none of these refers to and older than ``UISettings.upload_retention_days`` was opened in the
wizard and abandoned; ``prune_uploads`` deletes those when the UI starts. Stored names carry a random
prefix (``access.save_upload``), so a reference is found by the stored name appearing in the
referring document.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

from brewslm.ui import jobs
from brewslm.ui.settings import UISettings

DAY_SECONDS = 86_400


def _referring_documents() -> Iterator[str]:
    """The text of everything that may read an upload again."""
    from brewslm.ingestion.mappings import list_mappings, mapping_history
    from brewslm.storage.datasets import list_dataset_names, list_versions, open_dataset

    for name in list_dataset_names():
        for version in list_versions(name):
            yield json.dumps(open_dataset(name, version).manifest.get("source") or {})
    for mapping in list_mappings():
        for saved in mapping_history(mapping.name):  # the current definition is the last one
            yield json.dumps(saved.definition)
    for job in jobs.list_jobs(limit=None):
        yield json.dumps(job.params)


def unused_uploads(settings: UISettings) -> list[Path]:
    """Uploads older than the retention that nothing refers to (none when the retention is 0)."""
    if settings.upload_retention_days <= 0:
        return []
    cutoff = time.time() - settings.upload_retention_days * DAY_SECONDS
    old = [p for p in settings.uploads_dir.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
    if not old:
        return []
    documents = list(_referring_documents())
    return [p for p in old if not any(p.name in text for text in documents)]


def prune_uploads(settings: UISettings) -> list[Path]:
    """Delete ``unused_uploads``; returns what was deleted."""
    removed = []
    for path in unused_uploads(settings):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


__all__ = ["prune_uploads", "unused_uploads"]
