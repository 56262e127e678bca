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

Labelled OCR boxes. Forms and receipts (FUNSD, WildReceipt, XFUND...) often come as a list of boxes
``[{box, text, label}]`` and nothing else. Map that list to ``boxes`` (``annotations=boxes``) and it
builds both the text and the target:

- a box is ``[x1, y1, x2, y2]`` (option ``box_format=xywh`` for ``[x, y, width, height]``), four
  points ``[[x, y], ...]`` or eight numbers ``x1, y1, ..., x4, y4``; only its enclosing rectangle is
  used;
- reading order: boxes sorted by their vertical centre, then grouped into lines: a box joins the
  line opened by an earlier box when either box's vertical centre lies within the other's vertical
  extent; lines run top to bottom, boxes in a line left to right (ties keep the source order);
- ``text`` = the boxes' texts in reading order, joined by one space within a line and by a newline
  between lines (blank texts left out);
- ``target`` = ``{label: [texts of the boxes with that label, in reading order]}`` (always a list, so
  a field keeps one type in every record); every value is a box's text exactly;
- labels are names, or class ids named by option ``label_names`` (a list index -> name or an object
  id -> name; an id without a name is ``label_not_allowed``); without ``label_names`` ids stay ids;
- boxes whose label says "no field" are left out of the target (their text stays in the text):
  option ``ignore_labels`` lists them; by default a label named other/others/ignore/ignored/o/none/
  null/background/irrelevant (any case) is ignored; ``ignore_labels=[]`` keeps all;
- the keys of a box are found by their usual names (box/bbox/points/..., text/transcription/...,
  label/class/category/...) or named by options ``box_key``, ``text_key``, ``label_key``.

A row with no box, a box that is not a list of numbers, a text that is not a string or a label that
is a list or an object is rejected (``wrong_type``); a row with no labelled box is
``no_fields_extracted``. A text field mapped beside ``boxes`` is used as the text instead.

The manifest's JSON schema is the ``json_schema`` option when given, otherwise the task profile
infers it over every accepted record.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.mappers._options import OptionsCache
from brewslm.mappers._sniffing import (
    QUESTION_SHARE,
    children,
    choose_text_field,
    holds_questions,
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
    label_to_str,
    name_label,
    read_label_names,
    read_list,
    read_object,
    read_text,
    type_name,
)
from brewslm.mappers.profile import SampleProfile
from brewslm.sources.class_labels import class_ids, find_label_names

TARGET = "target"
TARGET_PREFIX = "target."
TEXT_CANDIDATES = (
    "text",
    "ocr_text",
    "ocr",
    "document",
    "content",
    "full_text",
    "raw_text",
    "body",
    "input",
    "receipt_text",
    "source_text",
    "context",
    "words_text",
)
TARGET_CANDIDATES = (
    "target",
    "key",
    "fields",
    "kv",
    "key_values",
    "extraction",
    "extracted",
    "entities",
    "output",
    "ground_truth",
    "gt_parse",
    "annotation",
    "labels",
    "values",
)


OCR_BOX_LINE = re.compile(r"^[ \t]*(?:-?\d+(?:\.\d+)?[ \t]*,[ \t]*){8}", re.MULTILINE)
"""The eight box coordinates that open an OCR CSV line (``x1,y1,...,x4,y4,``)."""
OCR_BOX_CHOICES = ("keep", "strip")


BOXES = "boxes"
BOX_KEYS = (
    "box",
    "bbox",
    "points",
    "quad",
    "polygon",
    "coordinates",
    "coords",
    "bounding_box",
    "boundingbox",
    "position",
    "location",
    "rect",
    "vertices",
)
BOX_TEXT_KEYS = ("text", "transcription", "value", "content", "word", "ocr", "string", "transcript")
BOX_LABEL_KEYS = (
    "label",
    "class",
    "category",
    "category_id",
    "class_id",
    "label_id",
    "key_type",
    "type",
    "tag",
    "entity",
    "field",
    "key",
    "labels",
)
NO_FIELD_LABELS = frozenset({"other", "others", "ignore", "ignored", "o", "none", "null", "background", "irrelevant"})
BOX_FORMATS = ("xyxy", "xywh")


@dataclass(frozen=True)
class _Options:
    json_schema: dict[str, Any] | None
    keep_empty: bool
    strip_ocr_boxes: bool = False
    box_format: str = "xyxy"
    label_names: dict[str, str] | None = None
    ignore_labels: frozenset[str] | None = None  # None: the NO_FIELD_LABELS name rule
    box_key: str | None = None
    text_key: str | None = None
    label_key: str | None = None


def strip_ocr_boxes(text: str) -> str:
    """``text`` with the box coordinates removed from every OCR CSV line (see the module notes)."""
    return OCR_BOX_LINE.sub("", text)


class KvToStructuredMapper(Mapper):
    id = "kv_to_structured"
    task_profile = "structured_extraction"
    description = "Source text + key-value fields (an object, or flat fields) -> a JSON object target (field_match)."
    fields = (
        FieldSpec("text", candidates=TEXT_CANDIDATES, description="the source text the values are extracted from"),
        FieldSpec(
            TARGET,
            candidates=TARGET_CANDIDATES,
            description="an object of key-values; or map flat fields to target.<name> one by one",
        ),
        SOURCE_ID_FIELD,
        FieldSpec(
            BOXES,
            required=False,
            description="a list of labelled OCR boxes [{box, text, label}]: builds the text (reading order) "
            "and the target ({label: [texts]})",
        ),
    )
    builds = {BOXES: ("text", TARGET)}
    options_doc = {
        "json_schema": "the target's JSON schema (an object); without it the schema is inferred over all records",
        "keep_empty": "true: keep blank-string values instead of treating them as absent (default false)",
        "ocr_box_lines": "strip: keep only the text of OCR CSV lines 'x1,y1,...,x4,y4,text' (default keep)",
        "box_format": "boxes: xyxy ([x1, y1, x2, y2], the default) or xywh ([x, y, width, height]) for 4-number boxes",
        "label_names": "boxes: names for class ids, a list (index -> name) or an object (id -> name)",
        "ignore_labels": "boxes: labels that mark no field, left out of the target (default: labels named "
        "other/others/ignore/ignored/o/none/null/background/irrelevant; [] keeps all)",
        "box_key": "boxes: the key holding a box's coordinates (default: box, bbox, points, ...)",
        "text_key": "boxes: the key holding a box's text (default: text, transcription, ...)",
        "label_key": "boxes: the key holding a box's label (default: label, class, category, ...)",
    }

    # --- field maps: target.<name> fills the canonical field 'target' ------------------------
    def canonical_field_of(self, target: str) -> str | None:
        if target.startswith(TARGET_PREFIX) and target[len(TARGET_PREFIX) :].strip():
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

    def map_row(
        self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]
    ) -> "list[Record] | Rejection":
        opts = _cached_options(options)
        if fields.get(BOXES):
            return _map_boxes(row, fields, opts)
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
                sources.append((dst[len(TARGET_PREFIX) :], src, get_path(row, src)))
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
        boxes = _judge_boxes(profile)
        if boxes is not None:
            return boxes
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
    questions = [p for p in profile.top_level() if p != text_field and holds_questions(profile, p)]
    if questions:
        # a column of questions, one per row, beside a text and values quoted from it: reading
        # comprehension (qa_pair_passthrough), not extraction
        proposal.evidence.append(
            f"'{questions[0]}' holds a question per row ({question_share(profile, questions[0]):.0%} read as "
            f"questions): values found in '{text_field}' are more likely their answers than extracted fields"
        )
        proposal.confidence = round(min(proposal.confidence, 0.7), 4)
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
        raise MapperError(
            f"kv_to_structured option json_schema must be a JSON schema object, not a {type_name(schema)}"
        )
    keep = options.get("keep_empty", False)
    if isinstance(keep, str) and keep.strip().lower() in ("true", "false"):
        keep = keep.strip().lower() == "true"
    if not isinstance(keep, bool):
        raise MapperError(f"kv_to_structured option keep_empty must be true or false, not {keep!r}")
    boxes = options.get("ocr_box_lines", "keep")
    if boxes not in OCR_BOX_CHOICES:
        raise MapperError(
            f"kv_to_structured option ocr_box_lines must be one of {', '.join(OCR_BOX_CHOICES)}, not {boxes!r}"
        )
    box_format = options.get("box_format", "xyxy")
    if box_format not in BOX_FORMATS:
        raise MapperError(
            f"kv_to_structured option box_format must be one of {', '.join(BOX_FORMATS)}, not {box_format!r}"
        )
    ignore = options.get("ignore_labels")
    ignored: frozenset[str] | None = None
    if ignore is not None:
        if not isinstance(ignore, (list, tuple)):
            raise MapperError('kv_to_structured option ignore_labels must be a list of labels, e.g. ["other"]')
        converted = [label_to_str(v, "ignore_labels") for v in ignore]
        if any(isinstance(c, Rejection) for c in converted):
            raise MapperError(f"kv_to_structured option ignore_labels: {ignore!r} holds a value that is not a label")
        ignored = frozenset(converted)  # type: ignore[arg-type]
    keys = {}
    for name in ("box_key", "text_key", "label_key"):
        value = options.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise MapperError(f"kv_to_structured option {name} must be a key name, not {value!r}")
        keys[name] = value
    return _Options(
        schema,
        keep,
        boxes == "strip",
        box_format,
        read_label_names(options.get("label_names"), "kv_to_structured"),
        ignored,
        **keys,
    )


# --- labelled OCR boxes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """One OCR box: its enclosing rectangle, its text and its label (None when it has none)."""

    left: float
    top: float
    right: float
    bottom: float
    text: str
    label: str | None
    order: int  # position in the source list

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def box_rectangle(value: Any, box_format: str = "xyxy") -> tuple[float, float, float, float] | None:
    """``(left, top, right, bottom)`` of a box given as 4 numbers, 8 numbers or 4 ``[x, y]`` points
    (None when ``value`` is none of these)."""
    if not isinstance(value, (list, tuple)):
        return None
    if len(value) == 4 and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        value = [c for point in value for c in point]
    numbers = [_number(v) for v in value]
    if any(n is None for n in numbers) or len(numbers) not in (4, 8):
        return None
    if len(numbers) == 4:
        x1, y1, a, b = numbers  # type: ignore[misc]
        x2, y2 = (x1 + a, y1 + b) if box_format == "xywh" else (a, b)  # type: ignore[operator]
        xs, ys = [x1, x2], [y1, y2]
    else:
        xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)  # type: ignore[type-var, return-value]


def _box_key(item: Mapping[str, Any], named: str | None, candidates: tuple[str, ...]) -> str | None:
    if named is not None:
        return named if named in item else None
    for key in candidates:
        if key in item:
            return key
    lower = {str(k).lower(): k for k in item}
    return next((lower[c] for c in candidates if c in lower), None)


def read_boxes(items: list[Any], opts: _Options, path: str) -> "list[Box] | Rejection":
    """The boxes of one row, checked (see the module notes); labels named through ``label_names``."""
    boxes: list[Box] = []
    for i, item in enumerate(items):
        where = f"box {i} of '{path}'"
        if not isinstance(item, Mapping):
            return Rejection("wrong_type", f"{where} is a {type_name(item)}, not an object")
        box_key = _box_key(item, opts.box_key, BOX_KEYS)
        text_key = _box_key(item, opts.text_key, BOX_TEXT_KEYS)
        if box_key is None or text_key is None:
            missing = "coordinates" if box_key is None else "text"
            return Rejection("wrong_type", f"{where} has no {missing} (keys: {', '.join(map(str, item))})")
        rect = box_rectangle(item[box_key], opts.box_format)
        if rect is None:
            return Rejection("wrong_type", f"{where}: '{box_key}' is not 4 or 8 numbers or 4 points")
        text = item[text_key]
        if text is None:
            text = ""
        if not isinstance(text, str):
            return Rejection("wrong_type", f"{where}: '{text_key}' is a {type_name(text)}, not text")
        label_key = _box_key(item, opts.label_key, BOX_LABEL_KEYS)
        raw = item.get(label_key) if label_key is not None else None
        label: str | None = None
        if raw is not None:
            named = label_to_str(raw, f"{where} label")
            if isinstance(named, Rejection):
                return named
            named = name_label(named, opts.label_names, where)
            if isinstance(named, Rejection):
                return named
            label = named
        boxes.append(Box(*rect, text, label, i))
    return boxes


def reading_order(boxes: list[Box]) -> list[list[Box]]:
    """The boxes as lines, top to bottom, each left to right (the rule in the module notes)."""
    lines: list[tuple[Box, list[Box]]] = []  # (the box that opened the line, its boxes)
    for box in sorted(boxes, key=lambda b: (b.middle, b.left, b.order)):
        for opener, members in reversed(lines):
            if opener.top <= box.middle <= opener.bottom or box.top <= opener.middle <= box.bottom:
                members.append(box)
                break
        else:
            lines.append((box, [box]))
    return [sorted(members, key=lambda b: (b.left, b.order)) for _, members in lines]


def is_ignored_label(label: str, ignore: frozenset[str] | None) -> bool:
    return label in ignore if ignore is not None else label.strip().lower() in NO_FIELD_LABELS


def _map_boxes(row: dict[str, Any], fields: Mapping[str, str], opts: _Options) -> "list[Record] | Rejection":
    path = fields[BOXES]
    items = read_list(row, path, "no_fields_extracted")
    if isinstance(items, Rejection):
        return items
    if not items:
        return Rejection("no_fields_extracted", f"field '{path}' holds no box")
    boxes = read_boxes(items, opts, path)
    if isinstance(boxes, Rejection):
        return boxes
    lines = reading_order([b for b in boxes if b.text.strip()])
    if fields.get("text"):
        text = read_text(row, fields["text"], "missing_text")
        if isinstance(text, Rejection):
            return text
    else:
        text = "\n".join(" ".join(b.text for b in line) for line in lines)
    target: dict[str, list[str]] = {}
    for line in lines:
        for box in line:
            if box.label is not None and not is_ignored_label(box.label, opts.ignore_labels):
                target.setdefault(box.label, []).append(box.text)
    if not target:
        return Rejection("no_fields_extracted", f"no box of '{path}' carries a field label")
    record: Record = {"text": text, "target": target}
    return attach_source_id([record], row, fields)


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
        proposal = Proposal(
            KvToStructuredMapper.id, {text_field: "text", path: TARGET}, round(min(confidence, 0.96), 4), evidence
        )
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
        if holds_questions(profile, path):
            continue  # the row's question (its words recur in the text): asked, not extracted
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


@dataclass
class _KeyStats:
    boxes: int = 0
    texts: int = 0
    scalars: int = 0
    ints: int = 0
    values: Counter = field(default_factory=Counter)


BOX_SAMPLE = 5000  # boxes looked at by the sniffer, over the whole sample


def _judge_boxes(profile: SampleProfile) -> Proposal | None:
    """A list of objects that each hold a box-like list of numbers, a text and a label: labelled
    OCR boxes. The keys are told apart by their values (numbers for the box; for the label the
    scalar key with the fewest distinct values that repeat; for the text the string key with the
    most), usual names breaking ties."""
    n = profile.n_rows
    best: Proposal | None = None
    for path, fp in profile.fields.items():
        if fp.list_count < 0.8 * n or fp.item_frac("object") < 0.9:
            continue
        stats: dict[str, _KeyStats] = {}
        items = 0
        flipped = fours = 0
        for row in profile.rows:
            value = get_path(row, path)
            if not isinstance(value, list):
                continue
            for item in value:
                if items >= BOX_SAMPLE:
                    break
                if not isinstance(item, dict):
                    continue
                items += 1
                for key, v in item.items():
                    st = stats.setdefault(str(key), _KeyStats())
                    if box_rectangle(v) is not None:
                        st.boxes += 1
                        if len(v) == 4 and _number(v[0]) is not None:
                            fours += 1
                            flipped += v[2] < v[0] or v[3] < v[1]
                    elif isinstance(v, str):
                        st.texts += 1
                        st.scalars += 1
                        st.values[v.strip()] += 1
                    elif isinstance(v, int) and not isinstance(v, bool):
                        st.scalars += 1
                        st.ints += 1
                        st.values[str(v)] += 1
        if items < max(2, n):
            continue
        proposal = _boxes_proposal(profile, path, stats, items, flipped, fours)
        if proposal is not None and (best is None or proposal.confidence > best.confidence):
            best = proposal
    return best


def _pick(keys: list[str], names: tuple[str, ...], key: Any) -> str | None:
    """The key named like ``names`` (in their order), else the best by ``key``."""
    if not keys:
        return None
    lower = {k.lower(): k for k in keys}
    named = next((lower[c] for c in names if c in lower), None)
    return named if named is not None else max(keys, key=key)


def _boxes_proposal(
    profile: SampleProfile, path: str, stats: dict[str, _KeyStats], items: int, flipped: int, fours: int
) -> Proposal | None:
    box_keys = [k for k, st in stats.items() if st.boxes >= 0.9 * items]
    box_key = _pick(box_keys, BOX_KEYS, lambda k: stats[k].boxes)
    if box_key is None:
        return None
    # a label repeats: few distinct values, each seen twice on average
    label_keys = [
        k
        for k, st in stats.items()
        if k != box_key
        and st.scalars >= 0.8 * items
        and 2 <= len(st.values) <= max(50, 0.2 * items)
        and st.scalars >= 2 * len(st.values)
    ]
    label_key = _pick(label_keys, BOX_LABEL_KEYS, lambda k: -len(stats[k].values))
    text_keys = [k for k, st in stats.items() if k not in (box_key, label_key) and st.texts >= 0.9 * items]
    text_key = _pick(text_keys, BOX_TEXT_KEYS, lambda k: len(stats[k].values))
    if label_key is None or text_key is None:
        return None
    labels = stats[label_key]
    options: dict[str, Any] = {"box_key": box_key, "text_key": text_key, "label_key": label_key}
    evidence = [
        f"'{path}' holds OCR boxes: {items} sample items with coordinates in '{box_key}', text in '{text_key}' "
        f"and a label in '{label_key}' ({len(labels.values)} values)",
        "text = the box texts in reading order (lines top to bottom, left to right); target = {label: [texts]}",
    ]
    confidence = 0.9
    if fours and flipped >= 0.2 * fours:
        options["box_format"] = "xywh"
        evidence.append(f"{flipped}/{fours} four-number boxes end before they start: [x, y, width, height]")
    counts = labels.values
    ids = class_ids(counts)
    if ids is not None:
        found = find_label_names(profile.origin, ids)
        if found is None:
            evidence.append(
                f"labels are class ids without names ({', '.join(sorted(counts, key=_id_order)[:8])}"
                f"{', ...' if len(counts) > 8 else ''}) and no label-name file names them; kept as ids"
            )
            confidence = 0.82
        else:
            options["label_names"] = dict(found.names)
            evidence.append(f"labels are class ids, named by {found.describe()}")
            counts = Counter()
            for value, count in labels.values.items():
                counts[found.names.get(value, value)] += count
    if ids is None or "label_names" in options:
        ignored = sorted(v for v in counts if v.strip().lower() in NO_FIELD_LABELS)
        options["ignore_labels"] = ignored
        total = sum(counts.values())
        if ignored:
            evidence.append(
                "labels that mark no field, left out of the target: "
                + ", ".join(f"'{v}' ({counts[v] / total:.0%} of boxes)" for v in ignored)
            )
    field_map = {path: BOXES}
    id_field = profile.find(SOURCE_ID_FIELD.candidates, lambda fp: fp.frac("list") == 0 and fp.frac("object") == 0)
    if id_field:
        field_map[id_field] = "id"
    rest = unmapped_fields(profile, field_map)
    leftover = [p for p, kind in rest.items() if kind in ("list", "object", "text")]
    if leftover:
        evidence.append(f"fields left unmapped: {', '.join(leftover[:5])}")
        confidence = min(confidence, 0.6)
    return Proposal(KvToStructuredMapper.id, field_map, confidence, evidence, options)


def _id_order(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (1 << 62, value)


_cached_options = OptionsCache(_parse_options)

MAPPER = KvToStructuredMapper()
