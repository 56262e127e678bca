"""bio_to_spans on character-level tagging (issue 15): single-character tokens, the text's own spaces
among them, are joined with no separator; and the fidelity property (text = tokens joined by the
chosen joiner, every span the exact tokens of its entity)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.mappers.base import Rejection
from brewslm.mappers.bio_to_spans import MAPPER
from brewslm.mappers.profile import profile_rows
from helpers.mapping import run_mapper


def chars(sentence: str, entities: dict[str, str]) -> dict:
    """A character-level row: one token per character (spaces included), IOB2 tags for ``entities``."""
    tags = ["O"] * len(sentence)
    for surface, label in entities.items():
        start = sentence.index(surface)
        tags[start] = f"B-{label}"
        for i in range(start + 1, start + len(surface)):
            tags[i] = f"I-{label}"
    return {"tokens": list(sentence), "tags": tags}


ROWS = [
    chars("경찰은 서울에서 김씨를 만났다.", {"서울": "LC", "김": "PS"}),
    chars("박씨의 딸(32)과 함께 왔다.", {"박": "PS", "32": "QT"}),
    chars("부산 시청은 오늘 문을 닫았다.", {"부산 시청": "OG", "오늘": "DT"}),
]


def test_sniff_picks_no_joiner_for_character_tokens():
    proposal = MAPPER.sniff(profile_rows(ROWS))
    assert proposal is not None and proposal.confidence >= 0.9
    assert proposal.options.get("joiner") == ""
    assert any("single characters" in e for e in proposal.evidence)
    out = run_mapper("bio_to_spans", ROWS, proposal.field_map, proposal.options)
    record = out.records[2]
    assert record["text"] == "부산 시청은 오늘 문을 닫았다."
    assert [(record["text"][s["start"] : s["end"]], s["label"]) for s in record["spans"]] == [
        ("부산 시청", "OG"),
        ("오늘", "DT"),
    ]


def test_word_tokens_keep_the_space_joiner():
    rows = [{"tokens": ["Maria", "lives", "in", "Porto", "."], "tags": ["B-PER", "O", "O", "B-LOC", "O"]}] * 6
    proposal = MAPPER.sniff(profile_rows(rows))
    assert "joiner" not in proposal.options


TOKENS = st.text(min_size=1, max_size=4) | st.sampled_from([" ", "[", '{"a":', "12", "null", "\n"])
TAGS = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "S-X", "E-X", "x", ""]) | st.integers(0, 2)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(TOKENS, TAGS), min_size=1, max_size=8), st.sampled_from([" ", "", "\n"]), st.booleans())
def test_fidelity_property(pairs, joiner, repair):
    row = {"tokens": [t for t, _ in pairs], "tags": [g for _, g in pairs]}
    [outcome] = run_mapper(
        "bio_to_spans", [row], {"tokens": "tokens", "tags": "tags"}, {"joiner": joiner, "repair": repair}
    ).per_row
    if isinstance(outcome, Rejection):
        return
    [record] = outcome
    assert record["text"] == joiner.join(row["tokens"]) and record["tokens"] == row["tokens"]
    starts = {}
    pos = 0
    for i, token in enumerate(row["tokens"]):
        starts[pos] = i
        pos += len(token) + len(joiner)
    for span in record["spans"]:
        first = starts[span["start"]]  # every span starts at a token
        piece = record["text"][span["start"] : span["end"]]
        # and covers whole tokens joined by the joiner
        count = next(
            n
            for n in range(1, len(row["tokens"]) - first + 1)
            if joiner.join(row["tokens"][first : first + n]) == piece
        )
        assert count >= 1
