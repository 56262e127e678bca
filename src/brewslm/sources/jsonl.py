"""``jsonl:/path`` — one JSON object per line (also ``.ndjson``; gzip/bz2/xz read transparently).

Streams line by line in binary with a bounded reader, so memory stays flat whatever the file
size. Per line:
- blank lines are skipped; a byte-order mark is ignored; the encoding is detected (UTF-16/32 with
  or without a BOM, Windows-1252...; see ``filebase``) or given with ``?encoding=``;
- invalid UTF-8, invalid JSON, an integer longer than Python's digit limit (4300 digits), or a JSON
  value that is not an object (a list, a number...) become a ``ParseFailure`` sentinel carrying
  the line number, the raw text (truncated) and a one-line error; a line nested deeper than the
  parser's recursion allows becomes a ``too_deep`` one (as does any row past ``MAX_DEPTH``);
- a line longer than ``max_record_bytes`` (default 64 MiB, ``?max_record_bytes=N``) is skipped up
  to its newline and becomes a ``ParseFailure``.
A file that holds binary data (NUL and control bytes near the start, no line of JSON) or is a
pretty-printed JSON document (first line ``[`` or ``{``: use ``json:``) is refused with one
``SourceError``. An empty file yields zero rows.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from brewslm.records import type_name
from brewslm.sources.base import (
    MAX_DEPTH,
    RAW_TEXT_LIMIT,
    TOO_DEEP,
    Locator,
    ParseFailure,
    SourceRow,
    check_depth,
    too_deep_error,
    too_long_integer,
)
from brewslm.sources.filebase import (
    MAX_RECORD_BYTES,
    UTF8_BOM,
    FileSource,
    int_option,
    looks_binary,
    read_lines_capped,
)

_RAW_BYTES = RAW_TEXT_LIMIT * 4  # enough bytes for RAW_TEXT_LIMIT characters of any UTF-8 text


def raw_text(line: bytes) -> str:
    return line[:_RAW_BYTES].decode("utf-8", errors="replace")


def parse_json_line(line: bytes, lineno: int) -> SourceRow:
    """One JSON-lines record: the object, or a ParseFailure saying what is wrong with it."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ParseFailure(
            lineno, raw_text(line), f"invalid UTF-8 (byte 0x{line[exc.start]:02x} at offset {exc.start})"
        )
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        return ParseFailure(lineno, text[: RAW_TEXT_LIMIT + 1], f"invalid JSON: {exc.msg} (column {exc.colno})")
    except ValueError:
        # the only other ValueError json.loads raises: an integer past Python's digit limit
        return ParseFailure(lineno, text[: RAW_TEXT_LIMIT + 1], too_long_integer())
    except RecursionError:
        return ParseFailure(lineno, text[: RAW_TEXT_LIMIT + 1], too_deep_error(), TOO_DEEP)
    if not isinstance(value, dict):
        return ParseFailure(lineno, text[: RAW_TEXT_LIMIT + 1], f"expected a JSON object, got a {type_name(value)}")
    if text.count("{") + text.count("[") <= MAX_DEPTH:
        return value  # fewer brackets than the limit (counted at C speed): it cannot nest that deep
    return check_depth(value, lineno)  # here, so a too_deep row names its line, not its row index


class JsonlSource(FileSource):
    options_doc = {"max_record_bytes": f"longest line read, in bytes (default {MAX_RECORD_BYTES})"}

    def records(self) -> Iterator[SourceRow]:
        """``rows``: each line's depth is checked as it is parsed (naming its line), so checking
        every row again, as ``Source.records`` does for other connectors, would only cost time."""
        return self.rows()

    def __init__(self, locator: Locator):
        super().__init__(locator)
        self.max_record_bytes = int_option(locator, "max_record_bytes", MAX_RECORD_BYTES)
        if not self.is_empty:
            self._check_head(self.probe_utf8())

    def _check_head(self, head: bytes) -> None:
        if looks_binary(head) and not _any_object_line(head):
            raise self.error("holds binary data, not JSON lines (NUL and control bytes near the start)")
        first = next((line.strip() for line in head.removeprefix(UTF8_BOM).split(b"\n") if line.strip()), b"")
        if first in (b"[", b"{"):
            raise self.error(
                f"holds one JSON document spread over many lines (its first line is '{first.decode()}'), "
                f"not JSON lines; read it with json:{self.path}"
            )

    def rows(self) -> Iterator[SourceRow]:
        if self.is_empty:
            return
        cap = self.max_record_bytes
        lineno = 0
        with self.reading(lambda: f"after line {lineno}"), self.open_stream() as stream:
            for lineno, line, overlong in read_lines_capped(stream, cap):
                if lineno == 1 and line.startswith(UTF8_BOM):
                    line = line[len(UTF8_BOM) :]
                if overlong is not None:
                    yield ParseFailure(
                        lineno,
                        raw_text(line),
                        f"line is longer than {cap} bytes ({overlong} bytes); raise ?max_record_bytes= to read it",
                    )
                    continue
                if not line.strip():
                    continue
                yield parse_json_line(line, lineno)


def _any_object_line(head: bytes) -> bool:
    lines = head.split(b"\n")[:-1]  # the last piece may be cut by the probe
    return any(isinstance(parse_json_line(line, 0), dict) for line in lines if line.strip())


SOURCES = {"jsonl": JsonlSource, "ndjson": JsonlSource}
