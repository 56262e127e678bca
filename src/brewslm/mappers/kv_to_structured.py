"""kv_to_structured: a source text + key-value fields -> ``{text, target: {field: value}}`` (field_match).

Field maps. One source field feeds ``text``; the target comes either
  (a) from one object field mapped to ``target`` (``key=target``: SROIE's ``key`` object, whose
      keys become the target's fields; a JSON string holding an object is decoded), or
  (b) from flat fields each mapped to ``target.<name>`` (``company=target.company``,
      ``meta.total=target.total``), which sets ``target[<name>]``;
both may be combined (a flat field then adds to or overrides the object's field).

Values keep their JSON type (``12`` stays a number, ``"12"`` a string; nothing becomes a Python
repr). Nested lists and objects are kept when they are plain JSON; anything else (NaN, dates or
bytes from a binary format) is ``wrong_type``. A null or blank value is an absent field (option
``keep_empty=true`` keeps blank strings). A row whose target ends up empty is
``no_fields_extracted``.

OCR exports. Receipt and form datasets (ICDAR SROIE among them) often carry the OCR output as CSV
lines ``x1,y1,x2,y2,x3,y3,x4,y4,text``: the eight box coordinates make up most of the tokens (about
4/5 on SROIE) and say little to a text model, so option ``ocr_box_lines=strip`` keeps only each such
line's text (other lines stay as they are).

The manifest's JSON schema is the ``json_schema`` option when given, otherwise the task profile
infers it over every accepted record.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.introspection.profile import SampleProfile
from brewslm.mappers._options import OptionsCache
from brewslm.mappers._sniffing import (
    QUESTION_SHARE,
    children,
    choose_text_field,
    is_free_text,
    is_id_like_name,
    is_recurring_class,
    leaf_name,
    question_share,
    unmapped_fields,
    value_occurs,
    words_of,
)
from brewslm.mappers.base import (
    MISSING,
    SOURCE_ID_FIELD,
    FieldSpec,
    Mapper,
    Proposal,
    Record,
    Rejection,
    attach_source_id,
    get_path,
    read_object,
    read_text,
    type_name,
)

TARGET = "target"
TARGET_PREFIX = "target."
TEXT_CANDIDATES = ("text", "ocr_text", "ocr", "document", "content", "full_text", "raw_text", "body", "input",
                   "receipt_text", "source_text", "context", "words_text")
TARGET_CANDIDATES = ("target", "key", "fields", "kv", "key_values", "extraction", "extracted", "entities",
                     "output", "ground_truth", "gt_parse", "annotation", "labels", "values")


OCR_BOX_LINE = re.compile(r"^[ \t]*(?:-?\d+(?:\.\d+)?[ \t]*,[ \t]*){8}", re.MULTILINE)
"""The eight box coordinates that open an OCR CSV line (``x1,y1,...,x4,y4,``)."""
OCR_BOX_CHOICES = ("keep", "strip")


@dataclass(frozen=True)
class _Options:
    json_schema: dict[str, Any] | None
    keep_empty: bool
    strip_ocr_boxes: bool = False


def strip_ocr_boxes(text: str) -> str:
    """``text`` with the box coordinates removed from every OCR CSV line (see the module notes)."""
    return OCR_BOX_LINE.sub("", text)


class KvToStructuredMapper(Mapper):
    id = "kv_to_structured"
    task_profile = "structured_extraction"
    description = "Source text + key-value fields (an object, or flat fields) -> a JSON object target (field_match)."
    fields = (
        FieldSpec("text", candidates=TEXT_CANDIDATES, description="the source text the values are extracted from"),
        FieldSpec(TARGET, candidates=TARGET_CANDIDATES,
                  description="an object of key-values; or map flat fields to target.<name> one by one"),
        SOURCE_ID_FIELD,
    )
    options_doc = {
        "json_schema": "the target's JSON schema (an object); without it the schema is inferred over all records",
        "keep_empty": "true: keep blank-string values instead of treating them as absent (default false)",
        "ocr_box_lines": "strip: keep only the text of OCR CSV lines 'x1,y1,...,x4,y4,text' (default keep)",
    }

    # --- field maps: target.<name> fills the canonical field 'target' ------------------------
    def canonical_field_of(self, target: str) -> str | None:
        if target.startswith(TARGET_PREFIX) and target[len(TARGET_PREFIX):].strip():
            return TARGET
        return super().canonical_field_of(target)

    def output_schema(self, options: Mapping[str, Any]) -> dict[str, Any]:
        opts = _cached_options(options)
        out: dict[str, Any] = {"scoring_mode": "field_match"}
        if opts.json_schema is not None:
            out["json_schema"] = opts.json_schema
        return out

    def parse_options(self, options: Mapping[str, Any]) -> Any:
        return _cached_options(options)

    def map_row(self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]) -> "list[Record] | Rejection":
        opts = _cached_options(options)
        text = read_text(row, fields.get("text"), "missing_text")
        if isinstance(text, Rejection):
            return text
        if opts.strip_ocr_boxes:
            text = strip_ocr_boxes(text)
        target: dict[str, Any] = {}
        sources: list[tuple[str, str, Any]] = []  # (target name, source path, value)
        if fields.get(TARGET):
            obj = read_object(row, fields[TARGET], "no_fields_extracted")
            if isinstance(obj, Rejection):
                return obj
            sources.extend((str(k), f"{fields[TARGET]}.{k}", v) for k, v in obj.items())
        for dst, src in fields.items():
            if dst.startswith(TARGET_PREFIX):
                sources.append((dst[len(TARGET_PREFIX):], src, get_path(row, src)))
        for name, path, value in sources:
            if value is MISSING or value is None:
                continue
            if isinstance(value, str) and not value.strip() and not opts.keep_empty:
                continue
            problem = _json_problem(value)
            if problem:
                return Rejection("wrong_type", f"field '{path}' {problem}")
            target[name] = value
        if not target:
            where = ", ".join(src for dst, src in fields.items() if dst == TARGET or dst.startswith(TARGET_PREFIX))
            return Rejection("no_fields_extracted", f"no value in {where or 'the target fields'}")
        record: Record = {"text": text, "target": target}
        return attach_source_id([record], row, fields)

    # --- introspection ------------------------------------------------------------------------
    def sniff(self, profile: SampleProfile) -> Proposal | None:
        n = profile.n_rows
        if not n:
            return None
        text_field, by_name = choose_text_field(profile, TEXT_CANDIDATES, min_words=3.0)
        longest = profile.best(lambda fp: is_free_text(fp, n, 3.0), key=lambda fp: fp.mean_chars, top_level_only=True)
        if not by_name and longest is not None:
            text_field = longest
        if text_field is None:
            return None
        proposals = [p for p in (_judge_object(profile, text_field), _judge_flat(profile, text_field)) if p]
        if not proposals:
            return None
        best = max(proposals, key=lambda p: p.confidence)
        _discount_lookalikes(profile, best, text_field)
        id_field = profile.find(SOURCE_ID_FIELD.candidates, lambda fp: fp.frac("list") == 0 and fp.frac("object") == 0)
        if id_field and id_field not in best.field_map:
            best.field_map[id_field] = "id"
        rest = unmapped_fields(profile, best.field_map)
        leftover = [p for p, kind in rest.items() if kind in ("list", "object", "text")]
        if leftover:
            best.evidence.append(f"fields left unmapped: {', '.join(leftover[:5])}")
            best.confidence = round(min(best.confidence, 0.6), 4)
        return best


def _target_fields(profile: SampleProfile, field_map: dict[str, str]) -> list[str]:
    """The source fields that make up the target: flat ``target.<name>`` sources, and the
    profiled fields of an object mapped to ``target``."""
    out: list[str] = []
    for src, dst in field_map.items():
        if dst.startswith(TARGET_PREFIX):
            out.append(src)
        elif dst == TARGET:
            out.extend(children(profile, src))
    return out


def _discount_lookalikes(profile: SampleProfile, proposal: Proposal, text_field: str) -> None:
    """Values found in a text make extraction likely, unless the table is something else that
    also repeats words of its text: questions with their answers (QA), or a handful of classes
    that keep recurring in the text (a topic, an intent, a channel: classification metadata)."""
    targets = _target_fields(profile, proposal.field_map)
    asked = question_share(profile, text_field)
    sentences = [t for t in targets if is_free_text(profile.fields[t], profile.n_rows, 3.0)]
    if asked >= QUESTION_SHARE and sentences:
        # slot values picked out of queries ("flights from Lisbon to Osaka?") stay extraction;
        # a whole sentence echoing a question is its answer
        proposal.evidence.append(
            f"'{text_field}' reads as questions ({asked:.0%} of values) and '{sentences[0]}' holds sentences "
            "that repeat their words: answers, not extracted values"
        )
        proposal.confidence = round(min(proposal.confidence, 0.6), 4)
    if targets and all(is_recurring_class(profile, t) for t in targets):
        shown = ", ".join(f"{t} ({profile.fields[t].distinct} values)" for t in targets[:5])
        proposal.evidence.append(
            f"every target field holds a few recurring classes, not values that change per document: {shown}"
        )
        proposal.confidence = round(min(proposal.confidence, 0.6), 4)


def _parse_options(options: Mapping[str, Any]) -> _Options:
    schema = options.get("json_schema")
    if schema is not None and not isinstance(schema, dict):
        raise MapperError(f"kv_to_structured option json_schema must be a JSON schema object, not a {type_name(schema)}")
    keep = options.get("keep_empty", False)
    if isinstance(keep, str) and keep.strip().lower() in ("true", "false"):
        keep = keep.strip().lower() == "true"
    if not isinstance(keep, bool):
        raise MapperError(f"kv_to_structured option keep_empty must be true or false, not {keep!r}")
    boxes = options.get("ocr_box_lines", "keep")
    if boxes not in OCR_BOX_CHOICES:
        raise MapperError(f"kv_to_structured option ocr_box_lines must be one of {', '.join(OCR_BOX_CHOICES)}, not {boxes!r}")
    return _Options(schema, keep, boxes == "strip")


def _json_problem(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` is not a plain JSON value (None when it is)."""
    if isinstance(value, (str, bool, int)) or value is None:
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"is {value}, not a JSON number"
    if depth > 50:
        return "is nested too deeply"
    if isinstance(value, (list, tuple)):
        for item in value:
            problem = _json_problem(item, depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"has a non-text key {key!r}"
            problem = _json_problem(item, depth + 1)
            if problem:
                return problem
        return None
    return f"is a {type(value).__name__}, not a JSON value"


# --- sniffing -----------------------------------------------------------------------------------

def _scalar_leaves(value: Any, limit: int = 50) -> list[Any]:
    out: list[Any] = []
    stack = [value]
    while stack and len(out) < limit:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            out.append(item)
    return out


def _judge_object(profile: SampleProfile, text_field: str) -> Proposal | None:
    best: Proposal | None = None
    for path in profile.top_level():
        fp = profile.fields[path]
        if path == text_field or fp.frac("object") < 0.8 or fp.present < 0.8 * profile.n_rows:
            continue
        found = total = 0
        keys: dict[str, int] = {}
        for row in profile.rows:
            text, obj = get_path(row, text_field), get_path(row, path)
            if not isinstance(text, str) or not isinstance(obj, dict):
                continue
            for key in obj:
                keys[str(key)] = keys.get(str(key), 0) + 1
            words = words_of(text)
            for leaf in _scalar_leaves(obj):
                hit = value_occurs(leaf, text, words)
                if hit is not None:
                    total += 1
                    found += hit
        if not total or found / total < 0.6:
            continue
        rate = found / total
        confidence = 0.75 + 0.2 * rate + (0.01 if leaf_name(path).lower() in TARGET_CANDIDATES else 0.0)
        evidence = [
            f"object field '{path}' with keys {', '.join(sorted(keys, key=lambda k: -keys[k])[:8])}",
            f"{found}/{total} of its sample values occur in '{text_field}' (verbatim or most of their words)",
        ]
        proposal = Proposal(KvToStructuredMapper.id, {text_field: "text", path: TARGET}, round(min(confidence, 0.96), 4), evidence)
        if best is None or proposal.confidence > best.confidence:
            best = proposal
    return best


def _judge_flat(profile: SampleProfile, text_field: str) -> Proposal | None:
    n = profile.n_rows
    rates: dict[str, float] = {}
    texts = [get_path(row, text_field) for row in profile.rows]
    words = [words_of(t) if isinstance(t, str) else set() for t in texts]
    for path in profile.top_level():
        fp = profile.fields[path]
        # unique values are fine here (an order number is worth extracting); id-like names are not
        if path == text_field or is_id_like_name(path) or fp.present < 0.5 * n:
            continue
        if fp.frac("list") or fp.frac("object") or (fp.str_count and fp.mean_words > 8):
            continue
        found = total = 0
        for row, text, text_words in zip(profile.rows, texts, words):
            if not isinstance(text, str):
                continue
            hit = value_occurs(get_path(row, path), text, text_words)
            if hit is not None:
                total += 1
                found += hit
        if total and found / total >= 0.7:
            rates[path] = found / total
    if len(rates) < 2:
        return None
    mean = sum(rates.values()) / len(rates)
    field_map = {text_field: "text", **{p: TARGET_PREFIX + leaf_name(p) for p in rates}}
    evidence = [
        f"short fields whose values occur in '{text_field}': "
        + ", ".join(f"{p} ({r:.0%})" for p, r in sorted(rates.items(), key=lambda kv: -kv[1])[:8])
    ]
    return Proposal(KvToStructuredMapper.id, field_map, round(0.7 + 0.2 * mean, 4), evidence)


_cached_options = OptionsCache(_parse_options)

MAPPER = KvToStructuredMapper()
