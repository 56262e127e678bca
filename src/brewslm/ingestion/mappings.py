"""Saved mappings: named, validated, editable import definitions that keep their history.

A mapping is validated when it is saved or edited exactly as an import would be (the locator
parses and opens, the mapper exists, the field map resolves against a sample of the source, the
options are known) and stored resolved: the field map and dataset name it will really use.
Every definition it ever had is kept in ``saved_mapping_versions``; each save, edit and delete is
also an audit event. ``rerun_mapping`` imports with the current definition, ``config_id`` = name,
unless nothing changed since the version the mapping last wrote (same source fingerprint, same
definition): then it writes nothing and returns an ``UnchangedSource`` (``force=True`` imports anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from brewslm.errors import ConfigError
from brewslm.ingestion.importer import STAGE, run_import, source_fingerprint
from brewslm.ingestion.planning import plan_import
from brewslm.ingestion.spec import ImportResult, ImportSpec
from brewslm.sources import open_source
from brewslm.storage.datasets import current_version, list_versions, open_dataset, validate_dataset_name
from brewslm.storage.db import session_scope
from brewslm.storage.events import default_actor, new_event
from brewslm.storage.tables import SavedMapping, SavedMappingVersion, utcnow

MAPPING_SAVED = "mapping_saved"
MAPPING_UPDATED = "mapping_updated"
MAPPING_DELETED = "mapping_deleted"

# definition key -> SavedMapping column
DEFINITION_FIELDS = {
    "locator": "locator",
    "mapper_id": "mapper_id",
    "field_map": "field_map",
    "options": "options",
    "drop_reasons": "drop_reasons",
    "dataset": "dataset",
    "mode": "mode",
    "split": "split",
    "seed": "seed",
    "split_group": "split_group",
    "format": "output_format",
}


@dataclass(frozen=True)
class SavedMappingInfo:
    name: str
    locator: str
    mapper_id: str
    field_map: dict[str, str]
    options: dict[str, Any]
    drop_reasons: list[str]
    dataset: str | None
    mode: str
    split: str
    seed: int
    split_group: str | None
    format: str
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_run_at: datetime | None
    last_run_accepted: int | None
    last_run_status: str | None

    def definition(self) -> dict[str, Any]:
        return {key: _copy(getattr(self, key)) for key in DEFINITION_FIELDS}

    def to_spec(self, actor: str | None = None) -> ImportSpec:
        return ImportSpec(**self.definition(), actor=actor, config_id=self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **self.definition(),
            "version": self.version,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "last_run_accepted": self.last_run_accepted,
            "last_run_status": self.last_run_status,
        }

    @classmethod
    def from_row(cls, row: SavedMapping) -> "SavedMappingInfo":
        return cls(
            name=row.name,
            **{key: _copy(getattr(row, column)) for key, column in DEFINITION_FIELDS.items()},
            version=row.version,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
            last_run_at=row.last_run_at,
            last_run_accepted=row.last_run_accepted,
            last_run_status=row.last_run_status,
        )


@dataclass(frozen=True)
class MappingVersionInfo:
    name: str
    version: int
    definition: dict[str, Any]
    saved_by: str
    saved_at: datetime
    change: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "change": self.change,
            "saved_by": self.saved_by,
            "saved_at": self.saved_at.isoformat(),
            "definition": dict(self.definition),
        }


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


def _validate_name(name: str) -> str:
    # Mapping names double as dataset-style identifiers in the CLI and the audit log.
    try:
        return validate_dataset_name(name)
    except ConfigError:
        raise ConfigError(
            f"mapping name {name!r} is not allowed; use letters, digits, '.', '_' or '-' (starting with a letter or digit)"
        ) from None


def validate_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """Check a definition as an import would and return it resolved (mapper, field map, dataset)."""
    spec = ImportSpec(**definition)
    plan = plan_import(spec)
    return {
        "locator": plan.spec.locator,  # the refined locator when the introspector looked inside nested JSON
        "mapper_id": plan.mapper.id,
        "field_map": dict(plan.field_map),
        "options": dict(plan.options),
        "drop_reasons": sorted(set(spec.drop_reasons)),
        "dataset": plan.dataset,
        "mode": spec.mode,
        "split": spec.split,
        "seed": spec.seed,
        "split_group": spec.split_group,
        "format": spec.format,
    }


def _apply_definition(row: SavedMapping, definition: dict[str, Any]) -> None:
    for key, column in DEFINITION_FIELDS.items():
        setattr(row, column, _copy(definition[key]))


def _get_row(session: Any, name: str) -> SavedMapping:
    row = session.scalar(select(SavedMapping).where(SavedMapping.name == name))
    if row is None:
        known = session.scalars(select(SavedMapping.name).order_by(SavedMapping.name)).all()
        raise ConfigError(f"no saved mapping named '{name}'; saved mappings: {', '.join(known) or 'none yet'}")
    return row


def save_mapping(
    name: str,
    locator: str | ImportSpec,
    mapper_id: str | None = None,
    field_map: dict[str, str] | None = None,
    options: dict[str, Any] | None = None,
    drop_reasons: list[str] | None = None,
    dataset: str | None = None,
    mode: str = "append",
    split: str = "auto",
    seed: int = 0,
    format: str = "jsonl",
    actor: str | None = None,
    split_group: str | None = None,
) -> SavedMappingInfo:
    """Validate and save a new mapping (``locator`` may also be a whole ``ImportSpec``)."""
    name = _validate_name(name)
    if isinstance(locator, ImportSpec):
        spec = locator
        definition = {key: _copy(getattr(spec, key)) for key in DEFINITION_FIELDS}
        actor = actor or spec.actor
    else:
        definition = {
            "locator": locator,
            "mapper_id": mapper_id,
            "field_map": field_map,
            "options": dict(options or {}),
            "drop_reasons": list(drop_reasons or []),
            "dataset": dataset,
            "mode": mode,
            "split": split,
            "seed": seed,
            "split_group": split_group,
            "format": format,
        }
    actor = actor or default_actor()
    with session_scope() as session:
        if session.scalar(select(SavedMapping.id).where(SavedMapping.name == name)) is not None:
            raise ConfigError(
                f"a saved mapping named '{name}' already exists; edit it with update_mapping or pick another name"
            )
    resolved = validate_definition(definition)
    now = utcnow()
    try:
        with session_scope() as session:
            row = SavedMapping(name=name, version=1, created_by=actor, created_at=now, updated_at=now)
            _apply_definition(row, resolved)
            row.history.append(
                SavedMappingVersion(version=1, definition=resolved, saved_by=actor, saved_at=now, change="created")
            )
            session.add(row)
            session.add(
                new_event(
                    STAGE,
                    MAPPING_SAVED,
                    {"version": 1, "definition": resolved},
                    actor=actor,
                    dataset=resolved["dataset"],
                    config_id=name,
                )
            )
            session.flush()
            return SavedMappingInfo.from_row(row)
    except IntegrityError:
        raise ConfigError(
            f"a saved mapping named '{name}' already exists; edit it with update_mapping or pick another name"
        ) from None


def update_mapping(name: str, *, actor: str | None = None, **changes: Any) -> SavedMappingInfo:
    """Edit a mapping: the changed definition is validated, becomes a new version, and the old one
    stays in its history. Changing ``mapper_id`` without a ``field_map`` guesses a new field map."""
    unknown = sorted(set(changes) - set(DEFINITION_FIELDS))
    if unknown:
        raise ConfigError(f"saved mappings have no setting '{unknown[0]}'; settings: {', '.join(DEFINITION_FIELDS)}")
    actor = actor or default_actor()
    current = get_mapping(name)
    definition = current.definition()
    if "mapper_id" in changes and changes["mapper_id"] != current.mapper_id and "field_map" not in changes:
        definition["field_map"] = None
    definition.update({key: _copy(value) for key, value in changes.items()})
    resolved = validate_definition(definition)
    if resolved == current.definition():
        return current
    with session_scope() as session:
        row = _get_row(session, name)
        if row.version != current.version:
            raise ConfigError(f"saved mapping '{name}' was edited by someone else meanwhile; reload it and retry")
        now = utcnow()
        row.version += 1
        row.updated_at = now
        _apply_definition(row, resolved)
        row.history.append(
            SavedMappingVersion(
                version=row.version, definition=resolved, saved_by=actor, saved_at=now, change="updated"
            )
        )
        changed = sorted(key for key in DEFINITION_FIELDS if resolved[key] != current.definition()[key])
        session.add(
            new_event(
                STAGE,
                MAPPING_UPDATED,
                {"version": row.version, "changed": changed, "definition": resolved},
                actor=actor,
                dataset=resolved["dataset"],
                config_id=name,
            )
        )
        session.flush()
        return SavedMappingInfo.from_row(row)


def get_mapping(name: str) -> SavedMappingInfo:
    with session_scope() as session:
        return SavedMappingInfo.from_row(_get_row(session, name))


def list_mappings() -> list[SavedMappingInfo]:
    with session_scope() as session:
        return [
            SavedMappingInfo.from_row(row) for row in session.scalars(select(SavedMapping).order_by(SavedMapping.name))
        ]


def mapping_history(name: str) -> list[MappingVersionInfo]:
    """Every definition the mapping has had, oldest first (the last one is the current one)."""
    with session_scope() as session:
        row = _get_row(session, name)
        return [
            MappingVersionInfo(
                name=row.name,
                version=item.version,
                definition=dict(item.definition),
                saved_by=item.saved_by,
                saved_at=item.saved_at,
                change=item.change,
            )
            for item in row.history
        ]


def delete_mapping(name: str, *, actor: str | None = None) -> None:
    """Delete a mapping and its history; the audit log keeps its events (and this deletion)."""
    actor = actor or default_actor()
    with session_scope() as session:
        row = _get_row(session, name)
        final = {key: _copy(getattr(row, column)) for key, column in DEFINITION_FIELDS.items()}
        session.add(
            new_event(
                STAGE,
                MAPPING_DELETED,
                {"version": row.version, "definition": final},
                actor=actor,
                dataset=row.dataset,
                config_id=name,
            )
        )
        session.delete(row)


@dataclass(frozen=True)
class UnchangedSource:
    """A re-run that wrote nothing: the source and the mapping are as they were when the mapping
    wrote ``dataset`` v``version``, so importing again would only copy that version."""

    name: str
    dataset: str
    version: int
    fingerprint: str
    manifest: dict[str, Any]

    @property
    def message(self) -> str:
        same = "same content hash" if self.fingerprint.startswith("sha256:") else "same fingerprint"
        return (
            f"source unchanged since {self.dataset} v{self.version} ({same}) and mapped the same way; nothing written"
        )

    def to_dict(self) -> dict[str, Any]:
        # The keys of ImportResult.to_dict that describe the outcome, so a caller rendering import
        # results (the UI's job panel) shows this one too: nothing read, nothing added.
        counts = self.manifest.get("counts") or {}
        return {
            "unchanged": True,
            "message": self.message,
            "name": self.name,
            "dataset": self.dataset,
            "version": self.version,
            "task_profile": self.manifest.get("task_profile", ""),
            "mapper_id": self.manifest.get("mapper_id"),
            "source_fingerprint": self.fingerprint,
            "rows_read": 0,
            "accepted": 0,
            "rejected": 0,
            "rejected_counts": {},
            "duplicates": 0,
            "records": counts.get("records"),
            "split_counts": dict(counts.get("splits") or {}),
            "content_hash": self.manifest.get("content_hash"),
            "warnings": [self.message],
        }


def rerun_mapping(
    name: str, actor: str | None = None, progress: Any = None, force: bool = False
) -> ImportResult | UnchangedSource:
    """Import again with the mapping's current definition; records last_run_at / last_run_accepted.

    When the source's fingerprint and the definition match the version the mapping last wrote (and
    that version's records are still in the dataset), nothing is written and an ``UnchangedSource``
    says so; ``force`` imports anyway."""
    mapping = get_mapping(name)
    try:
        unchanged = None if force else _unchanged_since(mapping)
        if unchanged is not None:
            _mark_run(name, status="ok", accepted=0)
            return unchanged
        result = run_import(mapping.to_spec(actor=actor), progress=progress)
    except BaseException:
        _mark_run(name, status="failed", accepted=0)
        raise
    _mark_run(name, status="ok", accepted=result.accepted)
    return result


# The definition keys that decide what an import writes (records, splits, files, warnings), as the
# manifest records them; the others (dataset, the name) are where it writes.
_WRITTEN_KEYS = ("locator", "mapper_id", "field_map", "options", "drop_reasons", "mode", "split", "seed", "format")


def _manifest_definition(manifest: dict[str, Any]) -> dict[str, Any]:
    split = manifest.get("split") or {}
    return {
        "locator": (manifest.get("source") or {}).get("locator"),
        "mapper_id": manifest.get("mapper_id"),
        "field_map": manifest.get("field_map"),
        "options": manifest.get("options"),
        "drop_reasons": manifest.get("drop_reasons"),
        "mode": manifest.get("mode"),
        "split": split.get("assign"),
        "seed": split.get("seed"),
        "format": manifest.get("format"),
    }


def _unchanged_since(mapping: SavedMappingInfo) -> UnchangedSource | None:
    """The version this mapping last wrote when re-running it now would write the same thing, else None.

    Walks back from the dataset's current version: versions other imports appended after it keep its
    records, but a later replace (or this mapping replacing whatever came after) means a re-run
    changes the dataset. Anything that cannot be told (no fingerprint, an unreadable manifest)
    counts as changed: the import runs and reports its own errors."""
    try:
        fingerprint = source_fingerprint(open_source(mapping.locator))
    except Exception:  # the import opens it again and fails with the proper event
        return None
    if fingerprint is None or not mapping.dataset:
        return None
    current = current_version(mapping.dataset)
    if current is None:
        return None
    wanted = {key: mapping.definition()[key] for key in _WRITTEN_KEYS}
    for number in reversed([v for v in list_versions(mapping.dataset) if v <= current]):
        try:
            manifest = open_dataset(mapping.dataset, number).manifest
        except ConfigError:
            return None
        if manifest.get("config_id") == mapping.name:
            same = (manifest.get("source") or {}).get("fingerprint") == fingerprint
            if not same or _manifest_definition(manifest) != wanted:
                return None
            return UnchangedSource(
                name=mapping.name, dataset=mapping.dataset, version=number, fingerprint=fingerprint, manifest=manifest
            )
        if mapping.mode != "append" or manifest.get("mode") != "append":
            return None
    return None


def _mark_run(name: str, *, status: str, accepted: int) -> None:
    with session_scope() as session:
        row = session.scalar(select(SavedMapping).where(SavedMapping.name == name))
        if row is None:  # deleted while it ran
            return
        row.last_run_at = utcnow()
        row.last_run_status = status
        row.last_run_accepted = accepted
