"""bio_to_spans: token lists with BIO-family tags -> text with character spans (span_set).

Input: a token list and a parallel tag list (CoNLL/WNUT ``{tokens, tags}``, HF ``{tokens,
ner_tags}``), tags as strings (``B-PER``, ``I-PER``, ``O``; ``B_PER`` also reads) or as integers
named by the ``tag_names`` option (HF ``ClassLabel`` ids).

Schemes: ``iob2`` (= ``bio``: every entity starts with B-), ``iob1`` (entities start with I-, B-
only separates two adjacent entities of the same type), ``bioes`` (= ``iobes``) and ``bilou``
(single-token entities S-/U-, last token E-/L-). ``auto`` (the default) reads each row as
``bilou`` when it uses L-/U- tags, ``bioes`` when it uses E-/S- tags and ``iob2`` otherwise; IOB1
data must be named (the sniffer does that, per dataset, when the sample looks like IOB1).

Output: ``text`` = the tokens joined by ``joiner`` (one space by default; the sniffer picks ``""``
when the tokens are single characters, the text's own spaces among them: character-level tagging,
as in Korean or Chinese NER, where a space between tokens would double every real one), ``spans`` = one
``{start, end, label}`` per entity with end-exclusive character offsets into that text, plus
``tokens`` and the ``tags`` rewritten as IOB2 (so every scheme reaches training in one form).

Strict by default: a tag sequence that breaks the scheme (I-X after O or after another type, an
entity left open in BIOES...) is rejected as ``invalid_bio_sequence``, naming the token. With
``repair=true`` such tags are read leniently instead: a stray inside tag starts an entity (the
usual IOB1-style reading), an unclosed BIOES entity ends where the next one starts or at O.

``spans_to_bio`` goes the other way (spans over a joined text -> tags) for evaluation and tests.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from brewslm.errors import MapperError
from brewslm.mappers._options import OptionsCache
from brewslm.mappers._sniffing import leaf_name
from brewslm.mappers.base import (
    SOURCE_ID_FIELD,
    FieldSpec,
    Mapper,
    Proposal,
    Record,
    Rejection,
    attach_source_id,
    get_path,
    read_list,
    type_name,
)
from brewslm.mappers.profile import SampleProfile

SCHEMES = ("auto", "iob2", "bio", "iob1", "bioes", "iobes", "bilou")
_SCHEME_ALIASES = {"bio": "iob2", "iobes": "bioes"}
_SCHEME_PREFIXES = {"iob2": "BIO", "iob1": "BIO", "bioes": "BIOES", "bilou": "BILOU"}
# BILOU letters read as their BIOES equivalents
_PREFIX_NORMAL = {"B": "B", "I": "I", "O": "O", "E": "E", "S": "S", "L": "E", "U": "S"}
_TAG = re.compile(r"^([BIOESLU])(?:[-_](\S.*))?$")


@dataclass(frozen=True)
class Entity:
    """Tokens ``[start, end)`` of one entity of type ``label``."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class _Options:
    scheme: str
    joiner: str
    tag_names: tuple[str, ...] | None
    repair: bool


class BadSequence(ValueError):
    """A tag sequence that does not follow its scheme; the message names the token."""


def parse_tag(tag: str) -> tuple[str, str]:
    """``("B", "PER")`` for ``B-PER``, ``("O", "")`` for ``O``; BILOU letters become BIOES ones."""
    match = _TAG.match(tag.strip())
    if match is None or (match.group(1) != "O" and not match.group(2)) or (match.group(1) == "O" and match.group(2)):
        raise BadSequence(f"'{tag}' is not a BIO-style tag (O, B-X, I-X, E-X, S-X, L-X, U-X)")
    return _PREFIX_NORMAL[match.group(1)], match.group(2) or ""


def decode(tags: Sequence[str], scheme: str = "auto", *, repair: bool = False) -> list[Entity]:
    """Entities of a tag sequence. Raises ``BadSequence`` for a tag that breaks ``scheme`` (unless
    ``repair``) or is not a tag of that scheme at all."""
    scheme = _SCHEME_ALIASES.get(scheme, scheme)
    parsed = []
    for i, tag in enumerate(tags):
        try:
            parsed.append(parse_tag(tag))
        except BadSequence as exc:
            raise BadSequence(f"token {i}: {exc}") from None
    letters = {tag.strip()[0] for tag in tags}
    if scheme == "auto":
        scheme = "bilou" if letters & set("LU") else "bioes" if letters & set("ES") else "iob2"
    allowed = _SCHEME_PREFIXES[scheme]
    for i, tag in enumerate(tags):
        if tag.strip()[0] not in allowed:
            raise BadSequence(f"token {i}: tag '{tag}' does not belong to the {scheme} scheme ({', '.join(allowed)})")
    if scheme in ("iob2", "iob1"):
        return _decode_iob(parsed, iob1=scheme == "iob1", repair=repair, original=tags)
    return _decode_bioes(parsed, repair=repair, original=tags)


def _decode_iob(parsed: list[tuple[str, str]], *, iob1: bool, repair: bool, original: Sequence[str]) -> list[Entity]:
    entities: list[Entity] = []
    open_start, open_label = -1, ""

    def close(end: int) -> None:
        nonlocal open_start
        if open_start >= 0:
            entities.append(Entity(open_start, end, open_label))
            open_start = -1

    for i, (prefix, label) in enumerate(parsed):
        continues = open_start >= 0 and open_label == label
        if prefix == "O":
            close(i)
        elif prefix == "I":
            if continues:
                continue
            if not iob1 and not repair:
                after = f"'{original[i - 1]}'" if i else "the start"
                raise BadSequence(f"token {i}: '{original[i]}' follows {after}; an IOB2 entity starts with B-")
            close(i)
            open_start, open_label = i, label
        else:  # B
            if iob1 and not continues and not repair:
                after = f"'{original[i - 1]}'" if i else "the start"
                raise BadSequence(
                    f"token {i}: '{original[i]}' follows {after}; in IOB1 B- only separates two entities of one type"
                )
            close(i)
            open_start, open_label = i, label
    close(len(parsed))
    return entities


def _decode_bioes(parsed: list[tuple[str, str]], *, repair: bool, original: Sequence[str]) -> list[Entity]:
    entities: list[Entity] = []
    open_start, open_label = -1, ""

    def fail(i: int, why: str) -> None:
        if not repair:
            raise BadSequence(f"token {i}: '{original[i]}' {why}")

    def close(end: int) -> None:
        nonlocal open_start
        if open_start >= 0:
            entities.append(Entity(open_start, end, open_label))
            open_start = -1

    for i, (prefix, label) in enumerate(parsed):
        continues = open_start >= 0 and open_label == label
        if open_start >= 0 and not continues and prefix in ("I", "E"):
            fail(i, f"follows an open {open_label} entity without ending it")
        elif open_start >= 0 and prefix in ("O", "B", "S"):
            fail(i, f"follows an open {open_label} entity that was never ended with E-/L-")
        elif open_start < 0 and prefix in ("I", "E"):
            fail(i, "continues an entity that was never begun with B-")
        if prefix == "O":
            close(i)
        elif prefix == "S":
            close(i)
            entities.append(Entity(i, i + 1, label))
        elif prefix == "B":
            close(i)
            open_start, open_label = i, label
        elif prefix == "I":
            if not continues:
                close(i)
                open_start, open_label = i, label
        else:  # E
            if not continues:
                close(i)
                open_start, open_label = i, label
            close(i + 1)
    if open_start >= 0:
        fail(len(parsed) - 1, f"leaves the {open_label} entity open at the end of the sentence")
        close(len(parsed))
    return entities


def encode(n_tokens: int, entities: Sequence[Entity], scheme: str = "iob2") -> list[str]:
    """Tags for ``n_tokens`` tokens holding non-overlapping ``entities``, in ``scheme``."""
    scheme = _SCHEME_ALIASES.get(scheme, "iob2" if scheme == "auto" else scheme)
    if scheme not in _SCHEME_PREFIXES:
        raise ValueError(f"unknown tagging scheme '{scheme}'; use one of {', '.join(SCHEMES)}")
    tags = ["O"] * n_tokens
    previous: Entity | None = None
    for ent in sorted(entities, key=lambda e: (e.start, e.end)):
        if not 0 <= ent.start < ent.end <= n_tokens:
            raise ValueError(f"entity {ent} is outside {n_tokens} tokens")
        if previous is not None and ent.start < previous.end:
            raise ValueError(f"entities {previous} and {ent} overlap; tags hold one entity per token")
        length = ent.end - ent.start
        if scheme == "iob2":
            tags[ent.start : ent.end] = [f"B-{ent.label}"] + [f"I-{ent.label}"] * (length - 1)
        elif scheme == "iob1":
            adjacent = previous is not None and previous.end == ent.start and previous.label == ent.label
            first = "B" if adjacent else "I"
            tags[ent.start : ent.end] = [f"{first}-{ent.label}"] + [f"I-{ent.label}"] * (length - 1)
        else:
            single, last = ("S", "E") if scheme == "bioes" else ("U", "L")
            if length == 1:
                tags[ent.start] = f"{single}-{ent.label}"
            else:
                tags[ent.start : ent.end] = (
                    [f"B-{ent.label}"] + [f"I-{ent.label}"] * (length - 2) + [f"{last}-{ent.label}"]
                )
        previous = ent
    return tags


def token_offsets(tokens: Sequence[str], joiner: str = " ") -> list[tuple[int, int]]:
    """Character ``[start, end)`` of every token in ``joiner.join(tokens)``."""
    offsets = []
    pos = 0
    for i, token in enumerate(tokens):
        if i:
            pos += len(joiner)
        offsets.append((pos, pos + len(token)))
        pos += len(token)
    return offsets


def entities_to_spans(tokens: Sequence[str], entities: Sequence[Entity], joiner: str = " ") -> list[dict[str, Any]]:
    return entities_at_offsets(token_offsets(tokens, joiner), entities)


def entities_at_offsets(offsets: Sequence[tuple[int, int]], entities: Sequence[Entity]) -> list[dict[str, Any]]:
    """Character spans of token ``entities``, the tokens at character ``offsets``, sorted."""
    spans = [{"start": offsets[e.start][0], "end": offsets[e.end - 1][1], "label": e.label} for e in entities]
    return sorted(spans, key=lambda s: (s["start"], s["end"], s["label"]))


def spans_to_bio(
    tokens: Sequence[str],
    spans: Sequence[Mapping[str, Any]],
    *,
    joiner: str = " ",
    scheme: str = "iob2",
) -> list[str]:
    """Tags for ``tokens`` from character spans over ``joiner.join(tokens)``: every token that
    overlaps a span belongs to it; where spans overlap, the one that starts first (then the longer
    one) keeps the token. Used to score span predictions at token level and to round-trip tests."""
    return bio_at_offsets(token_offsets(tokens, joiner), spans, scheme=scheme)


def bio_at_offsets(
    offsets: Sequence[tuple[int, int]], spans: Sequence[Mapping[str, Any]], *, scheme: str = "iob2"
) -> list[str]:
    """``spans_to_bio`` for tokens at character ``offsets`` of any text (not only a joined one)."""
    owner: list[int | None] = [None] * len(offsets)
    ordered = sorted(spans, key=lambda s: (s["start"], -s["end"]))
    for index, span in enumerate(ordered):
        start, end = span["start"], span["end"]
        for t, (t_start, t_end) in enumerate(offsets):
            inside = t_start < end and t_end > start if t_end > t_start else start <= t_start < end
            if inside and owner[t] is None:
                owner[t] = index
    entities: list[Entity] = []
    t = 0
    while t < len(offsets):
        if owner[t] is None:
            t += 1
            continue
        end = t
        while end < len(offsets) and owner[end] == owner[t]:
            end += 1
        entities.append(Entity(t, end, str(ordered[owner[t]]["label"])))  # type: ignore[index]
        t = end
    return encode(len(offsets), entities, scheme)


class BioToSpansMapper(Mapper):
    id = "bio_to_spans"
    task_profile = "structured_extraction"
    description = "Tokens + BIO/IOB1/IOB2/BIOES/BILOU tags -> text + character spans (span_set)."
    fields = (
        FieldSpec(
            "tokens",
            candidates=("tokens", "words", "token", "toks", "sentence_tokens", "input_tokens"),
            description="list of tokens",
        ),
        FieldSpec(
            "tags",
            candidates=(
                "tags",
                "ner_tags",
                "bio_tags",
                "iob_tags",
                "ner",
                "ner_labels",
                "labels",
                "entity_tags",
                "tag",
                "label",
                "ner_tag",
            ),
            description="list of tags parallel to the tokens (strings, or integers with tag_names)",
        ),
        SOURCE_ID_FIELD,
    )
    options_doc = {
        "scheme": "tagging scheme: auto (default; per row bilou when L-/U- tags occur, bioes when E-/S- do, else "
        "iob2), iob2 (= bio), iob1, bioes (= iobes) or bilou",
        "joiner": "string placed between tokens to build the text (default: one space)",
        "tag_names": "list of tag names for integer tags, index -> name (e.g. the HF ClassLabel names)",
        "repair": "true: read tag sequences that break the scheme leniently (a stray I-X starts an entity) "
        "instead of rejecting them as invalid_bio_sequence (default false)",
    }

    def output_schema(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"scoring_mode": "span_set"}

    def parse_options(self, options: Mapping[str, Any]) -> Any:
        return _cached_options(options)

    def map_row(
        self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]
    ) -> "list[Record] | Rejection":
        opts = _cached_options(options)
        tokens = read_list(row, fields.get("tokens"), "missing_tokens")
        if isinstance(tokens, Rejection):
            return tokens
        if not tokens:
            return Rejection("missing_tokens", f"field '{fields.get('tokens')}' is an empty list")
        for i, token in enumerate(tokens):
            if not isinstance(token, str):
                return Rejection(
                    "wrong_type", f"token {i} of '{fields.get('tokens')}' is a {type_name(token)}, not text"
                )
        raw_tags = read_list(row, fields.get("tags"), "missing_tags")
        if isinstance(raw_tags, Rejection):
            return raw_tags
        if not raw_tags:
            return Rejection("missing_tags", f"field '{fields.get('tags')}' is an empty list")
        if len(raw_tags) != len(tokens):
            return Rejection(
                "length_mismatch",
                f"{len(tokens)} tokens in '{fields.get('tokens')}' but {len(raw_tags)} tags in '{fields.get('tags')}'",
            )
        tags = _tag_strings(raw_tags, opts.tag_names, fields.get("tags") or "tags")
        if isinstance(tags, Rejection):
            return tags
        try:
            entities = decode(tags, opts.scheme, repair=opts.repair)
        except BadSequence as exc:
            return Rejection("invalid_bio_sequence", str(exc))
        text = opts.joiner.join(tokens)
        if not text.strip():
            return Rejection("missing_tokens", f"the tokens in '{fields.get('tokens')}' are all blank")
        for ent in entities:
            if not "".join(tokens[ent.start : ent.end]).strip():
                return Rejection(
                    "invalid_bio_sequence",
                    f"the {ent.label} entity at tokens {ent.start}-{ent.end - 1} covers no text (blank tokens)",
                )
        spans = entities_to_spans(tokens, entities, opts.joiner)
        record: Record = {"text": text, "spans": spans, "tokens": list(tokens), "tags": encode(len(tokens), entities)}
        return attach_source_id([record], row, fields)

    # --- introspection ------------------------------------------------------------------------
    def sniff(self, profile: SampleProfile) -> Proposal | None:
        best: tuple[float, Proposal] | None = None
        token_fields = [
            p
            for p, fp in profile.fields.items()
            if fp.list_count and fp.list_count >= 0.8 * profile.n_rows and fp.item_frac("string") >= 0.95
        ]
        tag_fields = [
            p
            for p, fp in profile.fields.items()
            if fp.list_count and (fp.item_frac("string") >= 0.95 or fp.item_frac("number") >= 0.95)
        ]
        for tok in token_fields:
            for tag in tag_fields:
                if tag == tok:
                    continue
                proposal = _judge_pair(profile, tok, tag)
                if proposal is not None and (best is None or proposal.confidence > best[0]):
                    best = (proposal.confidence, proposal)
        return best[1] if best else None


def _parse_options(options: Mapping[str, Any]) -> _Options:
    scheme = options.get("scheme", "auto")
    if not isinstance(scheme, str) or scheme.strip().lower() not in SCHEMES:
        raise MapperError(f"bio_to_spans option scheme={scheme!r} is not one of {', '.join(SCHEMES)}")
    scheme = _SCHEME_ALIASES.get(scheme.strip().lower(), scheme.strip().lower())
    joiner = options.get("joiner", " ")
    if not isinstance(joiner, str):
        raise MapperError(f"bio_to_spans option joiner must be a string, not a {type_name(joiner)}")
    names = options.get("tag_names")
    if names is not None:
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names) or not names:
            raise MapperError(
                'bio_to_spans option tag_names must be a non-empty list of tag names, e.g. ["O", "B-PER", "I-PER"]'
            )
        names = tuple(names)
    repair = options.get("repair", False)
    if not isinstance(repair, bool):
        if isinstance(repair, str) and repair.strip().lower() in ("true", "false"):
            repair = repair.strip().lower() == "true"
        else:
            raise MapperError(f"bio_to_spans option repair must be true or false, not {repair!r}")
    return _Options(scheme, joiner, names, repair)


def _tag_strings(raw: list[Any], names: tuple[str, ...] | None, path: str) -> "list[str] | Rejection":
    tags: list[str] = []
    for i, tag in enumerate(raw):
        if isinstance(tag, str) and not tag.strip().isdigit():
            tags.append(tag)
            continue
        if tag is None:  # HF's -1 "no label" arrives as null
            return Rejection("missing_tags", f"tag {i} of '{path}' is missing (null)")
        index = int(tag.strip()) if isinstance(tag, str) else tag
        if isinstance(index, bool) or not isinstance(index, int):
            return Rejection("wrong_type", f"tag {i} of '{path}' is a {type_name(tag)}, not a tag")
        if names is None:
            return Rejection(
                "wrong_type", f"tag {i} of '{path}' is the number {index}; give the tag names with option tag_names"
            )
        if not 0 <= index < len(names):
            return Rejection(
                "invalid_bio_sequence", f"token {i}: tag id {index} has no name in tag_names ({len(names)} names)"
            )
        tags.append(names[index])
    return tags


# --- sniffing -----------------------------------------------------------------------------------


def _judge_pair(profile: SampleProfile, tok: str, tag: str) -> Proposal | None:
    """Evidence that ``tok`` / ``tag`` are tokens and BIO tags: equal lengths and tag shapes."""
    rows = profile.rows
    both = equal = int_tags = 0
    shaped = 0
    tag_counts: Counter[str] = Counter()
    sequences: list[list[str]] = []
    for row in rows:
        tokens, tags = get_path(row, tok), get_path(row, tag)
        if not isinstance(tokens, list) or not isinstance(tags, list):
            continue
        both += 1
        if len(tokens) != len(tags):
            continue
        equal += 1
        if tags and all(isinstance(t, int) and not isinstance(t, bool) for t in tags):
            int_tags += 1
            continue
        if all(isinstance(t, str) and _is_tag(t) for t in tags):
            shaped += 1
            tag_counts.update(t.strip() for t in tags)
            sequences.append([t.strip() for t in tags])
    if both < max(1, 0.8 * profile.n_rows) or equal < 0.9 * both:
        return None
    name_hits = (leaf_name(tok).lower() in BioToSpansMapper.fields[0].candidates) + (
        leaf_name(tag).lower() in BioToSpansMapper.fields[1].candidates
    )
    field_map = {tok: "tokens", tag: "tags"}
    id_field = profile.find(SOURCE_ID_FIELD.candidates, lambda fp: fp.frac("list") == 0 and fp.frac("object") == 0)
    if id_field:
        field_map[id_field] = "id"
    evidence = [f"'{tok}' and '{tag}' are parallel lists of equal length in {equal}/{both} rows"]
    if int_tags >= 0.9 * equal:
        evidence.append(f"'{tag}' holds integer tag ids; pass option tag_names to name them")
        return Proposal(BioToSpansMapper.id, field_map, 0.5 + 0.05 * name_hits, evidence)
    if shaped < 0.9 * equal:
        return None
    entity_tags = [t for t in tag_counts if t != "O"]
    if "O" not in tag_counts and not entity_tags:
        return None
    letters = Counter(t[0] for t in tag_counts.elements())
    scheme, scheme_note = _guess_scheme(sequences, letters)
    types = sorted({t[2:] for t in entity_tags if len(t) > 2})
    evidence.append(
        f"'{tag}' values are BIO tags in {shaped}/{equal} rows: "
        + ", ".join(f"{t} x{c}" for t, c in tag_counts.most_common(6))
    )
    if types:
        evidence.append(f"{len(types)} entity types: {', '.join(types[:8])}{', ...' if len(types) > 8 else ''}")
    evidence.append(scheme_note)
    confidence = 0.9 + 0.025 * name_hits
    if not entity_tags:  # every tag O: shaped right, but nothing shows it is entity tagging
        confidence = 0.7
        evidence.append("no entity tag occurs in the sample (all O)")
    options: dict[str, Any] = {"scheme": scheme} if scheme != "auto" else {}
    joiner_note = _character_tokens(profile, tok)
    if joiner_note:
        options["joiner"] = ""
        evidence.append(joiner_note)
    if scheme in ("iob2", "auto"):
        broken = sum(1 for seq in sequences if _breaks(seq, "iob2"))
        if broken:
            evidence.append(f"{broken} sample rows break IOB2 (I- without B-); option repair=true reads them leniently")
    return Proposal(BioToSpansMapper.id, field_map, confidence, evidence, options)


CHARACTER_SHARE = 0.98  # of the sample's tokens one character long, for character-level tagging
MIN_CHARACTER_TOKENS = 20


def _character_tokens(profile: SampleProfile, tok: str) -> str | None:
    """Evidence that the tokens are the characters of the text (joined with no separator), or None:
    nearly every token one character long, over enough tokens to tell."""
    total = single = spaces = 0
    for row in profile.rows:
        tokens = get_path(row, tok)
        if not isinstance(tokens, list):
            continue
        for token in tokens:
            if isinstance(token, str):
                total += 1
                single += len(token) == 1
                spaces += len(token) == 1 and token.isspace()
    if total < MIN_CHARACTER_TOKENS or single < CHARACTER_SHARE * total:
        return None
    return (
        f"{single}/{total} sample tokens are single characters ({spaces} of them spaces): character-level "
        'tags, the text is the tokens joined with no separator (joiner="")'
    )


def _guess_scheme(sequences: list[list[str]], letters: Counter) -> tuple[str, str]:
    if letters["L"] or letters["U"]:
        return "bilou", "L-/U- tags: BILOU scheme"
    if letters["E"] or letters["S"]:
        return "bioes", "E-/S- tags: BIOES scheme"
    iob2_breaks = sum(1 for seq in sequences if _breaks(seq, "iob2"))
    iob1_breaks = sum(1 for seq in sequences if _breaks(seq, "iob1"))
    if iob2_breaks and iob1_breaks < iob2_breaks:
        return (
            "iob1",
            f"entities start with I- ({iob2_breaks} rows) and B- only splits same-type neighbours: IOB1 scheme",
        )
    return "auto", "B-/I- tags: IOB2 scheme"


def _is_tag(value: str) -> bool:
    try:
        parse_tag(value)
    except BadSequence:
        return False
    return True


def _breaks(seq: list[str], scheme: str) -> bool:
    try:
        decode(seq, scheme)
    except BadSequence:
        return True
    return False


_cached_options = OptionsCache(_parse_options)

MAPPER = BioToSpansMapper()
