"""What one import keeps while it streams: its counters (the manifest and the result report them)
and what its failure event reports when it stops part way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brewslm.ingestion.spec import ImportSpec


@dataclass
class ImportStats:
    rows_read: int = 0
    valid: int = 0  # records that passed mapper and profile (duplicates included)
    accepted: int = 0  # records this import added
    duplicates: int = 0
    carried_over: int = 0
    rejection_counts: dict[str, int] = field(default_factory=dict)
    first_detail: dict[str, str] = field(default_factory=dict)
    summary: Any = None  # the task profile's streaming Summary over every record of the new version


@dataclass
class RunState:
    """What the failure event reports when an import stops part way."""

    spec: ImportSpec
    actor: str
    mapper_id: str | None = None
    task_profile: str | None = None
    dataset: str | None = None
    version: int | None = None
    version_started: bool = False
    published: bool = False
    failure_logged: bool = False
    rows_read: int = 0
    rejection_counts: dict[str, int] = field(default_factory=dict)


__all__ = [
    "ImportStats",
    "RunState",
]
