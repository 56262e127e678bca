"""``conll:/path`` — token-per-line files (CoNLL-2003, WNUT, ``.bio``/``.iob``).

One token per line with its columns separated by a tab (or, on lines without a tab, by
whitespace). Which columns hold the token and the tag is read from the head of the file
(``token_and_tag_columns``): the token is the first column that is not a running index (integers
counting 1, 2, 3... within each sentence, as in CoNLL-U and UNER files); the tag is the last column
(after the token) whose values all look like IOB tags (``O``, ``B-X``, ``I-X``, ``E-X``, ``S-X``, or
``X-B``...) and hold at least one entity, else the last such column, else the last column. So
2-column WNUT files, 4-column CoNLL-2003 files (the NER column, not the chunk one) and
``index token tag misc`` UNER files all work; ``?token_column=N&tag_column=N`` (1-based) override. A blank line ends a sentence; ``-DOCSTART-`` lines are
skipped (they end a sentence too). Each sentence becomes a row
``{"id": "<file name>:<n>", "tokens": [...], "tags": [...]}`` with ``n`` the 1-based sentence
number in the file.

Comment lines are skipped: a line starting with ``#`` and a space (``# text = ...`` of CoNLL-U,
``## <id>\t<sentence>`` of KLUE) unless it reads as a token line: as many columns as the file's
token lines (the commonest count in the head) and, as last column, a tag seen there
(so ``# O`` in a file tagged ``O`` stays a token). A token that is only whitespace (a space
character as a token of character-level Korean or Chinese data, ``" \tO"``) is kept as it is on
tab-separated lines; other tokens and tags are stripped of surrounding spaces.
The encoding is detected (or ``?encoding=``), see ``filebase``.

A line with a single column, an empty token or tag, or bytes the encoding cannot decode turns its whole
sentence into a ``ParseFailure`` (position: the bad line), since dropping the line would shift
the tags. A sentence (or line) longer than ``max_record_bytes`` (default 64 MiB) is skipped to its
end and reported the same way (a file with no blank lines is caught by this). An empty file
yields zero rows.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterator

from brewslm.errors import SourceError
from brewslm.sources.base import RAW_TEXT_LIMIT, Locator, ParseFailure, SourceRow
from brewslm.sources.filebase import (
    MAX_RECORD_BYTES,
    UTF8_BOM,
    FileSource,
    int_option,
    looks_binary,
    read_lines_capped,
)

DOCSTART = "-DOCSTART-"
COMMENT_LINE = re.compile(r"^#+ ")
_IOB = re.compile(r"^(O|[BIESLU]-\S+|\S+-[BIESLU])$")


def split_columns(text: str) -> list[str]:
    """A token line's columns: at tabs when it has one (a whitespace-only token kept as it is),
    else at runs of whitespace; empty trailing columns dropped."""
    if "\t" in text:
        columns = [c if c and not c.strip() else c.strip() for c in text.split("\t")]
    else:
        columns = text.split()
    while len(columns) > 1 and not columns[-1].strip():
        columns.pop()
    return columns or [""]


def token_and_tag_columns(lines: list[str], width: int) -> tuple[int, int, str]:
    """0-based token and tag columns for token lines of ``width`` columns (see the module
    docstring for the rule), and why; (0, -1) for two columns or when nothing tells."""
    if width <= 2:
        return 0, -1, "the first column is the token, the last the tag"
    sentences: list[list[list[str]]] = [[]]
    for line in lines:
        if not line.strip() or line.startswith(DOCSTART):
            sentences.append([])
            continue
        columns = split_columns(line)
        if COMMENT_LINE.match(line) or len(columns) != width:
            continue
        sentences[-1].append(columns)
    rows = [r for s in sentences for r in s]
    if not rows:
        return 0, -1, "the first column is the token, the last the tag"

    def running_index(col: int) -> bool:
        return all([r[col] for r in s] == [str(i) for i in range(1, len(s) + 1)] for s in sentences if s)

    token = next((c for c in range(width) if not running_index(c)), 0)
    iob = [c for c in range(token + 1, width) if all(_IOB.match(r[c].strip()) for r in rows)]
    with_entities = [c for c in iob if any(r[c].strip() != "O" for r in rows)]
    tag = (with_entities or iob or [width - 1])[-1]
    why = [
        f"token = column {token + 1}" + (" (the columns before it are running indexes)" if token else ""),
        f"tag = column {tag + 1}" + (" (IOB tags)" if iob else " (the last column)"),
    ]
    return token, tag, ", ".join(why)


def token_line_shape(lines: list[str]) -> tuple[int, set[str]]:
    """The commonest column count of the token lines in ``lines`` and the tags seen on them."""
    counts: Counter[int] = Counter()
    tags: set[str] = set()
    for line in lines:
        if not line.strip() or COMMENT_LINE.match(line) or line.startswith(DOCSTART):
            continue
        columns = split_columns(line)
        if len(columns) >= 2:
            counts[len(columns)] += 1
            tags.add(columns[-1])
    return (counts.most_common(1)[0][0] if counts else 0), tags


def is_comment(text: str, columns: list[str], width: int, tags: set[str]) -> bool:
    return bool(COMMENT_LINE.match(text)) and not (len(columns) == width and columns[-1] in tags)


class _Sentence:
    """The sentence being read: its tokens and tags, or the first error found in it."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.tags: list[str] = []
        self.raw: list[str] = []
        self.raw_chars = 0
        self.size = 0
        self.error: tuple[int, str] | None = None

    def add_raw(self, text: str) -> None:
        if self.raw_chars <= RAW_TEXT_LIMIT:
            self.raw.append(text[:RAW_TEXT_LIMIT])
            self.raw_chars += len(text) + 1

    def fail(self, lineno: int, error: str) -> None:
        if self.error is None:
            self.error = (lineno, error)
        self.tokens, self.tags = [], []  # no need to keep them any more

    @property
    def empty(self) -> bool:
        return not self.tokens and self.error is None and not self.raw


class ConllSource(FileSource):
    options_doc = {
        "max_record_bytes": f"longest sentence read, in bytes (default {MAX_RECORD_BYTES})",
        "token_column": "1-based column of the token (default: the first that is not a running index)",
        "tag_column": "1-based column of the tag (default: the last column of IOB tags, else the last)",
    }

    def __init__(self, locator: Locator):
        super().__init__(locator)
        self.max_record_bytes = int_option(locator, "max_record_bytes", MAX_RECORD_BYTES)
        self.width, self.tags = 0, set()
        self.token_col, self.tag_col = 0, -1
        if not self.is_empty:
            head = self.probe_utf8()
            if looks_binary(head):
                raise self.error("holds binary data, not token-per-line text (NUL and control bytes near the start)")
            lines = head.decode("utf-8", "replace").splitlines()[:-1] or head.decode("utf-8", "replace").splitlines()
            self.width, self.tags = token_line_shape(lines)
            self.token_col, self.tag_col, why = token_and_tag_columns(lines, self.width)
            if self.width > 2:
                self.notes.append(f"columns: {self.width} per token line; {why}")
        if "token_column" in locator.options:
            self.token_col = int_option(locator, "token_column", 1) - 1
        if "tag_column" in locator.options:
            self.tag_col = int_option(locator, "tag_column", 1) - 1
        if self.tag_col >= 0 and self.tag_col == self.token_col:
            raise SourceError(f"token_column and tag_column in locator '{locator}' name the same column")
        self.needed = max(self.token_col, self.tag_col) + 1

    def rows(self) -> Iterator[SourceRow]:
        if self.is_empty:
            return
        cap = self.max_record_bytes
        number = 0
        sentence = _Sentence()
        lineno = 0

        def finish() -> SourceRow | None:
            nonlocal number, sentence
            done, sentence = sentence, _Sentence()
            if done.empty:
                return None
            number += 1
            if done.error is not None:
                return ParseFailure(done.error[0], "\n".join(done.raw), done.error[1])
            return {"id": f"{self.path.name}:{number}", "tokens": done.tokens, "tags": done.tags}

        with self.reading(lambda: f"after line {lineno}"), self.open_stream() as stream:
            for lineno, line, overlong in read_lines_capped(stream, cap):
                if lineno == 1 and line.startswith(UTF8_BOM):
                    line = line[len(UTF8_BOM) :]
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    text = line.decode("utf-8", errors="replace")
                    sentence.add_raw(text)
                    what = (
                        "invalid UTF-8" if self.encoding.is_utf8 else f"bytes that are not valid {self.encoding.codec}"
                    )
                    sentence.fail(lineno, f"line {lineno}: {what} (byte 0x{line[exc.start]:02x})")
                    continue
                if overlong is not None:
                    sentence.add_raw(text)
                    sentence.fail(lineno, f"line {lineno} is longer than {cap} bytes ({overlong} bytes)")
                    continue
                if not text.strip():
                    row = finish()
                    if row is not None:
                        yield row
                    continue
                columns = split_columns(text)
                if is_comment(text, columns, self.width, self.tags):
                    continue
                if columns[0] == DOCSTART:
                    row = finish()
                    if row is not None:
                        yield row
                    continue
                sentence.add_raw(text)
                sentence.size += len(line) + 1
                if sentence.size > cap:
                    sentence.fail(
                        lineno,
                        f"sentence is longer than {cap} bytes (no blank line between sentences?); "
                        "raise ?max_record_bytes= to read it",
                    )
                    continue
                if sentence.error is not None:
                    continue
                if len(columns) < 2:
                    sentence.fail(lineno, f"line {lineno} has one column; expected a token and a tag")
                elif len(columns) < self.needed:
                    sentence.fail(
                        lineno,
                        f"line {lineno} has {len(columns)} columns; the token and tag are in "
                        f"columns {self.token_col + 1} and {self.tag_col + 1}",
                    )
                elif not columns[self.token_col] or not columns[self.tag_col].strip():
                    which = "token" if not columns[self.token_col] else "tag"
                    sentence.fail(lineno, f"line {lineno} has an empty {which}")
                else:
                    sentence.tokens.append(columns[self.token_col])
                    sentence.tags.append(columns[self.tag_col].strip())
            row = finish()
            if row is not None:
                yield row


SOURCES = {"conll": ConllSource, "bio": ConllSource, "iob": ConllSource}
