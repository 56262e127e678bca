"""The Audit tab: the RunEvent log (``brewslm data events``), newest first, filterable by stage,
reason code and saved mapping, each event's payload viewable.

Routes::

    GET /audit?stage=&reason=&mapping=&limit=    the filtered log

The events come from ``list_events``, the service ``brewslm data events`` calls; the filter
choices offered are the values the recent log holds plus the known reason codes and mapping names.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from brewslm.errors import ConfigError
from brewslm.ingestion import RUN_FAILED, RUN_OK, STAGE, EventInfo, list_events, list_mappings
from brewslm.ingestion.mappings import MAPPING_DELETED, MAPPING_SAVED, MAPPING_UPDATED
from brewslm.ui.app import render
from brewslm.ui.pages import json_text

router = APIRouter()

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
CHOICES_SCAN = 500  # recent events whose stages, reasons and mappings are offered as filter choices
KNOWN_REASONS = (RUN_OK, RUN_FAILED, MAPPING_SAVED, MAPPING_UPDATED, MAPPING_DELETED)


@dataclass(frozen=True)
class EventRow:
    """One event as the table shows it; ``payload`` is its JSON text (shown on demand)."""

    id: int
    created_at: str
    stage: str
    reason_code: str
    actor: str
    dataset: str | None
    version: int | None  # the dataset version an import made
    mapping: str | None
    mapper_id: str | None
    accepted: int | None
    duplicates: int | None
    error: str | None
    payload: str


def event_row(event: EventInfo) -> EventRow:
    payload = event.payload
    import_run = event.reason_code in (RUN_OK, RUN_FAILED)
    return EventRow(
        id=event.id,
        created_at=event.created_at.isoformat(),
        stage=event.stage,
        reason_code=event.reason_code,
        actor=event.actor,
        dataset=event.dataset,
        version=payload.get("version") if import_run else None,  # a mapping event's version is the mapping's
        mapping=event.config_id,
        mapper_id=payload.get("mapper_id") or (payload.get("definition") or {}).get("mapper_id"),
        accepted=payload.get("accepted_count"),
        duplicates=payload.get("duplicates"),
        error=payload.get("error"),
        payload=json_text(payload),
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, stage: str = "", reason: str = "", mapping: str = "", limit: int = DEFAULT_LIMIT
) -> HTMLResponse:
    if not 1 <= limit <= MAX_LIMIT:
        raise ConfigError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    events = list_events(stage=stage or None, reason_code=reason or None, mapping=mapping or None, limit=limit)
    recent = list_events(limit=CHOICES_SCAN)
    return render(
        request,
        "audit.html",
        events=[event_row(event) for event in events],
        filters={"stage": stage, "reason": reason, "mapping": mapping, "limit": limit},
        # what the recent log holds, the known codes and names, and the filter asked for (so it shows as chosen)
        stages=sorted({STAGE, *(e.stage for e in recent), *filter(None, [stage])}),
        reasons=sorted({*KNOWN_REASONS, *(e.reason_code for e in recent), *filter(None, [reason])}),
        mappings=sorted(
            {
                *(m.name for m in list_mappings()),
                *(e.config_id for e in recent if e.config_id),
                *filter(None, [mapping]),
            }
        ),
    )
