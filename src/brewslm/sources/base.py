"""The source contract: a locator names where rows come from, a Source streams them.

A locator is ``<scheme>:<target>[?key=value&...]``, e.g. ``jsonl:/data/train.jsonl``,
``hf:imdb:train?config=plain_text`` or ``kaggle:competition:titanic?file=train.csv``.
Sources stream rows as plain dicts. A record the source cannot parse becomes a ``ParseFailure``
sentinel in the stream (never an exception), which every mapper rejects with the sentinel's
``reason`` (``parse_error``, or ``too_deep`` for values nested deeper than ``MAX_DEPTH``).

Readers (the importer, ``Source.sample`` and so the introspector) go through ``Source.records``:
``rows`` checked by ``check_depth``, so a record nested 10,000 levels deep becomes one ``too_deep``
row in every connector, plugins included, before a mapper, the canonical JSON encoder or the
rejected-rows writer could recurse into it.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Union
from urllib.parse import parse_qsl

from brewslm.errors import SourceError

RAW_TEXT_LIMIT = 2000  # characters of a bad record kept for inspection
PARSE_ERROR = "parse_error"
TOO_DEEP = "too_deep"
# Objects/arrays nested deeper than this become ``too_deep`` rows. Real records nest a few dozen
# levels at most (conversation trees included); the bound keeps every recursive step downstream
# (mappers, json encoding at ~1 frame per level) well inside Python's 1000-frame recursion limit.
MAX_DEPTH = 200
RAW_PRUNE_DEPTH = 8  # levels of a too-deep record shown in its raw text


@dataclass(frozen=True)
class Locator:
    scheme: str
    target: str
    options: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    @classmethod
    def parse(cls, text: str) -> "Locator":
        text = text.strip()
        scheme, sep, rest = text.partition(":")
        if sep and scheme and not rest.partition("?")[0].strip():
            raise SourceError(
                f"locator '{text}' names nothing after '{scheme}:'; add what to read, "
                "e.g. jsonl:/path/to/file.jsonl or hf:imdb"
            )
        if not sep or not scheme:
            raise SourceError(f"locator '{text}' has no '<scheme>:' prefix; write e.g. jsonl:/path/to/file.jsonl")
        target, _, query = rest.partition("?")
        options = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        return cls(scheme=scheme.lower(), target=target, options=options, raw=text)

    def path(self) -> Path:
        """The target as a local path (``~`` expanded)."""
        return Path(self.target).expanduser()

    def __str__(self) -> str:
        return self.raw or f"{self.scheme}:{self.target}"


@dataclass(frozen=True)
class ParseFailure:
    """Sentinel for a record the source could not parse (bad JSON line, ragged CSV row...)."""

    position: int  # 1-based line number for line formats, else 1-based record index
    raw: str  # the record's raw text, truncated to RAW_TEXT_LIMIT characters
    error: str  # one line: what was wrong
    reason: str = PARSE_ERROR  # the rejection reason mappers report (parse_error, too_deep)

    def __post_init__(self) -> None:
        if len(self.raw) > RAW_TEXT_LIMIT:
            object.__setattr__(self, "raw", self.raw[:RAW_TEXT_LIMIT] + "…")


SourceRow = Union[dict[str, Any], ParseFailure]


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests objects/arrays more than ``limit`` levels (the value itself is
    level 1). Iterative, so a value nested far past the recursion limit is measured safely."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, (list, tuple)) else ()
        for child in children:
            if isinstance(child, (dict, list, tuple)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _pruned(value: Any, levels: int) -> Any:
    """``value`` cut ``levels`` deep (deeper containers become "…"): a too-deep record's raw text."""
    if not isinstance(value, (dict, list, tuple)):
        return value
    if levels <= 1:
        return "…"
    if isinstance(value, dict):
        return {str(k): _pruned(v, levels - 1) for k, v in value.items()}
    return [_pruned(v, levels - 1) for v in value]


def raw_json(value: Any) -> str:
    """A parsed record as raw text for a ``ParseFailure`` (compact JSON, pruned and truncated)."""
    text = json.dumps(_pruned(value, RAW_PRUNE_DEPTH), ensure_ascii=False, default=str)
    return text[: RAW_TEXT_LIMIT + 1]


def too_deep_error() -> str:
    return f"record nests objects/arrays more than {MAX_DEPTH} levels deep"


def int_digit_limit() -> int:
    """The most digits Python turns into an int (4300 by default; no limit before 3.11: 0)."""
    return sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0


def too_long_integer() -> str:
    """What is wrong with a number JSON parsing refused for its length (Python caps int digits)."""
    return f"an integer has more than {int_digit_limit()} digits, more than Python reads; store it as a string"


def check_depth(row: SourceRow, position: int) -> SourceRow:
    """``row``, or a ``too_deep`` ParseFailure when it nests deeper than ``MAX_DEPTH``."""
    if isinstance(row, dict) and too_deep(row):
        return ParseFailure(position, raw_json(row), too_deep_error(), TOO_DEEP)
    return row


class Source(ABC):
    """Streams the rows a locator names. Subclasses implement ``rows``."""

    def __init__(self, locator: Locator):
        self.locator = locator

    @abstractmethod
    def rows(self) -> Iterator[SourceRow]:
        """Yield every row in order, streaming: never hold the whole source in memory."""

    def records(self) -> Iterator[SourceRow]:
        """``rows`` as readers should take them: each checked by ``check_depth`` (position: the
        1-based index of the row in the stream)."""
        rows = self.rows()
        try:
            for position, row in enumerate(rows, start=1):
                yield check_depth(row, position)
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()

    @property
    def name(self) -> str:
        """A default dataset name derived from the source (file stem, dataset id)."""
        return Path(self.locator.target.split(":")[0]).stem or self.locator.scheme

    def sample(self, n: int = 2000, seed: int = 0, scan_limit: int = 50_000) -> list[SourceRow]:
        """Up to ``n`` rows for sniffing: the first rows plus a seeded reservoir over a longer
        prefix, so a file sorted by label still shows every label to the introspector."""
        head_n = min(n, max(50, n // 10))
        it = self.records()
        head = list(itertools.islice(it, head_n))
        reservoir: list[SourceRow] = []
        rng = random.Random(seed)
        k = n - len(head)
        for i, row in enumerate(itertools.islice(it, scan_limit)):
            if len(reservoir) < k:
                reservoir.append(row)
            else:
                j = rng.randint(0, i)
                if j < k:
                    reservoir[j] = row
        return head + reservoir

    def fingerprint(self) -> str | None:
        """A cheap identity of the source's content (size + mtime for files), or None."""
        return None
