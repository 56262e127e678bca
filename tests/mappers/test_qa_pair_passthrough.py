import pytest

from brewslm.mappers.base import Rejection
from brewslm.mappers.qa_pair_passthrough import read_answers
from helpers.mapping import needs_shared, run_mapper, shared_rows, sniff

M = "qa_pair_passthrough"


@pytest.mark.parametrize(
    "value,expected",
    [
        ("Paris", ["Paris"]),
        ("  ", []),
        (None, []),
        ([], []),
        (42, ["42"]),
        (True, ["true"]),
        (["Paris", "paris", "Paris"], ["Paris", "paris"]),
        ([{"text": "Rollo", "answer_start": 3}, {"text": "Rollo", "answer_start": 3}, {"text": "Rollo of Normandy"}],
         ["Rollo", "Rollo of Normandy"]),
        ({"text": ["1066", "in 1066"], "answer_start": [10, 7]}, ["1066", "in 1066"]),
        ({"text": []}, []),
        ('[{"text": "x", "answer_start": 0}]', ["x"]),
        ("[citation needed]", ["[citation needed]"]),
    ],
)
def test_read_answers(value, expected):
    assert read_answers({"a": value}, "a") == expected


@pytest.mark.parametrize("value", [{"start": 3}, [["x"]], {"text": [{"t": 1}]}, 1.5 + 0j])
def test_read_answers_wrong_type(value):
    out = read_answers({"a": value}, "a")
    assert isinstance(out, Rejection) and out.reason == "wrong_type"


def test_mapping():
    rows = [
        {"id": "q1", "question": "Capital of France?\n", "answer": "Paris"},
        {"id": "q2", "question": "Who?", "answers": [{"text": "Ada", "answer_start": 0}, {"text": "Ada Lovelace"}],
         "context": "Ada Lovelace wrote the first program."},
    ]
    out = run_mapper(M, rows[:1])
    assert out.records == [{"question": "Capital of France?\n", "answer": "Paris", "id": "q1"}]
    out = run_mapper(M, rows[1:])
    assert out.records == [{"question": "Who?", "answer": "Ada", "context": "Ada Lovelace wrote the first program.",
                            "id": "q2", "meta": {"alternatives": ["Ada Lovelace"]}}]
    alpaca = run_mapper(M, [{"instruction": "Translate: hi", "input": "", "output": "salut"}])
    assert alpaca.records == [{"question": "Translate: hi", "answer": "salut"}]


@pytest.mark.parametrize(
    "row,reason",
    [
        ({"question": "", "answer": "a"}, "missing_question"),
        ({"answer": "a"}, "missing_question"),
        ({"question": ["q"], "answer": "a"}, "wrong_type"),
        ({"question": "q", "answer": ""}, "missing_answer"),
        ({"question": "q", "answer": []}, "missing_answer"),
        ({"question": "q", "answer": {"start": 1}}, "wrong_type"),
        ({"question": "q", "answer": "a", "context": ["p1"]}, "wrong_type"),
    ],
)
def test_rejections(row, reason):
    out = run_mapper(M, [row], {"question": "question", "answer": "answer", "context": "context"})
    assert out.reasons == {reason: 1}, out.rejections


def test_sniff_closed_book_vs_with_context():
    closed = [{"question": f"What is {i}+{i}?", "answer": str(2 * i)} for i in range(30)]
    proposal = sniff(M, closed)
    assert proposal.confidence >= 0.8 and proposal.field_map == {"question": "question", "answer": "answer"}
    with_context = [{**r, "context": f"Arithmetic fact {i}."} for i, r in enumerate(closed)]
    assert sniff(M, with_context).confidence <= 0.6
    unanswerable = [{**r, "is_impossible": i % 2 == 0, "answer": "" if i % 2 == 0 else r["answer"]}
                    for i, r in enumerate(with_context)]
    assert sniff(M, unanswerable).confidence <= 0.5
    assert sniff(M, [{"text": "t", "label": "x"}] * 5) is None
    alpaca = [{"instruction": f"Write a haiku about {i}.", "input": "", "output": "..."} for i in range(20)]
    assert sniff(M, alpaca).confidence >= 0.8
    generic = [{"input": f"sentence {i}", "output": f"SENTENCE {i}"} for i in range(20)]
    assert sniff(M, generic).confidence < 0.8


@needs_shared
def test_shared_squad_is_left_to_rag():
    data = shared_rows("jsonl:qa_squad2/dev.jsonl")
    proposal = sniff(M, data)
    assert proposal.confidence <= 0.6
    assert sniff("rag_passthrough", data).confidence > proposal.confidence + 0.3


from hypothesis import given, settings  # noqa: E402

from helpers.mapping import json_rows  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(json_rows(("question", "answer", "context", "text", "answer_start", "id"), ('[{"text": "x"}]', "[oops")))
def test_any_row_gives_valid_records_or_a_rejection(row):
    run_mapper(M, [row], {"question": "question", "answer": "answer", "context": "context", "id": "id"})
