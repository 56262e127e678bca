"""The task-profile contract: what a canonical record of one task looks like.

A task profile owns the canonical record's schema (a pydantic model), checks every record a
mapper produces against it, and keeps streaming statistics for the dataset manifest (label
counts, span types, an inferred JSON schema...). Training, evaluation and serving key on it:
``render(record, context)`` is the one place a record becomes chat messages (see
``brewslm.tasks.rendering``), and ``reply_reader(scoring_mode, ...)`` the one way a model's reply
is read back (see ``brewslm.tasks.replies``).
"""

from __future__ import annotations

from abc import ABC
from typing import Any, ClassVar, Mapping

from pydantic import BaseModel, ConfigDict, ValidationError

from brewslm.errors import ConfigError
from brewslm.records import Record, Rejection
from brewslm.tasks.rendering import RenderContext, Rendered
from brewslm.tasks.replies import ReplyReader


class CanonicalRecord(BaseModel):
    """Base of every canonical record model: extra keys (``id``, ``subtask``, ``meta``) are kept."""

    model_config = ConfigDict(extra="allow")


class Summary:
    """Streaming statistics over accepted records, written into the manifest."""

    def __init__(self, output_schema: Mapping[str, Any]):
        self.output_schema = dict(output_schema)
        self.count = 0

    def add(self, record: Record) -> None:
        self.count += 1

    def result(self) -> dict[str, Any]:
        """Manifest entries: ``{"stats": {...}, "output_schema": {...}}``."""
        return {"stats": {"records": self.count}, "output_schema": dict(self.output_schema)}


class TaskProfile(ABC):
    id: ClassVar[str]
    description: ClassVar[str] = ""
    record_model: ClassVar[type[CanonicalRecord]]
    summary_class: ClassVar[type[Summary]] = Summary
    readers: ClassVar[Mapping[str | None, type[ReplyReader]]] = {}
    """How replies of this task are read back, by scoring mode (None: the task's one way); empty
    when its replies are not read (conversations, raw text and preference pairs are scored by
    their log-probabilities)."""

    def validate(self, record: Record) -> Rejection | None:
        """None when the record fits this profile, else ``invalid_record`` naming the field."""
        try:
            self.record_model.model_validate(record)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ())) or "record"
            return Rejection("invalid_record", f"{self.id} record field '{where}': {err.get('msg')}")
        return None

    def new_summary(self, output_schema: Mapping[str, Any] | None = None) -> Summary:
        return self.summary_class(output_schema or {})

    def render(self, record: Record, context: RenderContext | None = None) -> Rendered:
        """The record as chat messages with the assistant turns to train on; the same rendering is
        used for training, evaluation and serving. ``context`` carries dataset-level facts from the
        manifest (``RenderContext.from_manifest``). Raises ``NotRenderable`` for a valid record
        that has nothing to learn."""
        raise NotImplementedError(f"task profile '{self.id}' has no renderer")

    def render_prompt(self, record: Record, context: RenderContext | None = None) -> Rendered:
        """The rendering whose ``prompt`` a model is asked when it is evaluated or served. The same
        as ``render``, except that a record with nothing to train on still has a question to ask
        (profiles whose ``render`` raises ``NotRenderable`` override this)."""
        return self.render(record, context)

    def reply_reader(
        self,
        scoring_mode: str | None = None,
        *,
        context: RenderContext | None = None,
        manifest: Mapping[str, Any] | None = None,
        json_schema: Mapping[str, Any] | None = None,
    ) -> ReplyReader | None:
        """The reader of this task's replies in ``scoring_mode`` (``ReplyReader`` explains the
        arguments); None when the task's replies are not read. A task read in several modes needs
        one of them (the dataset manifest's ``output_schema.scoring_mode``)."""
        if not self.readers:
            return None
        reader = self.readers.get(scoring_mode) or self.readers.get(None)
        if reader is None:
            modes = ", ".join(sorted(mode for mode in self.readers if mode))
            if scoring_mode is None:
                raise ConfigError(
                    f"task '{self.id}' replies are read in one of these scoring modes: {modes}; "
                    "the dataset manifest's output_schema.scoring_mode names it"
                )
            raise ConfigError(f"task '{self.id}' has no scoring mode '{scoring_mode}'; its modes: {modes}")
        return reader(context, manifest, json_schema)

    @property
    def can_render(self) -> bool:
        return type(self).render is not TaskProfile.render

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "description": self.description, "schema": self.record_model.model_json_schema()}
