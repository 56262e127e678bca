"""text_only with the text given as a list of lines (issue 15): poems and lyrics whose text is a
list of verses beside short attributes (title, author, form). The lines are joined with the
line_joiner option, reversibly; the sniffer proposes it and names the attributes it leaves out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.errors import MapperError
from brewslm.introspection.gate import gate
from brewslm.mappers.base import Rejection
from brewslm.mappers.profile import profile_rows
from brewslm.mappers.text_only import MAPPER
from helpers.mapping import run_mapper

VERSES = [
    ["The river bends below the quiet town,", "and lanterns drift where fishing boats lie down."],
    ["A crow sits on the frozen garden wall,", "", "it does not sing, it does not call at all."],
    [
        "Spring rain taps softly on the paper screen,",
        "the plum tree shows the first of its green,",
        "my letter waits, unsent, beside the lamp,",
        "the ink has dried, the paper has gone damp.",
    ],
]
POETS = ["Ana Lima", "Bo Chen", "Carl Ode"]
FORMS = ["quatrain", "couplet"]


def poems(n: int = 30, lines_key: str = "verses", **extra) -> list[dict]:
    return [
        {
            "title": f"Evening song number {i}",
            "poet": POETS[i % 3],
            "form": FORMS[(i // 15) % 2],
            lines_key: VERSES[i % 3],
            **{k: f(i) for k, f in extra.items()},
        }
        for i in range(n)
    ]


def run(row, **options):
    return MAPPER.apply(row, {"text": "verses"}, options)


def test_lines_are_joined_exactly_with_the_joiner():
    assert run({"verses": ["  first line ,", "", "third\tline"]}, line_joiner="\n") == [
        {"text": "  first line ,\n\nthird\tline"}
    ]
    assert run({"verses": ["a b", "c d"]}, line_joiner=" / ") == [{"text": "a b / c d"}]
    assert run({"verses": "already one text\nwith lines"}, line_joiner="\n") == [
        {"text": "already one text\nwith lines"}
    ]
    edge = run({"verses": ["a stanza\n", "the next"]}, line_joiner="\n\n")  # would split as "a stanza", "\nthe next"
    assert isinstance(edge, Rejection) and edge.reason == "joiner_in_line"


@pytest.mark.parametrize(
    "value, reason",
    [
        (["one line", "two\nlines"], "joiner_in_line"),
        (["a line", 3], "wrong_type"),
        (["", "  "], "missing_text"),
        ([], "missing_text"),
        ([["nested"]], "wrong_type"),
    ],
)
def test_lines_that_cannot_be_joined_faithfully_are_rejected(value, reason):
    outcome = run({"verses": value}, line_joiner="\n")
    assert isinstance(outcome, Rejection) and outcome.reason == reason, outcome


def test_without_the_option_a_list_stays_wrong_type_and_the_option_is_checked():
    outcome = run({"verses": ["a line", "another"]})
    assert isinstance(outcome, Rejection) and outcome.reason == "wrong_type"
    for bad in ("", 3, ["\n"]):
        with pytest.raises(MapperError):
            MAPPER.check_options({"line_joiner": bad})


@pytest.mark.parametrize("lines_key", ["verses", "col_3", "paragraphs"])
def test_sniff_proposes_the_lines_beside_title_author_and_form(lines_key):
    rows = poems(lines_key=lines_key)
    proposal = gate(MAPPER.sniff(profile_rows(rows)), profile_rows(rows))
    assert proposal.field_map == {lines_key: "text"} and proposal.options == {"line_joiner": "\n"}
    assert proposal.confidence >= 0.8, proposal.evidence
    assert any("list of lines" in e for e in proposal.evidence)
    assert any("attributes" in e and "poet" in e and "form" in e for e in proposal.evidence)
    out = run_mapper("text_only", rows, proposal.field_map, proposal.options)
    assert [r["text"] for r in out.records] == ["\n".join(r[lines_key]) for r in rows]
    with_meta = [{**r, "meta": {"source": "An anthology"}} for r in rows]  # provenance does not hold it back
    assert MAPPER.sniff(profile_rows(with_meta)).confidence >= 0.8


def test_unspaced_script_lines_and_the_double_newline_joiner():
    zh = [
        {"author": ["王維", "李白"][i % 2], "paragraphs": ["白日依山盡，黃河入海流。", f"欲窮千里目，更上一層樓{i}。"]}
        for i in range(20)
    ]
    proposal = MAPPER.sniff(profile_rows(zh))
    assert proposal.field_map == {"paragraphs": "text"} and proposal.confidence >= 0.8
    stanzas = [{"stanzas": [f"line one of {i}\nline two of {i}", f"line three of {i}\nline four"]} for i in range(20)]
    assert MAPPER.sniff(profile_rows(stanzas)).options == {"line_joiner": "\n\n"}


def test_lines_beside_task_data_stay_low_and_tokens_are_not_lines():
    labelled = poems(label=lambda i: ["pos", "neg"][i % 2])
    assert MAPPER.sniff(profile_rows(labelled)).confidence <= 0.55
    tagged = poems(spans=lambda i: [{"start": 0, "end": 3, "label": "X"}])
    assert MAPPER.sniff(profile_rows(tagged)).confidence <= 0.55
    long_note = poems(note=lambda i: " ".join(["a long commentary on the poem"] * 12))
    assert MAPPER.sniff(profile_rows(long_note)).confidence <= 0.55
    grouped = [
        {"intent": f"intent_{i}", "examples": [f"please book flight {i}", f"I need a ticket {i}"]} for i in range(20)
    ]  # one class per row, its examples as a list: not one text
    assert MAPPER.sniff(profile_rows(grouped)).confidence <= 0.55
    side_by_side = [
        {
            "texts": [f"a review number {i} here", f"another review {i}"][: 1 + i % 2],
            "labels": ["pos", "neg"][: 1 + i % 2],
        }
        for i in range(20)
    ]
    proposal = MAPPER.sniff(profile_rows(side_by_side))  # parallel lists are records, not one text's lines
    assert proposal is None or proposal.confidence <= 0.55
    tokens = [{"tokens": ["Copenhagen", "municipality", "approved", "budget"][: 2 + i % 3]} for i in range(20)]
    assert MAPPER.sniff(profile_rows(tokens)) is None
    named = [
        {"text": f"A whole story of some length, number {i}.", "verses": ["a short line here", "b"]} for i in range(20)
    ]
    assert MAPPER.sniff(profile_rows(named)).field_map == {"text": "text"}


LINES = st.lists(st.text(max_size=20) | st.sampled_from(["[0, 1]", '{"a": 1}', "  42 ", "null", "\n", ""]), max_size=5)


@settings(max_examples=80, deadline=None)
@given(LINES | st.lists(st.integers() | st.none(), min_size=1, max_size=2), st.sampled_from(["\n", "\n\n", " | "]))
def test_fidelity_the_text_splits_back_into_the_source_lines(value, joiner):
    [outcome] = run_mapper("text_only", [{"verses": value}], {"verses": "text"}, {"line_joiner": joiner}).per_row
    if isinstance(outcome, Rejection):
        assert (
            not all(isinstance(v, str) for v in value)
            or joiner.join(value).split(joiner) != value
            or not any(v.strip() for v in value)
        )
        return
    assert outcome == [{"text": joiner.join(value)}]
    assert outcome[0]["text"].split(joiner) == value
