"""Field roles read off a ``SampleProfile``, shared by the sniffers so they judge data alike.

- label-like: a scalar field with few distinct values that repeat (type-aware: ints, bools and
  multi-word strings all count; distinct <= max(50, 0.2 * rows), each value seen twice on average);
- identifier / metadata: id-like names, values unique per row, or always null;
- free text: a string field with several words per value that is not label-like;
- substantive: anything a mapper leaves unmapped that carries task information (labels, lists,
  objects, other free text), the sign that a generic mapper would throw data away.
"""

from __future__ import annotations

import re
from typing import Iterable

from brewslm.introspection.profile import FieldProfile, SampleProfile

_ID_NAMES = frozenset({
    "id", "_id", "uid", "uuid", "guid", "idx", "index", "key_id", "example_id", "row_id", "doc_id",
    "split", "fold", "partition", "subset",
})
# usual names of a class-label column
LABEL_NAMES = ("label", "labels", "category", "intent", "class", "sentiment", "target", "label_text",
               "gold_label", "polarity", "topic", "tag", "y", "emotion", "stance", "rating", "stars",
               "coarse_label", "fine_label", "is_spam", "toxic")
_CAMEL_ID = re.compile(r"[a-z0-9](Id|ID|Idx)$")


def leaf_name(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def is_id_like_name(path: str) -> bool:
    name = leaf_name(path)
    lower = name.lower()
    return lower in _ID_NAMES or lower.endswith(("_id", "_idx", "_uuid")) or bool(_CAMEL_ID.search(name))


def _scalar_share(fp: FieldProfile) -> float:
    return (fp.types.get("string", 0) + fp.types.get("number", 0) + fp.types.get("boolean", 0)) / fp.present


def _has_fractions(fp: FieldProfile) -> bool:
    if not fp.types.get("number"):
        return False
    for key in fp.values:
        try:
            number = float(key)
        except ValueError:
            continue
        if not number.is_integer():
            return True
    return False


def is_label_like(fp: FieldProfile, n_rows: int, *, named: bool | None = None) -> bool:
    """Few distinct scalar values, repeated; fractional numbers (scores, regression targets) and
    long or multi-line strings are not labels.

    Cardinality: distinct <= max(50, 0.2 * rows) with each value seen twice on average. A field
    with a usual label name (``named``; by default judged from its name) may have more classes
    than that in a small sample (150 intents over 300 rows): up to half the rows, as long as
    most rows carry a value that repeats."""
    if named is None:
        named = leaf_name(fp.path).lower() in LABEL_NAMES
    if fp.present < 2 or fp.present < 0.8 * n_rows or fp.distinct_overflow:
        return False
    if _scalar_share(fp) < 0.95 or _has_fractions(fp):
        return False
    distinct = fp.distinct
    if distinct < 2:
        return False
    if named:
        repeated = sum(c for c in fp.values.values() if c >= 2) / fp.present
        if distinct > max(50, 0.5 * fp.present) or repeated < 0.5:
            return False
    elif distinct > max(50, 0.2 * fp.present) or fp.present / distinct < 2:
        return False
    if fp.str_count and (fp.mean_words > 6 or fp.mean_chars > 80 or fp.multiline):
        return False
    return True


def is_identifier(fp: FieldProfile) -> bool:
    """Values unique (or nearly) per row and short: row ids, file names, hashes."""
    if fp.present == 0:
        return True
    if _scalar_share(fp) < 0.95 or fp.types.get("boolean") or _has_fractions(fp):
        return False
    unique = fp.distinct_overflow or fp.distinct >= 0.9 * fp.present
    return unique and (not fp.str_count or fp.mean_words <= 1.5)


def is_metadata(path: str, fp: FieldProfile) -> bool:
    return fp.present == 0 or is_id_like_name(path) or is_identifier(fp)


def is_text(fp: FieldProfile) -> bool:
    return fp.present > 0 and fp.frac("string") >= 0.9


def is_free_text(fp: FieldProfile, n_rows: int, min_words: float = 2.5) -> bool:
    """Strings of several words that are not a label column and not JSON held in a string."""
    return (
        is_text(fp)
        and fp.mean_words >= min_words
        and fp.json_like < 0.5 * max(fp.str_count, 1)
        and not is_label_like(fp, n_rows)
    )


def choose_text_field(
    profile: SampleProfile,
    candidates: Iterable[str],
    *,
    exclude: Iterable[str] = (),
    min_words: float = 1.0,
) -> tuple[str | None, bool]:
    """``(field, by_name)``: the first name candidate holding text, else the top-level string
    field with the most words per value (the free-text column of an unfamiliar table)."""
    excluded = set(exclude)
    n = profile.n_rows
    by_name = profile.find(
        candidates,
        lambda fp: is_text(fp) and fp.mean_words >= min_words and not is_label_like(fp, n),
        exclude=excluded,
    )
    if by_name is not None:
        return by_name, True
    fallback = profile.best(
        lambda fp: is_free_text(fp, n, max(min_words, 2.5)) and not is_id_like_name(fp.path),
        key=lambda fp: fp.mean_words,
        exclude=excluded,
        top_level_only=True,
    )
    return fallback, False


def field_kind(path: str, fp: FieldProfile, n_rows: int) -> str:
    """One word for what a field holds: metadata, label, list, object, text or value."""
    if is_metadata(path, fp):
        return "metadata"
    main = fp.main_type
    if main == "list":
        return "list"
    if main == "object":
        return "object"
    if is_label_like(fp, n_rows):
        return "label"
    if is_free_text(fp, n_rows):
        return "text"
    return "value"


def unmapped_fields(profile: SampleProfile, used: Iterable[str]) -> dict[str, str]:
    """Top-level fields a field map leaves out that carry data, with their kind (metadata and
    always-null fields are left out of the answer)."""
    used_roots = {u.split(".", 1)[0] for u in used}
    out: dict[str, str] = {}
    for path in profile.top_level():
        if path in used_roots:
            continue
        kind = field_kind(path, profile.fields[path], profile.n_rows)
        if kind != "metadata":
            out[path] = kind
    return out


def describe_values(fp: FieldProfile, limit: int = 5) -> str:
    shown = [v for v, _ in fp.values.most_common(limit)]
    more = ", ..." if fp.distinct > limit else ""
    return ", ".join(shown) + more
