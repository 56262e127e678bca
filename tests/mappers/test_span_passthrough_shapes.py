"""span_passthrough on shapes met in real exports (issue 15): a text given as annotated chunks with
no offsets, a span key left out of tasks with no entity, provenance fields beside the text; and
the fidelity property (texts kept exactly, spans cutting the text they claim)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.errors import MapperError
from brewslm.mappers.base import Rejection
from brewslm.mappers.profile import profile_rows
from brewslm.mappers.span_passthrough import MAPPER
from helpers.mapping import run_mapper


def cut(record):
    return [(record["text"][s["start"] : s["end"]], s["label"]) for s in record["spans"]]


# --- annotated chunks ----------------------------------------------------------------------------

UTTERANCES = [
    [
        {"text": "Will it rain in "},
        {"text": "Porto", "entity": "city"},
        {"text": " "},
        {"text": "tomorrow", "entity": "time"},
        {"text": "?"},
    ],
    [
        {"text": "Weather "},
        {"text": "next week ", "entity": "time"},
        {"text": "in "},
        {"text": "Oslo", "entity": "city"},
    ],
    [{"text": "Is it cold in "}, {"text": "Łódź", "entity": "city"}],
    [{"text": "Any "}, {"text": "snow", "entity": "condition"}, {"text": " near me"}],
]


def test_chunks_build_the_text_and_the_spans():
    out = run_mapper("span_passthrough", [{"data": u} for u in UTTERANCES], {"data": "chunks"})
    assert [r["text"] for r in out.records] == [
        "Will it rain in Porto tomorrow?",
        "Weather next week in Oslo",
        "Is it cold in Łódź",
        "Any snow near me",
    ]
    assert cut(out.records[0]) == [("Porto", "city"), ("tomorrow", "time")]
    assert cut(out.records[1]) == [("next week", "time"), ("Oslo", "city")]  # trailing space trimmed


@pytest.mark.parametrize(
    "chunks, reason",
    [
        ([{"text": "a"}, "b"], "wrong_type"),
        ([{"text": 3}], "wrong_type"),
        ([{"entity": "city"}], "wrong_type"),
        ([{"text": "  "}], "missing_text"),
        ([{"text": "a "}, {"text": " ", "entity": "city"}], "span_out_of_bounds"),
        ([{"text": "a"}, {"text": "b", "entity": ["x"]}], "wrong_type"),
        ("Paris", "wrong_type"),
    ],
)
def test_chunk_rejections(chunks, reason):
    out = run_mapper("span_passthrough", [{"data": chunks}], {"data": "chunks"})
    assert out.reasons == {reason: 1}, out.per_row


def test_chunk_keys_named_by_options():
    rows = [{"data": [{"w": "in "}, {"w": "Rome", "slotz": "city"}]}]
    out = run_mapper("span_passthrough", rows, {"data": "chunks"}, {"chunk_text_key": "w", "chunk_label_key": "slotz"})
    assert cut(out.records[0]) == [("Rome", "city")]


def test_sniff_chunks():
    proposal = MAPPER.sniff(profile_rows([{"data": u} for u in UTTERANCES]))
    assert proposal is not None and proposal.confidence >= 0.85
    assert proposal.field_map == {"data": "chunks"}
    assert proposal.options == {"chunk_text_key": "text", "chunk_label_key": "entity"}


def test_sniff_does_not_read_messages_with_roles_as_chunks():
    rows = [
        {"messages": [{"role": "user", "content": f"hi {i}"}, {"role": "assistant", "content": "hello"}]}
        for i in range(5)
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal is None or "chunks" not in proposal.field_map.values()


# --- a span key left out of tasks with no entity ------------------------------------------------

TASKS = [
    {
        "text": "Acme hires Jo Park",
        "spans": [{"start": 0, "end": 4, "label": "ORG"}, {"start": 11, "end": 18, "label": "PER"}],
        "meta": {"source": "feed"},
        "_task_hash": 11,
        "answer": "accept",
    },
    {"text": "Nothing to see here", "meta": {"source": "feed"}, "_task_hash": 12, "answer": "accept"},
    {
        "text": "Globex in Lyon",
        "spans": [{"start": 0, "end": 6, "label": "ORG"}],
        "meta": {"source": "feed"},
        "_task_hash": 13,
        "answer": "accept",
    },
    {"text": "Weather is fine", "meta": {"source": "feed"}, "_task_hash": 14, "answer": "accept"},
]


def test_absent_spans_are_missing_unless_read_as_empty():
    strict = run_mapper("span_passthrough", TASKS, {"text": "text", "spans": "spans"})
    assert strict.reasons == {"missing_spans": 2}
    lenient = run_mapper("span_passthrough", TASKS, {"text": "text", "spans": "spans"}, {"absent_spans": "empty"})
    assert len(lenient.records) == 4 and lenient.records[1]["spans"] == []
    nulls = run_mapper(
        "span_passthrough",
        [{"text": "x y", "spans": None}],
        {"text": "text", "spans": "spans"},
        {"absent_spans": "empty"},
    )
    assert nulls.reasons == {"missing_spans": 1}  # null is not absent
    with pytest.raises(MapperError, match="absent_spans"):
        MAPPER.check_options({"absent_spans": "maybe"})


def test_sniff_reads_an_absent_key_as_no_span_only_without_explicit_empty_lists():
    proposal = MAPPER.sniff(profile_rows(TASKS))
    assert proposal is not None and proposal.confidence >= 0.8
    assert proposal.options.get("absent_spans") == "empty"
    # explicit [] beside absent keys: an absent key may mean "not annotated"
    mixed = TASKS + [{"text": "Empty list", "spans": []}]
    proposal = MAPPER.sniff(profile_rows(mixed))
    assert proposal is None or "absent_spans" not in proposal.options


# --- fidelity ------------------------------------------------------------------------------------

TEXTS = st.text(max_size=10) | st.sampled_from(["[0, 1, 3]", '{"a": 1}', "[Verse 1] la", " 12 ", "\n", "null"])
LABELS = st.sampled_from(["city", "time", "O"]) | st.none() | st.integers(0, 3) | st.text(max_size=3)
CHUNK = st.fixed_dictionaries({"text": TEXTS}, optional={"entity": LABELS})


@settings(max_examples=80, deadline=None)
@given(st.lists(CHUNK, max_size=6))
def test_chunks_fidelity_property(chunks):
    [outcome] = run_mapper("span_passthrough", [{"data": chunks}], {"data": "chunks"}).per_row
    if isinstance(outcome, Rejection):
        return
    [record] = outcome
    assert record["text"] == "".join(c["text"] for c in chunks)
    labelled = [c["text"].strip() for c in chunks if c.get("entity") is not None]
    pieces = [piece for piece, _ in cut(record)]
    assert len(pieces) <= len(labelled) and all(piece in labelled for piece in pieces)


SPAN = st.fixed_dictionaries(
    {"start": st.integers(-2, 12), "end": st.integers(-2, 14), "label": LABELS}, optional={"text": TEXTS}
)


@settings(max_examples=80, deadline=None)
@given(
    TEXTS,
    st.lists(SPAN, max_size=4) | st.none() | TEXTS,
    st.sampled_from([{}, {"absent_spans": "empty"}]),
    st.booleans(),
)
def test_spans_fidelity_property(text, spans, options, drop_key):
    row = {"text": text, "meta": {"source": "x"}}
    if not drop_key:
        row["spans"] = spans
    [outcome] = run_mapper("span_passthrough", [row], {"text": "text", "spans": "spans"}, options).per_row
    if isinstance(outcome, Rejection):
        return
    [record] = outcome
    assert record["text"] == text
    for span in record["spans"]:
        piece = text[span["start"] : span["end"]]
        assert piece and piece == piece.strip()
    if drop_key:
        assert options and record["spans"] == []
