"""span_passthrough: text + character spans in their common spellings -> span_set records."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from tests.helpers import shared_datasets as shared

from brewslm.errors import MapperError
from brewslm.mappers.base import Rejection
from brewslm.mappers.profile import profile_rows
from brewslm.mappers.span_passthrough import MAPPER
from brewslm.sources.base import ParseFailure
from brewslm.tasks import get_task_profile

FIELDS = {"text": "text", "spans": "spans"}
TASK = get_task_profile("structured_extraction")
TEXT = "Call Maria Ortiz at 555-0199.\nShe lives at 12 Elm\nStreet."


def run(row, fields=FIELDS, **options):
    outcome = MAPPER.apply(row, fields, options)
    if not isinstance(outcome, Rejection):
        for record in outcome:
            assert TASK.validate(record) is None, record
    return outcome


def reason(outcome) -> str:
    assert isinstance(outcome, Rejection), outcome
    return outcome.reason


def cut(record):
    return [(record["text"][s["start"] : s["end"]], s["label"]) for s in record["spans"]]


def at(value: str, label: str, text: str = TEXT) -> tuple[int, int, str]:
    start = text.index(value)
    return start, start + len(value), label


# --- spellings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda s, e, label, v: {"start": s, "end": e, "label": label},
        lambda s, e, label, v: {"start_position": s, "end_position": e, "entity_type": label, "entity_value": v},
        lambda s, e, label, v: {"start_offset": s, "end_offset": e, "type": label},
        lambda s, e, label, v: {"begin": s, "end": e, "tag": label, "text": v},
        lambda s, e, label, v: {"start_char": s, "end_char": e, "entity": label},
        lambda s, e, label, v: {"Start": s, "End": e, "Label": label},
        lambda s, e, label, v: {"start": s, "length": e - s, "label": label},
        lambda s, e, label, v: [s, e, label],
        lambda s, e, label, v: [s, e, label, v],
        lambda s, e, label, v: {
            "id": "x",
            "type": "labels",
            "value": {"start": s, "end": e, "text": v, "labels": [label]},
        },
    ],
)
def test_span_spellings(make):
    spans = [at("Maria Ortiz", "PERSON"), at("555-0199", "PHONE")]
    row = {"text": TEXT, "spans": [make(s, e, label, TEXT[s:e]) for s, e, label in reversed(spans)]}
    [record] = run(row)
    assert record["text"] == TEXT  # kept exactly, newlines included
    assert cut(record) == [("Maria Ortiz", "PERSON"), ("555-0199", "PHONE")]  # sorted by start


def test_span_across_a_newline_and_source_id():
    s, e, label = at("12 Elm\nStreet", "ADDRESS")
    [record] = run(
        {"doc": TEXT, "ents": [{"start": s, "end": e, "label": label, "value": "12 Elm\nStreet"}], "uid": 7},
        {"text": "doc", "spans": "ents", "id": "uid"},
    )
    assert cut(record) == [("12 Elm\nStreet", "ADDRESS")]
    assert record["id"] == 7


def test_empty_span_list_is_a_hard_negative():
    [record] = run({"text": TEXT, "spans": []})
    assert record == {"text": TEXT, "spans": []}


def test_spans_stored_as_json_text_are_decoded():
    s, e, label = at("Maria", "PERSON")
    [record] = run({"text": TEXT, "spans": json.dumps([[s, e, label]])})
    assert cut(record) == [("Maria", "PERSON")]


def test_label_studio_result_with_several_labels_gives_one_span_each():
    s, e, _ = at("Maria Ortiz", "")
    item = {"value": {"start": s, "end": e, "text": "Maria Ortiz", "labels": ["PERSON", "NAME"]}}
    [record] = run({"text": TEXT, "spans": [item]})
    assert cut(record) == [("Maria Ortiz", "NAME"), ("Maria Ortiz", "PERSON")]


def test_duplicates_collapse_and_overlaps_are_kept():
    a = {"start": 5, "end": 16, "label": "PERSON"}
    b = {"start": 5, "end": 10, "label": "FIRST_NAME"}
    [record] = run({"text": TEXT, "spans": [a, b, dict(a)]})
    assert record["spans"] == [
        {"start": 5, "end": 10, "label": "FIRST_NAME"},
        {"start": 5, "end": 16, "label": "PERSON"},
    ]


def test_whitespace_rule():
    s, e, label = at("Maria Ortiz", "PERSON")
    # offsets that include a surrounding space are trimmed to the entity
    [record] = run({"text": TEXT, "spans": [{"start": s - 1, "end": e + 1, "label": label}]})
    assert record["spans"] == [{"start": s, "end": e, "label": label}]
    # a stated value with surrounding or different inner whitespace still matches
    s2, e2, _ = at("12 Elm\nStreet", "ADDRESS")
    for stated in (" Maria Ortiz ", "Maria  Ortiz", "Maria\tOrtiz"):
        assert not isinstance(
            run({"text": TEXT, "spans": [{"start": s, "end": e, "label": label, "value": stated}]}), Rejection
        )
    assert not isinstance(run({"text": TEXT, "spans": [[s2, e2, "ADDRESS", "12 Elm Street"]]}), Rejection)
    # other differences do not
    outcome = run({"text": TEXT, "spans": [{"start": s, "end": e, "label": label, "value": "maria ortiz"}]})
    assert reason(outcome) == "span_text_mismatch" and "Maria Ortiz" in outcome.detail


def test_end_inclusive_offsets():
    s, e, label = at("Maria", "PERSON")
    [record] = run(
        {"text": TEXT, "spans": [{"start": s, "end": e - 1, "label": label, "value": "Maria"}]}, end_inclusive=True
    )
    assert cut(record) == [("Maria", "PERSON")]


def test_default_label_for_unlabelled_spans():
    s, e, _ = at("Maria", "")
    row = {"text": TEXT, "spans": [{"start": s, "end": e}]}
    assert reason(run(row)) == "missing_label"
    [record] = run(row, default_label="PII")
    assert cut(record) == [("Maria", "PII")]


def test_check_values_off_trusts_offsets():
    s, e, label = at("Maria", "PERSON")
    row = {"text": TEXT, "spans": [{"start": s, "end": e, "label": label, "value": "Mario"}]}
    assert reason(run(row)) == "span_text_mismatch"
    [record] = run(row, check_values=False)
    assert cut(record) == [("Maria", "PERSON")]


# --- rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"spans": []}, "missing_text"),
        ({"text": "   ", "spans": []}, "missing_text"),
        ({"text": 12, "spans": []}, "wrong_type"),
        ({"text": TEXT}, "missing_spans"),
        ({"text": TEXT, "spans": None}, "missing_spans"),
        ({"text": TEXT, "spans": {"start": 0}}, "wrong_type"),
        ({"text": TEXT, "spans": ["Maria"]}, "wrong_type"),
        ({"text": TEXT, "spans": [[0, 4]]}, "wrong_type"),
        ({"text": TEXT, "spans": [{"end": 4, "label": "X"}]}, "wrong_type"),
        ({"text": TEXT, "spans": [{"start": 0, "label": "X"}]}, "wrong_type"),
        ({"text": TEXT, "spans": [{"start": "0", "end": 4, "label": "X"}]}, "wrong_type"),
        ({"text": TEXT, "spans": [{"start": True, "end": 4, "label": "X"}]}, "wrong_type"),
        ({"text": TEXT, "spans": [{"start": 0.5, "end": 4, "label": "X"}]}, "wrong_type"),
        ({"text": TEXT, "spans": [{"start": 0, "end": 4, "label": 3}]}, "wrong_type"),
        ({"text": TEXT, "spans": [{"start": 0, "end": 4, "label": {"n": 1}}]}, "wrong_type"),
        ({"text": TEXT, "spans": [{"start": 0, "end": 4, "label": "X", "value": 4}]}, "wrong_type"),
        ({"text": TEXT, "spans": [{"start": 0, "end": 4, "label": " "}]}, "missing_label"),
        ({"text": TEXT, "spans": [{"start": 0, "end": 4, "label": []}]}, "missing_label"),
        ({"text": TEXT, "spans": [{"start": 0, "end": 400, "label": "X"}]}, "span_out_of_bounds"),
        ({"text": TEXT, "spans": [{"start": -1, "end": 4, "label": "X"}]}, "span_out_of_bounds"),
        ({"text": TEXT, "spans": [{"start": 4, "end": 4, "label": "X"}]}, "span_out_of_bounds"),
        ({"text": TEXT, "spans": [{"start": 9, "end": 4, "label": "X"}]}, "span_out_of_bounds"),
        ({"text": TEXT, "spans": [{"start": 4, "end": 5, "label": "X"}]}, "span_out_of_bounds"),  # a space
        ({"text": TEXT, "spans": [{"start": 0, "end": 4, "label": "X", "entity_value": "Cal"}]}, "span_text_mismatch"),
        ({"text": TEXT, "spans": [[0, 4, "X", "call"]]}, "span_text_mismatch"),
    ],
)
def test_rejections(row, expected):
    outcome = run(row)
    assert reason(outcome) == expected
    assert outcome.detail and "\n" not in outcome.detail


def test_one_bad_span_rejects_the_row_naming_it():
    outcome = run({"text": TEXT, "spans": [[0, 4, "X"], [0, 999, "Y"]]})
    assert reason(outcome) == "span_out_of_bounds" and outcome.detail.startswith("span 1")


def test_parse_failure():
    assert reason(MAPPER.apply(ParseFailure(1, "x", "bad json"), FIELDS, {})) == "parse_error"


@pytest.mark.parametrize(
    "options",
    [{"end_inclusive": "yes"}, {"check_values": 1}, {"default_label": ""}, {"default_label": 5}, {"offsets": "char"}],
)
def test_bad_options(options):
    with pytest.raises(MapperError):
        MAPPER.check_options(options)


def test_field_map_defaults_and_output_schema():
    assert MAPPER.resolve_field_map(None, ["full_text", "spans", "masked"]) == {"full_text": "text", "spans": "spans"}
    assert MAPPER.output_schema({}) == {"scoring_mode": "span_set"}


# --- sniffing -------------------------------------------------------------------------------------

NAMES = ["Maria Ortiz", "Tom Berg", "Ana Lima", "Li Wei"]


def pii_rows(
    n=30, spell=lambda s, e, label, v: {"start_position": s, "end_position": e, "entity_type": label, "entity_value": v}
):
    rows = []
    for i in range(n):
        name = NAMES[i % len(NAMES)]
        text = f"Ticket {i}: {name} called from 555-01{i:02d}."
        spans = (
            []
            if i % 5 == 0
            else [spell(*at(name, "PERSON", text), name), spell(*at(f"555-01{i:02d}", "PHONE", text), f"555-01{i:02d}")]
        )
        rows.append(
            {"full_text": text, "masked": text.replace(name, "{{PERSON}}"), "spans": spans, "template_id": i % 4}
        )
    return rows


def test_sniff_verifies_offsets_against_the_text():
    proposal = MAPPER.sniff(profile_rows(pii_rows()))
    assert proposal.field_map == {"full_text": "text", "spans": "spans"}
    assert proposal.confidence >= 0.95
    assert proposal.options == {}


def test_sniff_spellings_without_values_score_lower_but_pass():
    proposal = MAPPER.sniff(profile_rows(pii_rows(spell=lambda s, e, label, v: [s, e, label])))
    assert proposal.field_map["spans"] == "spans" and 0.8 <= proposal.confidence < 0.95


def test_sniff_detects_inclusive_end_offsets():
    rows = pii_rows(spell=lambda s, e, label, v: {"start": s, "end": e - 1, "label": label, "text": v})
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.options == {"end_inclusive": True} and proposal.confidence >= 0.9


def test_sniff_rejects_offsets_that_do_not_fit():
    rows = pii_rows(spell=lambda s, e, label, v: {"start": s + 3, "end": e + 3, "label": label, "text": v})
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal is None or proposal.confidence < 0.8
    # list-of-object fields without offsets (QA answers) are not spans
    qa = [{"context": "Paris is in France.", "answers": [{"text": "Paris", "answer_start": 0}]}] * 10
    assert MAPPER.sniff(profile_rows(qa)) is None


# --- shared data ----------------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.skipif(not shared.SHARED.is_dir(), reason="shared datasets absent")
@pytest.mark.parametrize(
    "spec, rows", [("jsonl:pii_presidio_synth/train.jsonl", 700), ("jsonl:pii_presidio_synth/dev.jsonl", 200)]
)
def test_presidio_is_sniffed_and_every_row_maps(spec, rows):
    profile = shared.profile(spec)
    proposal = MAPPER.sniff(profile)
    assert proposal.confidence >= 0.8
    assert proposal.field_map == {"full_text": "text", "spans": "spans"}
    fields = MAPPER.canonical_map(proposal.field_map)
    accepted, negatives, rejected, labels = 0, 0, Counter(), Counter()
    for row in shared.rows(spec):
        outcome = MAPPER.apply(row, fields, proposal.options)
        if isinstance(outcome, Rejection):
            rejected[outcome.reason] += 1
            continue
        [record] = outcome
        assert TASK.validate(record) is None
        assert record["text"] == row["full_text"]
        # every source span survives with its value at its offsets
        assert sorted((s["start_position"], s["end_position"], s["entity_type"]) for s in row["spans"]) == [
            (s["start"], s["end"], s["label"]) for s in record["spans"]
        ]
        for s in row["spans"]:
            assert record["text"][s["start_position"] : s["end_position"]] == s["entity_value"]
        labels.update(s["label"] for s in record["spans"])
        negatives += not record["spans"]
        accepted += 1
    assert rejected == Counter() and accepted == rows
    assert negatives == (51 if "train" in spec else 10)  # SOURCE.md: records with no span at all
    assert {"PERSON", "STREET_ADDRESS", "CREDIT_CARD"} <= set(labels)
