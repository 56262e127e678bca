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
A top-level scalar, a missing ``path`` and JSON that is invalid (or truncated) are one-line
``SourceError``s. ``ParseFailure.position`` is the 1-based index of the top-level record. An
empty file yields zero rows.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO, Iterator

import ijson

from brewslm.errors import SourceError
from brewslm.mappers.base import type_name
from brewslm.sources.base import RAW_TEXT_LIMIT, Locator, ParseFailure, SourceRow
from brewslm.sources.filebase import UTF8_BOM, FileSource

SPLIT_FIELD = "split"
FALLBACK_SPLIT_FIELD = "source_split"
_STARTS = ("start_map", "start_array")
_ENDS = ("end_map", "end_array")
_KINDS = {"start_array": "array", "start_map": "object"}
_KEYS_SHOWN = 30
_CHECK_EVENTS = 200


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


def _raw(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)[: RAW_TEXT_LIMIT + 1]


def explode(record: Any, chain: list[str], parents: dict[str, Any], position: int) -> Iterator[SourceRow]:
    """Rows of ``record`` flattened through the list fields in ``chain``."""
    if not chain:
        yield {**parents, **as_row(record)} if parents else as_row(record)
        return
    key = chain[0]
    if not isinstance(record, dict):
        yield ParseFailure(position, _raw(record), f"record is a {type_name(record)}, cannot explode '{key}'")
        return
    if key not in record:
        yield ParseFailure(position, _raw(record), f"record has no field '{key}' to explode")
        return
    children = record[key]
    if not isinstance(children, list):
        yield ParseFailure(position, _raw(record), f"field '{key}' is a {type_name(children)}, not a list to explode")
        return
    carried = {**parents, **{k: v for k, v in record.items() if k != key and _is_scalar(v)}}
    for child in children:
        yield from explode(child, chain[1:], carried, position)


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
                for count, (prefix, event, value) in enumerate(ijson.parse(stream, use_float=True)):
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
                raise self.error(f"is not valid JSON ({_json_error(exc)})") from None
        return found, keys

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
        count = 0
        with self.reading(lambda: f"after record {count}"), self.open_stream() as stream:
            _skip_bom(stream)
            try:
                if self.split_mode:
                    for count, row in self._named_arrays(stream):
                        yield row
                else:
                    for count, record in enumerate(ijson.items(stream, self.record_prefix, use_float=True), start=1):
                        yield from explode(record, self.record_chain, {}, count)
            except ijson.JSONError as exc:
                raise self.error(f"is not valid JSON after record {count} ({_json_error(exc)})") from None

    def _named_arrays(self, stream: BinaryIO) -> Iterator[tuple[int, SourceRow]]:
        container = _prefix(self.container)
        events = ijson.parse(stream, use_float=True)
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
