"""Statistics over a sample of rows, shared by every mapper's ``sniff``.

Fields are profiled at the top level and one object level down (``key.company``), with the
value types, distinct values (type-aware: ints, bools and multi-word strings all count as
label-like), string lengths, and for lists their item types and the keys of object items.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from brewslm.mappers.base import type_name
from brewslm.sources.base import ParseFailure

DISTINCT_CAP = 1000  # distinct scalar values tracked per field


@dataclass
class FieldProfile:
    path: str
    present: int = 0  # rows where the field exists and is not null
    types: Counter = field(default_factory=Counter)  # type_name -> count (null included)
    values: Counter = field(default_factory=Counter)  # scalar value (as label string) -> count, capped
    distinct_overflow: bool = False
    str_count: int = 0
    total_chars: int = 0
    total_words: int = 0
    multiline: int = 0
    json_like: int = 0  # strings that parse as a JSON list or object
    list_count: int = 0
    list_len_total: int = 0
    item_types: Counter = field(default_factory=Counter)
    item_keys: Counter = field(default_factory=Counter)  # keys of object items of lists
    examples: list[Any] = field(default_factory=list)

    # -- derived --------------------------------------------------------------------------
    @property
    def main_type(self) -> str:
        non_null = [(t, c) for t, c in self.types.most_common() if t != "null"]
        return non_null[0][0] if non_null else "null"

    def frac(self, type_: str) -> float:
        return self.types.get(type_, 0) / self.present if self.present else 0.0

    @property
    def distinct(self) -> int:
        return len(self.values)

    @property
    def mean_chars(self) -> float:
        return self.total_chars / self.str_count if self.str_count else 0.0

    @property
    def mean_words(self) -> float:
        return self.total_words / self.str_count if self.str_count else 0.0

    @property
    def mean_list_len(self) -> float:
        return self.list_len_total / self.list_count if self.list_count else 0.0

    def item_frac(self, type_: str) -> float:
        total = sum(self.item_types.values())
        return self.item_types.get(type_, 0) / total if total else 0.0


@dataclass
class SampleProfile:
    rows: list[dict[str, Any]]
    n_parse_failures: int
    fields: dict[str, FieldProfile]
    # the file the rows were read from, when known: sniffers may look beside it (a label-name file)
    origin: Path | None = None

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    def field(self, path: str) -> FieldProfile | None:
        return self.fields.get(path)

    def coverage(self, path: str) -> float:
        fp = self.fields.get(path)
        return fp.present / self.n_rows if fp and self.n_rows else 0.0

    def top_level(self) -> list[str]:
        return [p for p in self.fields if "." not in p]

    def find(
        self,
        candidates: Iterable[str],
        predicate: Callable[[FieldProfile], bool] = lambda fp: True,
        *,
        exclude: Iterable[str] = (),
    ) -> str | None:
        """The first field (case-insensitive name match, in candidate order) that passes ``predicate``."""
        excluded = set(exclude)
        by_lower: dict[str, str] = {}
        for path in self.fields:
            by_lower.setdefault(path.lower(), path)
        for cand in candidates:
            path = by_lower.get(cand.lower())
            if path and path not in excluded and predicate(self.fields[path]):
                return path
        return None

    def best(
        self,
        predicate: Callable[[FieldProfile], bool],
        key: Callable[[FieldProfile], float],
        *,
        exclude: Iterable[str] = (),
        top_level_only: bool = False,
    ) -> str | None:
        """The field passing ``predicate`` with the largest ``key`` (a name-free fallback)."""
        excluded = set(exclude)
        pool = [
            fp
            for p, fp in self.fields.items()
            if p not in excluded and (not top_level_only or "." not in p) and predicate(fp)
        ]
        return max(pool, key=key).path if pool else None


def _scalar_key(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value).strip() if isinstance(value, str) else str(value)
    return None


def _observe(fp: FieldProfile, value: Any) -> None:
    t = type_name(value)
    fp.types[t] += 1
    if value is None:
        return
    fp.present += 1
    if len(fp.examples) < 3:
        fp.examples.append(value)
    key = _scalar_key(value)
    if key is not None:
        if key in fp.values or len(fp.values) < DISTINCT_CAP:
            fp.values[key] += 1
        else:
            fp.distinct_overflow = True
    if isinstance(value, str):
        fp.str_count += 1
        fp.total_chars += len(value)
        fp.total_words += len(value.split())
        if "\n" in value.strip():
            fp.multiline += 1
        stripped = value.lstrip()
        if stripped[:1] in ("[", "{"):
            try:
                json.loads(value)
                fp.json_like += 1
            except ValueError:
                pass
    elif isinstance(value, (list, tuple)):
        fp.list_count += 1
        fp.list_len_total += len(value)
        for item in value[:50]:
            fp.item_types[type_name(item)] += 1
            if isinstance(item, dict):
                fp.item_keys.update(item.keys())


def profile_rows(rows: Iterable[Any]) -> SampleProfile:
    """Profile parsed rows; ``ParseFailure`` sentinels are counted, not profiled."""
    parsed: list[dict[str, Any]] = []
    failures = 0
    fields: dict[str, FieldProfile] = {}
    for row in rows:
        if isinstance(row, ParseFailure) or not isinstance(row, dict):
            failures += 1
            continue
        parsed.append(row)
        for key, value in row.items():
            fp = fields.setdefault(str(key), FieldProfile(str(key)))
            _observe(fp, value)
            if isinstance(value, dict):
                for sub, subval in value.items():
                    path = f"{key}.{sub}"
                    _observe(fields.setdefault(path, FieldProfile(path)), subval)
    return SampleProfile(rows=parsed, n_parse_failures=failures, fields=fields)
