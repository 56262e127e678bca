"""text_only: one text field -> ``{text}`` for language modeling.

The generic fallback: any table with a text column fits it, so its sniffer stays modest. It
reaches the acceptance threshold only when one text field is essentially all the data holds (ids
and always-null columns aside); when labels, lists, objects or further text sit beside it,
importing just the text would silently throw them away, so it scores at most 0.55 and a specific
mapper (or a person) has to decide.
"""

from __future__ import annotations

from typing import Any, Mapping

from brewslm.introspection.profile import SampleProfile
from brewslm.mappers._sniffing import choose_text_field, unmapped_fields
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
                "it is the only field" if not others else f"the other fields are ids or empty: {', '.join(others[:5])}"
            )
            if fp.mean_words < 3:
                confidence -= 0.15
                evidence.append("its values are very short for running text")
            if not by_name:
                confidence -= 0.02
        return Proposal(self.id, field_map, round(confidence, 4), evidence)


MAPPER = TextOnlyMapper()
