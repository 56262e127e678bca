"""``csv:/path`` — delimited text with a header row; every cell is a string.

Streams record by record (never reads the whole file) and handles:
- quoted cells with newlines, delimiters and doubled quotes (RFC 4180, Excel style);
- the delimiter: sniffed from the first 64 KiB among ``,`` tab ``;`` ``|`` (the one that splits the
  header into 2+ columns and the most rows into the same number of columns); ``.tsv``/``.tab``
  files default to tab; ``?delimiter=`` (``,`` ``;`` ``|`` ``tab`` or any single character) overrides;
- encodings: UTF-8 by default; a byte-order mark selects UTF-8/16/32; ``?encoding=latin-1`` (any
  Python codec) for other files. A head that is not valid text in the encoding is refused with one
  ``SourceError`` that suggests ``?encoding=latin-1``; an isolated bad byte further down turns
  only its row into a ``ParseFailure``;
- the header (``?header=auto``, the default): the first row is the header unless it looks like
  data: every cell numeric, or more columns vote "data" than "header" (a column whose other values
  are all numbers votes "data" when the first cell is a number too and "header" when it is not; a
  first cell that repeats as a value further down the same column votes "data"). Without a header
  (``?header=false``, or auto deciding so) the columns are named ``col_1``, ``col_2``...;
- header names are stripped of surrounding spaces; an empty name becomes ``col_<position>`` and a
  repeated one ``<name>_<position>`` (1-based column position), so no column is lost;
- a row with more or fewer cells than the header (ragged), a quoting error (``"a"b``; an
  unterminated quote at the end of a truncated file), or a record longer than ``max_record_bytes`` characters becomes a ``ParseFailure``;
  blank lines are skipped. An empty file, or one holding only a header, yields zero rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from typing import Iterator, TextIO

from brewslm.errors import SourceError
from brewslm.sources.base import RAW_TEXT_LIMIT, Locator, ParseFailure, SourceRow
from brewslm.sources.filebase import (
    MAX_RECORD_BYTES,
    PROBE_BYTES,
    SKIP_CHUNK,
    UTF8_BOM,
    UTF16_BOMS,
    UTF32_BOMS,
    FileSource,
    bool_option,
    format_suffix,
    int_option,
    looks_binary,
)

SNIFF_DELIMITERS = (",", "\t", ";", "|")
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
_NUMBER = re.compile(r"^[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?$")
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes the decoder could not read (surrogateescape)

# long cells are normal (documents, OCR dumps); our own record cap bounds memory instead
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class _RecordTooLong(Exception):
    def __init__(self, head: str):
        self.head = head


class _CappedLines:
    """Physical lines for ``csv.reader`` with a cap on the characters of one record, so an
    unterminated quote or a 1 GB line never accumulates in memory."""

    def __init__(self, stream: TextIO, cap: int):
        self.stream = stream
        self.cap = cap
        self.lineno = 0
        self.record_chars = 0
        self.last_line = ""  # start of the latest line, shown when a record fails to parse

    def __iter__(self) -> "_CappedLines":
        return self

    def __next__(self) -> str:
        line = self.stream.readline(self.cap + 1)
        if not line:
            raise StopIteration
        self.lineno += 1
        self.record_chars += len(line)
        self.last_line = line[:RAW_TEXT_LIMIT]
        if self.record_chars > self.cap:
            head = line[:RAW_TEXT_LIMIT]
            if len(line) > self.cap and not line.endswith(("\n", "\r")):
                while True:
                    chunk = self.stream.readline(SKIP_CHUNK)
                    if not chunk or chunk.endswith(("\n", "\r")):
                        break
            raise _RecordTooLong(head)
        return line


def parse_delimiter(value: str, locator: Locator) -> str:
    delimiter = _DELIMITER_NAMES.get(value.lower(), value)
    if len(delimiter) != 1 or delimiter in ('"', "\n", "\r"):
        raise SourceError(
            f"option 'delimiter={value}' in locator '{locator}' must be one character or tab, comma, semicolon, pipe"
        )
    return delimiter


def _parse_sample(text: str, delimiter: str) -> list[list[str]]:
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            if row:
                rows.append(row)
    except csv.Error:
        pass  # an unterminated quote cut by the sample's end
    return rows


def sniff_delimiter(sample: str) -> str:
    """The candidate that splits the first row into 2+ columns and the most rows alike."""
    best, best_score = ",", 0.0
    for delimiter in SNIFF_DELIMITERS:
        rows = _parse_sample(sample, delimiter)
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = sum(1 for r in rows if len(r) == width) / len(rows)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.match(cell.strip().replace(",", "")))


def guess_has_header(rows: list[list[str]]) -> bool:
    """Whether the first sampled row is a header (see the module docstring for the rule)."""
    if not rows:
        return True
    first = rows[0]
    filled = [c for c in first if c.strip()]
    if filled and all(_is_number(c) for c in filled):
        return False
    rest = [r for r in rows[1:] if len(r) == len(first)]
    header_votes = data_votes = 0
    for col, cell in enumerate(first):
        values = [r[col] for r in rest if r[col].strip()]
        if not values or not cell.strip():
            continue
        if all(_is_number(v) for v in values):
            if _is_number(cell):
                data_votes += 1
            else:
                header_votes += 1
        elif cell in set(values):
            data_votes += 1
    return data_votes <= header_votes


def clean_header(cells: list[str]) -> list[str]:
    """Strip names; empty -> ``col_<i>``, repeated -> ``<name>_<i>`` (1-based position)."""
    names: list[str] = []
    seen: set[str] = set()
    for i, cell in enumerate(cells, start=1):
        name = cell.strip() or f"col_{i}"
        if name in seen:
            name = f"{name}_{i}"
            while name in seen:
                name = f"{name}_{i}"
        seen.add(name)
        names.append(name)
    return names


class CsvSource(FileSource):
    options_doc = {
        "delimiter": "field separator: one character, or tab, comma, semicolon, pipe (default: sniffed; tab for .tsv)",
        "header": "true, false (columns col_1, col_2, ...) or auto (default: first row unless it looks like data)",
        "encoding": "text encoding, e.g. latin-1 or cp1252 (default utf-8; a byte-order mark selects UTF-8/16/32)",
        "max_record_bytes": f"longest record read, in characters (default {MAX_RECORD_BYTES})",
    }

    def __init__(self, locator: Locator):
        super().__init__(locator)
        self.max_record_bytes = int_option(locator, "max_record_bytes", MAX_RECORD_BYTES)
        header_option = bool_option(locator, "header", None)
        head = b"" if self.is_empty else self.probe()
        self.encoding = self._choose_encoding(head)
        sample = self._decode_head(head)
        if "delimiter" in locator.options:
            self.delimiter = parse_delimiter(locator.options["delimiter"], locator)
        elif locator.scheme == "tsv" or format_suffix(self.path) in (".tsv", ".tab"):
            self.delimiter = "\t"
        else:
            self.delimiter = sniff_delimiter(sample)
        sample_rows = _parse_sample(sample, self.delimiter)
        self.has_header = guess_has_header(sample_rows) if header_option is None else header_option

    # --- encoding ---------------------------------------------------------------------------
    def _choose_encoding(self, head: bytes) -> str:
        given = self.locator.options.get("encoding")
        if given:
            try:
                name = codecs.lookup(given).name
            except LookupError:
                raise self.error(f"unknown encoding '{given}'; use e.g. utf-8, latin-1, cp1252, utf-16") from None
            return "utf-8-sig" if name == "utf-8" and head.startswith(UTF8_BOM) else name
        if head.startswith(UTF32_BOMS):
            return "utf-32"
        if head.startswith(UTF16_BOMS):
            return "utf-16"
        if head.startswith(UTF8_BOM):
            return "utf-8-sig"
        return "utf-8"

    def _decode_head(self, head: bytes) -> str:
        if not self.encoding.startswith(("utf-16", "utf-32")) and looks_binary(head):
            raise self.error("holds binary data, not CSV text (NUL and control bytes near the start)")
        truncated = len(head) >= PROBE_BYTES
        try:
            text = codecs.getincrementaldecoder(self.encoding)("strict").decode(head, final=not truncated)
        except UnicodeDecodeError as exc:
            byte = f"byte 0x{head[exc.start]:02x} at offset {exc.start}"
            if "encoding" in self.locator.options:
                raise self.error(f"is not valid {self.encoding} text ({byte}); check ?encoding=") from None
            raise self.error(
                f"is not UTF-8 text ({byte}); if it is Latin-1 or Windows-1252, add ?encoding=latin-1 "
                "(or ?encoding=cp1252) to the locator"
            ) from None
        if truncated:  # the last line may be cut by the probe
            text = text[: text.rfind("\n") + 1] or text
        return text

    # --- rows -------------------------------------------------------------------------------
    def _raw(self, cells: list[str]) -> str:
        out = io.StringIO()
        csv.writer(out, delimiter=self.delimiter, lineterminator="").writerow(cells)
        text = out.getvalue()[: RAW_TEXT_LIMIT + 1]
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

    def rows(self) -> Iterator[SourceRow]:
        if self.is_empty:
            return
        cap = self.max_record_bytes
        lines: _CappedLines | None = None
        where = lambda: f"near line {lines.lineno}" if lines else ""  # noqa: E731
        with self.reading(where), self.open_stream() as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, errors="surrogateescape", newline="")
            lines = _CappedLines(text, cap)
            reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
            header: list[str] | None = None
            while True:
                start = lines.lineno + 1
                lines.record_chars = 0
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except _RecordTooLong as exc:
                    yield ParseFailure(
                        start,
                        exc.head,
                        f"record is longer than {cap} characters (unbalanced quote?); "
                        "raise ?max_record_bytes= to read it",
                    )
                    reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
                    continue
                except csv.Error as exc:
                    yield ParseFailure(start, lines.last_line, f"malformed CSV: {exc} (unbalanced quote or truncated file?)")
                    reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
                    continue
                if not cells:
                    continue
                if any(_UNDECODED.search(c) for c in cells):
                    yield ParseFailure(
                        start,
                        self._raw(cells),
                        f"bytes that are not valid {self.encoding}; if the file is Latin-1 or Windows-1252 "
                        "add ?encoding=latin-1 (or cp1252)",
                    )
                    continue
                if header is None:
                    if self.has_header:
                        header = clean_header(cells)
                        continue
                    header = [f"col_{i}" for i in range(1, len(cells) + 1)]
                if len(cells) != len(header):
                    yield ParseFailure(
                        start, self._raw(cells), f"row has {len(cells)} fields, the header has {len(header)}"
                    )
                    continue
                yield dict(zip(header, cells))


SOURCES = {"csv": CsvSource, "tsv": CsvSource}
