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
from brewslm.storage.db import get_engine, reset_engines, session_scope
from brewslm.storage.events import EventInfo, default_actor, list_events, record_event

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
