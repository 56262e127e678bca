"""label_to_classification: a text and a class label -> ``{text, label}``.

Labels are read type-aware with ``read_label``: strings are stripped (multi-word labels stay as
they are), whole numbers become their digits (``0``, ``1``; CSV cells already are strings),
booleans ``true``/``false``; lists, objects and fractions are ``wrong_type``.

Options:
- ``label_names``: names for label ids, a list (index -> name, e.g. ``["negative", "positive"]``,
  the HF ``ClassLabel`` names) or an object (``{"0": "negative", "1": "positive"}``). A label that
  already is one of the names is kept; an id with no name is ``label_not_allowed``.
- ``labels``: the allowed label set, checked after naming; anything else is ``label_not_allowed``.
  Without it every label is accepted: the allowed set is never guessed from a sample.
- ``joiner``: the string between the values when several source fields feed ``text``
  (default ``"\n\n"``).
- ``multi_label_delimiter``: the string that joins several labels in one value (``"3,10"``,
  ``"sports|politics"``). This mapper is single-label: a label holding it between two or more
  non-blank parts is rejected as ``multi_label`` (a defect of the row for a single-label import,
  never a class of its own). Introspection sets it when some values of the label column are
  several of the column's own single values (or class ids) joined by ``,``, ``;``, ``|`` or a
  space, and no value holds that delimiter otherwise; the evidence says how many rows are
  multi-label. Without it, a label that is not in ``label_names`` but whose parts all are is
  rejected as ``multi_label`` too.

A label given as scores per class. A label value that is an object of class -> score (spaCy's
``cats: {"baking": 0.0, "not_baking": 1.0}``: numbers or booleans) becomes the one class with the
highest score, exactly as the key is written (stripped like any label). A tie for the highest
score, or no score above 0 (all zero / all false), is ``ambiguous_label`` (a defect of the row);
any value that is not a number or boolean is ``wrong_type``. Introspection proposes such a field
as the label when its values are objects over one small set of keys (2 to 50 classes) whose
scores are one-hot (0/1 or false/true, exactly one class on) in at least 80% of the rows.

Several text fields. ``text`` may be fed by several source fields (title + body, premise +
hypothesis): the field map names each one with the target ``text`` (``--field-map title=text
--field-map body=text``; the UI editor: pick ``text`` for each). The record's text is their values
joined with ``joiner`` in the order the field map lists them, which is column order in the
introspector's proposals and in the UI editor. Every value is kept exactly as written, an empty
one included (``"title" + joiner + ""``), so the rule is reversible given the joiner; a row where
one of the fields is missing or null is ``missing_text``, one that is not a string is
``wrong_type``, and one where all of them are blank is ``missing_text``.

Introspection proposes every free-text field of the table (prose, or a short title unique per
row whose value recurs in the main text or that is named like one), and for class ids without
names (``1``..``14``) looks for a label-name file beside the data (``classes.txt``,
``labels.json``, ``*.names``, or any small file of that shape; see
``brewslm.sources.class_labels.find_label_names``): when one names every id, the proposal carries
``label_names`` as an ``{id: name}`` object (kept in the import's manifest, so the ids stay
recoverable), and the evidence names the file and whether the ids were read 0- or 1-based.
Otherwise the evidence says the ids have no names and they are kept.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.mappers._options import OptionsCache
from brewslm.mappers._sniffing import (
    ANSWER_NAMES,
    LABEL_NAMES,
    QUESTION_NAMES,
    QUESTION_SHARE,
    children,
    choose_text_field,
    describe_values,
    is_answer_name,
    is_free_text,
    is_id_like_name,
    is_identifier,
    is_label_like,
    is_metadata,
    is_text,
    label_candidates,
    leaf_name,
    occurrence_rate,
    pair_verdict,
    question_share,
    speaker_roles,
    unmapped_fields,
)
from brewslm.mappers.base import (
    MISSING,
    SOURCE_ID_FIELD,
    FieldSpec,
    Mapper,
    Proposal,
    Record,
    Rejection,
    attach_source_id,
    get_path,
    label_to_str,
    name_label,
    read_label,
    read_label_names,
    read_text,
    type_name,
)
from brewslm.mappers.profile import SampleProfile
from brewslm.sources.class_labels import class_ids, find_label_names

TEXT_CANDIDATES = (
    "text",
    "sentence",
    "utterance",
    "query",
    "review",
    "content",
    "document",
    "body",
    "comment",
    "message",
    "tweet",
    "question",
    "input",
    "prompt",
    "review_text",
    "sentence1",
    "title",
    "headline",
)
LABEL_CANDIDATES = LABEL_NAMES
DEFAULT_JOINER = "\n\n"
# names under which a short field is the title of the text beside it
TITLE_NAMES = ("title", "headline", "subject", "summary", "heading")
# fields named for another mapper's role (QA, RAG, chat, preferences) are never joined into the
# text: leaving them unmapped keeps the "richer than text + label" discount
_ROLE_NAMES = frozenset(n.lower() for n in (*QUESTION_NAMES, *ANSWER_NAMES)) | {
    "context",
    "contexts",
    "passage",
    "passages",
    "chosen",
    "rejected",
    "messages",
    "conversation",
}
MAX_TEXT_FIELDS = 4
_PROSE_WORDS = 4.0  # a second free-text field: at least this many words per value on average
_MAX_DIGIT_SHARE = 0.25  # a field whose characters are more digits than this holds dates or codes
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# what joins several labels in one value ("3,10"), in the order they are tried
MULTI_LABEL_DELIMITERS = (",", ";", "|", " ")
# a label given as scores per class: how many classes, and how many rows must be one-hot
MAX_SCORE_CLASSES = 50
_ONE_HOT_SHARE = 0.8


@dataclass(frozen=True)
class _Options:
    names: dict[str, str] | None
    allowed: frozenset[str] | None
    joiner: str = DEFAULT_JOINER
    multi_label_delimiter: str | None = None


class LabelToClassificationMapper(Mapper):
    id = "label_to_classification"
    task_profile = "classification"
    description = (
        "Text (one field, or several joined) + class label (string, integer id or boolean) -> classification records."
    )
    fields = (
        FieldSpec(
            "text",
            candidates=TEXT_CANDIDATES,
            joinable=True,
            description="the text to classify; several source fields may feed it (joined with the joiner option)",
        ),
        FieldSpec("label", candidates=LABEL_CANDIDATES, description="its class label"),
        SOURCE_ID_FIELD,
    )
    options_doc = {
        "labels": "list of allowed labels (after label_names); any other label is rejected as label_not_allowed",
        "label_names": "names for label ids: a list (index -> name) or an object (id -> name), "
        'e.g. ["negative", "positive"]',
        "joiner": "the text between the values when several source fields feed 'text', in field-map order "
        '(default two newlines, "\\n\\n")',
        "multi_label_delimiter": 'the string joining several labels in one value (e.g. "," in "3,10"): such rows '
        "are rejected as multi_label (this mapper is single-label)",
    }

    def canonical_map(self, field_map: Mapping[str, str]) -> dict[str, Any]:  # type: ignore[override]
        """canonical -> source, where ``text`` fed by several source fields maps to the tuple of
        them in field-map order (``map_row`` joins their values)."""
        fields: dict[str, Any] = Mapper.canonical_map(field_map)
        texts = tuple(src for src, dst in field_map.items() if dst == "text")
        if len(texts) > 1:
            fields["text"] = texts
        return fields

    def output_schema(self, options: Mapping[str, Any]) -> dict[str, Any]:
        opts = _cached_options(options)
        return {"labels": sorted(opts.allowed)} if opts.allowed is not None else {}

    def parse_options(self, options: Mapping[str, Any]) -> Any:
        return _cached_options(options)

    def map_row(
        self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]
    ) -> "list[Record] | Rejection":
        opts = _cached_options(options)
        source = fields.get("text")
        if isinstance(source, (tuple, list)):
            text = read_joined_text(row, source, opts.joiner)
        else:
            text = read_text(row, source, "missing_text")
        if isinstance(text, Rejection):
            return text
        label_path = fields.get("label")
        value = get_path(row, label_path) if label_path else MISSING
        if isinstance(value, dict):
            label = label_from_scores(value, label_path)
        elif value is MISSING or value is None:
            label = read_label(row, label_path)  # the missing-label rejection, worded in one place
        else:
            label = label_to_str(value, label_path or "label")  # the value already read: no second lookup
        if isinstance(label, Rejection):
            return label
        joined = _multi_label(label, label_path, opts)
        if joined is not None:
            return joined
        label = name_label(label, opts.names, f"field '{fields.get('label')}'")
        if isinstance(label, Rejection):
            return label
        if opts.allowed is not None and label not in opts.allowed:
            return Rejection(
                "label_not_allowed",
                f"label '{label}' of field '{fields.get('label')}' is not one of the {len(opts.allowed)} allowed labels",
            )
        record: Record = {"text": text, "label": label}
        return attach_source_id([record], row, fields)

    # --- introspection ------------------------------------------------------------------------
    def sniff(self, profile: SampleProfile) -> Proposal | None:
        n = profile.n_rows
        if not n:
            return None
        label_field = profile.find(LABEL_CANDIDATES, lambda fp: is_label_like(fp, n))
        label_by_name = label_field is not None
        candidates = label_candidates(profile)
        scores = None if label_field is not None else one_hot_label_field(profile)
        if scores is not None:  # a label given as one-hot scores per class
            label_field = scores[0]
            label_by_name = leaf_name(label_field).lower() in LABEL_CANDIDATES
            candidates = [c for c in candidates if not c.startswith(label_field + ".")]
        if label_field is None:
            # no usual name: the top-level label-like field with the most classes (metadata such
            # as a split or language column usually has fewer values than the real label)
            label_field = next((c for c in candidates if "." not in c), None)
        if label_field is None:
            return None
        text_field, text_by_name = choose_text_field(profile, TEXT_CANDIDATES, exclude=[label_field], min_words=1.0)
        if text_field is None:
            text_field = _wordiest_unspaced_text(profile, exclude=[label_field])
        if text_field is None:
            return None
        text_fp, label_fp = profile.fields[text_field], profile.fields[label_field]
        words = mean_words(profile, text_field)
        if scores is not None:
            classes = scores[1]
            shown = ", ".join(f"'{c}'" for c in classes[:5]) + (", ..." if len(classes) > 5 else "")
            label_evidence = (
                f"field '{label_field}' holds scores per class, objects over {len(classes)} classes ({shown}), "
                f"one-hot in {scores[2]}/{label_fp.present} rows: the label is the class scored highest "
                "(a tie, or no score above 0, is rejected as ambiguous_label)"
            )
        else:
            label_evidence = (
                f"field '{label_field}' has {label_fp.distinct} distinct values over {label_fp.present} "
                f"rows: {describe_values(label_fp)}"
            )
        evidence = [label_evidence, f"field '{text_field}' is free text, {words:.1f} words per value on average"]
        confidence = 0.95 if label_by_name and text_by_name else 0.9 if label_by_name or text_by_name else 0.85
        if not is_free_text(text_fp, n, min_words=0) or words < 1.5:
            confidence -= 0.15
            evidence.append(f"'{text_field}' values are very short for free text")
        confidence = _weigh_other_readings(
            profile, label_field, label_by_name, text_field, candidates, confidence, evidence
        )
        id_field = profile.find(SOURCE_ID_FIELD.candidates, lambda fp: fp.frac("list") == 0 and fp.frac("object") == 0)
        if id_field is None:
            id_field = _nested_source_id(profile, exclude=[label_field, text_field])
        texts = text_fields(profile, text_field, exclude=[label_field, id_field or ""], evidence=evidence)
        field_map = {field: "text" for field in texts}
        field_map[label_field] = "label"
        if id_field and id_field not in field_map:
            field_map[id_field] = "id"
        multi = None if scores is not None else multi_label_reading(profile, label_field)
        options = _label_names_from_beside(profile, label_field, evidence, multi[0] if multi else None)
        if multi is not None:
            delimiter, rows, example = multi
            options["multi_label_delimiter"] = delimiter
            evidence.append(
                f"{rows} of {label_fp.present} rows are multi-label: their '{label_field}' joins several of the "
                f"column's own labels with '{delimiter}' (e.g. '{example}'); this mapper is single-label, so they "
                "are rejected as multi_label (option multi_label_delimiter), never kept as classes of their own"
            )
        confidence = _discount_unmapped(profile, field_map, confidence, evidence)
        verdict = pair_verdict(profile, label_field)
        if verdict:  # a verdict on two replies (preference_pair), not a class of a text
            evidence.append(f"{verdict}: a preference between them, not a class")
            confidence = min(confidence, 0.6)
        if speaker_roles(label_fp):  # turns of a conversation: the label is who speaks
            evidence.append(
                f"the values of '{label_field}' are chat roles: these rows are message turns, not labelled texts"
            )
            confidence = min(confidence, 0.5)
        return Proposal(self.id, field_map, round(confidence, 4), evidence, options)


# --- labels as several labels joined, or as scores per class -----------------------------------


def split_labels(label: str, delimiter: str) -> list[str] | None:
    """The labels joined in ``label`` by ``delimiter`` (each stripped), when it holds two or more
    non-blank ones; None for a single label."""
    if delimiter not in label:
        return None
    parts = [part.strip() for part in label.split(delimiter)]
    parts = [part for part in parts if part]
    return parts if len(parts) >= 2 else None


def _multi_label(label: str, path: str | None, opts: _Options) -> Rejection | None:
    """``multi_label`` (a defect of the row) for a label that joins several labels: by the
    ``multi_label_delimiter`` option, or, without it, when every part of it is a label_names id
    or name while the whole is neither."""
    if opts.multi_label_delimiter is not None:
        parts = split_labels(label, opts.multi_label_delimiter)
        if parts is not None:
            return Rejection(
                "multi_label",
                f"label '{label}' of field '{path}' joins {len(parts)} labels with "
                f"'{opts.multi_label_delimiter}'; this mapper is single-label",
                defect=True,
            )
        return None
    if opts.names is None or label in opts.names or label in opts.names.values():
        return None
    known = set(opts.names) | set(opts.names.values())
    for delimiter in MULTI_LABEL_DELIMITERS:
        parts = split_labels(label, delimiter)
        if parts is not None and all(part in known for part in parts):
            return Rejection(
                "multi_label",
                f"label '{label}' of field '{path}' joins {len(parts)} labels of label_names with "
                f"'{delimiter}'; this mapper is single-label",
                defect=True,
            )
    return None


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def label_from_scores(scores: Mapping[str, Any], path: str | None) -> "str | Rejection":
    """The label of a class -> score object (``{"baking": 0.0, "not_baking": 1.0}``): the one
    class with the highest score, its key read as any label is. A tie for the highest score or
    no score above 0 is ``ambiguous_label`` (a defect of the row); a score that is not a number
    or boolean is ``wrong_type``."""
    where = f"field '{path}'"
    if not scores:
        return Rejection("missing_label", f"{where} is an empty object of class scores")
    values: dict[Any, float] = {}
    for key, value in scores.items():
        score = _score(value)
        if score is None:
            return Rejection(
                "wrong_type",
                f"{where} is an object whose value for {key!r} is a {type_name(value)}, "
                "not a class score (number or boolean)",
            )
        values[key] = score
    top = max(values.values())
    best = [key for key, score in values.items() if score == top]
    if top <= 0:
        return Rejection("ambiguous_label", f"{where}: no class scores above 0", defect=True)
    if len(best) > 1:
        shown = ", ".join(f"'{k}'" for k in best[:5])
        return Rejection(
            "ambiguous_label", f"{where}: {len(best)} classes share the top score {top:g} ({shown})", defect=True
        )
    return label_to_str(best[0], path or "label")


def multi_label_reading(profile: SampleProfile, label_field: str) -> tuple[str, int, str] | None:
    """``(delimiter, rows, example)`` when some values of the label column are several of the
    column's own single values (or class ids, when the single values are ids) joined by one of
    ``MULTI_LABEL_DELIMITERS``, and no value holds that delimiter otherwise ("very positive" is
    one label, not two); None when none is."""
    counts: Counter = Counter()
    for row in profile.rows:
        value = get_path(row, label_field)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            label = label_to_str(value, label_field)
            if isinstance(label, str):
                counts[label] += 1
    for delimiter in MULTI_LABEL_DELIMITERS:
        joined = {v: split_labels(v, delimiter) for v in counts if delimiter in v}
        if not joined:
            continue
        singles = {v for v in counts if v not in joined}
        ids = not singles or class_ids(singles) is not None

        def known(part: str) -> bool:
            return part in singles or (ids and class_ids([part]) is not None)

        if all(parts is not None and all(known(p) for p in parts) for parts in joined.values()):
            rows = sum(counts[v] for v in joined)
            example = max(joined, key=lambda v: counts[v])
            return delimiter, rows, example
    return None


def one_hot_label_field(profile: SampleProfile, exclude: tuple[str, ...] = ()) -> tuple[str, list[str], int] | None:
    """``(field, classes, one-hot rows)`` for a top-level field whose values are class -> score
    objects (numbers or booleans) over one small set of keys, one-hot (0/1 or false/true, one
    class on) in at least ``_ONE_HOT_SHARE`` of the rows; the one with the most rows wins."""
    n = profile.n_rows
    best = None
    for path in profile.top_level():
        fp = profile.fields[path]
        if path in exclude or fp.present < 0.8 * n or fp.frac("object") < 0.95:
            continue
        keys: Counter = Counter()
        one_hot = scored = 0
        for row in profile.rows:
            value = get_path(row, path)
            if not isinstance(value, dict):
                continue
            scores = [_score(v) for v in value.values()]
            if len(value) < 2 or any(s is None for s in scores) or any(len(str(k)) > 100 for k in value):
                scored = -1
                break
            scored += 1
            keys.update(value.keys())
            one_hot += all(s in (0.0, 1.0) for s in scores) and scores.count(1.0) == 1
        if scored <= 0 or len(keys) > MAX_SCORE_CLASSES or one_hot < _ONE_HOT_SHARE * scored:
            continue
        if best is None or one_hot > best[2]:
            best = (path, sorted(keys, key=lambda k: -keys[k]), one_hot)
    return best


def _word_count(text: str) -> float:
    """Words in a text; for Chinese and Japanese (no spaces) about one word per two characters."""
    words = len(text.split())
    if text.isascii():
        return float(words)
    cjk = len(_CJK.findall(text))
    return words + cjk / 2


def mean_words(profile: SampleProfile, path: str) -> float:
    """Words per string value of a field (see ``_word_count``; blank values count as none)."""
    values = [v for v in (get_path(row, path) for row in profile.rows) if isinstance(v, str)]
    return sum(_word_count(v) for v in values) / len(values) if values else 0.0


def _digit_share(profile: SampleProfile, path: str) -> float:
    """The share of a field's characters (spaces aside) that are digits: dates, times, codes."""
    chars = digits = 0
    for row in profile.rows:
        value = get_path(row, path)
        if isinstance(value, str):
            chars += len(value) - sum(map(str.isspace, value))
            digits += sum(map(str.isdigit, value))
    return digits / chars if chars else 0.0


def _wordiest_unspaced_text(profile: SampleProfile, exclude: list[str]) -> str | None:
    """The top-level text field with the most words per value counted as ``_word_count`` does
    (Chinese or Japanese written without spaces), for tables whose text no name points at."""
    n = profile.n_rows
    best, most = None, 2.5
    for path in profile.top_level():
        fp = profile.fields[path]
        if path in exclude or is_id_like_name(path) or not is_free_text(fp, n, min_words=0) or fp.mean_chars < 5:
            continue
        words = mean_words(profile, path)
        if words > most:
            best, most = path, words
    return best


def _recurs_in(profile: SampleProfile, path: str, text_path: str, limit: int = 300) -> tuple[int, int]:
    """``(found, checked)``: in how many of the first ``limit`` rows the value of ``path`` occurs
    verbatim (ignoring case) in the text at ``text_path`` (a title repeated in its article)."""
    found = checked = 0
    for row in profile.rows[:limit]:
        value, text = get_path(row, path), get_path(row, text_path)
        if isinstance(value, str) and value.strip() and isinstance(text, str):
            checked += 1
            found += value.strip().lower() in text.lower()
    return found, checked


def text_fields(profile: SampleProfile, main: str, *, exclude: list[str], evidence: list[str]) -> list[str]:
    """The free-text fields that make up the text with ``main``, in column order: other top-level
    string fields, present wherever ``main`` is, that are prose (several words per value, mostly
    distinct) or the text's title (short, unique per row, and named like a title or recurring in
    ``main``). Metadata (ids, dates, codes, constants), label-like fields and fields named for
    another mapper's role (question, answer, context...) are never joined."""
    n = profile.n_rows
    main_fp = profile.fields[main]
    chosen: dict[str, str] = {}
    for path in profile.top_level():
        if path == main or path in exclude or len(chosen) >= MAX_TEXT_FIELDS - 1:
            continue
        fp = profile.fields[path]
        name = leaf_name(path).lower()
        if name in _ROLE_NAMES or is_id_like_name(path) or not is_text(fp):
            continue
        words = mean_words(profile, path)
        if is_metadata(path, fp) and not (is_identifier(fp) and words > 1.5):  # unspaced CJK text is no id
            continue
        if fp.present < 0.95 * main_fp.present or fp.json_like > 0.5 * max(fp.str_count, 1):
            continue
        if is_label_like(fp, n) or _digit_share(profile, path) > _MAX_DIGIT_SHARE:
            continue
        unique = fp.distinct_overflow or fp.distinct >= 0.9 * fp.present
        if words >= _PROSE_WORDS and (fp.distinct_overflow or fp.distinct >= 0.3 * fp.present):
            chosen[path] = f"'{path}' ({words:.1f} words per value)"
            continue
        if not unique or words < 1:
            continue
        if name in TITLE_NAMES:
            chosen[path] = f"'{path}' (a title by its name, {words:.1f} words per value, unique per row)"
            continue
        found, checked = _recurs_in(profile, path, main)
        if checked and found >= 0.6 * checked:
            chosen[path] = (
                f"'{path}' (a title: {words:.1f} words per value, unique per row, "
                f"its value recurs in '{main}' in {found}/{checked} rows)"
            )
    if not chosen:
        return [main]
    ordered = [p for p in profile.top_level() if p == main or p in chosen]
    if main not in ordered:  # a nested main text (never so today: text fields are top-level)
        ordered.insert(0, main)
    evidence.append(
        f"{len(ordered)} free-text fields make the text, joined in column order with the joiner option "
        f'(default "\\n\\n"): '
        + " + ".join(f"'{p}'" for p in ordered)
        + "; besides the main text '"
        + main
        + "': "
        + ", ".join(chosen[p] for p in ordered if p in chosen)
    )
    return ordered


def _label_names_from_beside(
    profile: SampleProfile,
    label_field: str,
    evidence: list[str],
    delimiter: str | None = None,
) -> dict[str, Any]:
    """Options naming class ids from a label-name file beside the data, with the evidence; none
    (the ids kept, and said so) when the labels are ids and no such file names them all. With a
    multi-label ``delimiter``, the ids are those of the single labels and of the joined ones' parts."""
    values = [get_path(row, label_field) for row in profile.rows]
    values = [v for v in values if v is not MISSING and v is not None]
    if delimiter is not None:
        values = [part for v in values for part in (split_labels(v, delimiter) or [v] if isinstance(v, str) else [v])]
    ids = class_ids(values)
    if ids is None:
        return {}
    found = find_label_names(profile.origin, ids)
    shown = f"{min(ids)}..{max(ids)}" if len(ids) > 2 else ", ".join(str(i) for i in sorted(ids))
    if found is None:
        evidence.append(
            f"labels of '{label_field}' are class ids without names ({shown}); no label-name file "
            "beside the data names them all, so the ids are kept"
        )
        return {}
    examples = ", ".join(f"{i} = '{found.names[str(i)]}'" for i in sorted(ids)[:3])
    evidence.append(
        f"labels of '{label_field}' are class ids ({shown}); named from {found.describe()}: {examples}"
        f"{', ...' if len(ids) > 3 else ''} (option label_names, kept in the manifest; "
        "--option label_names=null keeps the ids)"
    )
    return {"label_names": dict(found.names)}


def _nested_source_id(profile: SampleProfile, exclude: list[str]) -> str | None:
    """A row id one object level down (``meta: {"id": "2"}``): a field named like an id under an
    object that holds nothing but metadata (ids, constants), so mapping it loses nothing."""
    for path in profile.fields:
        if path.count(".") != 1 or path in exclude or leaf_name(path).lower() not in SOURCE_ID_FIELD.candidates:
            continue
        fp = profile.fields[path]
        parent = path.split(".", 1)[0]
        if parent in exclude or fp.frac("list") or fp.frac("object") or fp.frac("boolean") or not is_identifier(fp):
            continue
        if profile.fields[parent].frac("object") >= 0.95 and all(
            is_metadata(child, profile.fields[child]) for child in children(profile, parent)
        ):
            return path
    return None


def read_joined_text(row: Any, paths: "tuple[str, ...] | list[str]", joiner: str) -> "str | Rejection":
    """The values of several text fields joined with ``joiner``, each exactly as written (an
    empty one too, so the join stays reversible); a missing or null field is ``missing_text``, a
    value that is not a string ``wrong_type``, all of them blank ``missing_text``."""
    parts: list[str] = []
    for path in paths:
        value = get_path(row, path)
        if value is MISSING or value is None:
            return Rejection("missing_text", f"field '{path}' is missing (text joins {', '.join(paths)})")
        if not isinstance(value, str):
            return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where text is expected")
        parts.append(value)
    if not any(part.strip() for part in parts):
        return Rejection("missing_text", f"fields {', '.join(paths)} are all empty")
    return joiner.join(parts)


def _weigh_other_readings(
    profile: SampleProfile,
    label_field: str,
    label_by_name: bool,
    text_field: str,
    candidates: list[str],
    confidence: float,
    evidence: list[str],
) -> float:
    """Lower the confidence where the same table reads better as something else, and name the
    other label candidates so a person can overrule the choice (``--field-map COLUMN=label``)."""
    others = [c for c in candidates if c not in (label_field, text_field)]
    if others:
        shown = ", ".join(f"'{c}' ({profile.fields[c].distinct} values)" for c in others[:3])
        why = "its usual label name" if label_by_name else "the most classes"
        evidence.append(f"also label-like: {shown}; '{label_field}' was chosen for {why}")
        if not label_by_name:
            confidence -= 0.05  # nothing but the class count tells the real label from metadata
    if is_answer_name(label_field):
        asked = question_share(profile, text_field)
        if asked >= QUESTION_SHARE:
            evidence.append(
                f"'{text_field}' reads as questions ({asked:.0%}) and '{label_field}' is named as their answer: "
                "QA with short answers rather than classes"
            )
            confidence = min(confidence, 0.7)
    if not label_by_name:
        found, checked = occurrence_rate(profile, label_field, text_field)
        if checked and found / checked >= 0.8:
            evidence.append(
                f"values of '{label_field}' occur in '{text_field}' in {found}/{checked} rows: "
                "more like a value extracted from the text than a class"
            )
            confidence -= 0.15
    return confidence


def _discount_unmapped(
    profile: SampleProfile, field_map: dict[str, str], confidence: float, evidence: list[str]
) -> float:
    """A text + label reading that leaves lists, objects or more free text unmapped is probably
    the wrong reading of a richer dataset (QA with an is_impossible flag, chat logs with a topic)."""
    rest = unmapped_fields(profile, field_map)
    structured = [p for p, kind in rest.items() if kind in ("list", "object")]
    texts = [p for p, kind in rest.items() if kind == "text"]
    dated = [p for p in texts if _digit_share(profile, p) > _MAX_DIGIT_SHARE]
    if dated:  # timestamps and codes ("Mon Apr 06 22:19:45 PDT 2009") have words but are no text
        evidence.append(f"left out as dates or codes (mostly digits), not text: {', '.join(dated[:5])}")
        texts = [p for p in texts if p not in dated]
    if structured:
        evidence.append(f"structured fields left unmapped: {', '.join(structured[:5])}")
        return min(confidence, 0.55)
    if texts:
        evidence.append(f"more free text left unmapped: {', '.join(texts[:5])}")
        return confidence - 0.1 * min(len(texts), 3)
    return confidence


def _parse_options(options: Mapping[str, Any]) -> _Options:
    names = read_label_names(options.get("label_names"), "label_to_classification")
    raw_allowed = options.get("labels")
    allowed: frozenset[str] | None = None
    if raw_allowed is not None:
        if not isinstance(raw_allowed, (list, tuple)) or not raw_allowed:
            raise MapperError("label_to_classification option labels must be a non-empty list of labels")
        converted = [label_to_str(v, "labels") for v in raw_allowed]
        bad = [v for v, c in zip(raw_allowed, converted) if isinstance(c, Rejection)]
        if bad:
            raise MapperError(f"label_to_classification option labels: {bad[0]!r} is not a label")
        allowed = frozenset(converted)  # type: ignore[arg-type]
    joiner = options.get("joiner", DEFAULT_JOINER)
    if not isinstance(joiner, str) or not joiner:
        raise MapperError('label_to_classification option joiner must be a non-empty string, e.g. "\\n\\n"')
    delimiter = options.get("multi_label_delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or not delimiter):
        raise MapperError('label_to_classification option multi_label_delimiter must be a non-empty string, e.g. ","')
    return _Options(names, allowed, joiner, delimiter)


_cached_options = OptionsCache(_parse_options)

MAPPER = LabelToClassificationMapper()
