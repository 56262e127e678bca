"""Fidelity of qa_pair_passthrough (issue 15): every accepted record holds the source's texts exactly.

Rows are generated with answers in every shape the mapper reads (one text, an alias list, SQuAD's
answer objects, a Hugging Face answer dict, an alias list written as JSON in a CSV cell), with
texts that look like JSON, brackets, numbers and whitespace. An accepted record's question and
context equal the source values, and ``[answer] + alternatives`` equals the source's golds in
source order (blank ones and exact repeats left out: the documented rule); otherwise the row is a
Rejection with a reason.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.mappers.base import Rejection
from helpers.mapping import run_mapper

M = "qa_pair_passthrough"
FIELDS = {"question": "question", "answer": "answer", "context": "context", "unanswerable": "unanswerable"}

TRICKY = (
    "[0, 1, 3, 4, 6, 9]",
    "[Verse 1] la la",
    '{"a": 1}',
    "42",
    " ",
    "",
    "null",
    "true",
    '["x"',
    "[]",
    "{}",
    "Paris",
    "paris, france",
    "  padded  ",
    "line\nbreak",
)
texts = st.text(max_size=20) | st.sampled_from(TRICKY)
answer_shapes = st.one_of(
    st.tuples(st.just("text"), texts),
    st.tuples(st.just("aliases"), st.lists(texts, max_size=4)),
    st.tuples(st.just("squad"), st.lists(texts, max_size=4)),
    st.tuples(st.just("hf"), st.lists(texts, max_size=4)),
    st.tuples(st.just("csv"), st.lists(texts, max_size=4)),
)


def encode(shape: str, golds):
    if shape == "text":
        return golds
    if shape == "aliases":
        return list(golds)
    if shape == "squad":
        return [{"text": g, "answer_start": i} for i, g in enumerate(golds)]
    if shape == "hf":
        return {"text": list(golds), "answer_start": list(range(len(golds)))}
    return json.dumps(list(golds))


def expected_golds(shape: str, golds) -> list[str]:
    """The documented rule, written out independently: every gold in source order, blanks and
    exact repeats left out; one text is one gold, unless it is a whole JSON list of texts."""
    if shape == "text":
        try:
            decoded = json.loads(golds)
        except ValueError:
            decoded = None
        golds = decoded if isinstance(decoded, list) and all(isinstance(g, str) for g in decoded) else [golds]
    out: list[str] = []
    for gold in golds:
        if gold.strip() and gold not in out:
            out.append(gold)
    return out


@settings(max_examples=100, deadline=None)
@given(question=texts, answer=answer_shapes, context=st.none() | texts, flag=st.sampled_from([None, False, True, "no"]))
def test_accepted_records_keep_every_text_exactly(question, answer, context, flag):
    shape, golds = answer
    row = {"question": question, "answer": encode(shape, golds)}
    if context is not None:
        row["context"] = context
    if flag is not None:
        row["unanswerable"] = flag
    out = run_mapper(M, [row], FIELDS)
    outcome = out.per_row[0]
    want = expected_golds(shape, golds)
    if isinstance(outcome, Rejection):
        assert not question.strip() or not want or flag is True, outcome
        return
    assert flag is not True
    (record,) = outcome
    assert record["question"] == question
    assert [record["answer"], *record.get("alternatives", [])] == want
    if context is not None and context.strip():
        assert record["context"] == context
    else:
        assert "context" not in record
    assert set(record) <= {"question", "answer", "alternatives", "context"}
