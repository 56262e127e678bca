"""The database schema as SQLAlchemy 2 typed models.

The schema is created and evolved only by the Alembic migrations in ``storage/migrations``; a test
checks that the migrations produce exactly these models. Keep the SQL portable (SQLite and
PostgreSQL): generic types only, JSON for structured values, timestamps stored as UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAME_LENGTH = 255


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite has no timezone-aware type and hands back naive values; storing naive UTC and tagging
    it on the way out gives the same aware value from SQLite and PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class RunEvent(Base):
    """One audit-log entry: an import run (or failure), a saved-mapping change..."""

    __tablename__ = "run_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    stage: Mapped[str] = mapped_column(String(64), index=True)
    reason_code: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(NAME_LENGTH))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dataset: Mapped[Optional[str]] = mapped_column(String(NAME_LENGTH), index=True)
    config_id: Mapped[Optional[str]] = mapped_column(String(NAME_LENGTH), index=True)


class SavedMapping(Base):
    """A named, re-runnable import definition; its current definition is ``version``."""

    __tablename__ = "saved_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    locator: Mapped[str] = mapped_column(Text)
    mapper_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    field_map: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    drop_reasons: Mapped[list[Any]] = mapped_column(default=list)
    dataset: Mapped[Optional[str]] = mapped_column(String(NAME_LENGTH))
    mode: Mapped[str] = mapped_column(String(16), default="append")
    split: Mapped[str] = mapped_column(String(16), default="auto")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    split_group: Mapped[Optional[str]] = mapped_column(Text, default=None)
    output_format: Mapped[str] = mapped_column(String(16), default="jsonl")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[Optional[datetime]]
    last_run_accepted: Mapped[Optional[int]] = mapped_column(Integer)
    last_run_status: Mapped[Optional[str]] = mapped_column(String(16))

    history: Mapped[list["SavedMappingVersion"]] = relationship(
        back_populates="mapping",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="SavedMappingVersion.version",
    )


class SavedMappingVersion(Base):
    """Every definition a saved mapping has had (the current one included), never edited."""

    __tablename__ = "saved_mapping_versions"
    __table_args__ = (UniqueConstraint("mapping_id", "version", name="uq_saved_mapping_versions_mapping_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mapping_id: Mapped[int] = mapped_column(ForeignKey("saved_mappings.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    saved_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    change: Mapped[str] = mapped_column(String(16))  # created | updated

    mapping: Mapped[SavedMapping] = relationship(back_populates="history")


class DatasetRow(Base):
    """Catalogue entry of a dataset; its files live under ``$BREWSLM_HOME/datasets/<name>/``."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    task_profile: Mapped[str] = mapped_column(String(64))
    current_version: Mapped[Optional[int]] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list["DatasetVersionRow"]] = relationship(
        back_populates="dataset",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="DatasetVersionRow.version",
    )


class DatasetVersionRow(Base):
    """Catalogue entry of one dataset version: ``writing`` while an import runs, then
    ``published`` or ``failed``."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    task_profile: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    output_format: Mapped[str] = mapped_column(String(16), default="jsonl")
    mapper_id: Mapped[Optional[str]] = mapped_column(String(NAME_LENGTH))
    source_locator: Mapped[Optional[str]] = mapped_column(Text)
    config_id: Mapped[Optional[str]] = mapped_column(String(NAME_LENGTH))
    actor: Mapped[Optional[str]] = mapped_column(String(NAME_LENGTH))
    record_count: Mapped[Optional[int]] = mapped_column(Integer)
    accepted_count: Mapped[Optional[int]] = mapped_column(Integer)
    rejected_count: Mapped[Optional[int]] = mapped_column(Integer)
    duplicate_count: Mapped[Optional[int]] = mapped_column(Integer)
    split_counts: Mapped[Optional[dict[str, Any]]]
    rejection_counts: Mapped[Optional[dict[str, Any]]]
    content_hash: Mapped[Optional[str]] = mapped_column(String(128))
    error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[Optional[datetime]]

    dataset: Mapped[DatasetRow] = relationship(back_populates="versions")


class Job(Base):
    """One long piece of work started from the web UI (an import, a training run, an evaluation),
    run by its own worker process; the row is the job's whole state, so it outlives the page and
    the server. ``status``: queued | running | succeeded | failed | cancelled | interrupted."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[Optional[dict[str, Any]]]
    error: Mapped[Optional[str]] = mapped_column(Text)
    pid: Mapped[Optional[int]] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]
    cancel_requested_at: Mapped[Optional[datetime]]
