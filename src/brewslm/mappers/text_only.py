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

Text given as a LIST OF LINES (a poem's verses, a song's lines: ``"paragraphs": ["line 1", "line
2"]``) is read with the ``line_joiner`` option: the lines joined with it, each exactly as written
(blank lines included, stanza breaks stay). The rule is reversible: a row where a line holds the
joiner (or runs into it at its edge) is rejected (``joiner_in_line``), so splitting the text on the
joiner gives back exactly the source lines; without the option a list stays ``wrong_type``. The
sniffer proposes it (joiner ``"\n"``, or ``"\n\n"`` when some line holds a newline: the first on
which every sampled row splits back) when no string field is the text: a list of strings of
several words (or, in scripts written without spaces, characters) each, in nearly every row. Beside such a text,
short scalar fields (titles, author names, a form or genre: none named as a class label, none
half as long as the text) describe the document, they are not a task of their own; the evidence
names them as left out.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.mappers._sniffing import (
    LABEL_NAMES,
    children,
    choose_text_field,
    is_constant,
    is_id_like_name,
    is_identifier,
    leaf_name,
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
    read_text,
    type_name,
)
from brewslm.mappers.profile import SampleProfile

TEXT_CANDIDATES = (
    "text",
    "content",
    "document",
    "body",
    "passage",
    "article",
    "story",
    "raw_text",
    "raw",
    "code",
    "markdown",
    "paragraph",
    "sentence",
    "data",
)
LINES_CANDIDATES = ("lines", "paragraphs", "verses", "sentences", "text", "content", "body")
LINE_JOINERS = ("\n", "\n\n")  # the sniffer's choice, the first that no line holds
# scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Myanmar, Tibetan)
_UNSPACED = re.compile(r"[\u0e00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LINES_SHARE = 0.9  # rows holding the list of lines
ATTRIBUTE_SHARE = 0.5  # a describing field is at most this long, in characters, against the text


class TextOnlyMapper(Mapper):
    id = "text_only"
    task_profile = "language_modeling"
    description = "One text field -> plain-text records for language modeling."
    fields = (
        FieldSpec("text", candidates=TEXT_CANDIDATES, description="the text, kept exactly as written"),
        SOURCE_ID_FIELD,
    )
    options_doc: dict[str, str] = {
        "line_joiner": 'text given as a list of lines: the string placed between the lines (e.g. "\\n"); '
        "a row where a line holds it is rejected (joiner_in_line), so the join stays reversible",
    }

    def parse_options(self, options: Mapping[str, Any]) -> Any:
        joiner = options.get("line_joiner")
        if joiner is not None and (not isinstance(joiner, str) or not joiner):
            raise MapperError('text_only option line_joiner must be a non-empty string, e.g. "\\n"')
        return options

    def map_row(
        self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]
    ) -> "list[Record] | Rejection":
        joiner = options.get("line_joiner")
        value = get_path(row, fields["text"]) if joiner and fields.get("text") else MISSING
        if isinstance(value, list):
            text = join_lines(value, fields["text"], joiner)
        else:
            text = read_text(row, fields.get("text"), "missing_text")
        if isinstance(text, Rejection):
            return text
        record: Record = {"text": text}
        return attach_source_id([record], row, fields)

    def sniff(self, profile: SampleProfile) -> Proposal | None:
        text_field, by_name = choose_text_field(profile, TEXT_CANDIDATES, min_words=1.0)
        lines = lines_field(profile)
        if lines is not None and (
            text_field is None or (not by_name and lines[1] >= 2 * profile.fields[text_field].mean_chars)
        ):
            return self._sniff_lines(profile, *lines)
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
            evidence.append(
                f"left out as provenance (every field inside is constant, an id or empty): {', '.join(provenance[:5])}"
            )
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
                "it is the only field"
                if not others
                else f"the other fields are ids, constants, provenance or empty: {', '.join(others[:5])}"
            )
            if fp.mean_words < 3:
                confidence -= 0.15
                evidence.append("its values are very short for running text")
            if not by_name:
                confidence -= 0.02
        return Proposal(self.id, field_map, round(confidence, 4), evidence)

    def _sniff_lines(self, profile: SampleProfile, path: str, chars: float, per_line: float, joiner: str) -> Proposal:
        """The proposal for text given as a list of lines (see the module notes)."""
        field_map = {path: "text"}
        id_field = profile.find(SOURCE_ID_FIELD.candidates, lambda f: f.frac("list") == 0 and f.frac("object") == 0)
        if id_field and id_field != path:
            field_map[id_field] = "id"
        evidence = [
            f"field '{path}' holds the text as a list of lines ({per_line:.1f} characters per line, "
            f"{chars:.0f} per text on average): joined with {joiner!r} (option line_joiner; a row where "
            "a line holds the joiner is rejected, so the join is reversible)"
        ]
        rest = {
            p: kind
            for p, kind in unmapped_fields(profile, field_map).items()
            if not (kind == "object" and is_provenance(profile, p))
        }
        describing = [p for p in rest if describes(profile, p, chars)]
        data = [p for p in rest if p not in describing]
        # a class named as such, even one value per row (grouped examples: {"intent": ..., "examples": [...]})
        data += [
            p
            for p in profile.top_level()
            if p not in rest and p != path and leaf_name(p).lower() in LABEL_NAMES and profile.fields[p].present
        ]
        rest = {**rest, **{p: "label" for p in data if p not in rest}}
        if data:
            confidence = 0.45 if any(rest[p] in ("label", "list", "object") for p in data) else 0.55
            evidence.append(
                "other fields carry task data and would be dropped: " + ", ".join(f"{p} ({rest[p]})" for p in data[:5])
            )
        else:
            confidence = 0.82 if leaf_name(path).lower() in LINES_CANDIDATES else 0.8
            if describing:
                evidence.append(
                    "left out as the document's attributes (short titles, names or kinds, none named as a "
                    "class label, each under half the text's length): "
                    + ", ".join(f"{p} ({rest[p]}, {profile.fields[p].distinct} values)" for p in describing[:6])
                )
        return Proposal(self.id, field_map, confidence, evidence, {"line_joiner": joiner})


def join_lines(value: list[Any], path: str, joiner: str) -> "str | Rejection":
    """A list of lines joined with ``joiner``, each line exactly as written; a line that is not a
    string is ``wrong_type``, one holding the joiner (or whose edge runs into it, so that the text
    would not split back into the same lines) ``joiner_in_line``, no line with text ``missing_text``."""
    for i, line in enumerate(value):
        if not isinstance(line, str):
            return Rejection("wrong_type", f"field '{path}' line {i} is a {type_name(line)} where text is expected")
        if joiner in line:
            return Rejection(
                "joiner_in_line",
                f"field '{path}' line {i} holds the line joiner {joiner!r}; "
                "joining would not split back into the same lines",
            )
    if not any(line.strip() for line in value):
        return Rejection("missing_text", f"field '{path}' has no line with text")
    text = joiner.join(value)
    if text.split(joiner) != value:  # a line's edge and the joiner run together ("a\n" + "\n\n")
        return Rejection(
            "joiner_in_line",
            f"field '{path}': lines ending or starting like the joiner {joiner!r} "
            "would not split back into the same lines",
        )
    return text


def lines_field(profile: SampleProfile) -> tuple[str, float, float, str] | None:
    """``(field, characters per text, characters per line, joiner)`` for the top-level field that
    holds the text as a list of lines: lists of strings in nearly every row (``LINES_SHARE``), of
    several words or characters per line (tokens are one word each), not running parallel to
    another list (``_runs_parallel``), the most text per row of such fields. The joiner is the
    first of ``LINE_JOINERS`` on which every row splits back."""
    n = profile.n_rows
    best = None
    for path in profile.top_level():
        fp = profile.fields[path]
        if fp.present < LINES_SHARE * n or fp.frac("list") < LINES_SHARE or fp.item_frac("string") < 1.0:
            continue
        lists = [v for v in (get_path(r, path) for r in profile.rows) if isinstance(v, list) and v]
        items = [line for v in lists for line in v]
        if len(lists) < LINES_SHARE * n or not items or _runs_parallel(profile, path):
            continue
        per_line = sum(len(line) for line in items) / len(items)
        words = sum(len(line.split()) for line in items) / len(items)
        unspaced = sum(len(_UNSPACED.findall(line)) for line in items) / max(1.0, per_line * len(items))
        if words < 2 and not (per_line >= 4 and unspaced >= 0.5):
            continue  # tokens, one word each (in scripts without spaces, a few characters)
        joiner = next((j for j in LINE_JOINERS if all(j.join(v).split(j) == v for v in lists)), None)
        if joiner is None:
            continue
        chars = sum(len(joiner.join(v)) for v in lists) / len(lists)
        if best is None or chars > best[1]:
            best = (path, chars, per_line, joiner)
    return best


def _runs_parallel(profile: SampleProfile, path: str) -> bool:
    """Another list field as long as ``path``'s in (nearly) every row: the two lists are records
    side by side (texts and their labels, questions and answers), not one text's lines."""
    for other in profile.top_level():
        if other == path or profile.fields[other].frac("list") < LINES_SHARE:
            continue
        pairs = [
            (len(a), len(b))
            for a, b in ((get_path(r, path), get_path(r, other)) for r in profile.rows)
            if isinstance(a, list) and isinstance(b, list)
        ]
        if len(pairs) >= LINES_SHARE * profile.n_rows and sum(x == y for x, y in pairs) >= 0.95 * len(pairs):
            return True
    return False


def describes(profile: SampleProfile, path: str, text_chars: float) -> bool:
    """A short string field beside a document (a title, an author's name, a form): single-line, not named as a class label, at most ``ATTRIBUTE_SHARE`` of the text's
    length on average."""
    fp = profile.fields.get(path)
    if fp is None or fp.frac("string") < 0.95 or leaf_name(path).lower() in LABEL_NAMES:
        return False
    return not fp.multiline and fp.mean_chars <= ATTRIBUTE_SHARE * text_chars


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
