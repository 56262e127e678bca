"""bio_to_spans: tokens + BIO-family tags -> text + character spans."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.helpers import shared_datasets as shared

from brewslm.errors import MapperError
from brewslm.mappers import get_mapper
from brewslm.mappers.base import Rejection
from brewslm.mappers.bio_to_spans import (
    MAPPER,
    BadSequence,
    Entity,
    decode,
    encode,
    spans_to_bio,
    token_offsets,
)
from brewslm.mappers.profile import profile_rows
from brewslm.sources.base import ParseFailure
from brewslm.tasks import get_task_profile

FIELDS = {"tokens": "tokens", "tags": "tags"}
TASK = get_task_profile("structured_extraction")


def run(row, fields=FIELDS, **options):
    outcome = MAPPER.apply(row, fields, options)
    if not isinstance(outcome, Rejection):
        for record in outcome:
            assert TASK.validate(record) is None, record
    return outcome


def reason(outcome) -> str:
    assert isinstance(outcome, Rejection), outcome
    return outcome.reason


def span_texts(record):
    return [(record["text"][s["start"] : s["end"]], s["label"]) for s in record["spans"]]


# --- mapping ------------------------------------------------------------------------------------


def test_iob2_tokens_become_text_and_character_spans():
    row = {
        "tokens": ["Ada", "Lovelace", "visited", "New", "York", "."],
        "tags": ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"],
    }
    [record] = run(row)
    assert record["text"] == "Ada Lovelace visited New York ."
    assert record["spans"] == [{"start": 0, "end": 12, "label": "PER"}, {"start": 21, "end": 29, "label": "LOC"}]
    assert span_texts(record) == [("Ada Lovelace", "PER"), ("New York", "LOC")]
    assert record["tokens"] == row["tokens"]
    assert record["tags"] == row["tags"]


def test_adjacent_entities_of_one_type_stay_apart():
    [record] = run({"tokens": ["Paris", "Rome", "Oslo"], "tags": ["B-LOC", "B-LOC", "I-LOC"]})
    assert span_texts(record) == [("Paris", "LOC"), ("Rome Oslo", "LOC")]


def test_sentence_without_entities_is_a_hard_negative():
    [record] = run({"tokens": ["nothing", "here"], "tags": ["O", "O"]})
    assert record["spans"] == []


def test_types_with_hyphens_and_underscore_separator():
    [record] = run({"tokens": ["Star", "Wars", "rocks"], "tags": ["B-creative-work", "I-creative-work", "O"]})
    assert span_texts(record) == [("Star Wars", "creative-work")]
    [record] = run({"tokens": ["Bob", "Smith"], "tags": ["B_PER", "I_PER"]})
    assert span_texts(record) == [("Bob Smith", "PER")]
    assert record["tags"] == ["B-PER", "I-PER"]


def test_bioes_and_bilou_are_read_and_normalised_to_iob2():
    tokens = ["Ada", "Lovelace", "met", "Bob", "in", "Rio", "de", "Janeiro"]
    bioes = ["B-PER", "E-PER", "O", "S-PER", "O", "B-LOC", "I-LOC", "E-LOC"]
    bilou = ["B-PER", "L-PER", "O", "U-PER", "O", "B-LOC", "I-LOC", "L-LOC"]
    expected = ["B-PER", "I-PER", "O", "B-PER", "O", "B-LOC", "I-LOC", "I-LOC"]
    for tags, scheme in ((bioes, "auto"), (bioes, "bioes"), (bioes, "iobes"), (bilou, "auto"), (bilou, "bilou")):
        [record] = run({"tokens": tokens, "tags": tags}, scheme=scheme)
        assert span_texts(record) == [("Ada Lovelace", "PER"), ("Bob", "PER"), ("Rio de Janeiro", "LOC")]
        assert record["tags"] == expected


def test_iob1_entities_start_with_i():
    tokens = ["Paris", "Rome", "and", "Bob"]
    [record] = run({"tokens": tokens, "tags": ["I-LOC", "B-LOC", "O", "I-PER"]}, scheme="iob1")
    assert span_texts(record) == [("Paris", "LOC"), ("Rome", "LOC"), ("Bob", "PER")]
    assert record["tags"] == ["B-LOC", "B-LOC", "O", "B-PER"]


def test_joiner_option_and_exact_token_text():
    tokens = ["東京", "に", "行く"]
    [record] = run({"tokens": tokens, "tags": ["B-LOC", "O", "O"]}, joiner="")
    assert record["text"] == "東京に行く"
    assert span_texts(record) == [("東京", "LOC")]
    # tokens are kept as written, including odd inner characters
    [record] = run({"tokens": ["a\tb", "New", "York"], "tags": ["O", "B-LOC", "I-LOC"]})
    assert record["text"] == "a\tb New York"
    assert span_texts(record) == [("New York", "LOC")]


def test_whitespace_tokens_are_kept_outside_entities():
    [record] = run({"tokens": ["Hi", "\n\n", "Bob"], "tags": ["O", "O", "B-PER"]})
    assert record["text"] == "Hi \n\n Bob"
    assert span_texts(record) == [("Bob", "PER")]


def test_integer_tags_named_by_tag_names():
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    [record] = run({"tokens": ["Ada", "Lovelace", "in", "Leeds"], "tags": [1, 2, 0, 3]}, tag_names=names)
    assert span_texts(record) == [("Ada Lovelace", "PER"), ("Leeds", "LOC")]
    assert record["tags"] == ["B-PER", "I-PER", "O", "B-LOC"]
    # CSV cells give digit strings
    [record] = run({"tokens": ["Leeds"], "tags": ["3"]}, tag_names=names)
    assert span_texts(record) == [("Leeds", "LOC")]


def test_lists_stored_as_json_text_are_decoded():
    [record] = run({"tokens": '["Ada", "rocks"]', "tags": '["B-PER", "O"]'})
    assert span_texts(record) == [("Ada", "PER")]


def test_source_id_and_dotted_fields():
    row = {"meta": {"toks": ["Ada"], "ner": ["B-PER"]}, "uid": "s-1"}
    [record] = run(row, {"tokens": "meta.toks", "tags": "meta.ner", "id": "uid"})
    assert record["id"] == "s-1"
    assert span_texts(record) == [("Ada", "PER")]


def test_repair_reads_broken_sequences_leniently():
    row = {"tokens": ["the", "Big", "Apple", "and", "Bob"], "tags": ["O", "I-LOC", "I-LOC", "O", "I-PER"]}
    assert reason(run(row)) == "invalid_bio_sequence"
    [record] = run(row, repair=True)
    assert span_texts(record) == [("Big Apple", "LOC"), ("Bob", "PER")]
    # type switch inside an entity: the new type starts a new entity
    [record] = run({"tokens": ["a", "b"], "tags": ["B-PER", "I-LOC"]}, repair="true")
    assert span_texts(record) == [("a", "PER"), ("b", "LOC")]
    # an unclosed BIOES entity ends where the next begins
    [record] = run({"tokens": ["a", "b", "c"], "tags": ["B-PER", "S-LOC", "I-ORG"]}, scheme="bioes", repair=True)
    assert span_texts(record) == [("a", "PER"), ("b", "LOC"), ("c", "ORG")]


# --- rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"tags": ["O"]}, "missing_tokens"),
        ({"tokens": None, "tags": ["O"]}, "missing_tokens"),
        ({"tokens": [], "tags": []}, "missing_tokens"),
        ({"tokens": ["  ", ""], "tags": ["O", "O"]}, "missing_tokens"),
        ({"tokens": ["a"]}, "missing_tags"),
        ({"tokens": ["a"], "tags": []}, "missing_tags"),
        ({"tokens": ["a", "b"], "tags": ["O", None]}, "missing_tags"),
        ({"tokens": ["a", "b"], "tags": ["O"]}, "length_mismatch"),
        ({"tokens": ["a"], "tags": ["O", "O"]}, "length_mismatch"),
        ({"tokens": "a b", "tags": ["O"]}, "wrong_type"),
        ({"tokens": ["a", 7], "tags": ["O", "O"]}, "wrong_type"),
        ({"tokens": ["a"], "tags": [1.5]}, "wrong_type"),
        ({"tokens": ["a"], "tags": [[]]}, "wrong_type"),
        ({"tokens": ["a"], "tags": [3]}, "wrong_type"),  # integer tags need tag_names
        ({"tokens": ["a"], "tags": ["3"]}, "wrong_type"),
        ({"tokens": ["a"], "tags": '["O"'}, "wrong_type"),
        ({"tokens": ["a", "b"], "tags": ["O", "I-PER"]}, "invalid_bio_sequence"),
        ({"tokens": ["a", "b"], "tags": ["I-PER", "I-PER"]}, "invalid_bio_sequence"),
        ({"tokens": ["a", "b"], "tags": ["B-PER", "I-LOC"]}, "invalid_bio_sequence"),
        ({"tokens": ["a"], "tags": ["PER"]}, "invalid_bio_sequence"),
        ({"tokens": ["a"], "tags": ["B-"]}, "invalid_bio_sequence"),
        ({"tokens": ["a"], "tags": ["O-PER"]}, "invalid_bio_sequence"),
        ({"tokens": ["a", "b"], "tags": ["B-PER", "E-PER "]}, None),  # surrounding space in a tag is fine
        ({"tokens": ["a", "b"], "tags": ["B-PER", "L-PER"]}, None),
        ({"tokens": ["a", "b", "c"], "tags": ["B-PER", "E-PER", "U-PER"]}, "invalid_bio_sequence"),  # mixed schemes
        ({"tokens": ["a", ""], "tags": ["O", "B-PER"]}, "invalid_bio_sequence"),  # entity with no text
    ],
)
def test_rejections(row, expected):
    outcome = run(row)
    if expected is None:
        assert not isinstance(outcome, Rejection), outcome
    else:
        assert reason(outcome) == expected
        assert outcome.detail and "\n" not in outcome.detail


@pytest.mark.parametrize(
    "tags, scheme",
    [
        (["B-PER", "O"], "bioes"),  # never ended
        (["B-PER", "I-PER"], "bioes"),  # open at the end
        (["I-PER", "E-PER"], "bioes"),  # never begun
        (["E-PER"], "bioes"),
        (["B-PER", "E-LOC"], "bioes"),
        (["B-PER", "B-PER"], "bioes"),
        (["O", "B-PER"], "iob1"),  # IOB1 uses B- only between two same-type entities
        (["S-PER", "O"], "iob2"),  # not a tag of the scheme
        (["B-PER", "L-PER"], "bioes"),
    ],
)
def test_scheme_violations_are_invalid(tags, scheme):
    outcome = run({"tokens": [f"t{i}" for i in range(len(tags))], "tags": tags}, scheme=scheme)
    assert reason(outcome) == "invalid_bio_sequence"
    assert "token" in outcome.detail


def test_tag_id_outside_tag_names():
    outcome = run({"tokens": ["a"], "tags": [9]}, tag_names=["O", "B-X", "I-X"])
    assert reason(outcome) == "invalid_bio_sequence"
    assert "9" in outcome.detail


def test_parse_failures_and_non_objects():
    assert reason(MAPPER.apply(ParseFailure(3, "{bad", "Expecting value"), FIELDS, {})) == "parse_error"
    assert reason(MAPPER.apply(["a"], FIELDS, {})) == "wrong_type"


@pytest.mark.parametrize(
    "options",
    [
        {"scheme": "bo"},
        {"scheme": 3},
        {"joiner": 1},
        {"tag_names": "O,B-X"},
        {"tag_names": []},
        {"tag_names": ["O", 1]},
        {"repair": "maybe"},
        {"nope": 1},
    ],
)
def test_bad_options_are_one_line_errors(options):
    with pytest.raises(MapperError) as info:
        MAPPER.check_options(options)
    assert "\n" not in str(info.value)


def test_field_map_defaults_and_output_schema():
    assert MAPPER.resolve_field_map(None, ["id", "tokens", "ner_tags"]) == {
        "id": "id",
        "tokens": "tokens",
        "ner_tags": "tags",
    }
    assert MAPPER.resolve_field_map(None, ["words", "labels"]) == {"words": "tokens", "labels": "tags"}
    with pytest.raises(MapperError):
        MAPPER.resolve_field_map(None, ["sentence"])
    assert MAPPER.output_schema({}) == {"scoring_mode": "span_set"}
    assert get_mapper("bio_to_spans") is MAPPER


# --- property tests -------------------------------------------------------------------------------

TOKEN = st.text(alphabet=st.characters(blacklist_categories=("Zs", "Cc", "Zl", "Zp")), min_size=1, max_size=6)
LABEL = st.sampled_from(["PER", "LOC", "ORG", "creative-work", "MISC"])


@st.composite
def tagged_sentences(draw):
    tokens = draw(st.lists(TOKEN, min_size=1, max_size=25))
    entities, i = [], 0
    while i < len(tokens):
        if draw(st.booleans()):
            length = draw(st.integers(1, min(4, len(tokens) - i)))
            entities.append(Entity(i, i + length, draw(LABEL)))
            i += length
        else:
            i += draw(st.integers(1, 3))
    joiner = draw(st.sampled_from([" ", "  ", "\u00a0"]))
    return tokens, entities, joiner


@settings(max_examples=150, deadline=None)
@given(tagged_sentences(), st.sampled_from(["iob2", "iob1", "bioes", "bilou"]))
def test_round_trip_tags_spans_tags(sentence, scheme):
    tokens, entities, joiner = sentence
    tags = encode(len(tokens), entities, scheme)
    outcome = run({"tokens": tokens, "tags": tags}, scheme=scheme, joiner=joiner)
    assert not isinstance(outcome, Rejection), outcome
    [record] = outcome
    assert record["text"] == joiner.join(tokens)
    # every span is exactly the joined tokens of its entity
    for span, ent in zip(record["spans"], entities):
        assert record["text"][span["start"] : span["end"]] == joiner.join(tokens[ent.start : ent.end])
        assert span["label"] == ent.label
    assert len(record["spans"]) == len(entities)
    # and back: spans -> tags in IOB2 and in the source scheme
    assert spans_to_bio(tokens, record["spans"], joiner=joiner) == encode(len(tokens), entities, "iob2")
    assert spans_to_bio(tokens, record["spans"], joiner=joiner, scheme=scheme) == tags
    assert record["tags"] == encode(len(tokens), entities, "iob2")


@settings(max_examples=100, deadline=None)
@given(tagged_sentences())
def test_auto_scheme_reads_iob2_and_bioes(sentence):
    tokens, entities, _ = sentence
    for scheme in ("iob2", "bioes", "bilou"):
        assert decode(encode(len(tokens), entities, scheme), "auto") == entities


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["O", "B-A", "I-A", "B-B", "I-B", "E-A", "S-B", "L-A", "U-B"]), min_size=1, max_size=12),
    st.sampled_from(["iob2", "iob1", "bioes", "bilou"]),
)
def test_any_tag_soup_is_rejected_or_decoded_with_repair(tags, scheme):
    allowed = {"iob2": "BIO", "iob1": "BIO", "bioes": "BIOES", "bilou": "BILOU"}[scheme]
    if all(t[0] in allowed for t in tags):
        entities = decode(tags, scheme, repair=True)  # repair never fails on the scheme's own tags
        covered = [i for e in entities for i in range(e.start, e.end)]
        assert len(covered) == len(set(covered)) and all(tags[i] != "O" for i in covered)
        try:
            strict = decode(tags, scheme)
        except BadSequence:
            return
        assert strict == entities  # where strict reading succeeds, repair agrees with it
    else:
        with pytest.raises(BadSequence):
            decode(tags, scheme, repair=True)


def test_spans_to_bio_on_arbitrary_offsets():
    tokens = ["New", "York", "City", "is", "big"]
    assert token_offsets(tokens) == [(0, 3), (4, 8), (9, 13), (14, 16), (17, 20)]
    # a span that cuts a token in half still claims it; overlapping spans: the earlier one wins
    spans = [{"start": 1, "end": 6, "label": "LOC"}, {"start": 4, "end": 13, "label": "GPE"}]
    assert spans_to_bio(tokens, spans) == ["B-LOC", "I-LOC", "B-GPE", "O", "O"]
    assert spans_to_bio(tokens, [], scheme="bioes") == ["O"] * 5
    with pytest.raises(ValueError):
        encode(3, [Entity(0, 2, "A"), Entity(1, 3, "B")])


# --- sniffing -------------------------------------------------------------------------------------


def _rows(n=40, scheme="iob2", tag_key="ner_tags"):
    rows = []
    for i in range(n):
        tokens = ["I", "met", f"Ann{i}", "Lee", "in", "Oslo", "today"]
        ents = [Entity(2, 4, "PER"), Entity(5, 6, "LOC")] if i % 3 else []
        rows.append({"id": i, "tokens": tokens, tag_key: encode(len(tokens), ents, scheme)})
    return rows


def test_sniff_bio_pairs():
    proposal = MAPPER.sniff(profile_rows(_rows()))
    assert proposal.confidence >= 0.9
    assert proposal.field_map == {"tokens": "tokens", "ner_tags": "tags", "id": "id"}
    assert proposal.options == {}
    assert any("B-PER" in e for e in proposal.evidence)


def test_sniff_detects_scheme():
    assert MAPPER.sniff(profile_rows(_rows(scheme="bioes"))).options == {"scheme": "bioes"}
    assert MAPPER.sniff(profile_rows(_rows(scheme="bilou"))).options == {"scheme": "bilou"}
    iob1 = MAPPER.sniff(profile_rows(_rows(scheme="iob1")))
    assert iob1.options == {"scheme": "iob1"} and iob1.confidence >= 0.9


def test_sniff_unnamed_fields_and_weak_evidence():
    rows = [{"a": r["tokens"], "b": r["ner_tags"]} for r in _rows()]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.field_map == {"a": "tokens", "b": "tags"} and 0.85 <= proposal.confidence < 0.95
    # integer tags: cannot be checked without names
    int_rows = [{"tokens": ["a", "b"], "ner_tags": [1, 0]} for _ in range(20)]
    assert MAPPER.sniff(profile_rows(int_rows)).confidence < 0.8
    # all-O tags: shaped like BIO but shows no entity tagging
    o_rows = [{"tokens": ["a", "b"], "tags": ["O", "O"]} for _ in range(20)]
    assert MAPPER.sniff(profile_rows(o_rows)).confidence < 0.8
    # parallel word lists that are not tags, or lists of unequal length
    assert MAPPER.sniff(profile_rows([{"tokens": ["a", "b"], "lemmas": ["x", "y"]}] * 20)) is None
    assert MAPPER.sniff(profile_rows([{"tokens": ["a", "b"], "tags": ["O"]}] * 20)) is None
    assert MAPPER.sniff(profile_rows([{"text": "a b", "label": "x"}] * 20)) is None


# --- shared data ----------------------------------------------------------------------------------

WNUT = [
    "jsonl:ner_wnut17/train.jsonl",
    "jsonl:ner_wnut17/dev.jsonl",
    "conll:ner_wnut17/train.conll",
    "conll:ner_wnut17/dev.conll",
]


@pytest.mark.shared_data
@pytest.mark.skipif(not shared.SHARED.is_dir(), reason="shared datasets absent")
@pytest.mark.parametrize("spec", WNUT)
def test_wnut17_is_sniffed_and_every_sentence_maps(spec):
    profile = shared.profile(spec)
    proposal = MAPPER.sniff(profile)
    tag_field = "ner_tags" if spec.startswith("jsonl") else "tags"
    assert proposal.confidence >= 0.8
    assert {k: v for k, v in proposal.field_map.items() if v != "id"} == {"tokens": "tokens", tag_field: "tags"}
    fields = MAPPER.canonical_map(MAPPER.resolve_field_map(proposal.field_map, list(profile.fields)))
    accepted, rejected, labels = 0, Counter(), Counter()
    for row in shared.rows(spec):
        outcome = MAPPER.apply(row, fields, proposal.options)
        if isinstance(outcome, Rejection):
            rejected[outcome.reason] += 1
            continue
        [record] = outcome
        assert TASK.validate(record) is None
        tokens = record["tokens"]
        offsets = token_offsets(tokens)
        for span in record["spans"]:
            i = next(k for k, (s, _) in enumerate(offsets) if s == span["start"])
            j = next(k for k, (_, e) in enumerate(offsets) if e == span["end"]) + 1
            assert record["text"][span["start"] : span["end"]] == " ".join(tokens[i:j])
            labels[span["label"]] += 1
        assert spans_to_bio(tokens, record["spans"]) == record["tags"]
        accepted += 1
    # the files are clean: every sentence is a person's accept (see SOURCE.md row counts)
    assert rejected == Counter()
    assert accepted == (1000 if "train" in spec else 300)
    assert set(labels) == {"person", "location", "group", "creative-work", "corporation", "product"}
