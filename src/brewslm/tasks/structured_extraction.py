"""structured_extraction: pull structure out of text, scored in one of two modes.

- ``span_set``: ``{"text": str, "spans": [{"start": int, "end": int, "label": str}, ...]}`` with
  end-exclusive character offsets sorted by ``(start, end)``; ``text[start:end]`` is the span. An
  empty span list is a valid hard negative. Token-level mappers also keep ``tokens`` and ``tags``
  (IOB2), parallel lists.
- ``field_match``: ``{"text": str, "target": {field: value, ...}}`` with JSON values. The manifest's
  ``output_schema.json_schema`` is the schema the mapper was given, or else one inferred here over
  *every* accepted record (never a sample): the JSON types seen per field, and as ``required`` the
  fields present in every record.

Rendering: span_set replies with a JSON list ``[{"text": ..., "label": ...}]`` in offset order
(models quote text far better than they count characters; ``rendering.locate_spans`` turns the list
back into offsets), ``[]`` when there are none; field_match replies with the target JSON object.

Reading a reply, one reader per scoring mode:

- ``SpanSetReader``: the reply must be a JSON list of ``{"text", "label"}`` objects with text
  values (anything else is unparseable); character offsets are recovered with
  ``rendering.locate_spans``, the same function that defines the rendering (a quoted text with
  whitespace around it that occurs only trimmed is placed trimmed). A quoted text the input does
  not contain cannot be placed: it stays in the result as ``{"text", "label"}`` (no offsets),
  never dropped. Its ``json_schema`` is that list, labels limited to the trained span types.
- ``FieldMatchReader``: the reply read as JSON (``replies.parse_json_completion``: lenient only
  about surrounding whitespace and a Markdown code fence; not JSON is unparseable). Its
  ``json_schema`` is the target's: the one given (a recipe's contract, a bundle's), else the
  dataset manifest's ``output_schema.json_schema``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any, Mapping, Optional

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, field_validator, model_validator

from brewslm.records import Record
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile
from brewslm.tasks.rendering import RenderContext, Rendered, locate_spans, single_turn, to_json
from brewslm.tasks.replies import ReplyReader, parse_json_completion

SPAN_SET = "span_set"
FIELD_MATCH = "field_match"


class Span(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: StrictInt
    end: StrictInt
    label: StrictStr

    @field_validator("label")
    @classmethod
    def _label_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty span label")
        return value


class StructuredExtractionRecord(CanonicalRecord):
    text: StrictStr
    spans: Optional[list[Span]] = None
    tokens: Optional[list[StrictStr]] = None
    tags: Optional[list[StrictStr]] = None
    target: Optional[dict[str, Any]] = None

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty text")
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> "StructuredExtractionRecord":
        if (self.spans is None) == (self.target is None):
            raise ValueError("a record has either 'spans' (span_set) or 'target' (field_match), exactly one")
        if self.spans is not None:
            _check_spans(self.text, self.spans)
            if (self.tokens is None) != (self.tags is None):
                raise ValueError("'tokens' and 'tags' come together")
            if self.tokens is not None and len(self.tokens) != len(self.tags or []):
                raise ValueError(f"{len(self.tokens)} tokens but {len(self.tags or [])} tags")
        else:
            if self.tokens is not None or self.tags is not None:
                raise ValueError("'tokens'/'tags' belong to span_set records, not field_match ones")
            if not self.target:
                raise ValueError("the target has no fields")
            _check_json(self.target, "target")
        return self


def _check_spans(text: str, spans: list[Span]) -> None:
    previous: tuple[int, int] | None = None
    for i, span in enumerate(spans):
        if not 0 <= span.start < span.end <= len(text):
            raise ValueError(
                f"span {i} [{span.start}, {span.end}) is empty or outside the text ({len(text)} characters)"
            )
        if previous is not None and (span.start, span.end) < previous:
            raise ValueError(f"span {i} is out of order: spans are sorted by (start, end)")
        previous = (span.start, span.end)


def _check_json(value: Any, where: str) -> None:
    """Target values must be plain JSON: no NaN, no Python objects a JSON writer would choke on."""
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"'{where}' is {value}, not a JSON number")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}.{i}")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"'{where}' has a non-text key {key!r}")
            _check_json(item, f"{where}.{key}")
        return
    raise ValueError(f"'{where}' is a {type(value).__name__}, not a JSON value")


# --- JSON schema inference ----------------------------------------------------------------------


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class SchemaInference:
    """Streams JSON values and describes them as a JSON schema: the types seen at every position,
    object properties (``required`` = present in every object seen there) and array item types.
    Memory grows with the number of distinct keys, not with the number of values."""

    def __init__(self) -> None:
        self.types: Counter[str] = Counter()
        self.objects = 0
        self.properties: dict[str, SchemaInference] = {}
        self.items: SchemaInference | None = None

    def add(self, value: Any) -> None:
        kind = json_type(value)
        self.types[kind] += 1
        if kind == "object":
            self.objects += 1
            for key, item in value.items():
                self.properties.setdefault(str(key), SchemaInference()).add(item)
        elif kind == "array":
            if self.items is None:
                self.items = SchemaInference()
            for item in value:
                self.items.add(item)

    @property
    def seen(self) -> int:
        return sum(self.types.values())

    def schema(self) -> dict[str, Any]:
        kinds = [k for k, _ in sorted(self.types.items(), key=lambda kv: (-kv[1], kv[0]))]
        if "integer" in kinds and "number" in kinds:  # 3 and 3.5 in one field: a number
            kinds.remove("integer")
        out: dict[str, Any] = {}
        if kinds:
            out["type"] = kinds[0] if len(kinds) == 1 else kinds
        if self.objects:
            out["properties"] = {key: node.schema() for key, node in self.properties.items()}
            out["required"] = [key for key, node in self.properties.items() if node.seen == self.objects]
        if self.items is not None and self.items.seen:
            out["items"] = self.items.schema()
        return out


class StructuredExtractionSummary(Summary):
    """span_set: span label counts, spans per record, records without spans (hard negatives).
    field_match: how often each target field is present, and the JSON schema of the target."""

    def __init__(self, output_schema: Mapping[str, Any]):
        super().__init__(output_schema)
        self.span_records = 0
        self.span_label_counts: Counter[str] = Counter()
        self.spans = 0
        self.without_spans = 0
        self.target_records = 0
        self.field_counts: Counter[str] = Counter()
        self.target_schema = SchemaInference()

    def add(self, record: Record) -> None:
        super().add(record)
        spans = record.get("spans")
        if spans is not None:
            self.span_records += 1
            self.spans += len(spans)
            self.without_spans += not spans
            self.span_label_counts.update(span["label"] for span in spans)
        target = record.get("target")
        if target is not None:
            self.target_records += 1
            self.field_counts.update(target.keys())
            self.target_schema.add(target)

    def result(self) -> dict[str, Any]:
        out = super().result()
        stats, schema = out["stats"], out["output_schema"]
        mode = schema.get("scoring_mode") or (FIELD_MATCH if self.target_records > self.span_records else SPAN_SET)
        schema["scoring_mode"] = mode
        if self.span_records:
            stats.update(
                {
                    "spans": self.spans,
                    "span_label_counts": _by_count(self.span_label_counts),
                    "num_span_labels": len(self.span_label_counts),
                    "records_without_spans": self.without_spans,
                    "mean_spans_per_record": round(self.spans / self.span_records, 3),
                }
            )
        if self.target_records:
            inferred = self.target_schema.schema()
            stats["field_counts"] = _by_count(self.field_counts)
            if schema.get("json_schema"):
                stats["inferred_json_schema"] = inferred  # kept beside the given one for comparison
            else:
                schema["json_schema"] = inferred
        return out


def _by_count(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


class SpanSetReader(ReplyReader):
    """The entities a reply quotes, placed in the input (see the module docstring)."""

    task = "structured_extraction"
    scoring_mode = SPAN_SET
    max_new_tokens = 384  # a JSON list quoting every entity of the text
    constrainable = True

    def parse(self, text: str, record: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        try:
            items = json.loads(text.strip())
        except json.JSONDecodeError:
            return None
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and isinstance(item.get("text"), str) and isinstance(item.get("label"), str)
            for item in items
        ):
            return None
        source = record["text"]
        items = [_as_in_source(item, source) for item in items]
        # locate_spans skips a text it cannot find without moving its cursor, so locating only the
        # findable items places them exactly as locating the whole list would
        findable = [item for item in items if item["text"] and item["text"] in source]
        unplaced = [
            {"text": item["text"], "label": item["label"]}
            for item in items
            if not (item["text"] and item["text"] in source)
        ]
        return locate_spans(source, findable) + unplaced

    def json_schema(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The completion's shape: a list of ``{"text", "label"}`` objects, labels limited to the
        span types the model was trained with when the render context knows them."""
        label: dict[str, Any] = {"type": "string"}
        if self.context.span_labels:
            label["enum"] = list(self.context.span_labels)
        return {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"text": {"type": "string"}, "label": label},
                "required": ["text", "label"],
                "additionalProperties": False,
            },
        }


def _as_in_source(item: dict[str, Any], source: str) -> dict[str, Any]:
    """The quoted text as it occurs in the input: a reply that quotes an entity with a space or
    newline around it (a token boundary, ``" Janet Burns"``) names the entity, not the space, so
    the text is trimmed when only the trimmed form occurs. Any other text is kept as quoted."""
    text = item["text"]
    trimmed = text.strip()
    if text in source or not trimmed or trimmed not in source:
        return item
    return {**item, "text": trimmed}


class FieldMatchReader(ReplyReader):
    """The JSON value a reply holds (normally the target object; see the module docstring)."""

    task = "structured_extraction"
    scoring_mode = FIELD_MATCH
    max_new_tokens = 256  # one JSON object of short field values
    constrainable = True

    @property
    def schema(self) -> dict[str, Any] | None:
        """The target's JSON schema: the one given, else the dataset's (None when neither)."""
        schema = self.given_schema or (self.manifest.get("output_schema") or {}).get("json_schema")
        return dict(schema) if schema else None

    def parse(self, text: str, record: Mapping[str, Any]) -> Any:
        parsed = parse_json_completion(text)
        return parsed.value if parsed.ok else None

    def json_schema(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.schema


class StructuredExtractionProfile(TaskProfile):
    id = "structured_extraction"
    description = "Text -> character spans (span_set) or a JSON object of fields (field_match)."
    record_model = StructuredExtractionRecord
    summary_class = StructuredExtractionSummary
    readers = {SPAN_SET: SpanSetReader, FIELD_MATCH: FieldMatchReader}

    def render(self, record: Record, context: RenderContext | None = None) -> Rendered:
        context = context or RenderContext()
        text = record["text"]
        if record.get("spans") is not None:
            labels = context.span_labels
            kinds = f" (labels: {', '.join(labels)})" if labels and len(labels) <= context.max_listed_labels else ""
            ask = (
                f'Extract the entities{kinds} from the text as a JSON list of {{"text", "label"}} objects '
                "in order of appearance. Reply [] if there are none."
            )
            return single_turn(f"{ask}\n\nText: {text}", to_json(rendered_spans(record)))
        fields = context.fields
        keys = f" with the keys: {', '.join(fields)}" if fields else ""
        return single_turn(
            f"Extract the fields from the text as a JSON object{keys}.\n\nText: {text}", to_json(record["target"])
        )


def rendered_spans(record: Record) -> list[dict[str, str]]:
    """The span_set completion's items: each span's text and label, in offset order."""
    text = record["text"]
    return [{"text": text[s["start"] : s["end"]], "label": s["label"]} for s in record["spans"]]


def span_offsets_recoverable(record: Record) -> bool:
    """Whether ``locate_spans`` recovers this record's exact offsets from its rendering (false only
    when a span repeats an earlier, unannotated occurrence of the same text)."""
    found = locate_spans(record["text"], rendered_spans(record))
    return found == [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in record["spans"]]


PROFILE = StructuredExtractionProfile()
