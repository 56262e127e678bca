"""``text:/path`` — plain text (prose, one sentence per line, scraped pages): one ``{"text": ...}``
row per record, the record being a line or a paragraph.

- ``?unit=line``: every line that is not blank (empty or only whitespace) is a record: the line
  exactly, without its line break (``\\n``, ``\\r\\n``);
- ``?unit=paragraph``: a record is a maximal run of non-blank lines (blocks separated by one or more
  blank lines), its lines joined with ``"\\n"`` exactly as they are in the file (indentation and
  trailing spaces kept; a ``\\r\\n`` file's paragraphs are joined with ``"\\n"`` too: the one
  documented change);
- ``?unit=auto`` (the default) decides from the head of the file (``paragraph_evidence``): paragraphs
  when the text is hard-wrapped: at least two blocks, and of the lines that do not end a block (at
  least 3), 60% or more are at least 0.6 times as long as their 90th-percentile length, which is 30
  characters or more (lines cut near a common width); otherwise lines. The decision and why is a
  note of the source (shown as evidence).

The encoding is detected (BOM, UTF-16 without BOM, UTF-8, charset-normalizer) or given with
``?encoding=``. A record holding bytes the encoding cannot decode, or longer than
``max_record_bytes``, becomes a ``ParseFailure`` (position: its first line) and reading goes on.
Binary data is refused with one ``SourceError``; an empty file yields zero rows.
"""

from __future__ import annotations

from typing import Iterator

from brewslm.errors import SourceError
from brewslm.sources.base import RAW_TEXT_LIMIT, Locator, ParseFailure, SourceRow
from brewslm.sources.filebase import (
    MAX_RECORD_BYTES,
    FileSource,
    int_option,
    looks_binary,
    read_lines_capped,
)

UNITS = ("auto", "line", "paragraph")


def blocks_of(lines: list[str]) -> list[list[str]]:
    """Maximal runs of non-blank lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def paragraph_evidence(lines: list[str]) -> tuple[bool, str]:
    """Whether ``lines`` are hard-wrapped paragraphs (see the module docstring), and why."""
    blocks = blocks_of(lines)
    if len(blocks) < 2:
        return False, "no blank lines separate blocks of text"
    inner = sorted(len(line.rstrip()) for block in blocks if len(block) > 1 for line in block[:-1])
    if len(inner) < 3:
        return False, "the blocks between blank lines are single lines"
    width = inner[min(len(inner) - 1, int(len(inner) * 0.9))]
    near = sum(1 for n in inner if n >= 0.6 * width) / len(inner)
    if width >= 30 and near >= 0.6:
        return True, (
            f"{len(blocks)} blocks separated by blank lines, their lines wrapped near {width} "
            f"characters ({near:.0%} of the lines inside a block reach 60% of that width)"
        )
    return False, (
        f"the lines inside blocks are not wrapped at a common width ({near:.0%} reach 60% of {width} characters)"
    )


class TextSource(FileSource):
    options_doc = {
        "unit": "line, paragraph (blocks separated by blank lines, lines joined with \\n) or auto (default: "
        "paragraph when the text is hard-wrapped)",
        "max_record_bytes": f"longest record read, in bytes (default {MAX_RECORD_BYTES})",
    }

    def __init__(self, locator: Locator):
        super().__init__(locator)
        self.max_record_bytes = int_option(locator, "max_record_bytes", MAX_RECORD_BYTES)
        unit = (locator.options.get("unit") or "auto").strip().lower()
        if unit not in UNITS:
            raise SourceError(f"option 'unit={unit}' in locator '{locator}' must be line, paragraph or auto")
        self.unit = "line" if unit == "auto" else unit
        if self.is_empty:
            return
        head = self.probe_utf8()
        if looks_binary(head):
            raise self.error("holds binary data, not plain text (NUL and control bytes near the start)")
        if unit == "auto":
            text = head.decode("utf-8", "replace")
            lines = text.split("\n")
            if len(head) >= 64 * 1024 and len(lines) > 1:
                lines = lines[:-1]  # the last line may be cut by the probe
            paragraphs, why = paragraph_evidence([line.rstrip("\r") for line in lines])
            self.unit = "paragraph" if paragraphs else "line"
            self.notes.append(
                f"records: one per {self.unit} ({why}; ?unit={'line' if paragraphs else 'paragraph'} to change)"
            )

    def rows(self) -> Iterator[SourceRow]:
        if self.is_empty:
            return
        cap = self.max_record_bytes
        lineno = 0
        with self.reading(lambda: f"after line {lineno}"), self.open_stream() as stream:
            lines = read_lines_capped(stream, cap)
            if self.unit == "line":
                for lineno, line, overlong in lines:
                    if overlong is not None:
                        yield self._too_long(lineno, line, overlong)
                    elif line.strip():
                        yield self._record(lineno, [line])
                return
            start, block, size, overlong_at = 0, [], 0, None  # start 0: between paragraphs
            for lineno, line, overlong in lines:
                if overlong is None and not line.strip():
                    if start:
                        yield self._block(start, block, size, overlong_at)
                    start, block, size, overlong_at = 0, [], 0, None
                    continue
                start = start or lineno
                if overlong is not None and overlong_at is None:
                    overlong_at = overlong
                size += (overlong or len(line)) + 1
                if size <= cap + 1:
                    block.append(line)
            if start:
                yield self._block(start, block, size, overlong_at)

    def _block(self, start: int, block: list[bytes], size: int, overlong: int | None) -> SourceRow:
        if overlong is not None or size - 1 > self.max_record_bytes:
            return self._too_long(start, b"\n".join(block), max(size - 1, overlong or 0), "paragraph")
        return self._record(start, block)

    def _record(self, lineno: int, lines: list[bytes]) -> SourceRow:
        data = b"\n".join(lines)
        try:
            return {"text": data.decode("utf-8")}
        except UnicodeDecodeError as exc:
            codec = self.encoding.codec
            what = "invalid UTF-8" if self.encoding.is_utf8 else f"bytes that are not valid {codec}"
            return ParseFailure(
                lineno,
                data[: RAW_TEXT_LIMIT * 4].decode("utf-8", "replace"),
                f"{what} (byte 0x{data[exc.start]:02x}); set the encoding with ?encoding=",
            )

    def _too_long(self, lineno: int, head: bytes, size: int, what: str = "line") -> ParseFailure:
        return ParseFailure(
            lineno,
            head[: RAW_TEXT_LIMIT * 4].decode("utf-8", "replace"),
            f"{what} is longer than {self.max_record_bytes} bytes ({size} bytes); raise ?max_record_bytes= to read it",
        )


SOURCES = {"text": TextSource, "txt": TextSource}
