"""Fidelity of label_to_classification as property tests (issue 15): every accepted record's text is
the source value exactly, or the source values joined with the joiner (the documented, reversible
rule); a label is the source label (stripped, type-aware) or its name from ``label_names``, and that
naming can be inverted; anything else is a Rejection with a reason."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.mappers.base import Rejection, label_to_str
from brewslm.mappers.label_to_classification import DEFAULT_JOINER, MAPPER

TRICKY = st.sampled_from(
    [
        "[0, 1, 3]",
        "[Verse 1] la la",
        '{"a": 1}',
        "{",
        "42",
        "-0",
        "1e5",
        "null",
        "true",
        " ",
        "",
        "\n\n",
        "\t x \t",
        "\u00a0",
        "NaN",
        "a\r\nb",
        "\ufeffbom",
    ]
)
TEXT = st.one_of(st.text(max_size=40), TRICKY)
VALUE = st.one_of(
    TEXT,
    st.none(),
    st.integers(-3, 3),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
LABEL = st.one_of(
    st.integers(-1, 5),
    st.sampled_from(["0", "1", " 2 ", "pos", "neg", "", "[1]", "3.0"]),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True),
)
NAMES = {"0": "negative", "1": "positive", "2": "neutral"}
SETTINGS = settings(max_examples=100, deadline=None)


def _fields(n: int) -> list[str]:
    return [f"t{i}" for i in range(n)]


@SETTINGS
@given(
    values=st.lists(VALUE, min_size=1, max_size=3),
    label=LABEL,
    joiner=st.one_of(st.just(DEFAULT_JOINER), st.text(min_size=1, max_size=3)),
    named=st.booleans(),
)
def test_accepted_records_are_faithful(values, label, joiner, named):
    names = _fields(len(values))
    row = dict(zip(names, values))
    row["y"] = label
    field_map = {**{n: "text" for n in names}, "y": "label"}
    options = {"joiner": joiner, **({"label_names": NAMES} if named else {})}
    outcome = MAPPER.apply(row, MAPPER.canonical_map(field_map), options)
    texts_ok = all(isinstance(v, str) for v in values) and any(v.strip() for v in values)
    if isinstance(outcome, Rejection):
        assert outcome.reason and "\n" not in outcome.detail
        return
    assert texts_ok
    [record] = outcome
    expected_text = values[0] if len(values) == 1 else joiner.join(values)
    assert record["text"] == expected_text
    if len(values) > 1 and not any(joiner in v for v in values):
        assert record["text"].split(joiner) == values  # reversible given the joiner
    raw = label_to_str(label, "y")
    assert not isinstance(raw, Rejection)
    if named:
        inverse = {name: key for key, name in NAMES.items()}
        assert record["label"] in inverse
        assert raw in (inverse[record["label"]], record["label"])  # the id it came from, or already the name
    else:
        assert record["label"] == raw


@SETTINGS
@given(title=TEXT, body=TEXT)
def test_rows_with_a_missing_part_are_rejected_never_shortened(title, body):
    fields = MAPPER.canonical_map({"title": "text", "body": "text", "y": "label"})
    outcome = MAPPER.apply({"title": title, "y": "a"}, fields, {})
    assert isinstance(outcome, Rejection) and outcome.reason == "missing_text"
    outcome = MAPPER.apply({"title": title, "body": body, "y": "a"}, fields, {})
    if isinstance(outcome, Rejection):
        assert not (title.strip() or body.strip())
    else:
        assert outcome[0]["text"] == title + "\n\n" + body
