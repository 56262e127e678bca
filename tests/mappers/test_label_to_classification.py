"""label_to_classification: text + label -> classification records, and its sniffer."""

from __future__ import annotations

from collections import Counter

import pytest
from tests.helpers import shared_datasets as shared

from brewslm.errors import MapperError
from brewslm.mappers.base import Rejection
from brewslm.mappers.label_to_classification import MAPPER
from brewslm.mappers.profile import profile_rows
from brewslm.sources.base import ParseFailure
from brewslm.tasks import get_task_profile

FIELDS = {"text": "text", "label": "label"}
TASK = get_task_profile("classification")


def run(row, fields=FIELDS, **options):
    outcome = MAPPER.apply(row, fields, options)
    if not isinstance(outcome, Rejection):
        for record in outcome:
            assert TASK.validate(record) is None, record
    return outcome


def reason(outcome) -> str:
    assert isinstance(outcome, Rejection), outcome
    return outcome.reason


# --- mapping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, expected",
    [
        ("positive", "positive"),
        ("  not entailment ", "not entailment"),
        (1, "1"),
        (0, "0"),
        ("0", "0"),
        (2.0, "2"),
        (True, "true"),
        (False, "false"),
    ],
)
def test_labels_of_every_type_become_strings(label, expected):
    [record] = run({"text": "fine", "label": label})
    assert record["label"] == expected


def test_text_is_kept_exactly():
    text = "  first line\n\n  second\tline  "
    [record] = run({"text": text, "label": "a"})
    assert record["text"] == text


def test_label_names_list_and_object():
    names = ["negative", "positive"]
    assert run({"text": "x", "label": 1}, label_names=names)[0]["label"] == "positive"
    assert run({"text": "x", "label": "0"}, label_names=names)[0]["label"] == "negative"
    assert run({"text": "x", "label": "positive"}, label_names=names)[0]["label"] == "positive"  # already a name
    assert reason(run({"text": "x", "label": 2}, label_names=names)) == "label_not_allowed"
    mapping = {"true": "spam", "false": "ham"}
    assert run({"text": "x", "label": True}, label_names=mapping)[0]["label"] == "spam"
    assert run({"text": "x", "label": 0}, label_names={0: "neg", 1: "pos"})[0]["label"] == "neg"


def test_allowed_labels():
    assert run({"text": "x", "label": "b"}, labels=["a", "b"])[0]["label"] == "b"
    outcome = run({"text": "x", "label": "c"}, labels=["a", "b"])
    assert reason(outcome) == "label_not_allowed" and "'c'" in outcome.detail
    # checked after naming
    assert run({"text": "x", "label": 1}, labels=["pos"], label_names=["neg", "pos"])[0]["label"] == "pos"
    assert run({"text": "x", "label": 1}, labels=[1, 0])[0]["label"] == "1"
    assert MAPPER.output_schema({"labels": ["b", "a"]}) == {"labels": ["a", "b"]}
    assert MAPPER.output_schema({}) == {}


def test_source_id_is_carried():
    [record] = run({"text": "x", "label": "a", "guid": "g-1"}, {**FIELDS, "id": "guid"})
    assert record == {"text": "x", "label": "a", "id": "g-1"}
    assert reason(run({"text": "x", "label": "a", "guid": ["g"]}, {**FIELDS, "id": "guid"})) == "wrong_type"


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"label": "a"}, "missing_text"),
        ({"text": None, "label": "a"}, "missing_text"),
        ({"text": " \n ", "label": "a"}, "missing_text"),
        ({"text": 3, "label": "a"}, "wrong_type"),
        ({"text": ["a"], "label": "a"}, "wrong_type"),
        ({"text": "x"}, "missing_label"),
        ({"text": "x", "label": None}, "missing_label"),
        ({"text": "x", "label": "  "}, "missing_label"),
        ({"text": "x", "label": ["a", "b"]}, "wrong_type"),
        ({"text": "x", "label": {"name": "a"}}, "wrong_type"),
        ({"text": "x", "label": float("nan")}, "wrong_type"),
    ],
)
def test_rejections(row, expected):
    outcome = run(row)
    assert reason(outcome) == expected
    assert outcome.detail and "\n" not in outcome.detail


def test_parse_failure():
    assert reason(MAPPER.apply(ParseFailure(2, "a,b,c", "row has 3 cells, header has 2"), FIELDS, {})) == "parse_error"


@pytest.mark.parametrize(
    "options",
    [
        {"labels": "a,b"},
        {"labels": []},
        {"labels": [["a"]]},
        {"label_names": "neg"},
        {"label_names": ["neg", 3]},
        {"label_names": {"0": None}},
        {"classes": ["a"]},
    ],
)
def test_bad_options(options):
    with pytest.raises(MapperError):
        MAPPER.check_options(options)


def test_field_map_defaults():
    assert MAPPER.resolve_field_map(None, ["sentence", "label"]) == {"sentence": "text", "label": "label"}
    assert MAPPER.resolve_field_map(None, ["text", "category"]) == {"text": "text", "category": "label"}
    assert MAPPER.resolve_field_map({"col_1": "text", "col_2": "label"}, ["col_1", "col_2", "split"]) == {
        "col_1": "text",
        "col_2": "label",
    }


# --- sniffing -------------------------------------------------------------------------------------

REVIEWS = [
    "the plot drags on far too long",
    "a warm, funny and clever film",
    "I want my two hours back",
    "wonderful acting from the whole cast",
    "dull and predictable from start to end",
    "an instant classic for the whole family",
]


def reviews(n=200, label=lambda i: i % 2, text_key="review", label_key="label", **extra):
    return [
        {text_key: f"{REVIEWS[i % len(REVIEWS)]} ({i})", label_key: label(i), **{k: f(i) for k, f in extra.items()}}
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "label",
    [
        lambda i: i % 2,
        lambda i: str(i % 2),
        lambda i: bool(i % 2),
        lambda i: ["very negative", "neutral", "very positive"][i % 3],
        lambda i: f"intent_{i % 40}",
    ],
)
def test_sniff_type_aware_labels(label):
    proposal = MAPPER.sniff(profile_rows(reviews(label=label)))
    assert proposal.field_map == {"review": "text", "label": "label"}
    assert proposal.confidence >= 0.9
    assert any("distinct values" in e for e in proposal.evidence)


def test_sniff_without_usual_names_picks_the_wordiest_text_and_the_label_column():
    rows = reviews(
        text_key="col_1",
        label_key="col_2",
        label=lambda i: f"class_{i % 12}",
        split=lambda i: "train" if i % 4 else "dev",
        short=lambda i: f"s{i % 7}",
    )
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.field_map == {"col_1": "text", "col_2": "label"}
    assert 0.8 <= proposal.confidence < 0.95


def test_sniff_many_classes_in_a_small_sample_under_a_label_name():
    rows = reviews(n=300, label_key="intent", label=lambda i: f"intent_{i % 140}")
    assert MAPPER.sniff(profile_rows(rows)).field_map["intent"] == "label"


def test_sniff_stays_low_when_the_data_is_richer_than_text_and_label():
    rows = reviews(context=lambda i: REVIEWS[(i + 1) % 6] * 3, answers=lambda i: [{"text": "x", "answer_start": 0}])
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.confidence <= 0.6
    # a second free-text field is no longer left out: it is joined into the text (issue 15, class 1)
    two_texts = reviews(summary=lambda i: f"{REVIEWS[(i + 2) % 6]} and more words here {i}")
    assert MAPPER.sniff(profile_rows(two_texts)).field_map == {"review": "text", "summary": "text", "label": "label"}


def test_sniff_finds_no_label():
    assert MAPPER.sniff(profile_rows(reviews(label=lambda i: f"unique-{i}"))) is None  # every value once
    assert MAPPER.sniff(profile_rows(reviews(label=lambda i: i * 0.37))) is None  # regression scores
    assert MAPPER.sniff(profile_rows(reviews(label=lambda i: "same"))) is None  # one class
    assert MAPPER.sniff(profile_rows([{"tokens": ["a"], "tags": ["O"]}] * 20)) is None
    assert MAPPER.sniff(profile_rows([])) is None


def test_allowed_set_is_never_taken_from_the_sample():
    proposal = MAPPER.sniff(profile_rows(reviews(label=lambda i: i % 2)))
    assert "labels" not in proposal.options
    # a class the sample never showed still maps
    fields = MAPPER.canonical_map(proposal.field_map)
    assert MAPPER.apply({"review": "meh", "label": 2}, fields, proposal.options)[0]["label"] == "2"


# --- shared data ----------------------------------------------------------------------------------

CASES = [
    ("csv:sentiment_sst2/train.csv", {"sentence": "text", "label": "label"}, 2000, 2),
    ("csv:sentiment_sst2/dev.csv", {"sentence": "text", "label": "label"}, 500, 2),
    ("csv:intent_banking77/train.csv", {"text": "text", "category": "label"}, 2000, 77),
    ("csv:intent_banking77/dev.csv", {"text": "text", "category": "label"}, 500, 76),
    ("jsonl:intent_clinc150/train.jsonl", {"text": "text", "intent": "label"}, 1510, 151),
    ("jsonl:intent_clinc150/dev.jsonl", {"text": "text", "intent": "label"}, 310, 137),
    ("json:intent_clinc150/data_full_sample.json", {"col_1": "text", "col_2": "label"}, 1820, 151),
]


@pytest.mark.shared_data
@pytest.mark.skipif(not shared.SHARED.is_dir(), reason="shared datasets absent")
@pytest.mark.parametrize("spec, field_map, rows, classes", CASES)
def test_shared_classification_sets(spec, field_map, rows, classes):
    profile = shared.profile(spec)
    proposal = MAPPER.sniff(profile)
    assert proposal.confidence >= 0.8
    assert proposal.field_map == field_map
    fields = MAPPER.canonical_map(proposal.field_map)
    labels: Counter = Counter()
    rejected: Counter = Counter()
    text_key = next(k for k, v in field_map.items() if v == "text")
    for row in shared.rows(spec):
        outcome = MAPPER.apply(row, fields, proposal.options)
        if isinstance(outcome, Rejection):
            rejected[outcome.reason] += 1
            continue
        [record] = outcome
        assert record["text"] == row[text_key]  # exactly, trailing spaces of SST-2 phrases included
        labels[record["label"]] += 1
    assert rejected == Counter()
    assert sum(labels.values()) == rows and len(labels) == classes
    if "sst2" in spec:
        assert set(labels) == {"0", "1"}
    if "clinc" in spec:
        assert "oos" in labels


@pytest.mark.shared_data
@pytest.mark.skipif(not shared.SHARED.is_dir(), reason="shared datasets absent")
def test_sst2_with_label_names():
    fields = {"text": "sentence", "label": "label"}
    names = ["negative", "positive"]
    counts = Counter(
        MAPPER.apply(r, fields, {"label_names": names})[0]["label"] for r in shared.rows("csv:sentiment_sst2/dev.csv")
    )
    assert set(counts) == set(names) and sum(counts.values()) == 500


@pytest.mark.shared_data
@pytest.mark.skipif(not shared.SHARED.is_dir(), reason="shared datasets absent")
@pytest.mark.parametrize(
    "spec",
    [
        "jsonl:ner_wnut17/train.jsonl",
        "jsonl:pii_presidio_synth/train.jsonl",
        "jsonl:kv_sroie/train.jsonl",
        "jsonl:qa_squad2/train.jsonl",
        "jsonl:chat_sft_taskmaster4/train.jsonl",
        "jsonl:chat_sft_oasst/train.jsonl",
        "jsonl:preference_hh_rlhf/train.jsonl",
        "jsonl:tool_calling_glaive/train.jsonl",
        "jsonl:tool_calling_bfcl/train.jsonl",
    ],
)
def test_not_claimed_for_other_tasks(spec):
    proposal = MAPPER.sniff(shared.profile(spec))
    assert proposal is None or proposal.confidence <= 0.6


def test_options_are_reread_when_they_change_in_place():
    options = {"labels": ["a"]}
    assert reason(MAPPER.apply({"text": "x", "label": "b"}, FIELDS, options)) == "label_not_allowed"
    options["labels"].append("b")
    assert MAPPER.apply({"text": "x", "label": "b"}, FIELDS, options)[0]["label"] == "b"
    with pytest.raises(MapperError):
        MAPPER.apply({"text": "x", "label": "b"}, FIELDS, {"labels": "b"})
