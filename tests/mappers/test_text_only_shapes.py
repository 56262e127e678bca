"""text_only beside provenance fields (issue 15): a `meta` object of constants and an annotation
tool's bookkeeping do not hold plain text back; task data beside the text still does. And the
fidelity property: the text is kept exactly, whatever it looks like."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.mappers.base import Rejection
from brewslm.mappers.profile import profile_rows
from brewslm.mappers.text_only import MAPPER
from helpers.mapping import run_mapper

STORIES = [
    "A swindler touts horses at a racetrack and loses a fortune to a gangster.",
    "A family on a camping holiday loses their baby; the mother is accused.",
    "The president travels to a speech while a stranger follows with a camera.",
    "Two sisters inherit a farm and fight over what to plant in the spring.",
    "An engineer builds a boat in the desert and nobody asks him why.",
]


def test_constant_meta_object_and_bookkeeping_do_not_block_plain_text():
    rows = [
        {"text": t, "meta": {"source": "Movie Summary Corpus"}, "_input_hash": 1000 + i, "_session_id": None}
        for i, t in enumerate(STORIES)
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal is not None and proposal.confidence >= 0.8
    assert proposal.field_map == {"text": "text"}
    assert any("provenance" in e and "meta" in e for e in proposal.evidence)


def test_meta_with_ids_per_row_is_provenance_too():
    rows = [{"text": t, "meta": {"url": f"https://example.org/{i}", "lang": "en"}} for i, t in enumerate(STORIES)]
    assert MAPPER.sniff(profile_rows(rows)).confidence >= 0.8


def test_an_object_of_labels_or_a_list_beside_the_text_still_holds_it_back():
    genres = ["drama", "comedy", "drama", "comedy", "drama"]
    rows = [{"text": t, "meta": {"genre": g}} for t, g in zip(STORIES, genres)]
    assert MAPPER.sniff(profile_rows(rows)).confidence < 0.8
    rows = [{"text": t, "meta": {"source": "x"}, "spans": [{"start": 0, "end": 1, "label": "X"}]} for t in STORIES]
    assert MAPPER.sniff(profile_rows(rows)).confidence < 0.8


TEXTS = st.text(max_size=30) | st.sampled_from(["[0, 1, 3, 4]", '{"a": 1}', "[Verse 1] x", "  42  ", "null", "\n\n"])


@settings(max_examples=80, deadline=None)
@given(TEXTS | st.none() | st.integers() | st.lists(st.text(max_size=3), max_size=2))
def test_fidelity_property(value):
    [outcome] = run_mapper("text_only", [{"text": value, "meta": {"source": "x"}}], {"text": "text"}).per_row
    if isinstance(outcome, Rejection):
        assert not (isinstance(value, str) and value.strip())
        return
    assert outcome == [{"text": value}]
