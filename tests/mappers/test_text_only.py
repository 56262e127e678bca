"""text_only: one text field -> language_modeling records; a modest, generic sniffer."""

from __future__ import annotations

import pytest
from tests.helpers import shared_datasets as shared

from brewslm.mappers import get_mapper
from brewslm.mappers.base import Rejection
from brewslm.mappers.profile import profile_rows
from brewslm.mappers.text_only import MAPPER
from brewslm.sources.base import ParseFailure
from brewslm.tasks import get_task_profile

TASK = get_task_profile("language_modeling")
DOCS = [
    "The mill opened in 1841 and\nran on water power until 1902.",
    "Spring floods reached the\tbridge twice that decade.",
    "Records of the guild list forty members by name.",
]


def run(row, fields={"text": "text"}, **options):
    outcome = MAPPER.apply(row, fields, options)
    if not isinstance(outcome, Rejection):
        for record in outcome:
            assert TASK.validate(record) is None
    return outcome


def test_text_is_kept_exactly():
    text = "  Title\n\n\tBody with  two spaces.\n"
    assert run({"text": text}) == [{"text": text}]


def test_id_and_dotted_source():
    assert run({"doc": {"body": "hello there"}, "id": 4}, {"text": "doc.body", "id": "id"}) == [
        {"text": "hello there", "id": 4}
    ]


@pytest.mark.parametrize(
    "row, expected",
    [
        ({}, "missing_text"),
        ({"text": None}, "missing_text"),
        ({"text": "\n \t"}, "missing_text"),
        ({"text": 42}, "wrong_type"),
        ({"text": {"a": "b"}}, "wrong_type"),
        ({"text": ["a", "b"]}, "wrong_type"),
    ],
)
def test_rejections(row, expected):
    outcome = run(row)
    assert isinstance(outcome, Rejection) and outcome.reason == expected


def test_parse_failure():
    outcome = MAPPER.apply(ParseFailure(9, "{", "Unterminated"), {"text": "text"}, {})
    assert outcome.reason == "parse_error"


def test_only_the_line_joiner_option():
    assert list(MAPPER.options_doc) == ["line_joiner"]
    with pytest.raises(Exception):
        MAPPER.check_options({"strip": True})


def corpus(n=60, **extra):
    return [{"text": f"{DOCS[i % 3]} Page {i}.", **{k: f(i) for k, f in extra.items()}} for i in range(n)]


def test_sniff_alone_or_with_ids_reaches_the_threshold():
    alone = MAPPER.sniff(profile_rows(corpus()))
    assert alone.field_map == {"text": "text"} and alone.confidence >= 0.8
    with_ids = MAPPER.sniff(profile_rows(corpus(id=lambda i: f"doc-{i}", source_url=lambda i: None)))
    assert with_ids.field_map == {"text": "text", "id": "id"} and 0.8 <= with_ids.confidence <= alone.confidence
    unnamed = MAPPER.sniff(profile_rows([{"body_of_doc": r["text"]} for r in corpus()]))
    assert unnamed.field_map == {"body_of_doc": "text"} and unnamed.confidence >= 0.8


@pytest.mark.parametrize(
    "extra",
    [
        {"label": lambda i: i % 2},
        {"topic": lambda i: ["a b", "c d"][i % 2]},
        {"tags": lambda i: ["x"]},
        {"meta": lambda i: {"page": i}},
        {"summary": lambda i: f"a short summary of page {i} here"},
        {"score": lambda i: i * 0.5},
    ],
)
def test_sniff_stays_low_when_other_data_would_be_dropped(extra):
    proposal = MAPPER.sniff(profile_rows(corpus(**extra)))
    assert proposal.confidence <= 0.55
    assert any("dropped" in e for e in proposal.evidence)


def test_sniff_needs_a_text_field():
    assert MAPPER.sniff(profile_rows([{"n": i} for i in range(10)])) is None
    short = MAPPER.sniff(profile_rows([{"text": w} for w in ["yes", "no", "maybe", "ok"] * 5 + ["fine"]]))
    assert short is None or short.confidence < 0.8


# --- shared data: never above the specific mapper -----------------------------------------------------

RIGHT = {
    "csv:sentiment_sst2/train.csv": "label_to_classification",
    "csv:intent_banking77/train.csv": "label_to_classification",
    "jsonl:intent_clinc150/dev.jsonl": "label_to_classification",
    "json:intent_clinc150/data_full_sample.json": "label_to_classification",
    "jsonl:ner_wnut17/train.jsonl": "bio_to_spans",
    "conll:ner_wnut17/dev.conll": "bio_to_spans",
    "jsonl:pii_presidio_synth/train.jsonl": "span_passthrough",
    "jsonl:kv_sroie/train.jsonl": "kv_to_structured",
}
OTHERS = [
    "jsonl:qa_squad2/train.jsonl",
    "jsonl:chat_sft_taskmaster4/train.jsonl",
    "jsonl:chat_sft_oasst/train.jsonl",
    "jsonl:preference_hh_rlhf/train.jsonl",
    "jsonl:tool_calling_glaive/train.jsonl",
    "jsonl:tool_calling_bfcl/train.jsonl",
]


@pytest.mark.shared_data
@pytest.mark.skipif(not shared.SHARED.is_dir(), reason="shared datasets absent")
@pytest.mark.parametrize("spec", list(RIGHT) + OTHERS)
def test_shared_data_never_goes_to_text_only(spec):
    profile = shared.profile(spec)
    proposal = MAPPER.sniff(profile)
    assert proposal is None or proposal.confidence <= 0.6
    if spec in RIGHT and proposal is not None:
        assert get_mapper(RIGHT[spec]).sniff(profile).confidence > proposal.confidence
