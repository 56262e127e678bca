"""kv_to_structured: source text + key-values -> {text, target} (field_match)."""

from __future__ import annotations

import datetime
import json
from collections import Counter

import pytest
from tests.helpers import shared_datasets as shared

from brewslm.errors import MapperError
from brewslm.mappers.base import Rejection
from brewslm.mappers.kv_to_structured import MAPPER, value_occurs
from brewslm.mappers.profile import profile_rows
from brewslm.sources.base import ParseFailure
from brewslm.tasks import get_task_profile

TASK = get_task_profile("structured_extraction")
RECEIPT = "GREEN LEAF CAFE SDN BHD\nNO 4, JALAN MAWAR\n12/03/2019  10:41\nTOTAL   23.50\n"


def run(row, field_map, **options):
    if "text" not in field_map.values():
        field_map = {"text": "text", **field_map}
    fields = MAPPER.canonical_map(MAPPER.resolve_field_map(field_map))
    outcome = MAPPER.apply(row, fields, options)
    if not isinstance(outcome, Rejection):
        for record in outcome:
            assert TASK.validate(record) is None, record
    return outcome


def reason(outcome) -> str:
    assert isinstance(outcome, Rejection), outcome
    return outcome.reason


# --- mapping ------------------------------------------------------------------------------------


def test_object_field_becomes_the_target():
    row = {"ocr": RECEIPT, "key": {"company": "GREEN LEAF CAFE SDN BHD", "date": "12/03/2019", "total": "23.50"}}
    [record] = run(row, {"ocr": "text", "key": "target"})
    assert record == {"text": RECEIPT, "target": row["key"]}


def test_flat_fields_become_target_fields_with_their_json_types():
    row = {
        "body": "Invoice 17 for ACME, 3 items, paid",
        "vendor": "ACME",
        "items": 3,
        "amount": 12.5,
        "paid": True,
        "lines": [{"sku": "a", "qty": 1}],
        "note": None,
    }
    field_map = {
        "body": "text",
        "vendor": "target.vendor",
        "items": "target.count",
        "amount": "target.amount",
        "paid": "target.paid",
        "lines": "target.lines",
        "note": "target.note",
    }
    [record] = run(row, field_map)
    assert record["target"] == {
        "vendor": "ACME",
        "count": 3,
        "amount": 12.5,
        "paid": True,
        "lines": [{"sku": "a", "qty": 1}],
    }  # null note: absent
    assert isinstance(record["target"]["count"], int) and record["target"]["paid"] is True


def test_object_and_flat_fields_combine_and_dotted_sources_work():
    row = {"text": RECEIPT, "key": {"company": "GREEN LEAF", "total": "23.50"}, "extra": {"date": "12/03/2019"}}
    [record] = run(row, {"key": "target", "extra.date": "target.date", "key.total": "target.total_amount"})
    assert record["target"] == {
        "company": "GREEN LEAF",
        "total": "23.50",
        "date": "12/03/2019",
        "total_amount": "23.50",
    }


def test_object_held_as_json_text_is_decoded():
    [record] = run({"text": RECEIPT, "key": json.dumps({"total": 23.5})}, {"key": "target"})
    assert record["target"] == {"total": 23.5}


def test_blank_values_are_absent_unless_kept():
    row = {"text": RECEIPT, "key": {"company": "GREEN LEAF", "address": "  "}}
    assert run(row, {"key": "target"})[0]["target"] == {"company": "GREEN LEAF"}
    assert run(row, {"key": "target"}, keep_empty=True)[0]["target"] == {"company": "GREEN LEAF", "address": "  "}


def test_ocr_box_coordinates_stripped_on_request():
    ocr = (
        "72,25,326,25,326,64,72,64,GREEN LEAF CAFE SDN BHD\n"
        " 50, 81, 300, 81, 300, 99, 50, 99, NO 4, JALAN MAWAR\n"
        "TOTAL 23.50\n"
        "1,2,3,4,TOTAL 9\n"
    )  # four numbers are not a box: the line stays
    row = {"ocr": ocr, "key": {"total": "23.50"}}
    assert run(row, {"ocr": "text", "key": "target"})[0]["text"] == ocr  # kept by default
    [record] = run(row, {"ocr": "text", "key": "target"}, ocr_box_lines="strip")
    assert record["text"] == "GREEN LEAF CAFE SDN BHD\nNO 4, JALAN MAWAR\nTOTAL 23.50\n1,2,3,4,TOTAL 9\n"
    with pytest.raises(MapperError, match="ocr_box_lines"):
        MAPPER.check_options({"ocr_box_lines": "drop"})


def test_values_and_text_kept_exactly_and_id_carried():
    row = {"text": RECEIPT, "key": {"company": " GREEN  LEAF\n"}, "id": "r1"}
    [record] = run(row, {"key": "target", "id": "id"})
    assert record == {"text": RECEIPT, "target": {"company": " GREEN  LEAF\n"}, "id": "r1"}


@pytest.mark.parametrize(
    "row, field_map, expected",
    [
        ({"key": {"a": "b"}}, {"key": "target"}, "missing_text"),
        ({"text": "", "key": {"a": "b"}}, {"key": "target"}, "missing_text"),
        ({"text": 5, "key": {"a": "b"}}, {"key": "target"}, "wrong_type"),
        ({"text": RECEIPT}, {"key": "target"}, "no_fields_extracted"),
        ({"text": RECEIPT, "key": None}, {"key": "target"}, "no_fields_extracted"),
        ({"text": RECEIPT, "key": {}}, {"key": "target"}, "no_fields_extracted"),
        ({"text": RECEIPT, "key": {"a": None, "b": " "}}, {"key": "target"}, "no_fields_extracted"),
        ({"text": RECEIPT, "a": None}, {"a": "target.a", "b": "target.b"}, "no_fields_extracted"),
        ({"text": RECEIPT, "key": ["a"]}, {"key": "target"}, "wrong_type"),
        ({"text": RECEIPT, "key": "{not json"}, {"key": "target"}, "wrong_type"),
        ({"text": RECEIPT, "key": {"total": float("nan")}}, {"key": "target"}, "wrong_type"),
        ({"text": RECEIPT, "key": {"when": datetime.date(2019, 3, 12)}}, {"key": "target"}, "wrong_type"),
        ({"text": RECEIPT, "a": b"bytes"}, {"a": "target.a"}, "wrong_type"),
        ({"text": RECEIPT, "a": {1: "x"}}, {"a": "target.a"}, "wrong_type"),
    ],
)
def test_rejections(row, field_map, expected):
    outcome = run(row, field_map)
    assert reason(outcome) == expected
    assert outcome.detail and "\n" not in outcome.detail


def test_parse_failure():
    assert reason(MAPPER.apply(ParseFailure(1, "{", "bad"), {"text": "text", "target": "key"}, {})) == "parse_error"


# --- field maps and options -----------------------------------------------------------------------


def test_field_map_resolution():
    assert MAPPER.resolve_field_map(None, ["text", "key", "key.company"]) == {"text": "text", "key": "target"}
    assert MAPPER.resolve_field_map({"box": "text"}, ["file", "box", "key", "key.company"]) == {
        "key": "target",
        "box": "text",
    }
    flat = MAPPER.resolve_field_map({"body": "text", "vendor": "target.vendor"}, ["body", "vendor", "fields"])
    assert flat == {"body": "text", "vendor": "target.vendor"}  # a flat target.* covers the target: no default added
    with pytest.raises(MapperError, match="target"):
        MAPPER.resolve_field_map({"body": "text"}, ["body", "vendor"])
    for bad in ({"vendor": "target."}, {"vendor": "targets.vendor"}, {"vendor": "answer"}):
        with pytest.raises(MapperError):
            MAPPER.resolve_field_map({"body": "text", **bad}, ["body", "vendor"])
    assert MAPPER.canonical_field_of("target.x") == "target" and MAPPER.canonical_field_of("text") == "text"


def test_output_schema_and_options():
    schema = {"type": "object", "properties": {"total": {"type": "string"}}, "required": ["total"]}
    assert MAPPER.output_schema({}) == {"scoring_mode": "field_match"}
    assert MAPPER.output_schema({"json_schema": schema}) == {"scoring_mode": "field_match", "json_schema": schema}
    for bad in ({"json_schema": "object"}, {"keep_empty": "sometimes"}, {"schema": {}}):
        with pytest.raises(MapperError):
            MAPPER.check_options(bad)


def test_summary_infers_the_schema_over_every_record():
    rows = [
        {"text": RECEIPT, "key": {"company": "A", "total": "1.00", "items": 2}},
        {"text": RECEIPT, "key": {"company": "B", "total": "2.00", "items": 2.5}},
        {"text": RECEIPT, "key": {"company": "C", "date": "12/03/2019"}},
    ]
    summary = TASK.new_summary(MAPPER.output_schema({}))
    for row in rows:
        [record] = run(row, {"key": "target"})
        summary.add(record)
    out = summary.result()
    schema = out["output_schema"]["json_schema"]
    assert out["output_schema"]["scoring_mode"] == "field_match"
    assert schema["required"] == ["company"]
    assert schema["properties"]["items"] == {"type": "number"}
    assert out["stats"]["field_counts"] == {"company": 3, "items": 2, "total": 2, "date": 1}


# --- sniffing -------------------------------------------------------------------------------------


def receipts(n=30):
    rows = []
    for i in range(n):
        company = ["GREEN LEAF CAFE", "BLUE SKY MART", "RED HILL STORE"][i % 3]
        text = f"{company} SDN BHD\nLOT {i}, JALAN {i % 7}\nDATE {i % 28 + 1:02d}/03/2019\nTOTAL RM {i}.50\nTHANK YOU"
        rows.append(
            {
                "file": f"{i:03d}",
                "ocr": text,
                "key": {"company": f"{company} SDN. BHD.", "date": f"{i % 28 + 1:02d}/03/2019", "total": f"{i}.50"},
            }
        )
    return rows


def test_value_occurs():
    words = {"green", "leaf", "sdn", "bhd", "23", "50"}
    assert value_occurs("green leaf", RECEIPT, words)
    assert value_occurs("GREEN LEAF CAFE SDN. BHD.", "GREEN LEAF CAFE SDN BHD", {"green", "leaf", "cafe", "sdn", "bhd"})
    assert value_occurs(23.5, "TOTAL 23.5", set()) is True
    assert value_occurs("PURPLE MOON", RECEIPT, words) is False
    assert value_occurs("", RECEIPT, words) is None and value_occurs(True, RECEIPT, words) is None


def test_sniff_object_target():
    proposal = MAPPER.sniff(profile_rows(receipts()))
    assert proposal.field_map == {"ocr": "text", "key": "target"}
    assert proposal.confidence >= 0.9
    assert any("occur in 'ocr'" in e for e in proposal.evidence)


def test_sniff_flat_targets():
    rows = [
        {
            "email": f"Dear team, order {1000 + i} from Acme Corp ships on 2024-05-{i % 28 + 1:02d}. Regards, Jo",
            "order_no": 1000 + i,
            "customer": "Acme Corp",
            "ship_date": f"2024-05-{i % 28 + 1:02d}",
        }
        for i in range(40)
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.field_map == {
        "email": "text",
        "order_no": "target.order_no",
        "customer": "target.customer",
        "ship_date": "target.ship_date",
    }
    assert proposal.confidence >= 0.8
    assert MAPPER.resolve_field_map(proposal.field_map, list(rows[0])) == proposal.field_map


def test_sniff_stays_low_or_silent_otherwise():
    unrelated = [dict(r, key={"company": "PURPLE MOON", "total": "999.99"}) for r in receipts()]
    assert MAPPER.sniff(profile_rows(unrelated)) is None
    with_lists = [dict(r, turns=[{"speaker": "a", "text": "b"}]) for r in receipts()]
    assert MAPPER.sniff(profile_rows(with_lists)).confidence <= 0.6
    classification = [{"text": f"please move money to savings {i}", "label": "transfer"} for i in range(30)]
    assert MAPPER.sniff(profile_rows(classification)) is None


# --- shared data ----------------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.skipif(not shared.SHARED.is_dir(), reason="shared datasets absent")
@pytest.mark.parametrize("spec, rows", [("jsonl:kv_sroie/train.jsonl", 300), ("jsonl:kv_sroie/dev.jsonl", 76)])
def test_sroie(spec, rows):
    profile = shared.profile(spec)
    proposal = MAPPER.sniff(profile)
    assert proposal.confidence >= 0.8
    assert proposal.field_map == {"box": "text", "key": "target"}
    fields = MAPPER.canonical_map(MAPPER.resolve_field_map(proposal.field_map, list(profile.fields)))
    summary = TASK.new_summary(MAPPER.output_schema(proposal.options))
    rejected: Counter = Counter()
    for row in shared.rows(spec):
        outcome = MAPPER.apply(row, fields, proposal.options)
        if isinstance(outcome, Rejection):
            rejected[outcome.reason] += 1
            continue
        [record] = outcome
        assert TASK.validate(record) is None
        assert record["text"] == row["box"] and record["target"] == row["key"]
        summary.add(record)
    assert rejected == Counter() and summary.count == rows
    schema = summary.result()["output_schema"]["json_schema"]
    assert set(schema["properties"]) == {"company", "date", "address", "total"}
    assert all(p == {"type": "string"} for p in schema["properties"].values())
    assert set(schema["required"]) == {"company", "date", "address", "total"}


@pytest.mark.shared_data
@pytest.mark.skipif(not shared.SHARED.is_dir(), reason="shared datasets absent")
@pytest.mark.parametrize(
    "spec",
    [
        "csv:sentiment_sst2/train.csv",
        "csv:intent_banking77/train.csv",
        "json:intent_clinc150/data_full_sample.json",
        "jsonl:ner_wnut17/train.jsonl",
        "jsonl:pii_presidio_synth/train.jsonl",
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


# --- issue 15 (first-seen check): a column of questions is asked, not extracted -------------------


def _flat_reading_rows(with_title: bool = False) -> list[dict]:
    """Flat reading comprehension: the question's words recur in the context and the answer is
    quoted from it, which looks like values copied from a text."""
    rows = []
    for i in range(30):
        row = {
            "Question": f"Which river flows through town {i}?",
            "Answer": f"River {i}",
            "Context": f"Town {i} lies in the valley. The river that flows through town {i} is the River {i}, "
            f"known for its fish and its old mills built in {1700 + i}.",
        }
        if with_title:
            row["Title"] = f"Town {i}"
        rows.append(row)
    return rows


def test_a_column_of_questions_is_no_extraction_target():
    from brewslm.mappers import get_mapper

    qa = get_mapper("qa_pair_passthrough")
    rows = _flat_reading_rows()
    assert MAPPER.sniff(profile_rows(rows)) is None  # 'Answer' alone is no key-value table
    assert qa.sniff(profile_rows(rows)).confidence >= 0.9
    # another short field quoted from the text (a title) makes two targets: the questions beside
    # them still say reading comprehension, by a clear margin
    titled = profile_rows(_flat_reading_rows(with_title=True))
    proposal = MAPPER.sniff(titled)
    assert "Question" not in proposal.field_map
    assert proposal.confidence <= 0.7
    assert any("'Question' holds a question per row" in e for e in proposal.evidence), proposal.evidence
    assert qa.sniff(titled).confidence - proposal.confidence >= 0.15


def test_a_recurring_question_stays_a_value():
    from brewslm.mappers._sniffing import holds_questions

    rows = [
        {
            "text": f"Form {i}. Security question: What is your pet's name? Answer: Rex{i}. Total due {i}.00",
            "security_question": "What is your pet's name?",
            "total": f"{i}.00",
            "form": f"Form {i}",
        }
        for i in range(30)
    ]
    profile = profile_rows(rows)
    assert not holds_questions(profile, "security_question")
    proposal = MAPPER.sniff(profile)
    assert proposal.field_map.get("total") == "target.total" and proposal.confidence >= 0.8, proposal.evidence
