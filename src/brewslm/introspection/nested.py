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

Records may also sit in PARALLEL lists of one row (``{"api": ..., "instructions": [i1, i2],
"answers": [a1, a2]}``: ``parallel_list_fields``): when no level of the chain fits, the source is
re-sampled with ``zip`` set to those fields, one row per position, every other field carried.

Where the records of a JSON document are (an array under any key, an object keyed by id, named
arrays by split) is the JSON source's own decision (``brewslm.sources.json_source``); a refined
locator pins it (``path``, ``keyed``) so it reads the same records without scanning again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import parse_qsl, quote

from brewslm.mappers.base import Proposal
from brewslm.sources.base import Locator
from brewslm.sources.json_source import FALLBACK_SPLIT_FIELD, SPLIT_FIELD, JsonSource

RECORD_LIST_SHARE = 0.8  # the list of records must be in at least this share of the rows
MAX_DEPTH = 4  # list levels followed below the rows (SQuAD needs 2)
MIN_USE_CONFIDENCE = 0.3  # a gated proposal this confident that maps a list field reads it as content
PARALLEL_SHARE = 0.95  # parallel lists: of equal length in at least this share of the rows
PARALLEL_MIN_TEXT = 30  # ...and one of them holds structured items or strings this long on average
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


def _json_refinement(locator: str, source: Any, replace: dict[str, str]) -> str | None:
    """``locator`` with the layout ``source`` settled on pinned (``path``, ``keyed``) and the
    options in ``replace`` set; None when ``source`` is not a JSON document."""

    if not isinstance(source, JsonSource) or getattr(source, "kind", "empty") == "empty":
        return None
    parsed = Locator.parse(locator)
    dropped = {"path", "keyed", *replace}
    options = [(k, v) for k, v in parse_qsl(locator.partition("?")[2], keep_blank_values=True) if k not in dropped]
    options.extend(source.pinned_options())  # the part of the document the source settled on
    options.extend(replace.items())
    query = "&".join(f"{k}={quote(v, safe=_OPTION_SAFE)}" for k, v in options)
    return f"{parsed.scheme}:{parsed.target}?{query}"


def explode_locator(locator: str, source: Any, sample_rows: list[Any], chain: list[str]) -> Refinement | None:
    """The locator that explodes ``chain`` below the rows ``source`` gives now, or None when the
    source cannot explode (it is not a JSON document). The json connector's ``explode`` is
    relative to the selected value: an array's item keys, or one key of an object; a document
    read as an object of named arrays (SQuAD's ``{"version": ..., "data": [...]}``) needs the
    array's name first, which the rows carry in their ``split`` field."""

    if not chain:
        return None
    prefix = list(getattr(source, "chain", []))
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
            note = (
                f"the document holds several arrays; this locator reads '{name}' only; "
                f"read the others ({others}) with explode=<name>.{'.'.join(chain)}"
            )
    refined = _json_refinement(locator, source, {"explode": ".".join(prefix + list(chain))})
    return Refinement(refined, tuple(chain), note) if refined else None


def parallel_list_fields(rows: Iterable[Any]) -> list[str]:
    """Fields holding PARALLEL lists (``{"questions": [q1, q2], "answers": [a1, a2]}``): lists in
    most rows, of equal length within each row, some longer than 2 or of varying length, and at
    least one of them holding structured items or sentences (token/tag lists are not records).
    The largest such group, in field order, or [] when there is none."""
    rows = [r for r in rows if isinstance(r, dict)]
    if not rows:
        return []
    counts = Counter(k for r in rows for k, v in r.items() if isinstance(v, list))
    fields = [k for k, c in counts.items() if c >= RECORD_LIST_SHARE * len(rows)]
    groups: list[list[str]] = []
    for name in fields:
        for group in groups:
            if _parallel(rows, group[0], name):
                group.append(name)
                break
        else:
            groups.append([name])
    worth = [g for g in groups if len(g) >= 2 and _worth_zipping(rows, g)]
    return max(worth, key=len) if worth else []


def _parallel(rows: list[dict[str, Any]], a: str, b: str) -> bool:
    pairs = [(len(r[a]), len(r[b])) for r in rows if isinstance(r.get(a), list) and isinstance(r.get(b), list)]
    same = sum(1 for x, y in pairs if x == y)
    return len(pairs) >= RECORD_LIST_SHARE * len(rows) and same >= PARALLEL_SHARE * len(pairs)


def _worth_zipping(rows: list[dict[str, Any]], group: list[str]) -> bool:
    lengths = [len(r[group[0]]) for r in rows if isinstance(r.get(group[0]), list)]
    if not lengths or max(lengths) < 2 or (len(set(lengths)) < 2 and max(lengths) < 3):
        return False
    for name in group:
        items = [item for r in rows if isinstance(r.get(name), list) for item in r[name][:_ITEMS_PER_LEVEL]]
        if any(isinstance(item, (dict, list)) for item in items):
            return True
        texts = [item for item in items if isinstance(item, str)]
        if texts and sum(len(t) for t in texts) / len(texts) >= PARALLEL_MIN_TEXT:
            return True
    return False


def zip_locator(locator: str, source: Any, fields: list[str]) -> Refinement | None:
    """The locator that reads one row per position of the parallel lists ``fields``."""
    refined = _json_refinement(locator, source, {"zip": ",".join(fields)})
    return Refinement(refined, tuple(fields)) if refined and len(fields) >= 2 else None
