"""``file:/path`` — pick the connector from the file's CONTENT, the extension only breaking ties.

The head of the file (decompressed when gzip/bz2/xz; decoded with the detected encoding, see
``filebase``) is sniffed (``sniff_format``), first rule that holds:
1. Parquet magic bytes ``PAR1`` -> ``parquet:``;
2. the text starts as JSON does (``{`` or ``[`` followed by what JSON allows there): ``jsonl:``
   when there are 2+ non-blank lines, the first and 90%+ of them (up to 200; the last one of a cut
   head left out) a JSON object on its own, or
   the file is one line holding one object with no list value (a lone record), else ``json:``
   (one document, pretty-printed or not);
3. token-per-line text -> ``conll:``: blank lines separate groups of 2+ lines on average, and of
   the other lines (``#`` comments left out) 90%+ have 2+ columns (at tabs, else whitespace) with a
   first column that is one token (no inner whitespace) and a last column of at most 30
   characters without spaces, with few distinct values (at most half the lines);
4. a delimited table -> ``csv:``: for tab, ``,``, ``;`` or ``|`` (in that order, quote rules as the
   CSV connector decides them), 90%+ of 5+ parsed rows have the first row's 2+ fields; for a
   delimiter other than tab (prose holds commas) with exactly 2 fields and no field opening with a
   quote, also some column other than the longest one is short: all numbers or at most half
   distinct values;
5. other text -> ``text:`` (one record per line or per paragraph; see ``text.py``).
Binary data that is none of these is an error, and so is a document format no connector reads
(PDF, Office/ZIP, SQLite, images: ``known_document``, by magic bytes), whatever the extension
says. The extension decides only where the content is
weak: content sniffed as ``text`` in a file named ``.csv``/``.tsv``/``.json``/``.jsonl``/``.conll``
(a one-column CSV, say) is read by the connector the extension names. The decision and its reason
are a note of the source (shown as evidence). Locator options are passed to that connector.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections import Counter
from pathlib import Path

from brewslm.errors import SourceError
from brewslm.sources import open_source
from brewslm.sources.base import Locator, Source
from brewslm.sources.conll import COMMENT_LINE, split_columns
from brewslm.sources.csv_source import is_number, parse_sample, quotes_wrap_fields
from brewslm.sources.filebase import (
    COMPRESSED_SUFFIXES,
    ENCODING_PROBE_BYTES,
    PROBE_BYTES,
    RAW_BYTE_ERRORS,
    detect_encoding,
    format_suffix,
    looks_binary,
    read_probe,
    resolve_file,
)

FORMAT_BY_SUFFIX = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".json": "json",
    ".conll": "conll",
    ".bio": "conll",
    ".iob": "conll",
    ".parquet": "parquet",
    ".pq": "parquet",
}
TEXT_SUFFIXES = (".txt", ".text")  # plain text: named only as a tie-break, never a data file of a folder
_UNCOMPRESSIBLE = {"parquet"}  # Parquet compresses inside the file
_SNIFF_LINES = 200
_TAG = re.compile(r"^\S{1,30}$")


def format_for(path: Path) -> str | None:
    """The connector scheme an extension names, or None when it names no data format."""
    fmt = FORMAT_BY_SUFFIX.get(format_suffix(path))
    compressed = path.name.lower().endswith(COMPRESSED_SUFFIXES)
    if fmt is None or (compressed and fmt in _UNCOMPRESSIBLE):
        return None
    return fmt


def supported_extensions() -> str:
    return ", ".join(FORMAT_BY_SUFFIX) + f" (text formats also {'/'.join(COMPRESSED_SUFFIXES)}-compressed)"


# --- content sniffing ---------------------------------------------------------------------------


def _head_lines(text: str, cut: bool) -> list[str]:
    lines = text.split("\n")
    if cut and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the probe
    return [line.rstrip("\r") for line in lines]


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def looks_like_json_lines(text: str, cut: bool = False) -> bool:
    """2+ non-blank lines in ``text`` (the first 200), the first and 90%+ of them a JSON object on
    its own (a broken line is a bad row of a JSON-lines file, not another format)."""
    lines = [line for line in _head_lines(text, cut) if line.strip()][:_SNIFF_LINES]
    if len(lines) < 2 or not _is_json_object(lines[0]):
        return False
    return sum(1 for line in lines if _is_json_object(line)) >= 0.9 * len(lines)


_JSON_START = re.compile(r'^(\[\s*([\[{"\]\-0-9]|true|false|null)|\{\s*["}])')


def starts_like_json(text: str) -> bool:
    """``[`` or ``{`` followed by what JSON allows there (``[Verse 1]`` is text, not JSON)."""
    return bool(_JSON_START.match(text))


def _single_record_line(text: str) -> bool:
    """One JSON object on one line, none of whose values is a list (``json:`` reads lists of
    records; a lone record is a JSON-lines file of one line)."""
    body = text.strip()
    if "\n" in body:
        return False
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and not any(isinstance(v, list) for v in value.values())


def _conll_evidence(lines: list[str]) -> str | None:
    body = [line for line in lines if not COMMENT_LINE.match(line)]
    groups = [g for g in re.split(r"\n[ \t]*\n", "\n".join(body)) if g.strip()]
    filled = [line for line in body if line.strip()]
    if len(groups) < 2 or len(filled) < 4 or len(filled) / len(groups) < 2:
        return None
    good, tags = 0, Counter()
    for line in filled:
        columns = split_columns(line)
        token = columns[0]
        if (
            len(columns) >= 2
            and token
            and (not token.strip() or not re.search(r"\s", token))
            and _TAG.match(columns[-1].strip())
        ):
            good += 1
            tags[columns[-1].strip()] += 1
    if good >= 0.9 * len(filled) and len(tags) <= max(1, good // 2):
        return (
            f"{good} of {len(filled)} lines are a token and a tag ({len(tags)} distinct tags) in "
            f"{len(groups)} groups separated by blank lines"
        )
    return None


def _table_evidence(text: str) -> tuple[str, str] | None:
    for delimiter in ("\t", ",", ";", "|"):
        if delimiter not in text:
            continue
        quoting = csv.QUOTE_MINIMAL if quotes_wrap_fields(text, delimiter) else csv.QUOTE_NONE
        rows = parse_sample(text, delimiter, quoting)[:_SNIFF_LINES]
        if len(rows) < 5 or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        alike = [r for r in rows if len(r) == width]
        if len(alike) < 0.9 * len(rows):
            continue
        name = "tab" if delimiter == "\t" else f"'{delimiter}'"
        quoted = re.search(r'(^|%s)"' % re.escape(delimiter), text, re.M) is not None
        if delimiter != "\t" and width == 2 and not quoted:
            body = alike[1:]
            lengths = [sum(len(r[c]) for r in body) for c in range(width)]
            longest = lengths.index(max(lengths))
            short = [
                c
                for c in range(width)
                if c != longest
                and (
                    all(is_number(r[c]) for r in body if r[c].strip())
                    or len({r[c] for r in body}) <= max(1, len(body) // 2)
                )
            ]
            if not short:
                continue
        return "csv", f"{len(alike)} of {len(rows)} rows split into {width} fields at {name}"
    return None


# Formats people export data in that no connector reads: named by their magic bytes, so such a file
# is refused with what it is, whatever its extension says (a PDF named .csv must not be read as text).
_DOCUMENT_MAGIC = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP container (an Excel .xlsx, a Word .docx or a .zip archive)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office file (.xls/.doc)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
)


def known_document(raw_head: bytes) -> str | None:
    """What a file is when its magic bytes name a document format no connector reads, else None."""
    return next((kind for magic, kind in _DOCUMENT_MAGIC if raw_head.startswith(magic)), None)


def sniff_format(raw_head: bytes) -> tuple[str | None, str]:
    """The connector the content of a file's head calls for (see the module docstring), and why.
    None when the head is binary data of no known format."""
    if raw_head.startswith(b"PAR1"):
        return "parquet", "Parquet magic bytes"
    choice = detect_encoding(raw_head, complete=len(raw_head) < ENCODING_PROBE_BYTES)
    head = raw_head[choice.bom :]
    decoder = codecs.getincrementaldecoder(choice.codec)(RAW_BYTE_ERRORS)
    cut = len(head) > PROBE_BYTES
    text = decoder.decode(bytes(head[:PROBE_BYTES]), final=not cut)
    if looks_binary(text.encode("utf-8", "surrogatepass")):
        return None, "binary data"
    stripped = text.lstrip("\ufeff \t\r\n")
    if starts_like_json(stripped):
        if looks_like_json_lines(text, cut):
            return "jsonl", "every line is a JSON object of its own"
        if not cut and _single_record_line(stripped):
            return "jsonl", "one line holding one JSON object without a list of records"
        return "json", f"one JSON document (it starts with '{stripped[0]}')"
    lines = _head_lines(text, cut)
    conll = _conll_evidence(lines[: _SNIFF_LINES * 5])
    if conll:
        return "conll", conll
    table = _table_evidence("\n".join(lines[:_SNIFF_LINES]) + "\n")
    if table:
        return table
    return "text", "text that is not JSON, a token-per-line file or a delimited table"


def choose_format(path: Path, locator: Locator) -> tuple[str, str]:
    """The scheme to read ``path`` with, and a note saying why (content first, extension second)."""
    try:
        head = read_probe(path, ENCODING_PROBE_BYTES)
    except (OSError, EOFError, ValueError) as exc:  # zlib/lzma errors are ValueError/OSError subclasses
        raise SourceError(f"{path}: cannot read it ({exc}) (locator '{locator}')") from None
    by_extension = format_for(path) or ("text" if format_suffix(path) in TEXT_SUFFIXES else None)
    ext = format_suffix(path) or "(none)"
    if not head:
        scheme = by_extension or "text"
        return scheme, f"format: {scheme} (the file is empty; extension {ext})"
    document = known_document(head)
    if document is not None:
        raise SourceError(
            f"{path}: is {document} (by its first bytes), not a data file BrewSLM reads; export its rows "
            f"to CSV, JSON Lines or Parquet first (locator '{locator}')"
        )
    by_content, why = sniff_format(head)
    if by_content == "parquet" and path.name.lower().endswith(COMPRESSED_SUFFIXES):
        raise SourceError(
            f"cannot tell the format of {path}: it is a compressed Parquet file, which the parquet: connector "
            f"does not read (Parquet compresses inside the file); decompress it first (locator '{locator}')"
        )
    if by_content is None:
        if by_extension is not None:
            return by_extension, f"format: {by_extension} (from the extension {ext}; the content is {why})"
        raise SourceError(
            f"cannot tell the format of {path}: its content is {why} and its extension names no format "
            f"(locator '{locator}'); supported: {supported_extensions()}; or name the format, e.g. jsonl:{path}"
        )
    if by_content == "text" and by_extension not in (None, "text"):
        return by_extension, f"format: {by_extension} (from the extension {ext}; the content reads as plain text)"
    agrees = "agrees" if by_extension == by_content else f"says {by_extension}" if by_extension else "names no format"
    return by_content, f"format: {by_content} (content: {why}; the extension {ext} {agrees})"


def open_by_content(path: Path, locator: Locator) -> Source:
    """Open ``path`` with the connector its content calls for; ``locator`` supplies the options
    and the text shown in errors."""

    scheme, note = choose_format(path, locator)
    source = open_source(Locator(scheme=scheme, target=str(path), options=dict(locator.options), raw=str(locator)))
    notes = getattr(source, "notes", None)
    if isinstance(notes, list):
        notes.insert(0, note)
    return source


def open_by_extension(path: Path, locator: Locator) -> Source:
    """Kept for callers that name a file inside an archive or folder: content decides too."""
    return open_by_content(path, locator)


def open_file(locator: Locator) -> Source:
    return open_by_content(resolve_file(locator), locator)


SOURCES = {"file": open_file}
