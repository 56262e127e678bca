"""Persistence: the database (SQLAlchemy 2 + Alembic migrations), the audit log and the dataset store."""

from brewslm.storage.datasets import (
    SPLITS,
    DatasetVersion,
    current_version,
    list_dataset_names,
    list_datasets,
    list_versions,
    open_dataset,
)
from brewslm.storage.db import get_engine, on_workspace_open, reset_engines, session_scope
from brewslm.storage.events import EventInfo, default_actor, list_events, record_event
from brewslm.storage.recovery import settle_workspace

# Importing any storage module runs this file first, so the settling is registered before any
# command can open the workspace's database.
on_workspace_open(settle_workspace)

__all__ = [
    "SPLITS",
    "DatasetVersion",
    "EventInfo",
    "current_version",
    "default_actor",
    "get_engine",
    "list_dataset_names",
    "list_datasets",
    "list_events",
    "list_versions",
    "open_dataset",
    "record_event",
    "reset_engines",
    "session_scope",
]
