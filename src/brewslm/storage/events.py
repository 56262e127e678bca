"""The audit log: one ``RunEvent`` per import run, failure or saved-mapping change."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import select

from brewslm.storage.db import session_scope
from brewslm.storage.tables import RunEvent, utcnow


def default_actor() -> str:
    """The OS user running BrewSLM; containers without a passwd entry still get a stable name."""
    try:
        user = getpass.getuser()
        if user:
            return user
    except Exception:  # getpass raises OSError/KeyError when neither env vars nor passwd know the user
        pass
    uid = getattr(os, "getuid", None)
    return f"uid:{uid()}" if uid is not None else "unknown"


@dataclass(frozen=True)
class EventInfo:
    id: int
    created_at: datetime
    stage: str
    reason_code: str
    actor: str
    payload: dict[str, Any]
    dataset: str | None
    config_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "stage": self.stage,
            "reason_code": self.reason_code,
            "actor": self.actor,
            "dataset": self.dataset,
            "config_id": self.config_id,
            "payload": dict(self.payload),
        }

    @classmethod
    def from_row(cls, row: RunEvent) -> "EventInfo":
        return cls(
            id=row.id,
            created_at=row.created_at,
            stage=row.stage,
            reason_code=row.reason_code,
            actor=row.actor,
            payload=dict(row.payload or {}),
            dataset=row.dataset,
            config_id=row.config_id,
        )


def new_event(
    stage: str,
    reason_code: str,
    payload: Mapping[str, Any] | None = None,
    *,
    actor: str | None = None,
    dataset: str | None = None,
    config_id: str | None = None,
) -> RunEvent:
    """A RunEvent row, for callers that add it to their own transaction."""
    return RunEvent(
        created_at=utcnow(),
        stage=stage,
        reason_code=reason_code,
        actor=actor or default_actor(),
        payload=dict(payload or {}),
        dataset=dataset,
        config_id=config_id,
    )


def record_event(
    stage: str,
    reason_code: str,
    payload: Mapping[str, Any] | None = None,
    *,
    actor: str | None = None,
    dataset: str | None = None,
    config_id: str | None = None,
) -> int:
    """Append one event to the audit log; returns its id."""
    with session_scope() as session:
        event = new_event(stage, reason_code, payload, actor=actor, dataset=dataset, config_id=config_id)
        session.add(event)
        session.flush()
        return event.id


def list_events(
    stage: str | None = None,
    reason_code: str | None = None,
    mapping: str | None = None,
    limit: int | None = 100,
    *,
    dataset: str | None = None,
) -> list[EventInfo]:
    """Events newest first, optionally filtered by stage, reason code, saved mapping or dataset."""
    query = select(RunEvent).order_by(RunEvent.id.desc())
    if stage is not None:
        query = query.where(RunEvent.stage == stage)
    if reason_code is not None:
        query = query.where(RunEvent.reason_code == reason_code)
    if mapping is not None:
        query = query.where(RunEvent.config_id == mapping)
    if dataset is not None:
        query = query.where(RunEvent.dataset == dataset)
    if limit is not None:
        query = query.limit(max(0, int(limit)))
    with session_scope() as session:
        return [EventInfo.from_row(row) for row in session.scalars(query)]
