"""Field roles read off a ``SampleProfile``, shared by the sniffers so they judge data alike.

- label-like: a scalar field with few distinct values that repeat (type-aware: ints, bools and
  multi-word strings all count; distinct <= max(50, 0.2 * rows), each value seen twice on average);
- identifier / metadata: id-like names, values unique per row, one value everywhere, or always null;
- free text: a string field with several words per value that is not label-like;
- substantive: anything a mapper leaves unmapped that carries task information (labels, lists,
  objects, other free text), the sign that a generic mapper would throw data away;
- questions: text whose values read as questions (a ``?`` at the end, or a wh-word first);
- copied values: a short field whose values occur in a text field of the same row (the mark of
  key-value extraction; but a few classes that keep recurring in the text are labels, not values).

These are the cross-mapper judgements: when two sniffers can both read a table, they consult the
same helper here (a label column named like an answer beside questions is QA; an extraction target
made only of label-like fields is classification), so their confidences agree on who wins.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable

from brewslm.mappers.base import get_path
from brewslm.mappers.messages import ROLE_ALIASES, role_word
from brewslm.mappers.profile import FieldProfile, SampleProfile

_ID_NAMES = frozenset(
    {
        "id",
        "_id",
        "uid",
        "uuid",
        "guid",
        "idx",
        "index",
        "key_id",
        "example_id",
        "row_id",
        "doc_id",
        "split",
        "fold",
        "partition",
        "subset",
    }
)
# usual names of a class-label column
LABEL_NAMES = (
    "label",
    "labels",
    "category",
    "intent",
    "class",
    "sentiment",
    "target",
    "label_text",
    "gold_label",
    "polarity",
    "topic",
    "tag",
    "y",
    "emotion",
    "stance",
    "rating",
    "stars",
    "coarse_label",
    "fine_label",
    "is_spam",
    "toxic",
)
_CAMEL_ID = re.compile(r"[a-z0-9](Id|ID|Idx)$")
# usual names of the question and answer columns of QA data
QUESTION_NAMES = ("question", "query", "q", "instruction", "prompt", "input", "user_query")
SPECIFIC_QUESTION_NAMES = ("question", "query", "q", "user_query", "instruction")
ANSWER_NAMES = (
    "answer",
    "answers",
    "response",
    "output",
    "a",
    "completion",
    "gold_answer",
    "reference_answer",
    "solution",
)
_WH_WORDS = frozenset({"what", "who", "whom", "whose", "which", "when", "where", "why", "how"})
# words that open a question in other languages (de, fr, es, it, pt, nl, pl, ru, el); words that
# also mean "as"/"like"/"that"/"or" at the start of a statement are left out (wie, comme, come,
# como, jak, как, что, co), and Spanish only in its accented forms (que, como are conjunctions)
_WH_WORDS |= frozenset(
    {
        "wer",
        "wen",
        "wem",
        "wessen",
        "wo",
        "woher",
        "wohin",
        "warum",
        "wann",
        "welche",
        "welcher",
        "welches",
        "welchen",
        "wieso",
        "weshalb",
        "wieviel",
        "pourquoi",
        "combien",
        "quel",
        "quelle",
        "quels",
        "quelles",
        "où",
        "qui",
        "qué",
        "quién",
        "quiénes",
        "cuándo",
        "dónde",
        "cuál",
        "cuáles",
        "cuánto",
        "cuánta",
        "cuántos",
        "cuántas",
        "cómo",
        "perché",
        "quale",
        "quali",
        "quanto",
        "quanti",
        "quante",
        "dove",
        "quem",
        "onde",
        "qual",
        "quais",
        "quantos",
        "quantas",
        "porquê",
        "waarom",
        "wanneer",
        "welke",
        "hoeveel",
        "dlaczego",
        "kiedy",
        "gdzie",
        "ile",
        "czy",
        "kto",
        "кто",
        "где",
        "когда",
        "почему",
        "зачем",
        "какой",
        "какая",
        "какое",
        "какие",
        "сколько",
        "ποιος",
        "ποια",
        "ποιο",
        "ποιοι",
        "ποιες",
        "ποιον",
        "ποιου",
        "ποιας",
        "πότε",
        "πού",
        "πώς",
        "γιατί",
        "πόσο",
        "πόση",
        "πόσοι",
        "πόσες",
        "πόσα",
        "πόσους",
    }
)
_WORD = re.compile(r"\w+")
# at least this share of a field's values reading as questions makes it a question column
QUESTION_SHARE = 0.5


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


def is_constant(fp: FieldProfile) -> bool:
    """One scalar value in every row that has the field (a language or licence column): it tells
    nothing about any row, so leaving it out of a field map loses nothing."""
    return fp.present >= 2 and not fp.distinct_overflow and fp.distinct == 1 and _scalar_share(fp) >= 0.95


def is_metadata(path: str, fp: FieldProfile) -> bool:
    return fp.present == 0 or is_id_like_name(path) or is_identifier(fp) or is_constant(fp)


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


def children(profile: SampleProfile, path: str) -> list[str]:
    """The profiled fields one object level below ``path``."""
    prefix = path + "."
    return [p for p in profile.fields if p.startswith(prefix) and "." not in p[len(prefix) :]]


def field_kind(path: str, fp: FieldProfile, n_rows: int, profile: SampleProfile | None = None) -> str:
    """One word for what a field holds: metadata, label, list, object, text or value.

    With the ``profile``, an object whose fields are labels (and metadata) only (``meta:
    {channel: "web"}``) is a ``label`` like a flat column of the same values would be, not
    structured data; an object of metadata only stays an ``object`` (dropping it is still a loss
    a person should see)."""
    if is_metadata(path, fp):
        return "metadata"
    main = fp.main_type
    if main == "list":
        return "list"
    if main == "object":
        if profile is not None and fp.frac("object") >= 0.95:
            kinds = {field_kind(child, profile.fields[child], n_rows) for child in children(profile, path)}
            if "label" in kinds and kinds <= {"label", "metadata"}:
                return "label"
        return "object"
    if is_label_like(fp, n_rows):
        return "label"
    if is_free_text(fp, n_rows):
        return "text"
    return "value"


def unmapped_fields(profile: SampleProfile, used: Iterable[str]) -> dict[str, str]:
    """Fields a field map leaves out that carry data, with their kind (metadata and always-null
    fields are left out of the answer): top-level fields, and the siblings of a mapped dotted
    path (mapping ``fields.branch`` leaves ``fields.name`` behind)."""
    used = set(used)
    used_roots = {u.split(".", 1)[0] for u in used}
    out: dict[str, str] = {}
    for path in profile.top_level():
        if path in used:
            continue
        if path in used_roots:
            for child in children(profile, path):
                if child not in used:
                    kind = field_kind(child, profile.fields[child], profile.n_rows, profile)
                    if kind != "metadata":
                        out[child] = kind
            continue
        kind = field_kind(path, profile.fields[path], profile.n_rows, profile)
        if kind != "metadata":
            out[path] = kind
    return out


def label_candidates(profile: SampleProfile, *, exclude: Iterable[str] = ()) -> list[str]:
    """Every label-like field that is not id-like, most classes first (top-level before nested)."""
    excluded = set(exclude)
    n = profile.n_rows
    found = [
        p for p, fp in profile.fields.items() if p not in excluded and not is_id_like_name(p) and is_label_like(fp, n)
    ]
    return sorted(found, key=lambda p: ("." in p, -profile.fields[p].distinct))


# --- questions ----------------------------------------------------------------------------------

# question marks of other scripts: full-width (Chinese, Japanese), Arabic, Greek, inverted
_QUESTION_MARKS = ("?", "\uff1f", "\u061f", "\u037e", "\u2e2e")
_GREEK_LETTER = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")


def is_greek(text: str) -> bool:
    """Most of a text's letters are Greek (the Greek and Coptic, Greek Extended blocks)."""
    letters = sum(c.isalpha() for c in text)
    return bool(letters) and 2 * len(_GREEK_LETTER.findall(text)) >= letters


def reads_as_question(text: str) -> bool:
    """A question mark (of any script) at the end, an inverted one first, or a question word first
    ("how do I reset it", "wann beginnt der Kurs").
    Greek text asks with ';' (U+037E GREEK QUESTION MARK, which Unicode normalisation turns into
    the semicolon U+003B): a Greek text ending in ';' is a question."""
    stripped = text.strip()
    if stripped.endswith(_QUESTION_MARKS):
        return True
    if stripped.endswith(";") and is_greek(stripped) or stripped.startswith("\u00bf"):
        return True  # (Spanish opens a question with an inverted mark)
    first = _WORD.search(stripped.lower())
    return bool(first) and first.group(0) in _WH_WORDS and first.start() == 0


def question_share(profile: SampleProfile, path: str) -> float:
    """The share of a field's present string values that read as questions."""
    texts = [v for v in (get_path(row, path) for row in profile.rows) if isinstance(v, str) and v.strip()]
    return sum(reads_as_question(t) for t in texts) / len(texts) if texts else 0.0


QUESTION_MAX_CHARS = 300  # a column of questions holds short texts (a passage is no question)


def holds_questions(profile: SampleProfile, path: str) -> bool:
    """A column of questions, one per row: text values that read as questions (most of them),
    are short, and rarely recur (a form's fixed prompt that recurs is a value, not the row's
    question)."""
    fp = profile.field(path)
    if fp is None or not fp.str_count or fp.frac("string") < 0.9 or fp.mean_chars > QUESTION_MAX_CHARS:
        return False
    unique = fp.distinct_overflow or fp.distinct >= 0.9 * fp.str_count
    return unique and question_share(profile, path) >= QUESTION_SHARE


def is_answer_name(path: str) -> bool:
    return leaf_name(path).lower() in ANSWER_NAMES


# --- values copied from a text ------------------------------------------------------------------


def words_of(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def value_occurs(value: Any, text: str, text_words: set[str]) -> bool | None:
    """Whether an extracted value can be found in the source text: verbatim (ignoring case), or
    most (>= 60%) of its words — OCR text spreads an address over lines and splits a company
    name. None for values that say nothing either way (blank, boolean)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    if value.strip().lower() in text.lower():
        return True
    words = _WORD.findall(value.lower())
    if not words:
        return False
    return sum(w in text_words for w in words) / len(words) >= 0.6


def occurrence_rate(profile: SampleProfile, value_path: str, text_path: str) -> tuple[int, int]:
    """``(found, checked)``: over the sample rows where it can be judged, how often the value at
    ``value_path`` occurs in the text at ``text_path`` (see ``value_occurs``)."""
    found = checked = 0
    for row in profile.rows:
        text = get_path(row, text_path)
        if not isinstance(text, str):
            continue
        hit = value_occurs(get_path(row, value_path), text, words_of(text))
        if hit is not None:
            checked += 1
            found += hit
    return found, checked


def is_recurring_class(profile: SampleProfile, path: str) -> bool:
    """A field holding a handful of classes (label-like or constant): its values recurring in a
    text say "this text is about X", not "X was extracted from this text"."""
    fp = profile.field(path)
    return fp is not None and (is_label_like(fp, profile.n_rows) or is_constant(fp))


def describe_values(fp: FieldProfile, limit: int = 5) -> str:
    shown = [v for v, _ in fp.values.most_common(limit)]
    more = ", ..." if fp.distinct > limit else ""
    return ", ".join(shown) + more


# --- two responses and the field that says which one is preferred --------------------------------
# A verdict field orients a pair of responses only when its VALUES point at the two response fields:
# their names (``grade: agent`` beside ``agent_response``), their index (``label: 2`` beside
# ``output_1``/``output_2``), a/b or left/right in the fields' order; a tie word is a tie. The same
# reading tells label_to_classification that such a field is a verdict on a pair, not a class.

_INDEXED = re.compile(
    r"^(?P<stem>.*?)(?:[_\-\s.]?(?P<digit>\d+)|[_\-\s](?P<letter>[A-Za-z])|(?<=[a-z])(?P<cap>[A-Z]))$"
)
_NAME_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
TIE_WORDS = frozenset(
    {
        "tie",
        "tied",
        "both",
        "neither",
        "equal",
        "draw",
        "same",
        "none",
        "even",
        "both_good",
        "both_bad",
        "both good",
        "both bad",
        "bothbad",
        "bothgood",
    }
)
_FIRST_WORDS = frozenset({"left", "first", "former", "1st", "top"})
_SECOND_WORDS = frozenset({"right", "second", "latter", "2nd", "bottom"})
RESPONSE_A, RESPONSE_B, TIE = "response_a", "response_b", "tie"
_EDGE_MARKS = re.compile(r"^[\W_]+|[\W_]+$")


def parent_path(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


def name_words(path: str) -> set[str]:
    """The lower-case words of a field's leaf name (``agent_response`` -> agent, response)."""
    return {w.lower() for w in _NAME_TOKEN.findall(leaf_name(path))}


def indexed_name(path: str) -> tuple[str, str] | None:
    """``(parent|stem, index)`` of a field named like ``output_1``, ``answer2``, ``response_b``,
    ``textB``; None otherwise."""
    m = _INDEXED.match(leaf_name(path))
    if not m or not m.group("stem"):
        return None
    return f"{parent_path(path)}|{m.group('stem').lower()}", m.group("digit") or m.group("letter") or m.group("cap")


def consecutive_tokens(t1: str, t2: str) -> bool:
    if t1.isdigit() and t2.isdigit():
        return int(t2) == int(t1) + 1
    return len(t1) == len(t2) == 1 and t1.isalpha() and ord(t2.lower()) == ord(t1.lower()) + 1


def is_tie_word(value: str) -> bool:
    low = value.strip().lower()
    return low in TIE_WORDS or low.startswith("tie")


def is_reply_text(fp: FieldProfile, n_rows: int) -> bool:
    """A string field that can hold a model's reply: text, not a short class, not a row id."""
    return is_text(fp) and fp.mean_words >= 1 and not is_label_like(fp, n_rows) and not is_identifier(fp)


def indexed_pairs(profile: SampleProfile, accept: Any = None) -> list[tuple[str, str]]:
    """Sibling reply fields named alike but for consecutive indexes (first, second), longest first."""
    n = profile.n_rows
    accept = accept or (lambda fp: is_reply_text(fp, n))
    groups: dict[str, list[tuple[str, str]]] = {}
    for path, fp in profile.fields.items():
        if is_id_like_name(path) or not accept(fp):
            continue
        indexed = indexed_name(path)
        if indexed:
            groups.setdefault(indexed[0], []).append((indexed[1], path))
    pairs = []
    for members in groups.values():
        if len(members) != 2:
            continue
        (t1, p1), (t2, p2) = sorted(members, key=lambda m: (int(m[0]) if m[0].isdigit() else 0, m[0].lower()))
        if consecutive_tokens(t1, t2) and profile.fields[p1].main_type == profile.fields[p2].main_type:
            pairs.append((p1, p2))
    size = lambda pq: profile.fields[pq[0]].mean_chars + profile.fields[pq[1]].mean_chars  # noqa: E731
    return sorted(pairs, key=size, reverse=True)


def _common_prefix(x: str, y: str) -> str:
    i = 0
    while i < min(len(x), len(y)) and x[i] == y[i]:
        i += 1
    return x[:i]


def read_verdict_values(values: Iterable[str], a: str, b: str) -> tuple[dict[str, str], str, float] | None:
    """What each value of a verdict field means for the responses at ``a`` (first) and ``b``:
    ``({value: response_a|response_b|tie}, how it was read, confidence)``, or None when the values
    do not point at the two responses. An index base that the values do not settle (``1``/``2``
    beside ``x_0``/``x_1``) is read in the fields' order and said so, at a lower confidence."""
    values = list(values)
    ties = [v for v in values if is_tie_word(v)]
    sides = [v for v in values if v not in ties]
    ta, tb = (indexed_name(a) or ("", ""))[1], (indexed_name(b) or ("", ""))[1]
    if len(sides) == 3 and {"0", "1", "2"} == set(sides) and "0" not in (ta, tb):
        ties, sides = ties + ["0"], ["1", "2"]  # 1 / 2 / 0 = first / second / tie
    lower = {v.lower(): v for v in sides}
    if len(sides) != 2 or len(lower) != 2:
        return None
    names = (leaf_name(a).lower(), leaf_name(b).lower())
    words_a, words_b = name_words(a), name_words(b)
    prefix = _common_prefix(*lower)
    suffixes = {_EDGE_MARKS.sub("", v[len(prefix) :]): lower[v] for v in lower}  # "Output (b)", "[[B]]" -> b
    first = second = None
    how, conf = "", 0.0
    if set(lower) == set(names):
        first, second, how, conf = lower[names[0]], lower[names[1]], "its values are the response fields' names", 0.95
    elif all(v in words_a ^ words_b for v in lower) and len({v in words_a for v in lower}) == 2:
        first = next(lower[v] for v in lower if v in words_a)
        second = next(lower[v] for v in lower if v in words_b)
        how, conf = "its values name the response fields", 0.95
    elif ta and {ta.lower(), tb.lower()} == set(suffixes):
        first, second = suffixes[ta.lower()], suffixes[tb.lower()]
        how, conf = "its values carry the responses' own index", 0.95
    elif set(lower) <= _FIRST_WORDS | _SECOND_WORDS and len({v in _FIRST_WORDS for v in lower}) == 2:
        first = next(lower[v] for v in lower if v in _FIRST_WORDS)
        second = next(lower[v] for v in lower if v in _SECOND_WORDS)
        how, conf = f"'{first}' is the first response, as a side-by-side view shows them", 0.9
    elif set(suffixes) == {"a", "b"}:
        first, second = suffixes["a"], suffixes["b"]
        how, conf = "a/b are the first and second response, in the fields' order", 0.85
    elif all(s.isdigit() for s in suffixes) and consecutive_tokens(*sorted(suffixes, key=int)):
        lo, hi = sorted(suffixes, key=int)
        first, second = suffixes[lo], suffixes[hi]
        how = (
            f"the index base is ambiguous (values {lo}/{hi}, fields indexed {ta or '?'}/{tb or '?'}): "
            f"read in the fields' order, {lo} = the first; check it"
        )
        conf = 0.7
    if first is None:
        return None
    return {first: RESPONSE_A, second: RESPONSE_B, **{t: TIE for t in ties}}, how, conf


def pair_named_by(profile: SampleProfile, values: Iterable[str], exclude: Iterable[str] = ()) -> tuple[str, str] | None:
    """Two sibling reply fields that the (non-tie) ``values`` name, one each (``agent``/``base``
    beside ``agent_response``/``base_response``), in column order; None when not exactly so."""
    sides = [v.lower() for v in values if not is_tie_word(v)]
    if len(sides) != 2:
        return None
    excluded = set(exclude)
    n = profile.n_rows
    replies = [p for p, fp in profile.fields.items() if p not in excluded and is_reply_text(fp, n)]
    found = []
    for side in sides:
        hits = [p for p in replies if leaf_name(p).lower() == side or side in name_words(p)]
        if len(hits) != 1:
            return None
        found.append(hits[0])
    a, b = found
    if a == b or parent_path(a) != parent_path(b):
        return None
    order = list(profile.fields)
    return (a, b) if order.index(a) < order.index(b) else (b, a)


def score_pair(profile: SampleProfile, a: str, b: str) -> tuple[str, str] | None:
    """Two numeric fields scoring the responses: named after each response (``output_1_score``) or
    indexed like them (``score_1``/``score_2`` beside ``output_1``/``output_2``)."""
    numeric = [
        p
        for p, fp in profile.fields.items()
        if fp.present >= 0.8 * profile.n_rows and fp.frac("number") >= 0.95 and not is_id_like_name(p)
    ]
    la, lb = leaf_name(a).lower(), leaf_name(b).lower()
    by_name = (
        [p for p in numeric if la in leaf_name(p).lower() and lb not in leaf_name(p).lower()],
        [p for p in numeric if lb in leaf_name(p).lower() and la not in leaf_name(p).lower()],
    )
    if len(by_name[0]) == 1 and len(by_name[1]) == 1:
        return by_name[0][0], by_name[1][0]
    ta, tb = (indexed_name(a) or ("", ""))[1], (indexed_name(b) or ("", ""))[1]
    groups: dict[str, dict[str, str]] = {}
    for p in numeric:
        indexed = indexed_name(p)
        if indexed:
            groups.setdefault(indexed[0], {})[indexed[1].lower()] = p
    for members in groups.values():
        if len(members) == 2 and ta.lower() in members and tb.lower() in members:
            return members[ta.lower()], members[tb.lower()]
    return None


def follows_scores(profile: SampleProfile, path: str, score_a: str, score_b: str) -> tuple[int, int] | None:
    """``(agreeing, compared)`` when each value of ``path`` goes with one side of the two scores
    winning (one value with a, another with b) in >= 95% of the rows where the scores differ."""
    sides: dict[str, Counter] = {}
    for row in profile.rows:
        value, a, b = get_path(row, path), get_path(row, score_a), get_path(row, score_b)
        if (
            value is None
            or isinstance(value, (dict, list))
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))
            or a == b
        ):
            continue
        sides.setdefault(str(value), Counter())["a" if a > b else "b"] += 1
    if len(sides) < 2:
        return None
    agreeing = sum(c.most_common(1)[0][1] for c in sides.values())
    compared = sum(sum(c.values()) for c in sides.values())
    winners = {c.most_common(1)[0][0] for c in sides.values()}
    return (agreeing, compared) if winners == {"a", "b"} and agreeing >= 0.95 * compared >= 5 else None


def pair_verdict(profile: SampleProfile, path: str) -> str | None:
    """Evidence that ``path`` is a verdict on two reply fields of the same rows (its values index or
    name them, see ``read_verdict_values``), or None. Such a field orients a preference pair; it is
    not a class of the texts."""
    fp = profile.field(path)
    if fp is None or fp.distinct_overflow or fp.distinct < 2:
        return None
    values = list(fp.values)
    pairs = [pq for pq in indexed_pairs(profile) if path not in pq]
    named = pair_named_by(profile, values, exclude=[path])
    if named:
        pairs.append(named)
    for a, b in pairs:
        read = read_verdict_values(values, a, b)
        if read is not None and read[2] >= 0.85:
            return f"the values of '{path}' point at the reply fields '{a}' and '{b}' ({read[1]})"
        scores = score_pair(profile, a, b)
        if scores and path in scores:
            return f"'{path}' is one of two scores ('{scores[0]}', '{scores[1]}') of the reply fields '{a}' and '{b}'"
        agree = follows_scores(profile, path, *scores) if scores else None
        if agree:
            return (
                f"the values of '{path}' follow which of '{scores[0]}'/'{scores[1]}' is higher in {agree[0]}/{agree[1]} "
                f"rows: a verdict on the reply fields '{a}' and '{b}'"
            )
    return None


def speaker_roles(fp: FieldProfile) -> bool:
    """Every value is a chat role name (human/gpt/user/assistant/system...), at least two of them:
    the field says who speaks in a conversation's turns (rows exploded from a message list), it is
    not a class of the text beside it."""
    return fp.distinct >= 2 and not fp.distinct_overflow and all(role_word(v) in ROLE_ALIASES for v in fp.values)
