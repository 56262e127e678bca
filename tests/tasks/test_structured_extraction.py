"""structured_extraction profile: span_set and field_match records, span stats, schema inference, and
reading a reply in each scoring mode."""

from __future__ import annotations

import pytest

from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext
from brewslm.tasks.structured_extraction import SchemaInference

PROFILE = get_task_profile("structured_extraction")
TEXT = "Ada met Bob in Oslo."


def span(start, end, label="PER"):
    return {"start": start, "end": end, "label": label}


@pytest.mark.parametrize(
    "record",
    [
        {"text": TEXT, "spans": []},
        {"text": TEXT, "spans": [span(0, 3), span(8, 11), span(15, 19, "LOC")]},
        {"text": TEXT, "spans": [span(0, 3), span(0, 7, "GROUP")]},  # overlapping / nested spans
        {"text": TEXT, "spans": [span(0, 3)], "tokens": ["Ada", "met"], "tags": ["B-PER", "O"]},
        {"text": TEXT, "target": {"person": "Ada", "count": 2, "score": 0.5, "ok": True, "list": [1, {"a": None}]}},
        {"text": TEXT, "target": {"x": None}, "id": "r1"},
    ],
)
def test_valid_records(record):
    assert PROFILE.validate(record) is None


@pytest.mark.parametrize(
    "record, needle",
    [
        ({"text": TEXT}, "exactly one"),
        ({"text": TEXT, "spans": [], "target": {"a": 1}}, "exactly one"),
        ({"text": " ", "spans": []}, "empty text"),
        ({"text": TEXT, "spans": [span(0, 30)]}, "outside"),
        ({"text": TEXT, "spans": [span(-1, 3)]}, "outside"),
        ({"text": TEXT, "spans": [span(3, 3)]}, "empty"),
        ({"text": TEXT, "spans": [span(8, 11), span(0, 3)]}, "order"),
        ({"text": TEXT, "spans": [{"start": True, "end": 3, "label": "PER"}]}, "start"),
        ({"text": TEXT, "spans": [{"start": "0", "end": 3, "label": "PER"}]}, "start"),
        ({"text": TEXT, "spans": [{"start": 0, "end": 3, "label": ""}]}, "label"),
        ({"text": TEXT, "spans": [{"start": 0, "end": 3}]}, "label"),
        ({"text": TEXT, "spans": [{"start": 0, "end": 3, "label": "A", "score": 1}]}, "score"),
        ({"text": TEXT, "spans": [], "tokens": ["a"]}, "together"),
        ({"text": TEXT, "spans": [], "tokens": ["a"], "tags": []}, "tags"),
        ({"text": TEXT, "target": {}}, "no fields"),
        ({"text": TEXT, "target": {"a": float("nan")}}, "JSON"),
        ({"text": TEXT, "target": {"a": {1: 2}}}, "key"),
        ({"text": TEXT, "target": {"a": b"x"}}, "JSON"),
        ({"text": TEXT, "target": {"a": 1}, "tokens": ["a"], "tags": ["O"]}, "span_set"),
        ({"text": TEXT, "target": "a=1"}, "target"),
    ],
)
def test_invalid_records(record, needle):
    rejection = PROFILE.validate(record)
    assert rejection is not None and rejection.reason == "invalid_record"
    assert needle in rejection.detail and "\n" not in rejection.detail


def test_span_set_summary():
    summary = PROFILE.new_summary({"scoring_mode": "span_set"})
    summary.add({"text": TEXT, "spans": [span(0, 3), span(8, 11), span(15, 19, "LOC")]})
    summary.add({"text": TEXT, "spans": []})
    out = summary.result()
    assert out["output_schema"] == {"scoring_mode": "span_set"}
    assert out["stats"] == {
        "records": 2,
        "spans": 3,
        "span_label_counts": {"PER": 2, "LOC": 1},
        "num_span_labels": 2,
        "records_without_spans": 1,
        "mean_spans_per_record": 1.5,
    }


def test_field_match_summary_infers_schema_over_all_records():
    summary = PROFILE.new_summary({"scoring_mode": "field_match"})
    targets = [
        {"company": "A", "total": "1.00", "qty": 1, "paid": True, "lines": [{"sku": "x", "n": 1}]},
        {"company": "B", "total": None, "qty": 1.5, "lines": []},
        {"company": "C", "total": "3.00", "qty": 2, "lines": [{"sku": "y"}], "extra": {"a": 1}},
    ]
    for target in targets:
        summary.add({"text": TEXT, "target": target})
    out = summary.result()
    schema = out["output_schema"]["json_schema"]
    assert out["output_schema"]["scoring_mode"] == "field_match"
    assert schema["type"] == "object"
    assert schema["required"] == ["company", "total", "qty", "lines"]
    assert schema["properties"]["company"] == {"type": "string"}
    assert schema["properties"]["total"] == {"type": ["string", "null"]}
    assert schema["properties"]["qty"] == {"type": "number"}
    assert schema["properties"]["paid"] == {"type": "boolean"}
    assert schema["properties"]["lines"] == {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"sku": {"type": "string"}, "n": {"type": "integer"}},
            "required": ["sku"],
        },
    }
    assert schema["properties"]["extra"]["required"] == ["a"]
    assert out["stats"]["field_counts"] == {"company": 3, "lines": 3, "qty": 3, "total": 3, "extra": 1, "paid": 1}


def test_given_schema_wins_and_inferred_is_kept_for_comparison():
    given = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}
    summary = PROFILE.new_summary({"scoring_mode": "field_match", "json_schema": given})
    summary.add({"text": TEXT, "target": {"total": "1.00"}})
    out = summary.result()
    assert out["output_schema"]["json_schema"] == given
    assert out["stats"]["inferred_json_schema"]["properties"] == {"total": {"type": "string"}}


def test_scoring_mode_is_inferred_without_an_output_schema():
    summary = PROFILE.new_summary()
    summary.add({"text": TEXT, "target": {"a": 1}})
    assert summary.result()["output_schema"]["scoring_mode"] == "field_match"
    summary = PROFILE.new_summary()
    summary.add({"text": TEXT, "spans": []})
    assert summary.result()["output_schema"]["scoring_mode"] == "span_set"


def test_schema_inference_of_plain_values():
    node = SchemaInference()
    for value in [1, 2, None]:
        node.add(value)
    assert node.schema() == {"type": ["integer", "null"]}
    empty_arrays = SchemaInference()
    empty_arrays.add([])
    assert empty_arrays.schema() == {"type": "array"}


# --- reading a reply ------------------------------------------------------------------------------


def test_the_span_set_reader_places_quoted_spans_and_keeps_the_rest():
    reader = PROFILE.reply_reader("span_set", context=RenderContext(span_labels=("ORG", "PER")))
    text = "Ann Lee joined Acme in May."
    reply = (
        '[{"text": " Ann Lee", "label": "PER"}, {"text": "Globex", "label": "ORG"}, {"text": "Acme", "label": "ORG"}]'
    )
    assert reader.parse(reply, {"text": text}) == [
        {"start": 0, "end": 7, "label": "PER"},  # quoted with a space before it: placed trimmed
        {"start": 15, "end": 19, "label": "ORG"},
        {"text": "Globex", "label": "ORG"},  # not in the text: kept, without offsets
    ]
    for broken in ("not json", '{"text": "Acme", "label": "ORG"}', '[{"text": "Acme"}]', '[{"text": 3, "label": "X"}]'):
        assert reader.parse(broken, {"text": text}) is None
    label = reader.json_schema({"text": text})["items"]["properties"]["label"]
    assert label == {"type": "string", "enum": ["ORG", "PER"]} and reader.max_new_tokens == 384


def test_the_field_match_reader_reads_json_and_knows_the_target_schema():
    given = {"type": "object", "properties": {"order": {"type": "integer"}}}
    manifest = {"output_schema": {"json_schema": {"type": "object", "properties": {"total": {"type": "number"}}}}}
    reader = PROFILE.reply_reader("field_match", manifest=manifest)
    assert reader.parse('```json\n{"total": 3}\n```', {}) == {"total": 3} and reader.parse("{total: 3}", {}) is None
    assert reader.json_schema({}) == manifest["output_schema"]["json_schema"]
    assert PROFILE.reply_reader("field_match", manifest=manifest, json_schema=given).json_schema({}) == given
    assert PROFILE.reply_reader("field_match").json_schema({}) is None
