import pytest

from brewslm.errors import MapperError
from brewslm.mappers.base import Rejection
from brewslm.mappers.rag_passthrough import read_flag, read_passages
from helpers.mapping import needs_shared, run_mapper, shared_rows, sniff

M = "rag_passthrough"


@pytest.mark.parametrize(
    "value,expected",
    [
        ("One passage.\n\nWith paragraphs.", ["One passage.\n\nWith paragraphs."]),
        (["p1", "  ", "p2"], ["p1", "p2"]),
        ([{"title": "T", "text": "p1"}, {"content": "p2"}, {"passage_text": "p3"}], ["p1", "p2", "p3"]),
        ([["Title", ["Sentence one.", " Sentence two."]]], ["Sentence one. Sentence two."]),
        ({"is_selected": [0, 1], "passage_text": ["a", "b"]}, ["a", "b"]),
        ({"title": ["T1", "T2"], "sentences": [["One.", " Two."], ["Three."]]}, ["One. Two.", "Three."]),
        ({"url": ["u"], "search_context": ["p1", "p2"]}, ["p1", "p2"]),
        ([{"title": "D1", "paragraphs": ["p1", " ", "p2"]}, {"title": "D2", "paragraphs": ["p3"]}], ["p1", "p2", "p3"]),
        ('["p1", "p2"]', ["p1", "p2"]),
        ("[Note] a passage that starts with a bracket", ["[Note] a passage that starts with a bracket"]),
    ],
)
def test_read_passages(value, expected):
    assert read_passages({"c": value}, "c") == expected


@pytest.mark.parametrize(
    "value,reason",
    [
        (None, "missing_context"),
        ("  ", "missing_context"),
        ([], "missing_context"),
        ([" "], "missing_context"),
        (5, "wrong_type"),
        ([1, 2], "wrong_type"),
        ([{"url": "x"}], "wrong_type"),
        ({"url": "x"}, "wrong_type"),
    ],
)
def test_read_passages_rejections(value, reason):
    out = read_passages({"c": value}, "c")
    assert isinstance(out, Rejection) and out.reason == reason


def test_read_flag():
    assert [read_flag({"f": v}, "f") for v in (True, 0, 1, "True", " no ", None)] == [
        True,
        False,
        True,
        True,
        False,
        False,
    ]
    assert read_flag({}, "f") is False
    assert read_flag({"f": "maybe"}, "f").reason == "wrong_type"


def test_answers_alternatives_and_refusals():
    rows = [
        {
            "id": "a",
            "question": "Who?",
            "context": "Ada wrote it.",
            "answers": [{"text": "Ada", "answer_start": 0}, {"text": "Ada", "answer_start": 0}, {"text": "Ada wrote"}],
        },
        {
            "id": "b",
            "question": "When?",
            "context": "Ada wrote it.",
            "answers": [],
            "is_impossible": True,
            "plausible_answers": [{"text": "Ada", "answer_start": 0}],
        },
        {"id": "c", "question": "Why?", "context": ["p1", "p2"], "answers": {"text": [], "answer_start": []}},
        {"id": "d", "question": "Where?", "context": "Ada wrote it.", "answers": "Ada", "is_impossible": "true"},
    ]
    out = run_mapper(M, rows)
    assert out.records[0] == {
        "question": "Who?",
        "passages": ["Ada wrote it."],
        "answer": "Ada",
        "is_refusal": False,
        "alternatives": ["Ada wrote"],
        "id": "a",
    }
    assert [r["is_refusal"] for r in out.records] == [False, True, True, True]
    assert all(r["answer"] == "" and "alternatives" not in r for r in out.records[1:])
    assert out.records[2]["passages"] == ["p1", "p2"]


def test_refusal_answers_option():
    rows = [
        {"question": "Q?", "context": "c", "answer": "Unanswerable"},
        {"question": "Q?", "context": "c", "answer": "yes"},
    ]
    out = run_mapper(M, rows, None, {"refusal_answers": ["unanswerable"]})
    assert [r["is_refusal"] for r in out.records] == [True, False]
    with pytest.raises(MapperError):
        run_mapper(M, rows, None, {"refusal_answers": "unanswerable"})


@pytest.mark.parametrize(
    "row,reason",
    [
        ({"context": "c", "answer": "a"}, "missing_question"),
        ({"question": " ", "context": "c", "answer": "a"}, "missing_question"),
        ({"question": "q", "answer": "a"}, "missing_context"),
        ({"question": "q", "context": "", "answer": "a"}, "missing_context"),
        ({"question": "q", "context": [3], "answer": "a"}, "wrong_type"),
        ({"question": "q", "context": "c", "answer": {"start": 1}}, "wrong_type"),
        ({"question": "q", "context": "c", "answer": "a", "unanswerable": "perhaps"}, "wrong_type"),
    ],
)
def test_rejections(row, reason):
    out = run_mapper(
        M, [row], {"question": "question", "context": "context", "answer": "answer", "unanswerable": "unanswerable"}
    )
    assert out.reasons == {reason: 1}, out.rejections


def test_sniff():
    rows = [
        {
            "question": f"Who wrote book {i}?",
            "context": f"Book {i} was written by Author {i}.",
            "answer": "" if i % 3 == 0 else f"Author {i}",
        }
        for i in range(30)
    ]
    proposal = sniff(M, rows)
    assert proposal.confidence >= 0.9
    assert proposal.field_map == {"question": "question", "context": "context", "answer": "answer"}
    assert any("unanswerable" in e for e in proposal.evidence)
    assert sniff(M, [{"question": "q", "answer": "a"}] * 5) is None


@needs_shared
@pytest.mark.parametrize(
    "locator,count,refusals",
    [
        ("jsonl:qa_squad2/train.jsonl", 700, 359),
        ("jsonl:qa_squad2/dev.jsonl", 150, 84),
        ("json:qa_squad2/train-v2.0.json?explode=data.paragraphs.qas", 700, 359),
        ("json:qa_squad2/dev-v2.0.json?explode=data.paragraphs.qas", 150, 84),
    ],
)
def test_shared_squad2(locator, count, refusals):
    data = shared_rows(locator)
    proposal = sniff(M, data)
    assert proposal.confidence >= 0.9
    assert proposal.field_map == {
        "question": "question",
        "context": "context",
        "answers": "answer",
        "is_impossible": "unanswerable",
        "id": "id",
    }
    assert proposal.confidence > sniff("qa_pair_passthrough", data).confidence + 0.3
    out = run_mapper(M, data, proposal.field_map)
    assert not out.rejections and len(out.records) == count
    assert sum(r["is_refusal"] for r in out.records) == refusals
    for row, record in zip(data, out.records):
        if not record["is_refusal"]:
            assert record["answer"] == row["answers"][0]["text"] and record["answer"] in record["passages"][0]


def test_csv_export_with_text_flags_and_json_passages(tmp_path):
    from brewslm.sources import open_source
    from helpers.mapping import write_csv

    rows = [
        {
            "id": str(i),
            "question": f"Who made item {i}?",
            "passages": [f"Item {i} was made by Maker {i}.", "Other."],
            "answer": "" if i % 4 == 0 else f"Maker {i}",
            "is_impossible": "True" if i % 4 == 0 else "False",
        }
        for i in range(20)
    ]
    data = list(open_source(write_csv(tmp_path / "rag.csv", rows)).rows())
    proposal = sniff(M, data)
    assert proposal.confidence >= 0.9
    assert proposal.field_map == {
        "question": "question",
        "passages": "context",
        "answer": "answer",
        "is_impossible": "unanswerable",
        "id": "id",
    }
    out = run_mapper(M, data, proposal.field_map)
    assert out.records[1]["passages"] == ["Item 1 was made by Maker 1.", "Other."]
    assert [r["is_refusal"] for r in out.records[:4]] == [True, False, False, False]


from hypothesis import given, settings  # noqa: E402

from helpers.mapping import json_rows  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(
    json_rows(
        ("question", "context", "answer", "unanswerable", "text", "content", "passage_text", "id"),
        ('["p"]', "true", "no", "[x"),
    )
)
def test_any_row_gives_valid_records_or_a_rejection(row):
    run_mapper(
        M,
        [row],
        {"question": "question", "context": "context", "answer": "answer", "unanswerable": "unanswerable", "id": "id"},
        {"refusal_answers": ["n/a"]},
    )
