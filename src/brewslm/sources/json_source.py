"""``json:/path[?path=<pointer>][&keyed=<field>][&explode=a.b.c][&zip=a,b][&with=f,g]`` — one JSON document
holding records (or JSON Lines in a ``.json`` file).

Streamed with ijson (one record in memory at a time; gzip/bz2/xz read transparently; a UTF-8
byte-order mark is skipped). What becomes rows:
- a top-level **array**: each item is a row;
- a top-level **object**: where its records are is found by one bounded scan (``SCAN_EVENTS``
  parse events, a fraction of a second) of every collection reachable through object keys:
  arrays, and objects **keyed by id** (``{"16418930": {...}, "16418931": {...}}``: values that are
  objects with alike key sets, under keys that hold digits, or under many keys). Each is scored by
  its share of the document (bytes, roughly; an array of plain values counts a quarter, records
  with differing key sets less) and the best is read:
  - an array directly under the object, with the other arrays there whose items are alike (same
    kind; for objects, mostly the same keys): the **named arrays** (``{"train": [...], "val":
    [...]}``, SQuAD's ``{"version": ..., "data": [...]}``) are read in document order, each row
    with the array's name in the field ``split`` (or in ``source_split`` when the row has a
    ``split`` field of its own, whose value is kept); named objects keyed by id likewise;
  - arrays of plain values (or lists) side by side, all of one length and differing in kind or
    size (``{"question": [...], "answer": [...]}``), none named like a split: the COLUMNS of one
    table, read in step, one row per position with each array's value under its name;
  - named objects of plain values under the same row ids (``{"text": {"0": ..., "1": ...},
    "label": {"0": ..., "1": ...}}``, pandas' default ``to_json``): columns keyed by row id, read
    in step, one row per id with the id in ``id``; a row whose ids differ between columns is a
    ``ParseFailure`` (never a row glued from two records);
  - a collection deeper down (``{"meta": {...}, "data": {"examples": [...]}}``): read alone, as
    ``?path=data.examples`` would (alike siblings there are read as named arrays);
  - an object keyed by id: one row per entry, the record with its key in the field ``id`` (or
    ``key``, ``record_id``... the first name no sampled record uses); an entry that is not an
    object, or whose record already has that field, becomes a ``ParseFailure``.
  What was chosen, the other collections left aside and the options that pin the choice are
  the source's ``notes`` (the introspection evidence); an object with no collection is an error;
- ``?path=`` selects the array or object to read instead of the top level: a JSON pointer
  (``/data``) or a dotted path (``data``, ``results.items``); it must go through object keys
  only; an object there is scanned as above. ``?keyed=<field>`` reads the selected object as
  records keyed by id, the key in ``<field>``, without a scan;
- ``&explode=a.b.c`` flattens nested record lists: from the selected value (an object: ``a`` is
  one of its keys; an array: ``a`` is a key of its items) each record's list ``a`` is entered, then
  ``b`` in each of those, and so on; the innermost items are the rows, carrying the scalar fields
  (strings, numbers, booleans, null) of every record on the way. On a name clash the inner field
  wins. SQuAD: ``json:dev-v2.0.json?explode=data.paragraphs.qas`` gives one row per question
  with ``title``, ``context``, ``question``, ``id``, ``answers``, ``is_impossible``... A record
  without the list to explode, or whose field is not a list, becomes a ``ParseFailure``; an empty
  list yields no rows. With ``keyed``, the chain starts at each entry's record;
- ``&zip=a,b`` reads PARALLEL lists (``{"api": ..., "instructions": [i1, i2], "answers": [a1,
  a2]}``): one row per position, the items at that position in ``a`` and ``b``, every other field
  carried whole; lists of different lengths, or a field that is not a list, make a
  ``ParseFailure``;
- ``&with=f,g`` carries fields that sit BESIDE the selected collection into every row read from
  it: ``f`` and ``g`` are keys of the object that holds the collection (for ``path=a.b``, keys of
  ``a``), read whole once (any JSON value: a tool list, a title, settings) and copied into each row
  under their own names. A tool-use trace whose conversations are at
  ``answer_generation.train_messages`` and whose offered tools are at
  ``answer_generation.function``: ``?path=answer_generation.train_messages&with=function``. A row
  that has a field of that name keeps its own (the inner field wins, as with ``explode``); a
  named key that is not there is a one-line ``SourceError`` listing the keys there; the selected
  collection must sit inside an object (not the top level, not JSON Lines). When ``path`` is given
  and the object holding it has other fields, the source's notes name them (the evidence says
  what ``with`` could carry);
- an item that is not an object becomes ``{"col_1": ..., "col_2": ...}`` for a list (clinc150's
  ``[text, intent]`` pairs) or ``{"col_1": value}`` for a scalar, like a CSV row without header;
  when the lists of one collection have different lengths (dialogues as bare lists of
  utterances) each is a sequence, not a row of columns, and stays whole: ``{"col_1": [...]}``;
- a ``.json`` file that holds **JSON Lines** (its head sniffed as ``file:`` sniffs it, 2+ lines each
  a JSON object; or the document ends where its first line, a whole value, does) is read line by line as
  ``jsonl:`` reads it, with a note; ``path``/``keyed`` are refused there, ``explode``/``zip`` apply.
Numbers: read as Python floats and ints. The fast reader holds integers up to 64 bits; when the
document has a larger one, it is read again (from the start, rows already given are not repeated)
in exact-number mode, where such integers stay exact. An integer longer than Python's digit limit
(4300 digits) cannot be read by either: a one-line ``SourceError`` names it (JSON lines reject
such a record alone). A record nested deeper than ``MAX_DEPTH`` becomes a ``too_deep`` row.
A top-level scalar, a missing ``path`` and JSON that is invalid (or truncated) are one-line
``SourceError``s. ``ParseFailure.position`` is the 1-based index of the top-level record. An
empty file yields zero rows.
"""

from __future__ import annotations

import contextlib
import copy
import decimal
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ClassVar, Iterable, Iterator

import ijson

from brewslm.errors import SourceError
from brewslm.records import type_name
from brewslm.sources.base import (
    Locator,
    ParseFailure,
    SourceRow,
    int_digit_limit,
    raw_json,
    too_deep,
    too_long_integer,
)
from brewslm.sources.file import looks_like_json_lines
from brewslm.sources.filebase import (
    MAX_RECORD_BYTES,
    PROBE_BYTES,
    SKIP_CHUNK,
    UTF8_BOM,
    FileSource,
    read_lines_capped,
)
from brewslm.sources.jsonl import JsonlSource

SPLIT_FIELD = "split"
FALLBACK_SPLIT_FIELD = "source_split"
_STARTS = ("start_map", "start_array")
_ENDS = ("end_map", "end_array")
_KINDS = {"start_array": "array", "start_map": "object"}
_KEYS_SHOWN = 30
_CHECK_EVENTS = 200
_TRAILING = "trailing garbage"  # what the reader says of a second value after the document
_INT_OVERFLOW = "integer overflow"  # what the fast (float) reader says of an integer past 64 bits


class _JsonLines(Exception):
    """The file holds JSON Lines, not one document."""


class _NeedExactNumbers(Exception):
    """The fast reader met an integer past 64 bits: read again in exact-number mode."""


def parse_path(text: str, locator: Locator) -> list[str]:
    """``/a/b`` (JSON pointer, ``~1`` = ``/``, ``~0`` = ``~``) or ``a.b`` -> ``["a", "b"]``."""
    text = text.strip()
    if text in ("", "/", "."):
        return []
    if text.startswith("/"):
        parts = [p.replace("~1", "/").replace("~0", "~") for p in text[1:].split("/")]
    else:
        parts = text.split(".")
    if any(p == "" for p in parts):
        raise SourceError(f"option 'path={text}' in locator '{locator}' has an empty component")
    return parts


def _prefix(parts: list[str]) -> str:
    return ".".join(parts)


def _child(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def as_row(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    if isinstance(item, list):
        return {f"col_{i}": v for i, v in enumerate(item, start=1)}
    return {"col_1": item}


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def explode(record: Any, chain: list[str], parents: dict[str, Any], position: int) -> Iterator[SourceRow]:
    """Rows of ``record`` flattened through the list fields in ``chain``."""
    if not chain:
        yield {**parents, **as_row(record)} if parents else as_row(record)
        return
    key = chain[0]
    if not isinstance(record, dict):
        yield ParseFailure(position, raw_json(record), f"record is a {type_name(record)}, cannot explode '{key}'")
        return
    if key not in record:
        yield ParseFailure(position, raw_json(record), f"record has no field '{key}' to explode")
        return
    children = record[key]
    if not isinstance(children, list):
        yield ParseFailure(
            position, raw_json(record), f"field '{key}' is a {type_name(children)}, not a list to explode"
        )
        return
    carried = {**parents, **{k: v for k, v in record.items() if k != key and _is_scalar(v)}}
    for child in children:
        yield from explode(child, chain[1:], carried, position)


def unzip(row: SourceRow, fields: list[str], position: int) -> Iterator[SourceRow]:
    """One row per position of the parallel lists ``fields`` of ``row`` (equal lengths), each
    with the items at that position in those fields and every other field of ``row`` as it is."""
    if not isinstance(row, dict):
        yield row
        return
    for name in fields:
        if not isinstance(row.get(name), list):
            what = f"is a {type_name(row[name])}" if name in row else "is missing"
            yield ParseFailure(position, raw_json(row), f"field '{name}' {what}, not a list to zip")
            return
    lengths = [len(row[name]) for name in fields]
    if len(set(lengths)) > 1:
        shown = ", ".join(f"'{name}' ({n})" for name, n in zip(fields, lengths))
        yield ParseFailure(position, raw_json(row), f"the lists to zip have different lengths: {shown}")
        return
    for i in range(lengths[0]):
        yield {k: (v[i] if k in fields else v) for k, v in row.items()}


def plain_numbers(value: Any) -> Any:
    """Exact-number mode reads decimals as ``Decimal``: make them floats, as the fast reader does.
    A value nested past ``MAX_DEPTH`` is left alone (the row becomes ``too_deep`` anyway)."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_numbers(v) for v in value]
    return value


def _skip_bom(stream: BinaryIO) -> None:
    if stream.peek(3)[:3] == UTF8_BOM:  # type: ignore[attr-defined]
        stream.read(3)


def _json_error(exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first.strip()


# --- layout discovery: where in a JSON document are the records? --------------------------------
# A top-level object is scanned once (a bounded number of parse events) to find every collection
# of records reachable through object keys: arrays, and objects keyed by id (dict-of-records).
# Each is scored by its share of the document (bytes, roughly), lowered for arrays of scalars and
# for records whose key sets differ; the best is read, with its alike siblings as named arrays.

SCAN_EVENTS = 300_000  # parse events the layout scan reads at most (~0.2 s)
_PEEK_EVENTS = 20_000  # parse events read to see whether a top-level array holds sequences
_TRACK_DEPTH = 6  # object levels below the container where collections are looked for
_MAX_NODES = 500  # containers tracked by one scan (the rest are skimmed: kind, keys, length)
_KEYS_KEPT = 64  # keys remembered per object
_ITEMS_KEPT = 200  # items per collection whose key sets are compared
_SCALAR_WEIGHT = 0.25  # an array of plain values is a weaker candidate than an array of records
_MIN_HOMOGENEITY = 0.5  # dict-of-records: records share at least this much of their key sets
_MIN_OBJECT_SHARE = 0.9  # dict-of-records: this share of its values are objects
_MANY_ENTRIES = 10  # dict-of-records with non-id-like keys: at least this many entries
_ID_KEY_SHARE = 0.8  # dict-of-records: this share of keys hold a digit (ids), unless there are many
_OTHERS_SHOWN = 5
_MEMBERS_SHOWN = 10  # named arrays listed in the note
KEY_FIELDS = ("id", "key", "record_id", "record_key", "_key")  # the first one free holds the key


class _ScanBudget(Exception):
    """The layout scan read its share of the document."""


@dataclass
class _Node:
    """One object or array reached through object keys below the container."""

    path: tuple[str, ...]
    kind: str  # "array" | "object"
    start: int  # scan size when it opened
    end: int | None = None  # scan size when it closed (None: the scan stopped inside it)
    items: int = 0  # array items / object entries
    kinds: Counter = field(default_factory=Counter)  # "object" / "array" / "scalar" per item
    keys: list[str] = field(default_factory=list)  # an object's own keys (the first _KEYS_KEPT)
    item_keys: list[tuple[str, ...]] = field(default_factory=list)  # key sets of object items
    lengths: set[int] = field(default_factory=set)  # lengths of array items
    children: dict[str, "_Node"] = field(default_factory=dict)

    def size(self, total: int) -> int:
        return (self.end if self.end is not None else total) - self.start

    def add_item(self, event: str, keys: list[str] | None, length: int | None = None) -> None:
        self.items += 1
        self.kinds["object" if event == "start_map" else "array" if event == "start_array" else "scalar"] += 1
        if keys is not None and len(self.item_keys) < _ITEMS_KEPT:
            self.item_keys.append(tuple(keys))
        if length is not None and len(self.lengths) < _ITEMS_KEPT:
            self.lengths.add(length)

    @property
    def item_kind(self) -> str:
        return self.kinds.most_common(1)[0][0] if self.kinds else "scalar"

    def common_keys(self) -> set[str]:
        counts = Counter(k for keys in self.item_keys for k in set(keys))
        return {k for k, c in counts.items() if c * 2 >= len(self.item_keys)}

    def homogeneity(self) -> float:
        """How alike the key sets of the object items are (1.0: all the same)."""
        if not self.item_keys:
            return 1.0
        common = self.common_keys()
        return sum(_jaccard(set(keys), common) for keys in self.item_keys) / len(self.item_keys)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


class _LayoutScan:
    """Walks ``basic_parse`` events of one object, building ``_Node``s, until the budget is spent."""

    def __init__(self, events: Iterator[tuple[str, Any]], budget: int | None = None):
        self.events = events
        self.budget = SCAN_EVENTS if budget is None else budget
        self.count = 0
        self.size = 0  # ~ bytes read: 1 per event plus the length of strings and keys
        self.nodes = 0
        self.complete = False

    def next(self) -> tuple[str, Any]:
        if self.count >= self.budget:
            raise _ScanBudget
        event, value = next(self.events)
        self.count += 1
        self.size += 1 + (len(value) if isinstance(value, str) else 0)
        return event, value

    def skip(self, event: str) -> tuple[list[str] | None, int | None]:
        """Consume the value that ``event`` opened; its own keys when it is an object, its
        length when it is an array. The hot loop of the scan: kept flat."""
        if event not in _STARTS:
            return None, None
        keys: list[str] | None = [] if event == "start_map" else None
        length, depth = 0, 1
        count, size, budget = self.count, self.size, self.budget
        try:
            for event, value in self.events:
                count += 1
                size += 1
                if value.__class__ is str:
                    size += len(value)
                if depth == 1:
                    if event == "map_key":
                        if keys is not None and len(keys) < _KEYS_KEPT:
                            keys.append(value)
                    elif event not in _ENDS:
                        length += 1
                if event in _STARTS:
                    depth += 1
                elif event in _ENDS:
                    depth -= 1
                    if not depth:
                        break
                if count >= budget:
                    raise _ScanBudget
        finally:
            self.count, self.size = count, size
        return keys, (length if keys is None else None)

    def fill(self, node: _Node, depth: int) -> None:
        """Read the rest of ``node`` (its start event is consumed)."""
        self.nodes += 1
        if node.kind == "object":
            while True:
                event, key = self.next()
                if event == "end_map":
                    break
                event, _ = self.next()
                if event in _STARTS and depth < _TRACK_DEPTH and self.nodes < _MAX_NODES:
                    child = _Node(node.path + (key,), _KINDS[event], self.size)
                    node.children[key] = child
                    self.fill(child, depth + 1)
                    node.add_item(event, child.keys if child.kind == "object" else None)
                else:
                    node.add_item(event, *self.skip(event))
                if len(node.keys) < _KEYS_KEPT:
                    node.keys.append(key)
        else:
            while True:
                event, _ = self.next()
                if event == "end_array":
                    break
                node.add_item(event, *self.skip(event))
        node.end = self.size

    def run(self, first: str) -> _Node:
        root = _Node((), _KINDS[first], 0)
        try:
            self.fill(root, 0)
            self.complete = True
        except _ScanBudget:
            pass
        return root


def _descend(events: Iterator[tuple[str, Any]], path: list[str]) -> str | None:
    """Consume ``basic_parse`` events up to the start of the value at ``path`` (object keys);
    its first event, or None when it is not there."""
    event, _ = next(events)
    for key in path:
        if event != "start_map":
            return None
        while True:
            event, value = next(events)
            if event == "end_map":
                return None
            event, _ = next(events)
            if value == key:
                break
            depth = 1 if event in _STARTS else 0
            while depth:
                inner, _ = next(events)
                depth += 1 if inner in _STARTS else -1 if inner in _ENDS else 0
    return event


def _is_keyed(node: _Node) -> bool:
    """An object whose values are records alike (dict-of-records), keyed by ids or by many names."""
    if node.kind != "object" or node.items < 2 or node.kinds["object"] < _MIN_OBJECT_SHARE * node.items:
        return False
    if node.homogeneity() < _MIN_HOMOGENEITY:
        return False
    id_like = sum(1 for k in node.keys if any(c.isdigit() for c in k))
    return id_like >= _ID_KEY_SHARE * len(node.keys) or node.items >= _MANY_ENTRIES


def _id_like_share(keys: list[str]) -> float:
    return sum(1 for k in keys if any(c.isdigit() for c in k)) / len(keys) if keys else 0.0


def _is_keyed_columns(node: _Node) -> bool:
    """Columns keyed by row id, as pandas' ``to_json()`` writes a table by default (``{"text":
    {"0": "a", "1": "b"}, "label": {"0": 1, "1": 0}}``): named objects (not ids) of plain values,
    all under the same row ids, complete (the scan saw them whole)."""
    columns = list(node.children.values())
    if (
        node.kind != "object"
        or len(columns) < 2
        or len(columns) != node.items
        or _id_like_share(node.keys) >= 0.5
        or any(c.kind != "object" or c.end is None or not c.items for c in columns)
    ):
        return False
    first = columns[0]
    return (
        all(c.items == first.items and set(c.keys) == set(first.keys) for c in columns)
        and all(c.kinds["scalar"] >= _MIN_OBJECT_SHARE * c.items for c in columns)
        and _id_like_share(first.keys) >= _ID_KEY_SHARE
    )


@dataclass
class _Candidate:
    node: _Node
    mode: str  # "array" | "keyed"
    score: float


def _candidates(root: _Node, total: int) -> list[_Candidate]:
    found: list[_Candidate] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.kind == "array" and node.items:
            weight = _SCALAR_WEIGHT if node.item_kind == "scalar" else 0.5 + 0.5 * node.homogeneity()
            found.append(_Candidate(node, "array", node.size(total) * weight))
        elif _is_keyed_columns(node):
            found.append(_Candidate(node, "keyed_columns", node.size(total)))
            continue
        elif _is_keyed(node):
            found.append(_Candidate(node, "keyed", node.size(total) * (0.5 + 0.5 * node.homogeneity())))
            continue  # the records' own lists are content, not collections
        stack.extend(reversed(list(node.children.values())))
    return sorted(found, key=lambda c: -c.score)


def _alike(a: _Candidate, b: _Candidate) -> bool:
    if a.mode != b.mode or a.node.item_kind != b.node.item_kind:
        return False
    if a.node.item_kind != "object":
        return True
    return _jaccard(a.node.common_keys(), b.node.common_keys()) >= 0.5


_SPLIT_WORDS = {
    "train",
    "training",
    "dev",
    "devel",
    "development",
    "valid",
    "validation",
    "val",
    "test",
    "testing",
    "eval",
    "evaluation",
    "holdout",
    "heldout",
    "trial",
    "sample",
    "demo",
    "demos",
}
_COLUMN_SIZE_RATIO = 3.0  # arrays whose values differ this much in size are columns of one table


def split_like(name: str) -> bool:
    """A name that says a split (``train``, ``oos_val``, ``test-2019``): generic words only."""
    return any(word in _SPLIT_WORDS for word in re.split(r"[^a-z]+", name.lower()) if word)


def _columns(best: _Candidate, found: list[_Candidate], total: int) -> list[_Candidate]:
    """Sibling arrays of plain values (or lists) of one length whose values differ in kind or
    size (texts beside labels, questions beside answers): the columns of one table, not named
    splits; [] when the best collection is not such an array."""
    if best.mode != "array" or not best.node.path or best.node.end is None or best.node.items < 2:
        return []
    parent = best.node.path[:-1]
    same = [
        c
        for c in found
        if c.mode == "array"
        and c.node.path[:-1] == parent
        and c.node.end is not None
        and c.node.items == best.node.items
    ]
    if (
        len(same) < 2
        or any(c.node.item_kind == "object" for c in same)
        or any(split_like(c.node.path[-1]) for c in same)
    ):
        return []
    sizes = [c.node.size(total) / c.node.items for c in same]
    if len({c.node.item_kind for c in same}) == 1 and max(sizes) < _COLUMN_SIZE_RATIO * min(sizes):
        return []  # alike arrays of one length: named collections that happen to be as long
    return sorted(same, key=lambda c: c.node.start)


def _dotted(path: Iterable[str]) -> str:
    text = ".".join(path)
    return text or "the top level"


def _count(node: _Node, complete: bool, noun: str) -> str:
    plural = noun if node.items == 1 else noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{'' if node.end is not None or complete else 'at least '}{node.items} {plural}"


def free_key_field(taken: Iterable[str]) -> str:
    taken = set(taken)
    return next((f for f in KEY_FIELDS if f not in taken), KEY_FIELDS[-1] + "_")


class JsonSource(FileSource):
    options_doc = {
        "path": "JSON pointer (/data) or dotted path (data) of the array or object of arrays to read",
        "explode": "dotted list fields to flatten, e.g. data.paragraphs.qas (parent scalar fields are carried)",
        "keyed": "read the object at path as records keyed by id; the key goes into this field (e.g. keyed=id)",
        "zip": "comma-separated list fields of equal length in each record (parallel lists): one row per position",
        "with": "comma-separated keys beside the selected collection (in the object that holds it) carried into "
        "every row, e.g. path=answer_generation.train_messages&with=function",
    }

    def __init__(self, locator: Locator):
        super().__init__(locator)
        self.container = parse_path(locator.options.get("path", ""), locator)
        self.chain = parse_path(locator.options.get("explode", ""), locator) if "explode" in locator.options else []
        if "explode" in locator.options and not self.chain:
            raise SourceError(
                f"option 'explode' in locator '{locator}' is empty; write e.g. explode=data.paragraphs.qas"
            )
        self.zipped = [f for f in locator.options.get("zip", "").split(",") if f.strip()]
        if "zip" in locator.options and not self.zipped:
            raise SourceError(
                f"option 'zip' in locator '{locator}' is empty; name the parallel lists, e.g. zip=questions,answers"
            )
        self.carried = [f.strip() for f in locator.options.get("with", "").split(",") if f.strip()]
        if "with" in locator.options and not self.carried:
            raise SourceError(
                f"option 'with' in locator '{locator}' is empty; name the fields beside the records, e.g. with=function"
            )
        self._carried_values: dict[str, Any] | None = None
        self.key_field = locator.options.get("keyed")
        if self.key_field is not None and not self.key_field.strip():
            raise SourceError(
                f"option 'keyed' in locator '{locator}' is empty; name the field for the keys, e.g. keyed=id"
            )
        self.exact_numbers = False  # switched on when the document holds an integer past 64 bits
        self.mode = "array"  # array | keyed | split | jsonl (how rows are read; set by _plan)
        self.split_mode = False
        self.members: set[str] | None = None  # split mode: the named collections read (None: every array)
        self.open_members = False  # split mode: the scan stopped early; later collections alike are read too
        self.member_kind = "array"  # split mode: "array" or "keyed" collections
        self.sequences = False  # items are lists of different lengths: each is kept whole in col_1
        self.column_order: list[str] = []  # columns mode: the parallel arrays, in document order
        self.discovered = False  # the layout was found by the scan, not given by options
        self.notes: list[str] = getattr(self, "notes", [])  # what the reader decided (evidence)
        self.record_chain: list[str] = list(self.chain)
        self.kind = "empty" if self.is_empty or not self.probe(4096).strip(b" \t\r\n" + UTF8_BOM) else self._plan()

    def pinned_options(self) -> list[tuple[str, str]]:
        """``path`` / ``keyed`` options that read the layout this source settled on, so a refined
        locator reads the same records without the scan (``explode`` is the caller's)."""
        options = [("path", ".".join(self.container))] if self.container else []
        if self.mode == "keyed" and self.key_field:
            options.append(("keyed", self.key_field))
        return options

    # --- planning: what is at the selected path? ----------------------------------------------
    def _where(self) -> str:
        return f"at path '{'.'.join(self.container)}'" if self.container else "at the top level"

    def _scan_kinds(self, wanted: list[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
        """Kinds (array/object/<scalar type>) of the values at the wanted prefixes, and the keys
        of the selected container and of its parent (for error messages). Stops when it can."""
        found: dict[str, str] = {}
        container = wanted[0]
        parent = _prefix(self.container[:-1])
        keys: dict[str, list[str]] = {container: [], parent: []}
        with self.reading(), self.open_stream() as stream:
            _skip_bom(stream)
            try:
                done_at: int | None = None
                for count, (prefix, event, value) in enumerate(ijson.parse(stream, use_float=not self.exact_numbers)):
                    if done_at is not None and count - done_at > _CHECK_EVENTS:
                        break  # a few events more, so a syntax error near the start shows up now
                    if event == "map_key" and prefix in keys and len(keys[prefix]) < _KEYS_SHOWN:
                        keys[prefix].append(value)
                    if done_at is not None:
                        continue
                    if prefix in wanted and prefix not in found and event != "map_key" and event not in _ENDS:
                        found[prefix] = _KINDS.get(event, event)
                        if found.get(container) != "object" or len(found) == len(wanted):
                            done_at = count
                    elif prefix == container and event in _ENDS:
                        break  # the container closed without holding every wanted key
            except ijson.JSONError as exc:
                if self._needs_exact_numbers(exc):
                    return self._scan_kinds(wanted)
                if _TRAILING in str(exc) and self._first_line_is_a_record():
                    raise _JsonLines from None
                hint = "; one JSON value per line is read with jsonl:" if _TRAILING in str(exc) else ""
                raise self.error(f"is not valid JSON ({_json_error(exc)}){hint}") from None
        return found, keys

    def _first_line_is_a_record(self) -> bool:
        """Whether the first non-blank line is a whole JSON object or array by itself (JSON Lines)."""
        with self.reading(), self.open_stream() as stream:
            for _, line, overlong in read_lines_capped(stream, MAX_RECORD_BYTES):
                if overlong is not None:
                    return False
                if line.strip():
                    try:
                        return isinstance(json.loads(line.removeprefix(UTF8_BOM)), (dict, list))
                    except (ValueError, RecursionError):
                        return False
        return False

    def _needs_exact_numbers(self, exc: Exception) -> bool:
        """True when ``exc`` is the fast reader's integer overflow and exact-number mode can read
        the document (now switched on); a one-line error when no reader can."""
        if self.exact_numbers or _INT_OVERFLOW not in str(exc):
            return False
        offset = self._huge_integer_offset()
        if offset is not None:
            # the exact reader would crash the process on it, so it is refused before reading
            raise self.error(
                f"holds a number near byte {offset} that is too long: {too_long_integer()}, or "
                "convert the file to JSON lines (jsonl:), where such a record is rejected alone"
            )
        self.exact_numbers = True
        return True

    def _huge_integer_offset(self) -> int | None:
        """Byte offset (in the decompressed data) of the first run of digits too long for ``int``."""
        limit = int_digit_limit()
        if not limit:
            return None
        huge = re.compile(rb"[0-9]{%d,}" % (limit + 1))
        keep = limit + 1  # a run may straddle two chunks
        offset, tail = 0, b""
        with self.reading(), self.open_stream() as stream:
            while True:
                chunk = stream.read(SKIP_CHUNK * 16)
                if not chunk:
                    return None
                data = tail + chunk
                found = huge.search(data)
                if found:
                    return offset - len(tail) + found.start()
                tail = data[-keep:]
                offset += len(chunk)

    def _plan(self) -> str:
        try:
            head = getattr(self, "probe_utf8", self.probe)()  # the decoded head where the file base decodes
            if looks_like_json_lines(head.decode("utf-8", errors="replace"), cut=len(head) >= PROBE_BYTES):
                raise _JsonLines
            return self._plan_document()
        except _JsonLines:
            return self._plan_json_lines()

    def _plan_json_lines(self) -> str:
        """A ``.json`` file that holds JSON Lines: read line by line, as ``jsonl:`` does."""

        if self.container or self.key_field or self.carried:
            raise self.error(
                "holds JSON Lines (one JSON value per line), not one document: "
                "'path' and 'keyed' select inside a document; drop them (or read it with jsonl:)"
            )
        self.mode = "jsonl"
        self.lines = JsonlSource(Locator(scheme="jsonl", target=str(self.path), raw=str(self.locator)))
        self.notes.append(
            "the file holds JSON Lines (one record per line), not one JSON document: "
            "read line by line, as jsonl: reads it"
        )
        return "lines"

    def _plan_document(self) -> str:
        container = _prefix(self.container)
        wanted = [container] + ([_child(container, self.chain[0])] if self.chain and not self.key_field else [])
        found, keys_at = self._scan_kinds(wanted)
        kind = found.get(container)
        if kind is None:
            parent_keys = keys_at[_prefix(self.container[:-1])]
            shown = f"; keys there: {', '.join(parent_keys)}" if parent_keys else ""
            raise self.error(f"has no value at path '{container}'{shown}")
        keys = keys_at[container]
        beside = [k for k in keys_at[_prefix(self.container[:-1])] if self.container and k != self.container[-1]]
        if beside and not self.carried:
            self.notes.append(
                f"the object holding '{container}' has other fields ({', '.join(beside)}): "
                "&with=<names> carries them into every row"
            )
        if kind not in ("array", "object"):
            raise self.error(f"holds a {kind} {self._where()}, not an array of records or an object of named arrays")
        if self.key_field:
            if kind != "object":
                raise self.error(f"holds an array {self._where()}, not an object keyed by id; drop 'keyed'")
            self.mode = "keyed"
        elif kind == "array":
            self.record_prefix = _child(container, "item")
            if not self.chain:
                self._peek_items()
        elif self.chain:
            first = _child(container, self.chain[0])
            first_kind = found.get(first)
            if first_kind != "array":
                what = f"is a {first_kind}" if first_kind else "is missing"
                shown = f"; its keys: {', '.join(keys)}" if keys else ""
                raise self.error(f"cannot explode '{self.chain[0]}' {self._where()}: it {what}, not a list{shown}")
            self.record_prefix = _child(first, "item")
            self.record_chain = self.chain[1:]
        else:
            self._discover(keys)
        return kind

    _LAYOUTS: ClassVar[
        dict[tuple, dict[str, Any]]
    ] = {}  # settled layouts by file identity (one import opens a source 3 times)
    _LAYOUT_FIELDS = (
        "container",
        "mode",
        "split_mode",
        "members",
        "open_members",
        "member_kind",
        "key_field",
        "sequences",
        "record_prefix",
        "discovered",
        "exact_numbers",
        "column_order",
    )

    def _discover(self, keys: list[str]) -> None:
        """Scan the object at the container for its collections of records and settle on one
        (see the layout discovery above); a one-line error when there is none. The decision is
        remembered for the same file (path, size, modification time) and options."""
        try:
            st = self.path.stat()
            identity: tuple = (str(self.path), st.st_size, st.st_mtime_ns, tuple(sorted(self.locator.options.items())))
        except OSError:
            identity = ()
        known = self._LAYOUTS.get(identity) if identity else None
        if known is not None:
            notes = known.pop("notes")
            for name, value in known.items():
                setattr(self, name, value)
            self.notes.extend(notes)
            known["notes"] = notes
            return
        before = len(self.notes)
        self._scan_and_settle(keys)
        if identity:
            if len(self._LAYOUTS) > 32:
                self._LAYOUTS.clear()
            self._LAYOUTS[identity] = {
                **{name: getattr(self, name, None) for name in self._LAYOUT_FIELDS},
                "notes": list(self.notes[before:]),
            }

    def _scan_and_settle(self, keys: list[str]) -> None:
        with self.reading(), self.open_stream() as stream:
            _skip_bom(stream)
            try:
                events = ijson.basic_parse(stream, use_float=not self.exact_numbers)
                first = _descend(events, self.container)
                scan = _LayoutScan(events)
                root = scan.run(first or "start_map")
            except ijson.JSONError as exc:
                if self._needs_exact_numbers(exc):
                    return self._scan_and_settle(keys)
                raise self.error(f"is not valid JSON ({_json_error(exc)})") from None
        found = _candidates(root, scan.size)
        if not found:
            shown = f"; its keys: {', '.join(keys)}" if keys else ""
            raise self.error(
                f"holds an object without any array of records {self._where()}{shown}; "
                "select an array with ?path= (or use jsonl: for one object per line)"
            )
        best = found[0]
        parent = best.node.path[:-1]
        group = [c for c in found if c.node.path[:-1] == parent and _alike(best, c)] if best.node.path else [best]
        group.sort(key=lambda c: c.node.start)  # document order
        base = list(self.container)
        self.discovered = True
        columns = _columns(best, found, scan.size)
        if best.mode == "keyed_columns":
            self.container = base + list(best.node.path)
            self.mode = "keyed_columns"
            self.column_order = list(best.node.children)
            self.key_field = free_key_field(self.column_order)
            self.notes.append(
                f"records as columns keyed by row id at {_dotted(self.container)} ({', '.join(self.column_order)}: "
                f"{_count(next(iter(best.node.children.values())), scan.complete, 'row')} each, as pandas' to_json "
                f"writes a table): read in step, one row per id, the row id in '{self.key_field}'"
            )
        elif columns:
            group = columns
            self.container = base + list(parent)
            self.mode, self.members = "columns", {c.node.path[-1] for c in group}
            self.column_order = [c.node.path[-1] for c in group]
            self.notes.append(
                f"records as parallel arrays of {best.node.items} values at {_dotted(self.container)} "
                f"({', '.join(self.column_order)}): read as columns, one row per position, each array's "
                "value under its name"
            )
        elif not best.node.path:
            self.mode = "keyed"
            self.key_field = free_key_field(k for keys_ in best.node.item_keys for k in keys_)
            self.notes.append(self._keyed_note(best.node, scan.complete))
        elif len(group) > 1 or (not parent and best.mode == "array"):  # one top-level array: named, as ever
            self.container = base + list(parent)
            self.mode, self.split_mode = "split", True
            self.members = {c.node.path[-1] for c in group}
            holder = self._holder(root, parent)
            self.open_members = not scan.complete and (holder is None or holder.end is None)
            self.member_kind = best.mode
            if best.mode == "keyed":
                self.key_field = free_key_field(k for c in group for keys_ in c.node.item_keys for k in keys_)
            shown = ", ".join(
                f"{c.node.path[-1]} ({_count(c.node, scan.complete, 'record' if c.mode == 'array' else 'entry')})"
                for c in group[:_MEMBERS_SHOWN]
            )
            if len(group) > _MEMBERS_SHOWN:
                shown += f" and {len(group) - _MEMBERS_SHOWN} more"
            what = "arrays" if best.mode == "array" else "objects keyed by id"
            where = f"in {len(group)} named {what} at {_dotted(self.container)}:" if len(group) > 1 else "at"
            note = (
                f"records {where} {shown}; "
                f"each row carries its {'array' if best.mode == 'array' else 'object'}'s name in '{SPLIT_FIELD}'"
            )
            if best.mode == "keyed":
                note += f" and its key in '{self.key_field}'"
            self.notes.append(note + (" (or in 'source_split' when a record has its own 'split')"))
        else:
            self.container = base + list(best.node.path)
            if best.mode == "keyed":
                self.mode = "keyed"
                self.key_field = free_key_field(k for keys_ in best.node.item_keys for k in keys_)
                self.notes.append(self._keyed_note(best.node, scan.complete))
            else:
                self.mode = "array"
                self.record_prefix = _child(_prefix(self.container), "item")
                self.notes.append(
                    f"records at {_dotted(self.container)} ({_count(best.node, scan.complete, 'record')})"
                )
        if best.mode == "array" and self.mode != "columns":
            self._note_sequences([c.node for c in group])
        others = [c for c in found if c not in group][:_OTHERS_SHOWN]
        if others:
            shown = ", ".join(
                f"{_dotted(base + list(c.node.path))} ({_count(c.node, scan.complete, 'item' if c.mode == 'array' else 'entry')})"
                for c in others
            )
            self.notes.append(f"other collections in the document, not read: {shown}")
        pinned = "&".join(f"{k}={v}" for k, v in self.pinned_options())
        if pinned:
            self.notes.append(f"to read another part, set ?path= (this one is ?{pinned})")

    def _peek_items(self) -> None:
        """Whether the items of the array read are lists of different lengths (a bounded look)."""
        with self.reading(), self.open_stream() as stream:
            _skip_bom(stream)
            try:
                events = ijson.basic_parse(stream, use_float=not self.exact_numbers)
                first = _descend(events, self.container)
                node = _LayoutScan(events, _PEEK_EVENTS).run(first or "start_array")
            except ijson.JSONError:
                return  # reading the rows reports it
        self._note_sequences([node])

    def _note_sequences(self, nodes: list[_Node]) -> None:
        lengths = set().union(*(n.lengths for n in nodes))
        if all(n.item_kind == "array" for n in nodes) and len(lengths) > 1:
            self.sequences = True
            self.notes.append(
                f"the items are lists of {min(lengths)} to {max(lengths)} values (a sequence, "
                "not a row of columns): each is kept whole, as a list, in 'col_1'"
            )

    @staticmethod
    def _holder(root: _Node, path: tuple[str, ...]) -> _Node | None:
        node: _Node | None = root
        for key in path:
            node = node.children.get(key) if node is not None else None
        return node

    def _keyed_note(self, node: _Node, complete: bool) -> str:
        note = (
            f"records keyed by id at {_dotted(self.container)} ({_count(node, complete, 'entry')}, "
            f"keys such as {', '.join(node.keys[:3])}): each row carries its key in '{self.key_field}'"
        )
        if self.key_field != KEY_FIELDS[0]:
            note += f" (the records have their own '{KEY_FIELDS[0]}' field, kept as it is)"
        return note

    # --- rows -------------------------------------------------------------------------------
    def rows(self) -> Iterator[SourceRow]:
        if not self.carried:
            yield from self._zipped_rows()
            return
        carried = self._carried()
        for row in self._zipped_rows():
            yield {**copy.deepcopy(carried), **row} if isinstance(row, dict) else row

    def _zipped_rows(self) -> Iterator[SourceRow]:
        if not self.zipped:
            yield from self._rows()
            return
        for position, row in enumerate(self._rows(), start=1):
            yield from unzip(row, self.zipped, position)

    def _carried(self) -> dict[str, Any]:
        """The ``with`` fields: values beside the selected collection, read whole in one pass."""
        if self._carried_values is not None:
            return self._carried_values
        if not self.container:
            raise self.error(
                "has its records at the top level: 'with' carries fields beside a collection inside "
                "an object; select it with path="
            )
        holder = _prefix(self.container[:-1])
        found: dict[str, Any] = {}
        keys: list[str] = []
        with self.reading(), self.open_stream() as stream:
            _skip_bom(stream)
            events = ijson.parse(stream, use_float=not self.exact_numbers)
            try:
                for prefix, event, value in events:
                    if prefix == holder and event == "map_key":
                        keys.append(value)
                        if value in self.carried and value not in found:
                            _, event, value = next(events)
                            found[keys[-1]] = self._plain(_build(events, event, value))
                            if len(found) == len(self.carried):
                                break
                    elif prefix == holder and event == "end_map":
                        break
            except ijson.JSONError as exc:
                raise self.error(f"is not valid JSON ({_json_error(exc)})") from None
        missing = [name for name in self.carried if name not in found]
        if missing:
            shown = ", ".join(k for k in keys[:_KEYS_SHOWN] if k != self.container[-1])
            raise self.error(
                f"has no field {', '.join(repr(m) for m in missing)} beside '{_prefix(self.container)}' "
                f"to carry (with=); keys there: {shown or 'none'}"
            )
        self._carried_values = {name: found[name] for name in self.carried}
        return self._carried_values

    def _rows(self) -> Iterator[SourceRow]:
        if self.kind == "empty":
            return
        if self.mode == "jsonl":
            for position, row in enumerate(self.lines.rows(), start=1):
                if isinstance(row, dict) and self.chain:
                    yield from explode(row, self.chain, {}, position)
                else:
                    yield row
            return
        given = 0  # rows yielded so far: a re-read in exact-number mode goes on after them
        while True:
            try:
                for index, row in enumerate(self._read(), start=1):
                    if index > given:
                        given = index
                        yield row
                return
            except _NeedExactNumbers:
                continue

    def _read(self) -> Iterator[SourceRow]:
        count = 0
        with self.reading(lambda: f"after record {count}"), self.open_stream() as stream:
            _skip_bom(stream)
            try:
                if self.mode in ("columns", "keyed_columns"):
                    for count, row in enumerate(self._columns(), start=1):
                        yield row
                elif self.split_mode:
                    for count, row in self._named_collections(stream):
                        yield row
                elif self.mode == "keyed":
                    entries = ijson.kvitems(stream, _prefix(self.container), use_float=not self.exact_numbers)
                    for count, (key, value) in enumerate(entries, start=1):
                        row = self._keyed_row(key, self._plain(value), count)
                        yield from explode(row, self.record_chain, {}, count) if isinstance(row, dict) else (row,)
                else:
                    items = ijson.items(stream, self.record_prefix, use_float=not self.exact_numbers)
                    for count, record in enumerate(items, start=1):
                        yield from explode(self._item(record), self.record_chain, {}, count)
            except ijson.JSONError as exc:
                if self._needs_exact_numbers(exc):
                    raise _NeedExactNumbers from None
                hint = "; one JSON value per line is read with jsonl:" if _TRAILING in str(exc) else ""
                raise self.error(f"is not valid JSON after record {count} ({_json_error(exc)}){hint}") from None

    def _columns(self) -> Iterator[SourceRow]:
        """Rows of parallel arrays: one stream per array, read in step (nothing held but a row)."""
        with contextlib.ExitStack() as stack:
            readers = []
            keyed = self.mode == "keyed_columns"
            for name in self.column_order:
                stream = stack.enter_context(self.open_stream())
                _skip_bom(stream)
                column = _child(_prefix(self.container), name)
                readers.append(
                    ijson.kvitems(stream, column, use_float=not self.exact_numbers)
                    if keyed
                    else ijson.items(stream, _child(column, "item"), use_float=not self.exact_numbers)
                )
            for position, values in enumerate(zip(*readers), start=1):
                if not keyed:
                    yield {name: self._plain(value) for name, value in zip(self.column_order, values)}
                    continue
                ids = {key for key, _ in values}
                if len(ids) > 1:
                    shown = ", ".join(f"{name}: {key}" for name, (key, _) in zip(self.column_order, values))
                    yield ParseFailure(
                        position, shown, f"the columns list different row ids at row {position} ({shown})"
                    )
                    continue
                yield {
                    self.key_field or KEY_FIELDS[0]: values[0][0],
                    **{name: self._plain(value) for name, (_, value) in zip(self.column_order, values)},
                }

    def _plain(self, value: Any) -> Any:
        return plain_numbers(value) if self.exact_numbers and not too_deep(value) else value

    def _item(self, value: Any) -> Any:
        """An array item as it becomes a row (a list stays whole when the items are sequences)."""
        value = self._plain(value)
        return {"col_1": value} if self.sequences and isinstance(value, list) else value

    def _keyed_row(self, key: str, value: Any, position: int) -> SourceRow:
        """One entry of an object keyed by id as a row: the record with its key in ``key_field``."""
        field_name = self.key_field or KEY_FIELDS[0]
        if not isinstance(value, dict):
            return ParseFailure(
                position, raw_json(value), f"entry '{key}' is a {type_name(value)}, not a record (an object)"
            )
        if field_name in value:
            return ParseFailure(
                position,
                raw_json(value),
                f"entry '{key}' already has a field '{field_name}' for its key; name another with ?keyed=<field>",
            )
        return {field_name: key, **value}

    def _is_member(self, key: str, event: str) -> bool:
        if self.members is None:
            return event == "start_array"
        if key in self.members:
            return True
        return self.open_members and event == ("start_array" if self.member_kind == "array" else "start_map")

    def _named_collections(self, stream: BinaryIO) -> Iterator[tuple[int, SourceRow]]:
        """The items of every named array (or the entries of every object keyed by id) of the
        container that is read, in document order, each row with the collection's name."""
        container = _prefix(self.container)
        events = ijson.parse(stream, use_float=not self.exact_numbers)
        key: str | None = None
        member: str | None = None  # prefix of the collection being read
        member_kind = "array"
        index = 0
        for prefix, event, value in events:
            if member is None:
                if prefix == container and event == "map_key":
                    key = value
                elif (
                    event in _STARTS
                    and key is not None
                    and prefix == _child(container, key)
                    and self._is_member(key, event)
                ):
                    member, member_kind = prefix, _KINDS[event]
                elif prefix == container and event == "end_map":
                    break
                continue
            if prefix == member and event in _ENDS:
                member = None
                continue
            entry: str | None = None
            if member_kind == "array":
                if prefix != _child(member, "item"):
                    continue
            else:
                if prefix != member or event != "map_key":
                    continue
                entry = value
                _, event, value = next(events)
            item = self._item(_build(events, event, value))
            index += 1
            row = as_row(item) if entry is None else self._keyed_row(entry, item, index)
            if isinstance(row, dict):
                row[FALLBACK_SPLIT_FIELD if SPLIT_FIELD in row else SPLIT_FIELD] = key
            yield index, row


def _build(events: Iterator[tuple[str, str, Any]], event: str, value: Any) -> Any:
    """The whole value that ``event`` starts, from ``ijson.parse`` events."""
    if event not in _STARTS:
        return value
    builder = ijson.ObjectBuilder()
    depth = 1
    while depth:
        builder.event(event, value)
        _, event, value = next(events)
        if event in _STARTS:
            depth += 1
        elif event in _ENDS:
            depth -= 1
    return builder.value


SOURCES = {"json": JsonSource}
