"""The source contract: a locator names where rows come from, a Source streams them.

A locator is ``<scheme>:<target>[?key=value&...]``, e.g. ``jsonl:/data/train.jsonl``,
``hf:imdb:train?config=plain_text`` or ``kaggle:competition:titanic?file=train.csv``.
Sources stream rows as plain dicts. A record the source cannot parse becomes a ``ParseFailure``
sentinel in the stream (never an exception), which every mapper rejects with ``parse_error``.
"""

from __future__ import annotations

import itertools
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Union
from urllib.parse import parse_qsl

from brewslm.errors import SourceError

RAW_TEXT_LIMIT = 2000  # characters of a bad record kept for inspection


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
        if not sep or not scheme or not rest:
            raise SourceError(
                f"locator '{text}' has no '<scheme>:' prefix; write e.g. jsonl:/path/to/file.jsonl"
            )
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

    def __post_init__(self) -> None:
        if len(self.raw) > RAW_TEXT_LIMIT:
            object.__setattr__(self, "raw", self.raw[:RAW_TEXT_LIMIT] + "…")


SourceRow = Union[dict[str, Any], ParseFailure]


class Source(ABC):
    """Streams the rows a locator names. Subclasses implement ``rows``."""

    def __init__(self, locator: Locator):
        self.locator = locator

    @abstractmethod
    def rows(self) -> Iterator[SourceRow]:
        """Yield every row in order, streaming: never hold the whole source in memory."""

    @property
    def name(self) -> str:
        """A default dataset name derived from the source (file stem, dataset id)."""
        return Path(self.locator.target.split(":")[0]).stem or self.locator.scheme

    def sample(self, n: int = 2000, seed: int = 0, scan_limit: int = 50_000) -> list[SourceRow]:
        """Up to ``n`` rows for sniffing: the first rows plus a seeded reservoir over a longer
        prefix, so a file sorted by label still shows every label to the introspector."""
        head_n = min(n, max(50, n // 10))
        it = self.rows()
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
