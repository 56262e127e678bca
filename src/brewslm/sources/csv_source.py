"""``csv:/path`` — delimited text with a header row; every cell is a string.

Streams record by record (never reads the whole file) and handles:
- quoted cells with newlines, delimiters and doubled quotes (RFC 4180, Excel style);
- the delimiter: sniffed from the first 64 KiB among ``,`` tab ``;`` ``|`` (the one that splits the
  header into 2+ columns and the most rows into the same number of columns); ``.tsv``/``.tab``
  files default to tab; ``?delimiter=`` (``,`` ``;`` ``|`` ``tab`` or any single character) overrides;
- encodings: detected (byte-order mark, UTF-16 without one, UTF-8 validity, charset-normalizer;
  see ``filebase``), ``?encoding=cp1252`` (any Python codec) overrides; a byte the encoding cannot
  decode turns only its row into a ``ParseFailure``;
- quoting (``?quoting=auto``, the default): RFC 4180 quotes, except in tab-separated text whose
  quotes do not wrap whole fields (``faux "masterpieces.`` then ``" The structure`` on the next
  line): there a ``"`` is an ordinary character and every line is one record (``?quoting=none``
  forces that, ``?quoting=csv`` the quote rules). The rule (``quotes_wrap_fields``): more than half
  of the sample's quotes are stray, neither at a field boundary nor doubled;
- the header (``?header=auto``, the default): the first row is the header unless it looks like
  data: every cell numeric, or the columns' votes weigh more for "data" than for "header". Per
  column, by the values below row 1: all numbers -> "data" when row 1's cell is a number too,
  "header" when it is not (weight 2: types are the strongest evidence); row 1's cell repeats
  further down -> "data" (weight 2: a name is rarely also a value); a column of few distinct
  values (labels) that row 1's cell is not among -> "header" (weight 1); free text (median 20+
  characters) -> "data" when row 1's cell is as long as the shortest of them (and 20+ characters),
  "header" when it is shorter than half the lower quartile (weight 1). A tie keeps the header. ``?header=yes|no`` overrides. The decision and its
  reason are a note of the source (shown as evidence). Without a header the columns are named
  ``col_1``, ``col_2``...;
- header names are stripped of surrounding spaces; an empty name becomes ``col_<position>`` and a
  repeated one ``<name>_<position>`` (1-based column position), so no column is lost;
- a row with more or fewer cells than the header (ragged), a quoting error (``"a"b``; an
  unterminated quote at the end of a truncated file), or a record longer than ``max_record_bytes`` characters becomes a ``ParseFailure``;
  blank lines are skipped. An empty file, or one holding only a header, yields zero rows.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from typing import Any, Iterator, TextIO

from brewslm.errors import SourceError
from brewslm.sources.base import RAW_TEXT_LIMIT, Locator, ParseFailure, SourceRow
from brewslm.sources.filebase import (
    MAX_RECORD_BYTES,
    PROBE_BYTES,
    SKIP_CHUNK,
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


def parse_sample(text: str, delimiter: str, quoting: int = csv.QUOTE_MINIMAL) -> list[list[str]]:
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
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
        rows = parse_sample(sample, delimiter)
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = sum(1 for r in rows if len(r) == width) / len(rows)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def is_number(cell: str) -> bool:
    return bool(_NUMBER.match(cell.strip().replace(",", "")))


def guess_has_header(rows: list[list[str]]) -> bool:
    """Whether the first sampled row is a header (see the module docstring for the rule)."""
    return header_decision(rows)[0]


def _quartile(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[len(ordered) // 4]


def header_decision(rows: list[list[str]]) -> tuple[bool, str]:
    """Whether the first sampled row is a header, and why (the module docstring has the rule)."""
    if not rows:
        return True, "no rows to compare"
    first = rows[0]
    filled = [c for c in first if c.strip()]
    if filled and all(is_number(c) for c in filled):
        return False, "every cell of row 1 is a number"
    rest = [r for r in rows[1:] if len(r) == len(first)]
    header_votes: list[str] = []  # a strong vote is listed twice (weight 2)
    data_votes: list[str] = []
    for col, cell in enumerate(first, start=1):
        values = [r[col - 1] for r in rest if r[col - 1].strip()]
        if not values or not cell.strip():
            continue
        lengths = [len(v) for v in values]
        if all(is_number(v) for v in values):
            (data_votes if is_number(cell) else header_votes).extend(
                [f"column {col} holds numbers below row 1 and {'a number' if is_number(cell) else 'a word'} in it"] * 2
            )
        elif cell in set(values):
            data_votes.extend([f"row 1's '{cell[:30]}' repeats in column {col}"] * 2)
        elif len(values) >= 4 and len(set(values)) <= max(2, len(values) // 3):
            header_votes.append(f"column {col} holds {len(set(values))} distinct values, not row 1's '{cell[:30]}'")
        elif sorted(lengths)[len(lengths) // 2] >= 20:
            if len(cell) >= 20 and len(cell) >= min(lengths):
                data_votes.append(
                    f"row 1's cell in column {col} is free text as long as the rest ({len(cell)} characters)"
                )
            elif len(cell) < _quartile(lengths) / 2:
                header_votes.append(
                    f"row 1's cell in column {col} is much shorter ({len(cell)} characters) than the free text below it"
                )
    data_why, header_why = "; ".join(dict.fromkeys(data_votes)), "; ".join(dict.fromkeys(header_votes))
    if len(data_votes) > len(header_votes):
        return False, data_why + (f" (outweighs: {header_why})" if header_why else "")
    if not data_votes:
        return True, header_why or "no column tells row 1 apart from the rows below it"
    return True, f"{header_why} (a tie with: {data_why}, keeps the header)"


def quotes_wrap_fields(sample: str, delimiter: str) -> bool:
    """Whether the quotes in ``sample`` follow the CSV quote rules rather than sit in the text.
    Each ``"`` is at a field boundary (first character of a line or right after ``delimiter``; last
    character or right before one), doubled (``""``), or stray (anywhere else: ``faux "master``).
    False when stray quotes are more than half of all of them."""
    stray = total = 0
    for line in sample.splitlines():
        if '"' not in line:
            continue
        last = len(line) - 1
        i = 0
        while i <= last:
            if line[i] != '"':
                i += 1
                continue
            if i < last and line[i + 1] == '"':
                total += 2
                i += 2
                continue
            total += 1
            at_start = i == 0 or line[i - 1] == delimiter
            at_end = i == last or line[i + 1] == delimiter
            if not (at_start or at_end):
                stray += 1
            i += 1
    return not (stray and 2 * stray > total)


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
        "quoting": "auto (default), csv (RFC 4180 quotes) or none (a quote is an ordinary character)",
        "max_record_bytes": f"longest record read, in characters (default {MAX_RECORD_BYTES})",
    }

    def __init__(self, locator: Locator):
        super().__init__(locator)
        self.max_record_bytes = int_option(locator, "max_record_bytes", MAX_RECORD_BYTES)
        header_option = bool_option(locator, "header", None)
        quoting_option = locator.options.get("quoting", "auto").strip().lower() or "auto"
        if quoting_option not in ("auto", "csv", "none"):
            raise SourceError(f"option 'quoting={quoting_option}' in locator '{locator}' must be auto, csv or none")
        sample = "" if self.is_empty else self._sample_text()
        if "delimiter" in locator.options:
            self.delimiter = parse_delimiter(locator.options["delimiter"], locator)
        elif locator.scheme == "tsv" or format_suffix(self.path) in (".tsv", ".tab"):
            self.delimiter = "\t"
        else:
            self.delimiter = sniff_delimiter(sample)
        if quoting_option == "auto":
            plain = self.delimiter == "\t" and not quotes_wrap_fields(sample, self.delimiter)
            if plain:
                self.notes.append(
                    "quoting: none: the quotes in this tab-separated text do not wrap whole fields, "
                    'so a " is a character and every line is one record (?quoting=csv to change)'
                )
        else:
            plain = quoting_option == "none"
        self.quoting = csv.QUOTE_NONE if plain else csv.QUOTE_MINIMAL
        sample_rows = parse_sample(sample, self.delimiter, self.quoting)
        if header_option is None:
            self.has_header, why = header_decision(sample_rows)
            if self.has_header:
                self.notes.append(f"header: row 1 holds the column names ({why}; ?header=no to read it as data)")
            else:
                self.notes.append(
                    f"no header: row 1 is data, columns are named col_1, col_2... ({why}; ?header=yes to change)"
                )
        else:
            self.has_header = header_option

    def _sample_text(self) -> str:
        head = self.probe_utf8(PROBE_BYTES)
        if looks_binary(head):
            raise self.error("holds binary data, not CSV text (NUL and control bytes near the start)")
        text = head.decode("utf-8", "surrogateescape")
        if len(head) >= PROBE_BYTES:  # the last line may be cut by the probe
            text = text[: text.rfind("\n") + 1] or text
        return text

    # --- rows -------------------------------------------------------------------------------
    def _raw(self, cells: list[str]) -> str:
        out = io.StringIO()
        csv.writer(out, delimiter=self.delimiter, lineterminator="").writerow(cells)
        text = out.getvalue()[: RAW_TEXT_LIMIT + 1]
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

    def _reader(self, lines: _CappedLines) -> Any:
        return csv.reader(lines, delimiter=self.delimiter, strict=True, quoting=self.quoting)

    def _undecoded_error(self) -> str:
        codec = self.encoding.codec
        if self.encoding.is_utf8:
            return (
                f"bytes that are not valid {codec}; if the file is Latin-1 or Windows-1252 "
                "add ?encoding=latin-1 (or cp1252)"
            )
        return f"bytes that are not valid {codec} (the encoding {self.encoding.why}); set the right one with ?encoding="

    def rows(self) -> Iterator[SourceRow]:
        if self.is_empty:
            return
        cap = self.max_record_bytes
        lines: _CappedLines | None = None
        where = lambda: f"near line {lines.lineno}" if lines else ""  # noqa: E731
        with self.reading(where), self.open_stream() as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
            lines = _CappedLines(text, cap)
            reader = self._reader(lines)
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
                    reader = self._reader(lines)
                    continue
                except csv.Error as exc:
                    yield ParseFailure(
                        start, lines.last_line, f"malformed CSV: {exc} (unbalanced quote or truncated file?)"
                    )
                    reader = self._reader(lines)
                    continue
                if not cells:
                    continue
                if any(_UNDECODED.search(c) for c in cells):
                    yield ParseFailure(
                        start,
                        self._raw(cells),
                        self._undecoded_error(),
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
