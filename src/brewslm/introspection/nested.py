"""Nested JSON documents: when a source's rows are wrappers around lists of the real records.

A JSON document such as SQuAD's ``train-v2.0.json`` read without ``explode`` gives one row per
article, ``{title, paragraphs: [{context, qas: [{question, answers, ...}]}]}``: no mapper fits
such a row, because the records a person would import sit two lists further down. When nothing
is accepted at the top level, ``find_record_lists`` follows the chain of nested lists of objects
(one such list in most rows, at each level), and the introspector re-samples the source with
``explode`` set to each step of that chain (``data.paragraphs``, then ``data.paragraphs.qas``)
and runs the normal sniffing on it; the shallowest level where a proposal is accepted wins, so
records are never flattened further than needed.

A list field that some mapper already reads as part of a record (passages, messages, spans,
answers) is content, not a list of records, and is never exploded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import parse_qsl, quote

from brewslm.mappers.base import Proposal
from brewslm.sources.base import Locator

RECORD_LIST_SHARE = 0.8  # the list of records must be in at least this share of the rows
MAX_DEPTH = 4  # list levels followed below the rows (SQuAD needs 2)
MIN_USE_CONFIDENCE = 0.3  # a gated proposal this confident that maps a list field reads it as content
_ITEMS_PER_LEVEL = 2000  # items looked at per level when following the chain in memory
_OPTION_SAFE = "/.:~,-_"


@dataclass(frozen=True)
class Refinement:
    """How to read a json source one or more list levels down."""

    locator: str  # the refined locator, e.g. json:/x.json?explode=data.paragraphs.qas
    chain: tuple[str, ...]  # the list fields followed below the original rows
    note: str = ""  # e.g. which of several named arrays the locator reads


def record_list_field(rows: Iterable[Any]) -> str | None:
    """The one field that holds a list of objects in most rows (empty lists count; at least one
    must have items), or None when there is no such field or more than one."""
    rows = [r for r in rows if isinstance(r, dict)]
    if not rows:
        return None
    lists: Counter = Counter()
    filled: Counter = Counter()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, list) and all(isinstance(item, dict) for item in value):
                lists[key] += 1
                filled[key] += bool(value)
    found = [k for k, c in lists.items() if c >= RECORD_LIST_SHARE * len(rows) and filled[k]]
    return found[0] if len(found) == 1 else None


def find_record_lists(rows: list[Any], max_depth: int = MAX_DEPTH) -> list[str]:
    """The chain of record-list fields below ``rows`` (``["paragraphs", "qas"]``), followed in
    memory through the sample; the answers-like lists at the bottom are included too, the caller
    decides how deep to go."""
    chain: list[str] = []
    level = [r for r in rows if isinstance(r, dict)]
    while len(chain) < max_depth:
        key = record_list_field(level)
        if key is None:
            break
        chain.append(key)
        items: list[Any] = []
        for row in level:
            value = row.get(key)
            if isinstance(value, list):
                items.extend(value[: _ITEMS_PER_LEVEL - len(items)])
            if len(items) >= _ITEMS_PER_LEVEL:
                break
        level = items
    return chain


def read_as_content(field: str, proposals: Iterable[Proposal]) -> Proposal | None:
    """A proposal that maps ``field`` (or a path inside it) with some confidence: the list is
    part of its records (passages, messages, spans), not a list of records to explode."""
    for proposal in proposals:
        if proposal.confidence >= MIN_USE_CONFIDENCE and any(
            src == field or src.startswith(field + ".") for src in proposal.field_map
        ):
            return proposal
    return None


def explode_locator(locator: str, source: Any, sample_rows: list[Any], chain: list[str]) -> Refinement | None:
    """The locator that explodes ``chain`` below the rows ``source`` gives now, or None when the
    source cannot explode (it is not a JSON document). The json connector's ``explode`` is
    relative to the selected value: an array's item keys, or one key of an object; a document
    read as an object of named arrays (SQuAD's ``{"version": ..., "data": [...]}``) needs the
    array's name first, which the rows carry in their ``split`` field."""
    from brewslm.sources.json_source import FALLBACK_SPLIT_FIELD, SPLIT_FIELD, JsonSource

    if not isinstance(source, JsonSource) or not chain or getattr(source, "kind", "empty") == "empty":
        return None
    prefix = list(source.chain)
    note = ""
    if getattr(source, "split_mode", False):
        rows = [r for r in sample_rows if isinstance(r, dict)]
        split_key = FALLBACK_SPLIT_FIELD if any(FALLBACK_SPLIT_FIELD in r for r in rows) else SPLIT_FIELD
        arrays = Counter(str(r[split_key]) for r in rows if split_key in r)
        if not arrays:
            return None
        name = arrays.most_common(1)[0][0]
        prefix = [name]
        if len(arrays) > 1:
            others = ", ".join(sorted(a for a in arrays if a != name))
            note = (f"the document holds several arrays; this locator reads '{name}' only; "
                    f"read the others ({others}) with explode=<name>.{'.'.join(chain)}")
    parsed = Locator.parse(locator)
    options = [(k, v) for k, v in parse_qsl(locator.partition("?")[2], keep_blank_values=True) if k != "explode"]
    options.append(("explode", ".".join(prefix + list(chain))))
    query = "&".join(f"{k}={quote(v, safe=_OPTION_SAFE)}" for k, v in options)
    return Refinement(f"{parsed.scheme}:{parsed.target}?{query}", tuple(chain), note)
