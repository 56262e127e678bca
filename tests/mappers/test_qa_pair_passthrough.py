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
        (
            [{"text": "Rollo", "answer_start": 3}, {"text": "Rollo", "answer_start": 3}, {"text": "Rollo of Normandy"}],
            ["Rollo", "Rollo of Normandy"],
        ),
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
        {
            "id": "q2",
            "question": "Who?",
            "answers": [{"text": "Ada", "answer_start": 0}, {"text": "Ada Lovelace"}],
            "context": "Ada Lovelace wrote the first program.",
        },
    ]
    out = run_mapper(M, rows[:1])
    assert out.records == [{"question": "Capital of France?\n", "answer": "Paris", "id": "q1"}]
    out = run_mapper(M, rows[1:])
    assert out.records == [
        {
            "question": "Who?",
            "answer": "Ada",
            "context": "Ada Lovelace wrote the first program.",
            "alternatives": ["Ada Lovelace"],
            "id": "q2",
        }
    ]
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
    # one context text per question, every question answered: a qa record keeps the context
    with_context = [{**r, "context": f"Arithmetic fact {i}."} for i, r in enumerate(closed)]
    proposal = sniff(M, with_context)
    assert proposal.confidence >= 0.8 and proposal.field_map["context"] == "context"
    assert sniff("rag_passthrough", with_context).confidence <= 0.7
    # a list of passages per question is retrieval QA
    with_passages = [{**r, "context": [f"Arithmetic fact {i}.", "Another fact."]} for i, r in enumerate(closed)]
    assert sniff(M, with_passages).confidence <= 0.55
    assert sniff("rag_passthrough", with_passages).confidence >= 0.85
    unanswerable = [
        {**r, "is_impossible": i % 2 == 0, "answer": "" if i % 2 == 0 else r["answer"]}
        for i, r in enumerate(with_context)
    ]
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


# --- issue 15, class 9: gold answers as alias lists ----------------------------------------------


def test_alias_lists_keep_every_gold_in_source_order():
    rows = [
        {"question": "Capital of France?", "answer": ["Paris", "paris, france", "Paris"]},
        {"question": "Who wrote it?", "answers": {"text": ["Ada", "Ada Lovelace"], "answer_start": [0, 0]}},
        {"question": "Which digits?", "answer": "[0, 1, 3, 4, 6, 9]"},  # a text that looks like JSON stays text
        {"question": "Which city?", "answer": '["Rome", "Roma"]'},  # a CSV cell holding an alias list
    ]
    out = run_mapper(M, rows[:1])
    assert out.records == [{"question": "Capital of France?", "answer": "Paris", "alternatives": ["paris, france"]}]
    out = run_mapper(M, rows[1:2])
    assert out.records[0]["answer"] == "Ada" and out.records[0]["alternatives"] == ["Ada Lovelace"]
    out = run_mapper(M, rows[2:], {"question": "question", "answer": "answer"})
    assert out.records[0] == {"question": "Which digits?", "answer": "[0, 1, 3, 4, 6, 9]"}
    assert out.records[1] == {"question": "Which city?", "answer": "Rome", "alternatives": ["Roma"]}


def test_sniff_says_alias_lists_are_kept():
    rows = [
        {"question": f"Who founded city {i}?", "answer": [f"Founder {i}", f"founder {i} the elder"]} for i in range(20)
    ]
    proposal = sniff(M, rows)
    assert proposal.confidence >= 0.8
    assert any("several gold answers" in e and "training target" in e for e in proposal.evidence)


def test_unanswerable_flag_is_rejected_not_answered():
    rows = [
        {"question": "Q?", "context": "c", "answer": "a", "is_impossible": True},
        {"question": "Q?", "context": "c", "answer": "a", "is_impossible": False},
    ]
    out = run_mapper(M, rows)
    assert out.reasons == {"unanswerable": 1} and len(out.records) == 1


# --- issue 15, class 10: reading comprehension under other names -----------------------------------


def test_question_and_context_named_by_words_and_questions_in_other_scripts():
    # questions nested in passages, exploded: a query_text field, a context_text field, answers
    rows = [
        {
            "context_id": f"C{i}",
            "context_text": f"第{i}段：这座城市的创建者是张{i}，他在很久以前来到这里并建造了城墙。",
            "query_id": f"C{i}_Q0",
            "query_text": f"这座城市的创建者是谁{i}？",
            "answers": [f"张{i}"],
        }
        for i in range(20)
    ]
    proposal = sniff(M, rows)
    assert proposal.confidence >= 0.8, proposal.evidence
    assert proposal.field_map == {"query_text": "question", "answers": "answer", "context_text": "context"}
    assert sniff("rag_passthrough", rows).confidence < proposal.confidence


# --- issue 15 (first-seen check): a twin of the answer is not its context ---------------------------


def _faq_rows(n: int = 24) -> list[dict]:
    """An FAQ table: each answer also kept as scraped HTML beside it (entities, line breaks as tags),
    plus metadata. It has no passage: the HTML twin is the answer again."""
    rows = []
    for i in range(n):
        answer = (
            f"Wash your hands often with soap & water for at least {20 + i} seconds, especially after "
            f"being in a public place. Avoid touching your eyes, nose and mouth."
        )
        html_answer = answer.replace("&", "&amp;") if i % 2 else answer
        if i % 3 == 0:
            html_answer = html_answer.replace(". ", ".<br/>\n")
        rows.append(
            {
                "question": f"How can I protect myself, case {i}?",
                "answer": answer,
                "answer_html": f'<div class="panel-inner"><p>{html_answer}</p></div>',
                "source": ["Health Agency", "City Hall"][i % 2],
                "lang": "en",
            }
        )
    return rows


def test_a_field_that_renders_the_answer_again_is_not_its_context():
    rows = _faq_rows()
    proposal = sniff(M, rows)
    assert proposal.confidence >= 0.8, proposal.evidence
    assert "context" not in proposal.field_map.values(), proposal.field_map
    assert any(
        "'answer_html' is not a context" in e and "another rendering of the answer" in e for e in proposal.evidence
    ), proposal.evidence
    assert sniff("rag_passthrough", rows) is None
    # the same twin under a usual context name is left out too
    named = [{"question": r["question"], "answer": r["answer"], "context": r["answer_html"]} for r in rows]
    assert "context" not in sniff(M, named).field_map.values()


def test_a_real_context_that_quotes_the_answer_stays():
    rows = [
        {
            "question": f"Who built bridge {i}?",
            "answer": f"Engineer {i}",
            "passage": f"Bridge {i} spans the river in the old town. It was built by Engineer {i} in {1800 + i}, "
            "with stone from the quarry upstream, and rebuilt after the flood.",
        }
        for i in range(20)
    ]
    proposal = sniff(M, rows)
    assert proposal.field_map.get("passage") == "context" and proposal.confidence >= 0.8, proposal.evidence


@pytest.mark.parametrize(
    "passages,golds,expected",
    [
        (["<p>Stay home &amp; rest.</p>"], ["Stay home & rest."], True),
        (["STAY  HOME\nand rest"], ["stay home and rest"], True),
        (["308"], ["308"], True),
        (["?!"], [" ?! "], True),
        (["The defence gave up only 308 points and ranked sixth in the league."], ["308"], False),
        (
            ["Stay home and rest.", "Drink water, sleep well, call a doctor when the fever stays high."],
            ["Stay home and rest."],
            False,
        ),
        (["<b>x</b>"], [""], False),
    ],
)
def test_renders_answer(passages, golds, expected):
    from brewslm.mappers._reading import renders_answer

    assert renders_answer(passages, golds) is expected


def test_a_left_out_context_that_its_name_would_bring_back_stays_below_the_gate():
    # the import guesses an unmapped optional field by its usual name: a twin of the answer named
    # 'context' would come back, so the proposal must not be accepted silently
    named = [{"question": r["question"], "answer": r["answer"], "context": r["answer_html"]} for r in _faq_rows()]
    proposal = sniff(M, named)
    assert proposal.confidence < 0.8
    assert any("its name makes the import take it as the context" in e for e in proposal.evidence)


from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(st.text(min_size=1), st.text(alphabet=st.characters(categories=("L", "Nd")), min_size=1))
def test_an_answer_in_markup_renders_it_and_a_passage_around_it_does_not(answer, word):
    import html as _html

    from brewslm.mappers._reading import renders_answer

    # the answer escaped and wrapped in tags is the answer again (whenever it has a word to compare)
    wrapped = f'<div class="a"><p>{_html.escape(answer)}</p></div>'
    assert renders_answer([wrapped], [answer]) or not answer.strip()
    # a passage that quotes a one-word answer among many other words is a context
    passage = " ".join(f"other{i}" for i in range(20)) + f" {word} " + " ".join(f"more{i}" for i in range(20))
    assert not renders_answer([passage], [word])
