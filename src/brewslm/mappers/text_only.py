"""text_only: one text field -> ``{text}`` for language modeling.

The generic fallback: any table with a text column fits it, so its sniffer stays modest. It
reaches the acceptance threshold only when one text field is essentially all the data holds (ids
and always-null columns aside); when labels, lists, objects or further text sit beside it,
importing just the text would silently throw them away, so it scores at most 0.55 and a specific
mapper (or a person) has to decide.

Provenance is not task data: an object whose fields are all provenance (one value in every row,
always null, id-like names, unique strings such as URLs: ``meta: {"source": "CMU Movie Summary
Corpus"}``) tells nothing about any one text, so leaving it out does not hold the text back; the
evidence names it.
"""

from __future__ import annotations

from typing import Any, Mapping

from brewslm.introspection.profile import SampleProfile
from brewslm.mappers._sniffing import (
    children,
    choose_text_field,
    is_constant,
    is_id_like_name,
    is_identifier,
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
    read_text,
)

TEXT_CANDIDATES = ("text", "content", "document", "body", "passage", "article", "story", "raw_text", "raw",
                   "code", "markdown", "paragraph", "sentence", "data")


class TextOnlyMapper(Mapper):
    id = "text_only"
    task_profile = "language_modeling"
    description = "One text field -> plain-text records for language modeling."
    fields = (
        FieldSpec("text", candidates=TEXT_CANDIDATES, description="the text, kept exactly as written"),
        SOURCE_ID_FIELD,
    )
    options_doc: dict[str, str] = {}

    def map_row(self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]) -> "list[Record] | Rejection":
        text = read_text(row, fields.get("text"), "missing_text")
        if isinstance(text, Rejection):
            return text
        record: Record = {"text": text}
        return attach_source_id([record], row, fields)

    def sniff(self, profile: SampleProfile) -> Proposal | None:
        text_field, by_name = choose_text_field(profile, TEXT_CANDIDATES, min_words=1.0)
        if text_field is None:
            return None
        fp = profile.fields[text_field]
        field_map = {text_field: "text"}
        id_field = profile.find(SOURCE_ID_FIELD.candidates, lambda f: f.frac("list") == 0 and f.frac("object") == 0)
        if id_field and id_field != text_field:
            field_map[id_field] = "id"
        evidence = [f"field '{text_field}' is text, {fp.mean_words:.1f} words per value on average"]
        rest = unmapped_fields(profile, field_map)
        provenance = [p for p, kind in rest.items() if kind == "object" and is_provenance(profile, p)]
        for path in provenance:
            del rest[path]
        if provenance:
            evidence.append(f"left out as provenance (every field inside is constant, an id or empty): "
                            f"{', '.join(provenance[:5])}")
        others = [p for p in profile.top_level() if p not in field_map]
        if any(kind in ("label", "list", "object") for kind in rest.values()):
            confidence = 0.45
            evidence.append(
                "other fields carry task data and would be dropped: "
                + ", ".join(f"{p} ({kind})" for p, kind in list(rest.items())[:5])
            )
        elif rest:
            confidence = 0.55
            evidence.append(f"other fields would be dropped: {', '.join(list(rest)[:5])}")
        else:
            confidence = 0.85 if not others else 0.82
            evidence.append(
                "it is the only field" if not others
                else f"the other fields are ids, constants, provenance or empty: {', '.join(others[:5])}"
            )
            if fp.mean_words < 3:
                confidence -= 0.15
                evidence.append("its values are very short for running text")
            if not by_name:
                confidence -= 0.02
        return Proposal(self.id, field_map, round(confidence, 4), evidence)


def is_provenance(profile: SampleProfile, path: str) -> bool:
    """An object field whose profiled fields are all provenance: one value everywhere, always null,
    named like an id, or unique strings (a URL, a hash). Unique numbers (a page, a position) may
    still order or place the text, so an object holding them stays data a person should see."""
    fp = profile.fields[path]
    inner = children(profile, path)

    def provenance(child: str) -> bool:
        cp = profile.fields[child]
        if is_constant(cp) or cp.present == 0 or is_id_like_name(child):
            return True
        return is_identifier(cp) and cp.frac("string") >= 0.95

    return fp.frac("object") >= 0.95 and bool(inner) and all(provenance(child) for child in inner)


MAPPER = TextOnlyMapper()
