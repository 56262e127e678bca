"""span_passthrough: text + character spans already given -> span_set records.

Spans are read in their common spellings:

- objects with a start, an end and a label under any usual name: ``{start, end, label}``,
  ``{start_position, end_position, entity_type, entity_value}`` (Presidio),
  ``{start_offset, end_offset, type}``, ``{begin, end, tag}``, ``{start_char, end_char, entity}``,
  ``{start, length, label}``; Label Studio results ``{value: {start, end, text, labels: [..]}}``
  (one span per label);
- lists ``[start, end, label]`` (spaCy training tuples), optionally ``[start, end, label, text]``.

Offsets are end-exclusive character offsets unless ``end_inclusive=true``. A span outside the
text, empty or reversed is ``span_out_of_bounds``; a span whose stated text (``entity_value``,
``text``...) is not what the offsets cut out of the text is ``span_text_mismatch``.

Whitespace rule: offsets are trimmed so a span never starts or ends with whitespace (annotation
tools often include a trailing space), and a stated value that differs from the text only in
surrounding whitespace or in the kind/amount of inner whitespace (``"12 Main St"`` stated for
``"12 Main\\nSt"`` in the text) still matches; any other difference (case, characters) does not.
Spans are returned sorted by ``(start, end)``; exact duplicates are kept once. An empty span list
is a valid hard negative; an absent or null span field is ``missing_spans``, unless option
``absent_spans=empty``: annotation tools that leave the key out of a task with no entity
(Prodigy) are read as "no span" (the sniffer chooses it only when some rows leave the key out and
no row writes an empty list, so an absent key cannot mean "not annotated" beside explicit ``[]``).

Annotated chunks. Slot-filling data often stores an utterance as consecutive chunks
``[{"text": "weather in "}, {"text": "Paris", "entity": "city"}]`` with no offsets at all. Map that
list to ``chunks`` (``data=chunks``) and it builds the record: ``text`` = the chunks' texts
concatenated exactly (no joiner), one span per chunk that carries a label, at that chunk's
offsets (trimmed of surrounding whitespace by the rule above). The chunk's text and label keys are
found by their usual names or named by options ``chunk_text_key`` / ``chunk_label_key``. A chunk
that is not an object or whose text is not a string is ``wrong_type``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.introspection.profile import SampleProfile
from brewslm.mappers._options import OptionsCache
from brewslm.mappers._sniffing import choose_text_field, leaf_name
from brewslm.mappers.messages import ROLE_KEYS  # a speaker role is never a chunk's text
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
    read_list,
    read_text,
    type_name,
)

START_KEYS = ("start", "start_position", "start_offset", "start_char", "char_start", "startOffset", "begin",
              "start_idx", "start_index", "from", "offset")
END_KEYS = ("end", "end_position", "end_offset", "end_char", "char_end", "endOffset", "stop", "end_idx",
            "end_index", "to")
LENGTH_KEYS = ("length", "len")
LABEL_KEYS = ("label", "entity_type", "type", "entity", "tag", "category", "entity_group", "label_name",
              "entity_label", "ner_type", "class", "labels")
VALUE_KEYS = ("entity_value", "value", "text", "span", "surface", "mention", "word", "span_text")

TEXT_CANDIDATES = ("text", "full_text", "sentence", "content", "document", "source_text", "passage", "body",
                   "raw_text", "input", "context", "unmasked_text")
SPAN_CANDIDATES = ("spans", "entities", "entity_spans", "annotations", "labels", "ner", "mentions",
                   "privacy_mask", "span_labels", "label", "ents", "ner_spans")


CHUNKS = "chunks"
CHUNK_TEXT_KEYS = ("text", "chunk", "value", "content", "word", "surface")
CHUNK_SAMPLE = 5000  # chunks looked at by the sniffer, over the whole sample
CHUNK_LABEL_KEYS = ("entity", "label", "slot", "slot_name", "type", "tag", "entity_type", "category")


@dataclass(frozen=True)
class _Options:
    end_inclusive: bool
    check_values: bool
    default_label: str | None
    absent_empty: bool = False
    chunk_text_key: str | None = None
    chunk_label_key: str | None = None


class SpanPassthroughMapper(Mapper):
    id = "span_passthrough"
    task_profile = "structured_extraction"
    description = "Text + character spans in common spellings -> span_set records (offsets checked)."
    fields = (
        FieldSpec("text", candidates=TEXT_CANDIDATES, description="the text the offsets point into"),
        FieldSpec("spans", candidates=SPAN_CANDIDATES,
                  description="list of spans: objects with start/end/label keys, or [start, end, label] lists"),
        SOURCE_ID_FIELD,
        FieldSpec(CHUNKS, required=False,
                  description="the text as annotated chunks [{text, entity?}]: builds the text (concatenated) and "
                              "one span per labelled chunk"),
    )
    builds = {CHUNKS: ("text", "spans")}
    options_doc = {
        "end_inclusive": "true when the source's end offsets point at the last character, not one past it "
                         "(default false)",
        "check_values": "compare a span's stated text (entity_value, text...) with the text at its offsets and "
                        "reject mismatches as span_text_mismatch (default true)",
        "default_label": "label for spans that carry none (single-type data); without it such a span is "
                         "missing_label",
        "absent_spans": "reject (default: an absent span field is missing_spans) or empty (an absent span field "
                        "means no span)",
        "chunk_text_key": "chunks: the key holding a chunk's text (default: text, chunk, value, ...)",
        "chunk_label_key": "chunks: the key holding a chunk's label (default: entity, label, slot, ...)",
    }

    def output_schema(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"scoring_mode": "span_set"}

    def parse_options(self, options: Mapping[str, Any]) -> Any:
        return _cached_options(options)

    def map_row(self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]) -> "list[Record] | Rejection":
        opts = _cached_options(options)
        if fields.get(CHUNKS):
            return _map_chunks(row, fields, opts)
        text = read_text(row, fields.get("text"), "missing_text")
        if isinstance(text, Rejection):
            return text
        if opts.absent_empty and fields.get("spans") and get_path(row, fields["spans"]) is MISSING:
            raw_spans: list[Any] | Rejection = []
        else:
            raw_spans = read_list(row, fields.get("spans"), "missing_spans")
        if isinstance(raw_spans, Rejection):
            return raw_spans
        spans: list[dict[str, Any]] = []
        for i, item in enumerate(raw_spans):
            parsed = read_span(item, i, opts)
            if isinstance(parsed, Rejection):
                return parsed
            for start, end, label, value in parsed:
                checked = check_span(text, start, end, value, i, check_value=opts.check_values)
                if isinstance(checked, Rejection):
                    return checked
                spans.append({"start": checked[0], "end": checked[1], "label": label})
        unique = {(s["start"], s["end"], s["label"]): s for s in spans}
        record: Record = {"text": text, "spans": [unique[k] for k in sorted(unique)]}
        return attach_source_id([record], row, fields)

    # --- introspection ------------------------------------------------------------------------
    def sniff(self, profile: SampleProfile) -> Proposal | None:
        best: Proposal | None = _judge_chunks(profile)
        for span_field, fp in profile.fields.items():
            if not fp.list_count or fp.list_count < 0.5 * profile.n_rows:
                continue
            shape = _span_shape(fp)
            if shape is None:
                continue
            proposal = _judge(profile, span_field, shape)
            if proposal is not None and (best is None or proposal.confidence > best.confidence):
                best = proposal
        return best


def _parse_options(options: Mapping[str, Any]) -> _Options:
    def flag(name: str, default: bool) -> bool:
        value = options.get(name, default)
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise MapperError(f"span_passthrough option {name} must be true or false, not {value!r}")
        return value

    default_label = options.get("default_label")
    if default_label is not None and (not isinstance(default_label, str) or not default_label.strip()):
        raise MapperError(f"span_passthrough option default_label must be a non-empty string, not {default_label!r}")
    absent = options.get("absent_spans", "reject")
    if absent not in ("reject", "empty"):
        raise MapperError(f"span_passthrough option absent_spans must be reject or empty, not {absent!r}")
    keys = {}
    for name in ("chunk_text_key", "chunk_label_key"):
        value = options.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise MapperError(f"span_passthrough option {name} must be a key name, not {value!r}")
        keys[name] = value
    return _Options(flag("end_inclusive", False), flag("check_values", True), default_label, absent == "empty", **keys)


def _first_key(item: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key in item:
            return key
    lower = {str(k).lower(): k for k in item}
    for key in keys:
        if key.lower() in lower:
            return lower[key.lower()]
    return None


def _offset(value: Any, what: str, index: int) -> "int | Rejection":
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return Rejection("wrong_type", f"span {index}: the {what} offset is a {type_name(value)}, not a whole number")
    return value


def read_span(item: Any, index: int, opts: _Options) -> "list[tuple[int, int, str, str | None]] | Rejection":
    """``[(start, end, label, stated_value)]`` for one span in any supported spelling (end exclusive)."""
    if isinstance(item, Mapping) and isinstance(item.get("value"), Mapping) and _first_key(item["value"], START_KEYS):
        inner = dict(item["value"])  # Label Studio: offsets and labels sit under "value"
        for key in ("labels", "label"):
            if key not in inner and key in item:
                inner[key] = item[key]
        item = inner
    if isinstance(item, Mapping):
        start_key, end_key = _first_key(item, START_KEYS), _first_key(item, END_KEYS)
        if start_key is None:
            return Rejection("wrong_type", f"span {index} has no start offset (keys: {', '.join(map(str, item))})")
        start = _offset(item[start_key], "start", index)
        if isinstance(start, Rejection):
            return start
        if end_key is None:
            length_key = _first_key(item, LENGTH_KEYS)
            if length_key is None:
                return Rejection("wrong_type", f"span {index} has no end offset or length (keys: {', '.join(map(str, item))})")
            length = _offset(item[length_key], "length", index)
            if isinstance(length, Rejection):
                return length
            end = start + length
        else:
            end_value = _offset(item[end_key], "end", index)
            if isinstance(end_value, Rejection):
                return end_value
            end = end_value + 1 if opts.end_inclusive else end_value
        label_key = _first_key(item, LABEL_KEYS)
        raw_label = item[label_key] if label_key is not None else None
        value_key = _first_key(item, VALUE_KEYS)
        value = item[value_key] if value_key is not None and value_key != label_key else None
    elif isinstance(item, (list, tuple)) and len(item) in (3, 4):
        start, end_value = _offset(item[0], "start", index), _offset(item[1], "end", index)
        for got in (start, end_value):
            if isinstance(got, Rejection):
                return got
        end = end_value + 1 if opts.end_inclusive else end_value  # type: ignore[operator]
        raw_label = item[2]
        value = item[3] if len(item) == 4 else None
    else:
        return Rejection(
            "wrong_type", f"span {index} is a {type_name(item)}; expected an object with start/end/label or [start, end, label]"
        )
    if value is not None and not isinstance(value, str):
        return Rejection("wrong_type", f"span {index}: the stated text is a {type_name(value)}, not text")
    labels = _labels(raw_label, index, opts.default_label)
    if isinstance(labels, Rejection):
        return labels
    return [(start, end, label, value) for label in labels]  # type: ignore[misc]


def _labels(raw: Any, index: int, default: str | None) -> "list[str] | Rejection":
    if raw is None or (isinstance(raw, (list, tuple)) and not raw):
        if default is None:
            return Rejection("missing_label", f"span {index} has no label; give option default_label for single-type data")
        return [default]
    items = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    out = []
    for item in items:
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            return Rejection("wrong_type", f"span {index}: the label is a number, not a name")
        label = label_to_str(item, f"span {index} label")
        if isinstance(label, Rejection):
            return label
        out.append(label)
    return out


def check_span(
    text: str, start: int, end: int, value: str | None, index: int, *, check_value: bool = True
) -> "tuple[int, int] | Rejection":
    """The span's offsets trimmed of surrounding whitespace, or why they do not fit the text."""
    if not 0 <= start < end <= len(text):
        what = "empty or reversed" if 0 <= start and end <= len(text) else f"outside the text ({len(text)} characters)"
        return Rejection("span_out_of_bounds", f"span {index} [{start}, {end}) is {what}")
    piece = text[start:end]
    if not piece.strip():
        return Rejection("span_out_of_bounds", f"span {index} [{start}, {end}) covers only whitespace")
    if check_value and value is not None and value != piece and value.split() != piece.split():
        return Rejection(
            "span_text_mismatch",
            f"span {index} [{start}, {end}) states {_short(value)} but the text there is {_short(piece)}",
        )
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    return start + lead, end - trail


def _short(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


# --- sniffing -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Shape:
    kind: str  # "object" or "triple"
    has_value: bool


def _span_shape(fp: Any) -> _Shape | None:
    if fp.item_frac("object") >= 0.9:
        keys = {str(k) for k in fp.item_keys}
        lower = {k.lower() for k in keys}
        if "value" in lower and not (lower & {k.lower() for k in START_KEYS}):
            return _Shape("object", True)  # Label Studio results; checked row by row in _judge
        has_start = bool(lower & {k.lower() for k in START_KEYS})
        has_end = bool(lower & {k.lower() for k in END_KEYS + LENGTH_KEYS})
        has_label = bool(lower & {k.lower() for k in LABEL_KEYS})
        if has_start and has_end and has_label:
            return _Shape("object", bool(lower & {k.lower() for k in VALUE_KEYS}))
        return None
    if fp.item_frac("list") >= 0.9:
        return _Shape("triple", False)
    return None


def _judge(profile: SampleProfile, span_field: str, shape: _Shape) -> Proposal | None:
    """Pick the text field whose characters the offsets fit best, and grade the fit."""
    opts_exclusive = _Options(end_inclusive=False, check_values=True, default_label="_")
    opts_inclusive = _Options(end_inclusive=True, check_values=True, default_label="_")
    text_fields = [p for p, fp in profile.fields.items() if fp.present and fp.frac("string") >= 0.9 and p != span_field]
    named, _ = choose_text_field(profile, TEXT_CANDIDATES, exclude=[span_field])
    best: tuple[float, Proposal] | None = None
    absent = sum(1 for row in profile.rows if get_path(row, span_field) is MISSING)
    explicit_empty = sum(1 for row in profile.rows if get_path(row, span_field) == [])
    absent_empty = bool(absent) and not explicit_empty
    for text_field in text_fields:
        fits = {False: [0, 0, 0], True: [0, 0, 0]}  # end_inclusive -> [spans fit, spans, values compared]
        rows_with_spans = rows_checked = 0
        for row in profile.rows:
            text, spans = get_path(row, text_field), get_path(row, span_field)
            if absent_empty and spans is MISSING:
                spans = []
            if not isinstance(text, str) or not isinstance(spans, list):
                continue
            rows_checked += 1
            rows_with_spans += bool(spans)
            for inclusive, opts in ((False, opts_exclusive), (True, opts_inclusive)):
                for i, item in enumerate(spans[:50]):
                    parsed = read_span(item, i, opts)
                    if isinstance(parsed, Rejection):
                        fits[inclusive][1] += 1
                        continue
                    for start, end, _label, value in parsed:
                        fits[inclusive][1] += 1
                        fits[inclusive][2] += value is not None
                        if not isinstance(check_span(text, start, end, value, i), Rejection):
                            fits[inclusive][0] += 1
        if rows_checked < 0.8 * profile.n_rows or not rows_with_spans:
            continue
        inclusive = fits[True][0] > fits[False][0] and fits[True][2] > 0
        fit, total, compared = fits[inclusive]
        if not total:
            continue
        rate = fit / total
        if rate < 0.5:
            continue
        confidence = 0.7
        evidence = [
            f"'{span_field}' holds {shape.kind} spans in {rows_with_spans}/{rows_checked} rows "
            f"({rows_checked - rows_with_spans} with none)",
        ]
        if compared:
            evidence.append(f"{fit}/{total} sample spans have offsets whose text in '{text_field}' matches the stated value")
            confidence = 0.7 + 0.27 * max(0.0, (rate - 0.5) / 0.5)
        else:
            evidence.append(f"{fit}/{total} sample spans lie inside '{text_field}' (no stated values to compare)")
            confidence = 0.65 + 0.2 * max(0.0, (rate - 0.5) / 0.5)
        if leaf_name(span_field).lower() in SPAN_CANDIDATES:
            confidence += 0.01
        if text_field == named:
            confidence += 0.01
        field_map = {text_field: "text", span_field: "spans"}
        id_field = profile.find(SOURCE_ID_FIELD.candidates, lambda fp: fp.frac("list") == 0 and fp.frac("object") == 0)
        if id_field:
            field_map[id_field] = "id"
        options: dict[str, Any] = {}
        if absent_empty:
            options["absent_spans"] = "empty"
            evidence.append(f"{absent} rows leave '{span_field}' out and none holds an empty list: "
                            "an absent key means no span (absent_spans=empty)")
        if inclusive:
            options["end_inclusive"] = True
            evidence.append("end offsets point at the last character: end_inclusive=true")
        proposal = Proposal(SpanPassthroughMapper.id, field_map, round(min(confidence, 0.97), 4), evidence, options)
        if best is None or proposal.confidence > best[0]:
            best = (proposal.confidence, proposal)
    return best[1] if best else None


# --- annotated chunks ----------------------------------------------------------------------------

def _chunk_key(item: Mapping[str, Any], named: str | None, candidates: tuple[str, ...]) -> str | None:
    if named is not None:
        return named if named in item else None
    return _first_key(item, candidates)


def _map_chunks(row: dict[str, Any], fields: Mapping[str, str], opts: _Options) -> "list[Record] | Rejection":
    path = fields[CHUNKS]
    chunks = read_list(row, path, "missing_text")
    if isinstance(chunks, Rejection):
        return chunks
    pieces: list[str] = []
    spans: list[dict[str, Any]] = []
    pos = 0
    for i, chunk in enumerate(chunks):
        if not isinstance(chunk, Mapping):
            return Rejection("wrong_type", f"chunk {i} of '{path}' is a {type_name(chunk)}, not an object")
        text_key = _chunk_key(chunk, opts.chunk_text_key, CHUNK_TEXT_KEYS)
        piece = chunk.get(text_key) if text_key is not None else None
        if not isinstance(piece, str):
            what = "has no text" if piece is None else f"holds a {type_name(piece)} as its text"
            return Rejection("wrong_type", f"chunk {i} of '{path}' {what}")
        label_key = _chunk_key(chunk, opts.chunk_label_key, CHUNK_LABEL_KEYS)
        raw_label = chunk.get(label_key) if label_key is not None and label_key != text_key else None
        if raw_label is not None:
            label = label_to_str(raw_label, f"chunk {i} label")
            if isinstance(label, Rejection):
                return label
            spans.append({"start": pos, "end": pos + len(piece), "label": label})
        pieces.append(piece)
        pos += len(piece)
    text = "".join(pieces)
    if not text.strip():
        return Rejection("missing_text", f"the chunks of '{path}' hold no text")
    out: list[dict[str, Any]] = []
    for i, span in enumerate(spans):
        checked = check_span(text, span["start"], span["end"], None, i)
        if isinstance(checked, Rejection):
            return checked
        out.append({"start": checked[0], "end": checked[1], "label": span["label"]})
    unique = {(s["start"], s["end"], s["label"]): s for s in out}
    record: Record = {"text": text, "spans": [unique[k] for k in sorted(unique)]}
    return attach_source_id([record], row, fields)


def _judge_chunks(profile: SampleProfile) -> Proposal | None:
    """A list of objects that each hold a text, some of them (not all) also a label, and no
    offsets: a text cut into annotated chunks. Unlabelled chunks in most rows tell it from a list
    of labelled items (messages with roles, tagged tokens)."""
    n = profile.n_rows
    best: Proposal | None = None
    for path, fp in profile.fields.items():
        if fp.list_count < 0.8 * n or fp.item_frac("object") < 0.95:
            continue
        keys = {str(k).lower() for k in fp.item_keys}
        if keys & {k.lower() for k in START_KEYS + END_KEYS}:
            continue
        items = 0
        texts: Counter[str] = Counter()
        labelled: Counter[str] = Counter()
        values: dict[str, Counter] = {}
        rows_mixed = 0
        looked_at = 0
        for row in profile.rows:
            chunks = get_path(row, path)
            if not isinstance(chunks, list) or not chunks:
                continue
            if items >= CHUNK_SAMPLE:
                break
            looked_at += 1
            plain = tagged = 0
            for chunk in chunks[:200]:
                if not isinstance(chunk, dict):
                    continue
                items += 1
                strings = {str(k): v for k, v in chunk.items() if isinstance(v, str)}
                for key in strings:
                    texts[key] += 1
                extra = len(strings) > 1
                tagged += extra
                plain += not extra
                for key, v in strings.items():
                    values.setdefault(key, Counter())[v] += 1
                    if extra:
                        labelled[key] += 1
            rows_mixed += bool(plain and tagged)
        if not items or rows_mixed < 0.5 * looked_at:
            continue
        text_key = next((k for k, c in texts.most_common() if c >= 0.95 * items and k not in ROLE_KEYS), None)
        label_keys = [k for k in labelled if k != text_key and texts[k] < 0.95 * items
                      and len(values[k]) <= max(50, 0.5 * texts[k])]
        if text_key is None or not label_keys:
            continue
        label_key = next((k for k in CHUNK_LABEL_KEYS if k in label_keys), None) or max(label_keys, key=lambda k: texts[k])
        evidence = [
            f"'{path}' holds the text as chunks: '{text_key}' in all {items} sample chunks, a label in "
            f"'{label_key}' on {texts[label_key]} of them ({len(values[label_key])} values), no offsets; "
            f"{rows_mixed}/{looked_at} rows mix labelled and plain chunks",
            "text = the chunks' texts concatenated; spans = the labelled chunks' offsets",
        ]
        field_map = {path: CHUNKS}
        id_field = profile.find(SOURCE_ID_FIELD.candidates, lambda f: f.frac("list") == 0 and f.frac("object") == 0)
        if id_field:
            field_map[id_field] = "id"
        options = {"chunk_text_key": text_key, "chunk_label_key": label_key}
        proposal = Proposal(SpanPassthroughMapper.id, field_map, 0.88, evidence, options)
        if best is None or proposal.confidence > best.confidence:
            best = proposal
    return best


_cached_options = OptionsCache(_parse_options)

MAPPER = SpanPassthroughMapper()
