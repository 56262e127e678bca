"""Documents -> overlapping passages ("chunks") small enough to put several in one prompt.

A chunk is at most ``chunk_chars`` characters. Cuts fall on the best boundary in the second half
of the window - a paragraph break, else a sentence end, else whitespace, else (one unbroken
word longer than the window) anywhere - so a chunk rarely starts or ends mid-sentence. The next
chunk starts ``overlap`` characters before the previous cut, moved forward to a word start, so a
fact that straddles a cut is whole in at least one chunk. Chunks keep their character offsets
into the document (``text == document.text[start:end]``), which is how a question's gold
passage is traced to the chunks that hold it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from brewslm.errors import ConfigError

CHUNKS_FILE = "chunks.jsonl"  # a rag recipe's (and its export's) indexed chunks, one Chunk per line

# Boundaries in order of preference; each match's end is where a chunk may be cut.
_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE = re.compile(r"[.!?;:][\"')\]]*\s+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Document:
    """One source text to retrieve from; ``id`` is unique within a collection."""

    id: str
    text: str
    title: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A passage of one document: ``text == document.text[start:end]``; ``position`` counts the
    document's chunks from 0."""

    doc_id: str
    position: int
    start: int
    end: int
    text: str


def write_chunks(path: Path, chunks: Iterable[Chunk]) -> Path:
    """Save retrieval chunks as JSON lines, one chunk's fields per line (atomically: a reader never
    sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def read_chunks(path: str | Path) -> list[Chunk]:
    """The ``Chunk`` list ``write_chunks`` saved (a bad line is a one-line error naming it)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"retrieval chunks file {path} is missing; re-run the recipe (or re-export the model)")
    chunks: list[Chunk] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                chunks.append(Chunk(**json.loads(line)))
            except (json.JSONDecodeError, TypeError) as exc:
                raise ConfigError(f"{path} line {number} is not a retrieval chunk ({exc}); re-run the recipe") from None
    return chunks


def chunk_spans(text: str, chunk_chars: int, overlap: int = 0) -> list[tuple[int, int]]:
    """(start, end) offsets of the chunks of ``text``, leading/trailing whitespace trimmed off each;
    blank text has none."""
    if chunk_chars < 1:
        raise ConfigError(f"chunk_chars must be at least 1, got {chunk_chars}")
    if not 0 <= overlap < chunk_chars:
        raise ConfigError(f"chunk overlap must be >= 0 and smaller than chunk_chars ({chunk_chars}), got {overlap}")
    spans: list[tuple[int, int]] = []
    start = _skip_space(text, 0)
    while start < len(text):
        end = min(start + chunk_chars, len(text))
        if end < len(text):
            end = _best_cut(text, start, end)
        trimmed_end = end
        while trimmed_end > start and text[trimmed_end - 1].isspace():
            trimmed_end -= 1
        spans.append((start, trimmed_end))
        if end >= len(text):
            break
        start = _next_start(text, start, end, overlap)
    return spans


def chunk_documents(documents: Iterable[Document], chunk_chars: int, overlap: int = 0) -> list[Chunk]:
    """Every document's chunks, in document order; document ids must be unique."""
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for document in documents:
        if document.id in seen:
            raise ConfigError(f"document id '{document.id}' appears twice: give every document a unique id")
        seen.add(document.id)
        for position, (start, end) in enumerate(chunk_spans(document.text, chunk_chars, overlap)):
            chunks.append(Chunk(document.id, position, start, end, document.text[start:end]))
    return chunks


def _best_cut(text: str, start: int, end: int) -> int:
    """The last preferred boundary in the window's second half (so chunks stay at least half
    full); the window end when a word boundary falls exactly there or nothing better exists."""
    floor = start + max((end - start) // 2, 1)
    for pattern in (_PARAGRAPH, _SENTENCE):
        cuts = [match.end() for match in pattern.finditer(text, floor, end)]
        if cuts:
            return cuts[-1]
    if text[end].isspace():
        return end
    cuts = [match.end() for match in _SPACE.finditer(text, floor, end)]
    return cuts[-1] if cuts else end


def _next_start(text: str, start: int, cut: int, overlap: int) -> int:
    """``overlap`` characters back from the cut, moved forward to the next word start; always
    past ``start`` so chunking ends."""
    if overlap == 0:
        return _skip_space(text, cut)
    candidate = max(cut - overlap, start + 1)
    if candidate > 0 and not text[candidate - 1].isspace():
        match = _SPACE.search(text, candidate, cut)
        candidate = match.end() if match else cut
    return _skip_space(text, candidate)


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index
