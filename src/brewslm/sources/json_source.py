"""``json:/path[?path=<pointer>][&explode=a.b.c]`` — one JSON document holding records.

Streamed with ijson (one record in memory at a time; gzip/bz2/xz read transparently; a UTF-8
byte-order mark is skipped). What becomes rows:
- a top-level **array**: each item is a row;
- a top-level **object of named arrays** (``{"train": [...], "val": [...]}``): the items of every
  array-valued key, in document order; each row gets the array's name in the field ``split``
  (or in ``source_split`` when the row already has a ``split`` field, whose value is kept). Keys
  holding anything other than an array (e.g. SQuAD's ``"version": "v2.0"``) are ignored; an
  object with no array at all is an error;
- ``?path=`` selects the array or object to read instead of the top level: a JSON pointer
  (``/data``) or a dotted path (``data``, ``results.items``); it must go through object keys only;
- ``&explode=a.b.c`` flattens nested record lists: from the selected value (an object: ``a`` is
  one of its keys; an array: ``a`` is a key of its items) each record's list ``a`` is entered, then
  ``b`` in each of those, and so on; the innermost items are the rows, carrying the scalar fields
  (strings, numbers, booleans, null) of every record on the way. On a name clash the inner field
  wins. SQuAD: ``json:dev-v2.0.json?explode=data.paragraphs.qas`` gives one row per question
  with ``title``, ``context``, ``question``, ``id``, ``answers``, ``is_impossible``... A record
  without the list to explode, or whose field is not a list, becomes a ``ParseFailure``; an empty
  list yields no rows;
- an item that is not an object becomes ``{"col_1": ..., "col_2": ...}`` for a list (clinc150's
  ``[text, intent]`` pairs) or ``{"col_1": value}`` for a scalar, like a CSV row without header.
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

import decimal
import re
from typing import Any, BinaryIO, Iterator

import ijson

from brewslm.errors import SourceError
from brewslm.mappers.base import type_name
from brewslm.sources.base import (
    Locator,
    ParseFailure,
    SourceRow,
    int_digit_limit,
    raw_json,
    too_deep,
    too_long_integer,
)
from brewslm.sources.filebase import SKIP_CHUNK, UTF8_BOM, FileSource

SPLIT_FIELD = "split"
FALLBACK_SPLIT_FIELD = "source_split"
_STARTS = ("start_map", "start_array")
_ENDS = ("end_map", "end_array")
_KINDS = {"start_array": "array", "start_map": "object"}
_KEYS_SHOWN = 30
_CHECK_EVENTS = 200
_INT_OVERFLOW = "integer overflow"  # what the fast (float) reader says of an integer past 64 bits


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
        yield ParseFailure(position, raw_json(record), f"field '{key}' is a {type_name(children)}, not a list to explode")
        return
    carried = {**parents, **{k: v for k, v in record.items() if k != key and _is_scalar(v)}}
    for child in children:
        yield from explode(child, chain[1:], carried, position)


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


class JsonSource(FileSource):
    options_doc = {
        "path": "JSON pointer (/data) or dotted path (data) of the array or object of arrays to read",
        "explode": "dotted list fields to flatten, e.g. data.paragraphs.qas (parent scalar fields are carried)",
    }

    def __init__(self, locator: Locator):
        super().__init__(locator)
        self.container = parse_path(locator.options.get("path", ""), locator)
        self.chain = parse_path(locator.options.get("explode", ""), locator) if "explode" in locator.options else []
        if "explode" in locator.options and not self.chain:
            raise SourceError(f"option 'explode' in locator '{locator}' is empty; write e.g. explode=data.paragraphs.qas")
        self.exact_numbers = False  # switched on when the document holds an integer past 64 bits
        self.kind = "empty" if self.is_empty or not self.probe(4096).strip(b" \t\r\n" + UTF8_BOM) else self._plan()

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
                raise self.error(f"is not valid JSON ({_json_error(exc)})") from None
        return found, keys

    def _needs_exact_numbers(self, exc: Exception) -> bool:
        """True when ``exc`` is the fast reader's integer overflow and exact-number mode can read
        the document (now switched on); a one-line error when no reader can."""
        if self.exact_numbers or _INT_OVERFLOW not in str(exc):
            return False
        offset = self._huge_integer_offset()
        if offset is not None:
            # the exact reader would crash the process on it, so it is refused before reading
            raise self.error(f"holds a number near byte {offset} that is too long: {too_long_integer()}, or "
                             "convert the file to JSON lines (jsonl:), where such a record is rejected alone")
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
        container = _prefix(self.container)
        wanted = [container] + ([_child(container, self.chain[0])] if self.chain else [])
        found, keys_at = self._scan_kinds(wanted)
        kind = found.get(container)
        if kind is None:
            parent_keys = keys_at[_prefix(self.container[:-1])]
            shown = f"; keys there: {', '.join(parent_keys)}" if parent_keys else ""
            raise self.error(f"has no value at path '{container}'{shown}")
        keys = keys_at[container]
        if kind not in ("array", "object"):
            raise self.error(
                f"holds a {kind} {self._where()}, not an array of records or an object of named arrays"
            )
        self.split_mode = False
        if kind == "array":
            self.record_prefix = _child(container, "item")
            self.record_chain = list(self.chain)
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
            self.split_mode = True
        return kind

    # --- rows -------------------------------------------------------------------------------
    def rows(self) -> Iterator[SourceRow]:
        if self.kind == "empty":
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
                if self.split_mode:
                    for count, row in self._named_arrays(stream):
                        yield row
                else:
                    items = ijson.items(stream, self.record_prefix, use_float=not self.exact_numbers)
                    for count, record in enumerate(items, start=1):
                        if self.exact_numbers and not too_deep(record):
                            record = plain_numbers(record)
                        yield from explode(record, self.record_chain, {}, count)
            except ijson.JSONError as exc:
                if self._needs_exact_numbers(exc):
                    raise _NeedExactNumbers from None
                raise self.error(f"is not valid JSON after record {count} ({_json_error(exc)})") from None

    def _named_arrays(self, stream: BinaryIO) -> Iterator[tuple[int, SourceRow]]:
        container = _prefix(self.container)
        events = ijson.parse(stream, use_float=not self.exact_numbers)
        key: str | None = None
        keys: list[str] = []
        array_prefix: str | None = None
        item_prefix = ""
        index = arrays = 0
        for prefix, event, value in events:
            if array_prefix is None:
                if prefix == container and event == "map_key":
                    key = value
                    if len(keys) < _KEYS_SHOWN:
                        keys.append(value)
                elif event == "start_array" and key is not None and prefix == _child(container, key):
                    array_prefix, item_prefix = prefix, _child(prefix, "item")
                    arrays += 1
                elif prefix == container and event == "end_map":
                    break
                continue
            if prefix == array_prefix and event == "end_array":
                array_prefix = None
                continue
            if prefix != item_prefix:
                continue
            if event in _STARTS:
                builder = ijson.ObjectBuilder()
                depth = 1
                while depth:
                    builder.event(event, value)
                    _, event, value = next(events)
                    if event in _STARTS:
                        depth += 1
                    elif event in _ENDS:
                        depth -= 1
                item = builder.value
            else:
                item = value
            if self.exact_numbers and not too_deep(item):
                item = plain_numbers(item)
            index += 1
            row = as_row(item)
            row[FALLBACK_SPLIT_FIELD if SPLIT_FIELD in row else SPLIT_FIELD] = key
            yield index, row
        if arrays == 0:
            shown = f"; its keys: {', '.join(keys)}" if keys else ""
            raise self.error(
                f"holds an object without any array of records {self._where()}{shown}; "
                "select an array with ?path= (or use jsonl: for one object per line)"
            )


SOURCES = {"json": JsonSource}
