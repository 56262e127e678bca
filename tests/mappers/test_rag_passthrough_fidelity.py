"""Fidelity of rag_passthrough (issue 15): every accepted record holds the source's texts exactly.

Passages come as one text, a list of texts, passage objects (title + text: the text is the
passage) or a JSON list in a CSV cell; answers in every shape ``read_answers`` reads. An accepted
record's question equals the source, its passages are the source's non-blank passage texts in
order, ``[answer] + alternatives`` the golds in order (blanks and exact repeats left out), and a
row without a gold or flagged unanswerable is a refusal; anything else is a Rejection.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.mappers.base import Rejection
from helpers.mapping import run_mapper
from mappers.test_qa_pair_passthrough_fidelity import TRICKY, answer_shapes, encode, expected_golds

M = "rag_passthrough"
FIELDS = {"question": "question", "context": "context", "answer": "answer", "unanswerable": "unanswerable"}

texts = st.text(max_size=20) | st.sampled_from(TRICKY)
passage_shapes = st.one_of(
    st.tuples(st.just("text"), texts.map(lambda t: [t])),
    st.tuples(st.just("list"), st.lists(texts, max_size=4)),
    st.tuples(st.just("objects"), st.lists(texts, max_size=4)),
    st.tuples(st.just("csv"), st.lists(texts, max_size=4)),
    st.tuples(st.just("columns"), st.lists(texts, max_size=4)),
    st.tuples(st.just("documents"), st.lists(texts, max_size=4)),
)


def encode_passages(shape: str, passages: list[str]):
    if shape == "text":
        return passages[0]
    if shape == "list":
        return list(passages)
    if shape == "objects":
        return [{"title": f"T{i}", "text": p, "score": 1.5} for i, p in enumerate(passages)]
    if shape == "columns":  # an object of parallel lists (MS MARCO)
        return {"is_selected": [0] * len(passages), "passage_text": list(passages)}
    if shape == "documents":  # documents holding their paragraphs
        return [{"title": "D1", "paragraphs": passages[:2]}, {"title": "D2", "paragraphs": passages[2:]}]
    return json.dumps(passages)


def expected_passages(shape: str, passages: list[str]) -> list[str]:
    """One text is one passage unless it is a whole JSON list of texts (the CSV rule)."""
    if shape == "text":
        try:
            decoded = json.loads(passages[0])
        except ValueError:
            decoded = None
        if isinstance(decoded, list) and all(isinstance(p, str) for p in decoded):
            passages = decoded
    return [p for p in passages if p.strip()]


@settings(max_examples=100, deadline=None)
@given(question=texts, passages=passage_shapes, answer=answer_shapes, flag=st.sampled_from([None, False, True]))
def test_accepted_records_keep_every_text_exactly(question, passages, answer, flag):
    p_shape, p_texts = passages
    a_shape, golds = answer
    row = {"question": question, "context": encode_passages(p_shape, p_texts), "answer": encode(a_shape, golds)}
    if flag is not None:
        row["unanswerable"] = flag
    out = run_mapper(M, [row], FIELDS)
    outcome = out.per_row[0]
    want_passages = expected_passages(p_shape, p_texts)
    if isinstance(outcome, Rejection):
        assert not question.strip() or not want_passages, outcome
        return
    (record,) = outcome
    assert record["question"] == question
    assert record["passages"] == want_passages
    want = expected_golds(a_shape, golds)
    if flag is True or not want:
        assert record["is_refusal"] is True and record["answer"] == "" and "alternatives" not in record
    else:
        assert record["is_refusal"] is False
        assert [record["answer"], *record.get("alternatives", [])] == want
    assert set(record) <= {"question", "passages", "answer", "is_refusal", "alternatives"}
