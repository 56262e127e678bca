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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.introspection.profile import SampleProfile
from brewslm.mappers._options import OptionsCache
from brewslm.mappers._sniffing import (
    LABEL_NAMES,
    QUESTION_SHARE,
    choose_text_field,
    describe_values,
    is_answer_name,
    is_free_text,
    is_label_like,
    label_candidates,
    occurrence_rate,
    question_share,
    unmapped_fields,
)
from brewslm.mappers.base import (
    SOURCE_ID_FIELD,
    FieldSpec,
    Mapper,
    Proposal,
    Record,
    Rejection,
    attach_source_id,
    label_to_str,
    read_label,
    read_text,
)

TEXT_CANDIDATES = ("text", "sentence", "utterance", "query", "review", "content", "document", "body", "comment",
                   "message", "tweet", "question", "input", "prompt", "review_text", "sentence1", "title", "headline")
LABEL_CANDIDATES = LABEL_NAMES


@dataclass(frozen=True)
class _Options:
    names: dict[str, str] | None
    allowed: frozenset[str] | None


class LabelToClassificationMapper(Mapper):
    id = "label_to_classification"
    task_profile = "classification"
    description = "Text + class label (string, integer id or boolean) -> classification records."
    fields = (
        FieldSpec("text", candidates=TEXT_CANDIDATES, description="the text to classify"),
        FieldSpec("label", candidates=LABEL_CANDIDATES, description="its class label"),
        SOURCE_ID_FIELD,
    )
    options_doc = {
        "labels": "list of allowed labels (after label_names); any other label is rejected as label_not_allowed",
        "label_names": "names for label ids: a list (index -> name) or an object (id -> name), "
                       "e.g. [\"negative\", \"positive\"]",
    }

    def output_schema(self, options: Mapping[str, Any]) -> dict[str, Any]:
        opts = _cached_options(options)
        return {"labels": sorted(opts.allowed)} if opts.allowed is not None else {}

    def parse_options(self, options: Mapping[str, Any]) -> Any:
        return _cached_options(options)

    def map_row(self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]) -> "list[Record] | Rejection":
        opts = _cached_options(options)
        text = read_text(row, fields.get("text"), "missing_text")
        if isinstance(text, Rejection):
            return text
        label = read_label(row, fields.get("label"))
        if isinstance(label, Rejection):
            return label
        if opts.names is not None:
            if label in opts.names:
                label = opts.names[label]
            elif label not in opts.names.values():
                return Rejection(
                    "label_not_allowed", f"label '{label}' of field '{fields.get('label')}' has no entry in label_names"
                )
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
        if label_field is None:
            # no usual name: the top-level label-like field with the most classes (metadata such
            # as a split or language column usually has fewer values than the real label)
            label_field = next((c for c in candidates if "." not in c), None)
        if label_field is None:
            return None
        text_field, text_by_name = choose_text_field(profile, TEXT_CANDIDATES, exclude=[label_field], min_words=1.0)
        if text_field is None:
            return None
        text_fp, label_fp = profile.fields[text_field], profile.fields[label_field]
        evidence = [
            f"field '{label_field}' has {label_fp.distinct} distinct values over {label_fp.present} rows: "
            f"{describe_values(label_fp)}",
            f"field '{text_field}' is free text, {text_fp.mean_words:.1f} words per value on average",
        ]
        confidence = 0.95 if label_by_name and text_by_name else 0.9 if label_by_name or text_by_name else 0.85
        if not is_free_text(text_fp, n, min_words=1.5):
            confidence -= 0.15
            evidence.append(f"'{text_field}' values are very short for free text")
        confidence = _weigh_other_readings(profile, label_field, label_by_name, text_field, candidates, confidence, evidence)
        field_map = {text_field: "text", label_field: "label"}
        id_field = profile.find(SOURCE_ID_FIELD.candidates, lambda fp: fp.frac("list") == 0 and fp.frac("object") == 0)
        if id_field and id_field not in field_map:
            field_map[id_field] = "id"
        confidence = _discount_unmapped(profile, field_map, confidence, evidence)
        return Proposal(self.id, field_map, round(confidence, 4), evidence)


def _weigh_other_readings(
    profile: SampleProfile, label_field: str, label_by_name: bool, text_field: str,
    candidates: list[str], confidence: float, evidence: list[str],
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


def _discount_unmapped(profile: SampleProfile, field_map: dict[str, str], confidence: float, evidence: list[str]) -> float:
    """A text + label reading that leaves lists, objects or more free text unmapped is probably
    the wrong reading of a richer dataset (QA with an is_impossible flag, chat logs with a topic)."""
    rest = unmapped_fields(profile, field_map)
    structured = [p for p, kind in rest.items() if kind in ("list", "object")]
    texts = [p for p, kind in rest.items() if kind == "text"]
    if structured:
        evidence.append(f"structured fields left unmapped: {', '.join(structured[:5])}")
        return min(confidence, 0.55)
    if texts:
        evidence.append(f"more free text left unmapped: {', '.join(texts[:5])}")
        return confidence - 0.1 * min(len(texts), 3)
    return confidence


def _parse_options(options: Mapping[str, Any]) -> _Options:
    raw_names = options.get("label_names")
    names: dict[str, str] | None = None
    if raw_names is not None:
        if isinstance(raw_names, (list, tuple)):
            pairs = list(enumerate(raw_names))
        elif isinstance(raw_names, Mapping):
            pairs = list(raw_names.items())
        else:
            raise MapperError("label_to_classification option label_names must be a list or an object of names")
        names = {}
        for key, name in pairs:
            key_str, name_str = label_to_str(key, "label_names"), label_to_str(name, "label_names")
            if isinstance(key_str, Rejection) or isinstance(name_str, Rejection) or not isinstance(name, str):
                raise MapperError(f"label_to_classification option label_names: entry {key!r} -> {name!r} is not a name")
            names[key_str] = name_str
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
    return _Options(names, allowed)


_cached_options = OptionsCache(_parse_options)

MAPPER = LabelToClassificationMapper()
