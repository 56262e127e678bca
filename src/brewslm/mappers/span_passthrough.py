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

Spans under other key names. A span object whose keys are none of the usual names is read
through options the sniffer sets from the VALUES: ``offsets_key`` (one key holding a 2-item list
``[start, end]`` of whole numbers, e.g. ``{"pos": [3, 7], "type": "org", "name": "IBM"}``) or
``start_key`` / ``end_key`` (two whole-number keys), ``label_key`` (a short string that recurs
across spans) and ``value_key`` (a string equal to the text at the offsets, compared like any
stated value). Without options, an object with no start key and exactly one 2-number list is
read through that list. Keys read from values are strong evidence only with a stated text that
the offsets cut out of the text: without one, the sniffer's proposal stays below acceptance (an
id and a count that fall inside the text are not a span).

Token offsets. When the text field holds a list of tokens (option ``text_tokens=true``), the
record's ``text`` is the tokens joined with single spaces (the documented, reversible rule of
bio_to_spans) and span offsets are token indexes, mapped to the character offsets of those
tokens in that text; the end is exclusive unless ``end_inclusive=true``. The sniffer decides the
end from evidence: a span ending at the token count can only be exclusive, a one-token span with
start == end can only be inclusive; with neither, the proposal stays below acceptance. A token
that is not a string is ``wrong_type``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.mappers._options import OptionsCache
from brewslm.mappers._sniffing import choose_text_field, leaf_name
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
from brewslm.mappers.messages import ROLE_KEYS  # a speaker role is never a chunk's text
from brewslm.mappers.profile import SampleProfile

START_KEYS = (
    "start",
    "start_position",
    "start_offset",
    "start_char",
    "char_start",
    "startOffset",
    "begin",
    "start_idx",
    "start_index",
    "from",
    "offset",
)
END_KEYS = (
    "end",
    "end_position",
    "end_offset",
    "end_char",
    "char_end",
    "endOffset",
    "stop",
    "end_idx",
    "end_index",
    "to",
)
LENGTH_KEYS = ("length", "len")
LABEL_KEYS = (
    "label",
    "entity_type",
    "type",
    "entity",
    "tag",
    "category",
    "entity_group",
    "label_name",
    "entity_label",
    "ner_type",
    "class",
    "labels",
)
VALUE_KEYS = ("entity_value", "value", "text", "span", "surface", "mention", "word", "span_text")

TEXT_CANDIDATES = (
    "text",
    "full_text",
    "sentence",
    "content",
    "document",
    "source_text",
    "passage",
    "body",
    "raw_text",
    "input",
    "context",
    "unmasked_text",
)
SPAN_CANDIDATES = (
    "spans",
    "entities",
    "entity_spans",
    "annotations",
    "labels",
    "ner",
    "mentions",
    "privacy_mask",
    "span_labels",
    "label",
    "ents",
    "ner_spans",
)


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
    offsets_key: str | None = None
    start_key: str | None = None
    end_key: str | None = None
    label_key: str | None = None
    value_key: str | None = None
    text_tokens: bool = False


class SpanPassthroughMapper(Mapper):
    id = "span_passthrough"
    task_profile = "structured_extraction"
    description = "Text + character spans in common spellings -> span_set records (offsets checked)."
    fields = (
        FieldSpec("text", candidates=TEXT_CANDIDATES, description="the text the offsets point into"),
        FieldSpec(
            "spans",
            candidates=SPAN_CANDIDATES,
            description="list of spans: objects with start/end/label keys, or [start, end, label] lists",
        ),
        SOURCE_ID_FIELD,
        FieldSpec(
            CHUNKS,
            required=False,
            description="the text as annotated chunks [{text, entity?}]: builds the text (concatenated) and "
            "one span per labelled chunk",
        ),
    )
    builds = {CHUNKS: ("text", "spans")}
    options_doc = {
        "end_inclusive": "true when the source's end offsets point at the last character, not one past it "
        "(default false)",
        "check_values": "compare a span's stated text (entity_value, text...) with the text at its offsets and "
        "reject mismatches as span_text_mismatch (default true)",
        "default_label": "label for spans that carry none (single-type data); without it such a span is missing_label",
        "absent_spans": "reject (default: an absent span field is missing_spans) or empty (an absent span field "
        "means no span)",
        "chunk_text_key": "chunks: the key holding a chunk's text (default: text, chunk, value, ...)",
        "chunk_label_key": "chunks: the key holding a chunk's label (default: entity, label, slot, ...)",
        "offsets_key": "the span key holding [start, end] as one 2-item list (default: found when it is the only one)",
        "start_key": "the span key holding the start offset (default: start, begin, start_offset, ...)",
        "end_key": "the span key holding the end offset (default: end, stop, end_offset, ...)",
        "label_key": "the span key holding the label (default: label, type, entity, tag, ...)",
        "value_key": "the span key stating the span's text, compared with the text at the offsets "
        "(default: entity_value, value, text, ...)",
        "text_tokens": "true when the text field is a token list: text = tokens joined with single spaces, span "
        "offsets are token indexes (default false)",
    }

    def output_schema(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"scoring_mode": "span_set"}

    def parse_options(self, options: Mapping[str, Any]) -> Any:
        return _cached_options(options)

    def map_row(
        self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]
    ) -> "list[Record] | Rejection":
        opts = _cached_options(options)
        if fields.get(CHUNKS):
            return _map_chunks(row, fields, opts)
        starts: list[int] | None = None
        if opts.text_tokens:
            joined = read_tokens(row, fields.get("text"))
            if isinstance(joined, Rejection):
                return joined
            text, starts = joined
        else:
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
                if starts is not None:
                    chars = token_span_to_chars(starts, text, start, end, i)
                    if isinstance(chars, Rejection):
                        return chars
                    start, end = chars
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
            shape = _span_shape(fp, profile, span_field)
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
    for name in ("chunk_text_key", "chunk_label_key", "offsets_key", "start_key", "end_key", "label_key", "value_key"):
        value = options.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise MapperError(f"span_passthrough option {name} must be a key name, not {value!r}")
        keys[name] = value
    return _Options(
        flag("end_inclusive", False),
        flag("check_values", True),
        default_label,
        absent == "empty",
        text_tokens=flag("text_tokens", False),
        **keys,
    )


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
    pair_key = opts.offsets_key
    if (
        isinstance(item, Mapping)
        and pair_key is None
        and opts.start_key is None
        and _first_key(item, START_KEYS) is None
    ):
        pairs = [k for k, v in item.items() if _is_offset_pair(v)]
        pair_key = pairs[0] if len(pairs) == 1 else None
    if isinstance(item, Mapping) and pair_key is not None:
        pair = item.get(pair_key)
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            return Rejection("wrong_type", f"span {index}: '{pair_key}' is a {type_name(pair)}, not [start, end]")
        start, end_value = _offset(pair[0], "start", index), _offset(pair[1], "end", index)
        for got in (start, end_value):
            if isinstance(got, Rejection):
                return got
        end = end_value + 1 if opts.end_inclusive else end_value  # type: ignore[operator]
        raw_label, value = _label_and_value(item, opts, index)
    elif isinstance(item, Mapping):
        if opts.start_key is not None:  # keys named by option: no guessing beside them
            start_key = opts.start_key if opts.start_key in item else None
            end_key = opts.end_key if opts.end_key in item else None
        else:
            start_key, end_key = _first_key(item, START_KEYS), _first_key(item, END_KEYS)
        if start_key is None:
            return Rejection("wrong_type", f"span {index} has no start offset (keys: {', '.join(map(str, item))})")
        start = _offset(item[start_key], "start", index)
        if isinstance(start, Rejection):
            return start
        if end_key is None:
            length_key = _first_key(item, LENGTH_KEYS)
            if length_key is None:
                return Rejection(
                    "wrong_type", f"span {index} has no end offset or length (keys: {', '.join(map(str, item))})"
                )
            length = _offset(item[length_key], "length", index)
            if isinstance(length, Rejection):
                return length
            end = start + length
        else:
            end_value = _offset(item[end_key], "end", index)
            if isinstance(end_value, Rejection):
                return end_value
            end = end_value + 1 if opts.end_inclusive else end_value
        raw_label, value = _label_and_value(item, opts, index)
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
            "wrong_type",
            f"span {index} is a {type_name(item)}; expected an object with start/end/label or [start, end, label]",
        )
    if value is not None and not isinstance(value, str):
        return Rejection("wrong_type", f"span {index}: the stated text is a {type_name(value)}, not text")
    labels = _labels(raw_label, index, opts.default_label)
    if isinstance(labels, Rejection):
        return labels
    return [(start, end, label, value) for label in labels]  # type: ignore[misc]


def _is_offset_pair(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )


def _label_and_value(item: Mapping[str, Any], opts: _Options, index: int) -> tuple[Any, Any]:
    """The raw label and the stated text of a span object (named by option, else by usual names)."""
    label_key = opts.label_key if opts.label_key is not None else _first_key(item, LABEL_KEYS)
    raw_label = item.get(label_key) if label_key is not None else None
    value_key = opts.value_key if opts.value_key is not None else _first_key(item, VALUE_KEYS)
    value = item.get(value_key) if value_key is not None and value_key != label_key else None
    return raw_label, value


def read_tokens(row: Any, path: str | None) -> "tuple[str, list[int]] | Rejection":
    """A token list as (tokens joined with single spaces, each token's character start)."""
    tokens = read_list(row, path, "missing_text")
    if isinstance(tokens, Rejection):
        return tokens
    starts, pos = [], 0
    for i, token in enumerate(tokens):
        if not isinstance(token, str):
            return Rejection("wrong_type", f"token {i} of '{path}' is a {type_name(token)}, not text")
        starts.append(pos)
        pos += len(token) + 1
    text = " ".join(tokens)
    if not text.strip():
        return Rejection("missing_text", f"the tokens of '{path}' hold no text")
    return text, starts


def token_span_to_chars(
    starts: list[int], text: str, start: int, end: int, index: int
) -> "tuple[int, int] | Rejection":
    """Token offsets [start, end) -> character offsets in the space-joined text."""
    if not 0 <= start < end <= len(starts):
        what = "empty or reversed" if 0 <= start and end <= len(starts) else f"outside the {len(starts)} tokens"
        return Rejection("span_out_of_bounds", f"span {index} tokens [{start}, {end}) is {what}")
    last_end = starts[end] - 1 if end < len(starts) else len(text)
    return starts[start], last_end


def _labels(raw: Any, index: int, default: str | None) -> "list[str] | Rejection":
    if raw is None or (isinstance(raw, (list, tuple)) and not raw):
        if default is None:
            return Rejection(
                "missing_label", f"span {index} has no label; give option default_label for single-type data"
            )
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
    keys: tuple[tuple[str, str], ...] = ()  # options naming the span keys, read from the values
    value_keys: tuple[str, ...] = ()  # string keys that may state the span's text (checked in _judge)


SPAN_SAMPLE = 5000  # span objects looked at when their keys are read from the values


def _span_shape(fp: Any, profile: SampleProfile, span_field: str) -> _Shape | None:
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
        return _keys_from_values(profile, span_field)
    if fp.item_frac("list") >= 0.9:
        return _Shape("triple", False)
    return None


def _keys_from_values(profile: SampleProfile, span_field: str) -> _Shape | None:
    """Span objects under unusual key names: offsets are whole numbers (one [start, end] list or
    two keys, start <= end), the label is the string key whose values recur most (few distinct
    values), other string keys may state the span's text."""
    items: list[Mapping[str, Any]] = []
    for row in profile.rows:
        spans = get_path(row, span_field)
        if isinstance(spans, list):
            items.extend(s for s in spans[:200] if isinstance(s, Mapping))
        if len(items) >= SPAN_SAMPLE:
            break
    if not items:
        return None
    n = len(items)
    pairs: Counter[str] = Counter()
    ints: Counter[str] = Counter()
    strings: dict[str, Counter] = {}
    for item in items:
        for k, v in item.items():
            if _is_offset_pair(v):
                pairs[k] += 1
            elif isinstance(v, int) and not isinstance(v, bool):
                ints[k] += 1
            elif isinstance(v, str) and v.strip():
                strings.setdefault(k, Counter())[v] += 1
    options: list[tuple[str, str]] = []
    pair_keys = [k for k, c in pairs.items() if c >= 0.9 * n]
    int_keys = [k for k, c in ints.items() if c >= 0.9 * n]
    if len(pair_keys) == 1:
        options.append(("offsets_key", pair_keys[0]))
    elif not pair_keys and len(int_keys) == 2:
        a, b = int_keys
        both = [(it[a], it[b]) for it in items if isinstance(it.get(a), int) and isinstance(it.get(b), int)]
        if all(x <= y for x, y in both):
            options += [("start_key", a), ("end_key", b)]
        elif all(y <= x for x, y in both):
            options += [("start_key", b), ("end_key", a)]
        else:
            return None
    else:
        return None
    full = {k: c for k, c in strings.items() if sum(c.values()) >= 0.9 * n}
    recurring = [k for k, c in full.items() if len(c) <= max(3, n // 2)]
    if not recurring:
        return None
    label_key = min(recurring, key=lambda k: (len(full[k]), k))
    options.append(("label_key", label_key))
    value_keys = tuple(sorted(k for k in full if k != label_key))
    return _Shape("object", bool(value_keys), tuple(options), value_keys)


def _token_texts(profile: SampleProfile, path: str) -> dict[int, tuple[str, list[int]]]:
    """Row index -> (tokens joined with single spaces, token starts) for a token-list field."""
    out = {}
    for i, row in enumerate(profile.rows):
        tokens = get_path(row, path)
        if isinstance(tokens, list) and all(isinstance(t, str) for t in tokens):
            joined = read_tokens(row, path)
            if not isinstance(joined, Rejection):
                out[i] = joined
    return out


def _judge(profile: SampleProfile, span_field: str, shape: _Shape) -> Proposal | None:
    """Pick the text field whose characters the offsets fit best, and grade the fit."""
    text_fields = [
        (p, False) for p, fp in profile.fields.items() if fp.present and fp.frac("string") >= 0.9 and p != span_field
    ]
    text_fields += [
        (p, True)
        for p, fp in profile.fields.items()
        if p != span_field and fp.list_count >= 0.8 * profile.n_rows and fp.item_frac("string") >= 0.95
    ]
    named, _ = choose_text_field(profile, TEXT_CANDIDATES, exclude=[span_field])
    best: Proposal | None = None
    absent = sum(1 for row in profile.rows if get_path(row, span_field) is MISSING)
    explicit_empty = sum(1 for row in profile.rows if get_path(row, span_field) == [])
    absent_empty = bool(absent) and not explicit_empty
    for text_field, tokens in text_fields:
        token_texts = _token_texts(profile, text_field) if tokens else None
        for value_key in shape.value_keys + ((None,) if shape.keys or not shape.value_keys else ()):
            keys = dict(shape.keys)
            if value_key is not None:
                keys["value_key"] = value_key
            proposal = _judge_text(profile, span_field, shape, text_field, token_texts, keys, absent, absent_empty)
            if proposal is None:
                continue
            if text_field == named:
                proposal = replace(proposal, confidence=round(min(proposal.confidence + 0.01, 0.97), 4))
            if best is None or proposal.confidence > best.confidence:
                best = proposal
    return best


def _judge_text(
    profile: SampleProfile,
    span_field: str,
    shape: _Shape,
    text_field: str,
    token_texts: dict[int, tuple[str, list[int]]] | None,
    keys: dict[str, str],
    absent: int,
    absent_empty: bool,
) -> Proposal | None:
    opts_exclusive = _Options(end_inclusive=False, check_values=True, default_label="_", **keys)
    opts_inclusive = _Options(end_inclusive=True, check_values=True, default_label="_", **keys)
    fits = {False: [0, 0, 0], True: [0, 0, 0]}  # end_inclusive -> [spans fit, spans, values compared]
    rows_with_spans = rows_checked = 0
    for r, row in enumerate(profile.rows):
        spans = get_path(row, span_field)
        starts = None
        if token_texts is not None:
            text, starts = token_texts.get(r, (None, None))
        else:
            text = get_path(row, text_field)
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
                    if starts is not None:
                        chars = token_span_to_chars(starts, text, start, end, i)
                        if isinstance(chars, Rejection):
                            continue
                        start, end = chars
                    if not isinstance(check_span(text, start, end, value, i), Rejection):
                        fits[inclusive][0] += 1
    if rows_checked < 0.8 * profile.n_rows or not rows_with_spans:
        return None
    tie = fits[True][0] == fits[False][0]
    if token_texts is not None:
        inclusive = fits[True][0] > fits[False][0]
    else:
        inclusive = fits[True][0] > fits[False][0] and fits[True][2] > 0
    fit, total, compared = fits[inclusive]
    if not total:
        return None
    rate = fit / total
    if rate < 0.5:
        return None
    evidence = [
        f"'{span_field}' holds {shape.kind} spans in {rows_with_spans}/{rows_checked} rows "
        f"({rows_checked - rows_with_spans} with none)",
    ]
    if keys:
        evidence.append("span keys read from their values: " + ", ".join(f"{k}={v}" for k, v in keys.items()))
    unit = "token" if token_texts is not None else "character"
    if compared:
        evidence.append(
            f"{fit}/{total} sample spans have {unit} offsets whose text in '{text_field}' matches the stated value"
        )
        confidence = 0.7 + 0.27 * max(0.0, (rate - 0.5) / 0.5)
    else:
        evidence.append(
            f"{fit}/{total} sample spans lie inside '{text_field}' ({unit} offsets, no stated values to compare)"
        )
        confidence = 0.65 + 0.2 * max(0.0, (rate - 0.5) / 0.5)
    if keys and not compared:
        # offsets read from unnamed whole numbers, nothing stated to check them against: two numbers
        # that happen to fall inside the text (an id and a count) are no evidence of a span
        confidence = min(confidence, 0.75)
        evidence.append("the span keys are read from their values and no span states its text: check the map")
    if token_texts is not None:
        evidence.append(f"'{text_field}' is a token list: text = tokens joined with single spaces")
        if tie:
            confidence = min(confidence, 0.75)
            evidence.append(
                "no span tells an inclusive end from an exclusive one (none ends at the token count, "
                "none has start == end): set end_inclusive yourself"
            )
    if leaf_name(span_field).lower() in SPAN_CANDIDATES:
        confidence += 0.01
    field_map = {text_field: "text", span_field: "spans"}
    id_field = profile.find(SOURCE_ID_FIELD.candidates, lambda fp: fp.frac("list") == 0 and fp.frac("object") == 0)
    if id_field:
        field_map[id_field] = "id"
    options: dict[str, Any] = dict(keys)
    if token_texts is not None:
        options["text_tokens"] = True
    if absent_empty:
        options["absent_spans"] = "empty"
        evidence.append(
            f"{absent} rows leave '{span_field}' out and none holds an empty list: "
            "an absent key means no span (absent_spans=empty)"
        )
    if inclusive:
        options["end_inclusive"] = True
        what = "token" if token_texts is not None else "character"
        evidence.append(f"end offsets point at the last {what}: end_inclusive=true")
    return Proposal(SpanPassthroughMapper.id, field_map, round(min(confidence, 0.97), 4), evidence, options)


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
        label_keys = [
            k
            for k in labelled
            if k != text_key and texts[k] < 0.95 * items and len(values[k]) <= max(50, 0.5 * texts[k])
        ]
        if text_key is None or not label_keys:
            continue
        label_key = next((k for k in CHUNK_LABEL_KEYS if k in label_keys), None) or max(
            label_keys, key=lambda k: texts[k]
        )
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
