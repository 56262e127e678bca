"""Running a mapper over rows the way an import does, for mapper tests.

``run_mapper`` resolves the field map, maps every row through ``Mapper.apply`` and checks every
record against the mapper's task profile, so a test sees exactly what an import would keep.
``needs_shared`` / ``shared_rows`` read the shared public datasets (``helpers.shared_datasets``)
through the real connectors; tests using them skip when the folder is absent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from brewslm.mappers import get_mapper
from brewslm.mappers.base import Proposal, Rejection
from brewslm.mappers.profile import profile_rows
from brewslm.tasks import get_task_profile
from helpers import shared_datasets
from helpers.shared_datasets import SHARED_DATA


def needs_shared(test):
    """Mark a test as using the shared datasets; it skips when the folder is absent."""
    for mark in SHARED_DATA:
        test = mark(test)
    return test


@dataclass
class Mapped:
    records: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[tuple[int, Rejection]] = field(default_factory=list)  # (1-based row, rejection)
    per_row: list[Any] = field(default_factory=list)  # list of records or a Rejection, per row

    @property
    def reasons(self) -> Counter:
        return Counter(r.reason for _, r in self.rejections)


def run_mapper(
    mapper_id: str, rows: Iterable[Any], field_map: dict[str, str] | None = None, options: dict[str, Any] | None = None
) -> Mapped:
    rows = list(rows)
    mapper = get_mapper(mapper_id)
    source_fields = sorted({k for r in rows if isinstance(r, dict) for k in r})
    resolved = mapper.resolve_field_map(field_map, source_fields)
    checked = mapper.check_options(options)
    fields = mapper.canonical_map(resolved)
    profile = get_task_profile(mapper.task_profile)
    out = Mapped()
    for index, row in enumerate(rows, start=1):
        outcome = mapper.apply(row, fields, checked)
        out.per_row.append(outcome)
        if isinstance(outcome, Rejection):
            assert outcome.reason and outcome.detail and "\n" not in outcome.detail, outcome
            out.rejections.append((index, outcome))
            continue
        assert isinstance(outcome, list) and outcome, f"row {index}: {outcome!r}"
        for record in outcome:
            problem = profile.validate(record)
            assert problem is None, f"row {index}: {problem} in {record!r}"[:2000]
        out.records.extend(outcome)
    return out


def sniff(mapper_id: str, rows: Iterable[Any]) -> Proposal | None:
    return get_mapper(mapper_id).sniff(profile_rows(list(rows)))


def shared_rows(spec: str) -> list[Any]:
    """All rows of a shared file (``"jsonl:qa_squad2/dev.jsonl"``; a ``?join=`` file is relative to
    the main file's folder) through the real connector."""
    return list(shared_datasets.rows(spec))


def write_csv(path: Path, rows: list[dict[str, Any]]) -> str:
    """Write rows as a CSV file (lists/objects as JSON text, like an export) and return its locator."""
    import csv
    import json

    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()})
    return f"csv:{path}"


def json_rows(keys: tuple[str, ...], special_texts: tuple[str, ...] = ()):
    """A hypothesis strategy of JSON-like rows over ``keys`` (nested values reuse the keys), for
    'any input gives valid records or a clean Rejection, never an exception' properties."""
    from hypothesis import strategies as st

    texts = st.text(max_size=12) | st.sampled_from(special_texts or ("",))
    scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True, allow_infinity=True) | texts
    values = st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(keys), children, max_size=5),
        max_leaves=25,
    )
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))


def message_lists(role_key: str, content_key: str, roles: tuple[str, ...], texts: tuple[str, ...], max_size: int = 7):
    """A hypothesis strategy of message lists with plausible roles and texts, and a little junk."""
    from hypothesis import strategies as st

    content = st.sampled_from(texts) | st.text(max_size=6) | st.none() | st.integers(0, 2)
    message = st.fixed_dictionaries({role_key: st.sampled_from(roles), content_key: content})
    return st.lists(message | st.just("stray"), min_size=0, max_size=max_size)
