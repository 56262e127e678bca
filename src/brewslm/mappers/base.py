"""The mapper contract: one source row -> canonical records of one task profile, or a rejection.

A field map is ``{source_field: canonical_field}`` (the CLI's ``--field-map src=dst``); source
fields may be dotted paths into nested objects (``key.company``, ``prompt.text``). Mappers look
fields up through ``Mapper.canonical_map`` (canonical -> source) and read values with the
helpers below, so every mapper rejects a wrong-typed value the same way (``wrong_type``) instead
of turning it into a Python repr string.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Mapping

from brewslm.errors import MapperError
from brewslm.records import Record, Rejection, type_name  # the contract's types, read from here by mappers
from brewslm.sources.base import ParseFailure

if TYPE_CHECKING:
    from brewslm.mappers.profile import SampleProfile

FieldMap = dict[str, str]  # source field (dotted path) -> canonical field

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()


@dataclass(frozen=True)
class FieldSpec:
    """A canonical field a mapper fills, and the source names it is usually found under."""

    name: str
    required: bool = True
    candidates: tuple[str, ...] = ()
    description: str = ""
    # several source fields may feed it (a field map naming it more than once: title=text body=text);
    # the mapper joins them. Any other canonical field takes one source.
    joinable: bool = False


DEFECT_MIN_ACCEPTED = 5  # clean rows needed before data-defect rejections stop counting against a mapping
DEFECT_MIN_SHARE = 0.25  # ... and the share of the rows they must be


def fit_share(accepted: int, rows: int, defects: int = 0) -> float:
    """How well a mapping fits ``rows``: the accepted share, with the rows rejected as defects of
    the data itself (``Rejection.defect``) left out once at least ``DEFECT_MIN_ACCEPTED`` rows and
    ``DEFECT_MIN_SHARE`` of all rows are accepted. Used by the gate and by sniffers alike."""
    if not rows:
        return 0.0
    if not defects or accepted < max(DEFECT_MIN_ACCEPTED, DEFECT_MIN_SHARE * rows) or defects >= rows:
        return accepted / rows
    return accepted / (rows - defects)


@dataclass
class Proposal:
    """A mapper + field map the introspector proposes for a dataset, with its confidence."""

    mapper_id: str
    field_map: FieldMap
    confidence: float
    evidence: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mapper_id": self.mapper_id,
            "field_map": dict(self.field_map),
            "options": dict(self.options),
            "confidence": round(float(self.confidence), 4),
            "evidence": list(self.evidence),
        }


MapOutcome = "list[Record] | Rejection"


class Mapper(ABC):
    """Base class of every mapper. Subclasses set the class attributes and implement ``map_row``."""

    id: ClassVar[str]
    task_profile: ClassVar[str]
    description: ClassVar[str] = ""
    fields: ClassVar[tuple[FieldSpec, ...]] = ()
    options_doc: ClassVar[dict[str, str]] = {}  # option name -> what it does
    # canonical field -> the required fields it builds when mapped (OCR boxes build text and
    # target): those are then neither required nor guessed from their usual names
    builds: ClassVar[dict[str, tuple[str, ...]]] = {}

    # --- field maps -------------------------------------------------------------------------
    def default_field_map(self, source_fields: Iterable[str]) -> FieldMap:
        """Guess a field map from common names (case-insensitive, first candidate that exists)."""
        by_lower = {f.lower(): f for f in source_fields}
        guessed: FieldMap = {}
        for spec in self.fields:
            for cand in spec.candidates:
                src = by_lower.get(cand.lower())
                if src is not None and src not in guessed:
                    guessed[src] = spec.name
                    break
        return guessed

    def canonical_field_of(self, target: str) -> str | None:
        """The canonical field a field-map target fills, or None when it is not one of this
        mapper's. Mappers whose targets carry a sub-name (``target.<name>``) override this."""
        return target if any(spec.name == target for spec in self.fields) else None

    def resolve_field_map(
        self, field_map: Mapping[str, str] | None, source_fields: Iterable[str] | None = None
    ) -> FieldMap:
        """The user's map over the guessed defaults, checked: every target is a canonical field
        of this mapper and every required canonical field has a source."""
        known = {spec.name for spec in self.fields}
        user = dict(field_map or {})
        for src, dst in user.items():
            if self.canonical_field_of(dst) is None:
                raise MapperError(
                    f"field map '{src}={dst}': '{dst}' is not a field of mapper '{self.id}'; "
                    f"its fields are: {', '.join(sorted(known))}"
                )
        self.check_single_sources(user)
        resolved: FieldMap = {}
        if source_fields is not None:
            covered = {self.canonical_field_of(dst) for dst in user.values()}
            covered |= self.built_fields(covered)
            for src, dst in self.default_field_map(source_fields).items():
                if self.canonical_field_of(dst) not in covered and src not in user:
                    resolved[src] = dst
        resolved.update(user)
        filled = {self.canonical_field_of(dst) for dst in resolved.values()}
        filled |= self.built_fields(filled)
        missing = [s.name for s in self.fields if s.required and s.name not in filled]
        if missing:
            have = f"; source fields: {', '.join(sorted(source_fields))}" if source_fields else ""
            raise MapperError(
                f"mapper '{self.id}' needs a source for {', '.join(missing)}; add --field-map SOURCE={missing[0]}{have}"
            )
        return resolved

    def built_fields(self, filled: Iterable[str | None]) -> set[str]:
        """The canonical fields that the mapped fields in ``filled`` build (see ``builds``)."""
        return {built for name in filled if name in self.builds for built in self.builds[name]}

    def check_single_sources(self, field_map: Mapping[str, str]) -> None:
        """A target named by several source fields must be one the mapper joins (``joinable``):
        otherwise all but one source would be dropped silently."""
        joinable = {spec.name for spec in self.fields if spec.joinable}
        sources: dict[str, list[str]] = {}
        for src, dst in field_map.items():
            sources.setdefault(dst, []).append(src)
        for dst, srcs in sources.items():
            if len(srcs) > 1 and dst not in joinable:
                raise MapperError(
                    f"field map gives '{dst}' {len(srcs)} sources ({', '.join(srcs)}); mapper '{self.id}' takes one "
                    f"source for '{dst}'" + (f" (several may feed: {', '.join(sorted(joinable))})" if joinable else "")
                )

    @staticmethod
    def canonical_map(field_map: Mapping[str, str]) -> dict[str, str]:
        """Invert a field map to canonical -> source (the first source wins)."""
        out: dict[str, str] = {}
        for src, dst in field_map.items():
            out.setdefault(dst, src)
        return out

    # --- options ----------------------------------------------------------------------------
    def check_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Reject unknown option names and bad values before any row is read."""
        options = dict(options or {})
        unknown = sorted(set(options) - set(self.options_doc))
        if unknown:
            known = ", ".join(sorted(self.options_doc)) or "none"
            raise MapperError(f"mapper '{self.id}' has no option '{unknown[0]}'; its options: {known}")
        self.parse_options(options)
        return options

    def parse_options(self, options: Mapping[str, Any]) -> Any:
        """The options in ready-to-use form, raising ``MapperError`` for a bad value. Mappers with
        options override this (behind an ``OptionsCache``: ``map_row`` calls it for every row)."""
        return options

    def output_schema(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Extra manifest information about the target (e.g. ``{"scoring_mode": "span_set"}``)."""
        return {}

    # --- mapping ----------------------------------------------------------------------------
    def apply(self, row: Any, fields: Mapping[str, str], options: Mapping[str, Any]) -> "list[Record] | Rejection":
        """Map one source row. ``fields`` is canonical -> source (see ``canonical_map``)."""
        if isinstance(row, ParseFailure):
            return Rejection(row.reason, f"line {row.position}: {row.error}")
        if not isinstance(row, dict):
            return Rejection("wrong_type", f"row is a {type_name(row)}, not an object")
        return self.map_row(row, fields, options)

    @abstractmethod
    def map_row(
        self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]
    ) -> "list[Record] | Rejection":
        """Return one or more canonical records for ``row``, or a ``Rejection``."""

    # --- introspection ----------------------------------------------------------------------
    def sniff(self, profile: "SampleProfile") -> Proposal | None:
        """Look at a sample and propose this mapper with a field map and confidence, or None."""
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task_profile": self.task_profile,
            "description": self.description,
            "fields": [
                {
                    "name": s.name,
                    "required": s.required,
                    "candidates": list(s.candidates),
                    "description": s.description,
                    "joinable": s.joinable,
                }
                for s in self.fields
            ],
            "options": dict(self.options_doc),
        }


# The optional ``id`` every canonical record may carry: the source row's own identifier.
SOURCE_ID_FIELD = FieldSpec(
    "id",
    required=False,
    candidates=("id", "uid", "guid", "example_id", "idx"),
    description="the source row's own id, carried into the record as 'id'",
)

# --- value helpers shared by all mappers ------------------------------------------------------


def structure_from_text(value: Any, want: type | tuple[type, ...] = (list, dict), *, items: type | None = None) -> Any:
    """The list/object a string holds as ONE COMPLETE JSON document of the wanted type, else None.

    The one rule for JSON inside strings (CSV cells, JSON-encoded tool lists and calls): a string
    is decoded only where a mapper needs structure, only when the whole string is a JSON document
    of the type ``want`` (``list``, ``dict`` or both), and with ``items`` only when every list item
    is of that type (``'["Paris", "paris"]'`` is a list of aliases, ``"[0, 1, 3]"`` is not). Anything
    else - text that merely starts with a bracket (``"[Verse 1] ..."``), a truncated or trailing-text
    document, a scalar - gives None: the caller keeps the string exactly as it is (where the target
    is text) or rejects it; nothing is ever kept from a partial parse. A value that already has the
    wanted type is returned as is, so callers can pass raw field values straight through.
    """
    wanted = want if isinstance(want, tuple) else (want,)
    if isinstance(value, str):
        text = value.strip()
        opener = {list: "[", dict: "{"}
        if not text or text[0] not in {opener[w] for w in wanted if w in opener}:
            return None
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return None
    if not isinstance(value, wanted):
        return None
    if (
        items is not None
        and isinstance(value, list)
        and not all(isinstance(i, items) and not (items is int and isinstance(i, bool)) for i in value)
    ):
        return None
    return value


def get_path(row: Any, path: str) -> Any:
    """Value at a dotted path (``a.b``, ``a.0.b`` for list items), or ``MISSING``."""
    if isinstance(row, dict) and path in row:
        return row[path]
    cur = row
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, (list, tuple)) and part.lstrip("-").isdigit() and -len(cur) <= int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return MISSING
    return cur


def source_of(fields: Mapping[str, str], canonical: str) -> str | None:
    return fields.get(canonical)


def read_text(row: Any, path: str | None, missing_reason: str, *, allow_empty: bool = False) -> "str | Rejection":
    """A text value kept exactly as written (newlines and inner whitespace intact).

    Missing, null or blank -> ``missing_reason``; a number, list or object -> ``wrong_type``.
    """
    value = MISSING if path is None else get_path(row, path)
    if value is MISSING or value is None:
        return Rejection(missing_reason, f"field '{path}' is missing" if path else "no source field mapped")
    if not isinstance(value, str):
        return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where text is expected")
    if not allow_empty and not value.strip():
        return Rejection(missing_reason, f"field '{path}' is empty")
    return value


def read_label(row: Any, path: str | None, missing_reason: str = "missing_label") -> "str | Rejection":
    """A class label as a string: strings are stripped, ints and integral floats become their
    digits, booleans become ``true``/``false``; lists, objects and NaN are ``wrong_type``."""
    value = MISSING if path is None else get_path(row, path)
    if value is MISSING or value is None:
        return Rejection(missing_reason, f"field '{path}' is missing" if path else "no source field mapped")
    return label_to_str(value, path or "label", missing_reason)


def label_to_str(value: Any, path: str, missing_reason: str = "missing_label") -> "str | Rejection":
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return Rejection("wrong_type", f"field '{path}' is {value}, not a label")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        text = value.strip()
        return text if text else Rejection(missing_reason, f"field '{path}' is empty")
    return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where a label is expected")


def read_list(row: Any, path: str | None, missing_reason: str) -> "list | Rejection":
    """A list value; a JSON string holding a list is decoded (CSV cells carry lists that way)."""
    value = MISSING if path is None else get_path(row, path)
    if value is MISSING or value is None:
        return Rejection(missing_reason, f"field '{path}' is missing" if path else "no source field mapped")
    if isinstance(value, str):
        decoded = structure_from_text(value, list)
        if decoded is None:
            return Rejection("wrong_type", f"field '{path}' holds text, not a list (nor a complete JSON list)")
        value = decoded
    if not isinstance(value, (list, tuple)):
        return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where a list is expected")
    return list(value)


def read_object(row: Any, path: str | None, missing_reason: str) -> "dict | Rejection":
    """An object value; a JSON string holding an object is decoded."""
    value = MISSING if path is None else get_path(row, path)
    if value is MISSING or value is None:
        return Rejection(missing_reason, f"field '{path}' is missing" if path else "no source field mapped")
    if isinstance(value, str):
        decoded = structure_from_text(value, dict)
        if decoded is None:
            return Rejection("wrong_type", f"field '{path}' holds text, not an object (nor a complete JSON object)")
        value = decoded
    if not isinstance(value, dict):
        return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where an object is expected")
    return value


def read_label_names(raw: Any, owner: str) -> "dict[str, str] | None":
    """A ``label_names`` option as ``{id: name}``: a list is index -> name, an object id -> name
    (ids as ``label_to_str`` writes them: ``"3"``); None when not given. ``owner`` names the mapper
    in the error a bad value raises."""
    if raw is None:
        return None
    if isinstance(raw, (list, tuple)):
        pairs = list(enumerate(raw))
    elif isinstance(raw, Mapping):
        pairs = list(raw.items())
    else:
        raise MapperError(f"{owner} option label_names must be a list or an object of names")
    names: dict[str, str] = {}
    for key, name in pairs:
        key_str, name_str = label_to_str(key, "label_names"), label_to_str(name, "label_names")
        if isinstance(key_str, Rejection) or isinstance(name_str, Rejection) or not isinstance(name, str):
            raise MapperError(f"{owner} option label_names: entry {key!r} -> {name!r} is not a name")
        names[key_str] = name_str
    return names


def name_label(label: str, names: "Mapping[str, str] | None", where: str) -> "str | Rejection":
    """``label`` through ``label_names``: an id becomes its name, a label that already is one of the
    names stays; anything else is ``label_not_allowed``. Without names the label is kept."""
    if names is None or label in names.values() and label not in names:
        return label
    if label in names:
        return names[label]
    return Rejection("label_not_allowed", f"label {label!r} of {where} has no entry in label_names")


def attach_source_id(records: list[Record], row: Any, fields: Mapping[str, str]) -> "list[Record] | Rejection":
    """``records`` with the row's own id (the mapped ``id`` field, when there is one) set on each."""
    source_id = read_source_id(row, fields.get("id"))
    if isinstance(source_id, Rejection):
        return source_id
    if source_id is not None:
        for record in records:
            record["id"] = source_id
    return records


def read_source_id(row: Any, path: str | None) -> "str | int | None | Rejection":
    """A row's own id for the record's optional ``id``: a string or whole number is kept as is,
    absent or null is None, anything else (list, object, boolean, fraction) is ``wrong_type``."""
    value = MISSING if path is None else get_path(row, path)
    if value is MISSING or value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where an id is expected")
    return value
