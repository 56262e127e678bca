"""structured_extraction · field_match handler: valid-JSON and schema-valid rates, per-field and
exact-record accuracy, normalisation options, breakdown, the manifest's schema (hand-computed)."""

from __future__ import annotations

import pytest

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.handlers.field_match import FieldMatchHandler
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext
from helpers.mapping import needs_shared, run_mapper, shared_rows
from helpers.scoring import metrics_of

PROFILE = get_task_profile("structured_extraction")
RECORDS = [
    {
        "text": "ACME SDN BHD 25/12/2018 TOTAL 9.00",
        "target": {"company": "ACME SDN BHD", "date": "25/12/2018", "total": "9.00"},
    },
    {
        "text": "Kedai Buku 01/02/2019 TOTAL 12.50",
        "target": {"company": "Kedai Buku", "date": "01/02/2019", "total": "12.50"},
    },
]


def manifest_of(records):
    summary = PROFILE.new_summary({})
    for record in records:
        summary.add(record)
    out = summary.result()
    return {"output_schema": out["output_schema"], "stats": out["stats"]}


MANIFEST = manifest_of(RECORDS)


def handler(options=None, manifest=MANIFEST):
    return FieldMatchHandler(options, RenderContext.from_manifest(manifest), manifest)


def test_registered_by_scoring_mode():
    found = get_eval_handler("structured_extraction", "field_match", manifest=MANIFEST)
    assert isinstance(found, FieldMatchHandler) and found.headline == "field_accuracy" and found.constrainable
    assert MANIFEST["output_schema"]["scoring_mode"] == "field_match"


def test_the_rendered_completion_scores_perfectly():
    h = handler()
    predictions = [h.parse(PROFILE.render(r, h.context).completion, r) for r in RECORDS]
    assert predictions == [h.gold(r) for r in RECORDS]
    metrics, _ = metrics_of(h, RECORDS, predictions)
    assert metrics == {
        "field_accuracy": 1.0,
        "field_accuracy_parsed": 1.0,
        "exact_record_accuracy": 1.0,
        "valid_json_rate": 1.0,
        "schema_valid_rate": 1.0,
        "length_ratio": 1.0,
        "unparseable_rate": 0.0,
    }


def test_parse():
    h = handler()
    assert h.parse('```json\n{"total": 9}\n```', RECORDS[0]) == {"total": 9}
    assert h.parse('The answer is {"total": 9}', RECORDS[0]) is None
    assert h.parse("[1]", RECORDS[0]) == [1]


def test_mixed_predictions_hand_computed():
    h = handler()
    records = RECORDS + [RECORDS[0]]
    predictions = [
        {"company": "ACME SDN BHD", "date": "25/12/2018", "total": 9},  # all 3 right (9 == "9.00"), schema-invalid
        {"company": "Kedai  Buku", "date": "2019-02-01", "total": "12.50", "tax": "0"},  # 2 right, extra field
        None,  # unparseable: 3 wrong
    ]
    metrics, scored = metrics_of(h, records, predictions)
    assert metrics["field_accuracy"] == pytest.approx(5 / 9)
    assert metrics["field_accuracy_parsed"] == pytest.approx(5 / 6)
    assert metrics["exact_record_accuracy"] == pytest.approx(1 / 3)
    assert metrics["valid_json_rate"] == pytest.approx(2 / 3)
    assert metrics["schema_valid_rate"] == pytest.approx(1 / 3)  # total 9 is not a string; None is not JSON
    assert metrics["unparseable_rate"] == pytest.approx(1 / 3)
    assert scored[0].detail["schema_error"] == "total: Input should be a valid string"
    assert scored[1].detail == {
        "correct_fields": ["company", "total"],
        "wrong_fields": ["date"],
        "missing_fields": [],
        "extra_fields": ["tax"],
    }
    assert scored[2].detail["missing_fields"] == ["company", "date", "total"]
    assert scored[2].detail["schema_error"] == "not JSON"
    breakdown = h.breakdown(records, predictions, scored)
    assert breakdown == {
        "per_field": {
            "company": {"accuracy": pytest.approx(2 / 3), "support": 3.0},
            "date": {"accuracy": pytest.approx(1 / 3), "support": 3.0},
            "total": {"accuracy": pytest.approx(2 / 3), "support": 3.0},
        }
    }
    assert list(breakdown["per_field"]) == ["company", "date", "total"]  # schema order


def test_normalisation_options():
    prediction = {"company": "acme sdn bhd", "date": "2018-12-25", "total": "9"}
    default, _ = metrics_of(handler(), RECORDS[:1], [prediction])
    assert default["field_accuracy"] == pytest.approx(1 / 3)  # only the total (numbers on)
    loose, _ = metrics_of(handler({"ignore_case": True, "normalize_dates": True}), RECORDS[:1], [prediction])
    assert loose["field_accuracy"] == 1.0 and loose["exact_record_accuracy"] == 1.0
    strict, _ = metrics_of(handler({"normalize_numbers": False}), RECORDS[:1], [prediction])
    assert strict["field_accuracy"] == 0.0


def test_unparseable_gets_even_null_fields_wrong():
    record = {"text": "x", "target": {"a": None}}
    metrics, _ = metrics_of(FieldMatchHandler(), [record], [None])
    assert metrics["field_accuracy"] == 0.0 and metrics["field_accuracy_parsed"] is None
    metrics, _ = metrics_of(FieldMatchHandler(), [record], [{}])
    assert metrics["field_accuracy"] == 1.0  # leaving a null field out is right


def test_non_object_json_is_valid_json_with_every_field_wrong():
    metrics, _ = metrics_of(handler(), RECORDS[:1], [["ACME SDN BHD"]])
    assert metrics["valid_json_rate"] == 1.0 and metrics["schema_valid_rate"] == 0.0
    assert metrics["field_accuracy"] == 0.0 and metrics["unparseable_rate"] == 0.0


def test_without_a_schema_the_schema_rate_is_undefined():
    h = FieldMatchHandler()
    assert h.json_schema(RECORDS[0]) is None
    metrics, _ = metrics_of(h, RECORDS[:1], [RECORDS[0]["target"]])
    assert metrics["schema_valid_rate"] is None and metrics["field_accuracy"] == 1.0


def test_the_manifest_schema_constrains_generation():
    given = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}
    h = FieldMatchHandler(manifest={"output_schema": {"scoring_mode": "field_match", "json_schema": given}})
    assert h.json_schema(RECORDS[0]) == given
    metrics, _ = metrics_of(h, [{"text": "t", "target": {"total": 9.5}}], [{"total": "9.5"}])
    assert metrics["schema_valid_rate"] == 0.0 and metrics["field_accuracy"] == 1.0


def test_span_records_and_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="span_set"):
        FieldMatchHandler().gold({"text": "x", "spans": []})
    with pytest.raises(ConfigError, match="did you mean 'ignore_case'"):
        FieldMatchHandler({"ignorecase": True})
    with pytest.raises(ConfigError, match="must be true or false"):
        FieldMatchHandler({"normalize_dates": "yes"})


@needs_shared
def test_shared_sroie_gold_replies_score_perfectly_and_a_cut_reply_does_not():
    rows = shared_rows("jsonl:kv_sroie/dev.jsonl")
    records = run_mapper("kv_to_structured", rows, {"box": "text", "key": "target"}).records
    h = handler(manifest=manifest_of(records))
    replies = [PROFILE.render(r, h.context).completion for r in records]
    metrics, _ = metrics_of(h, records, [h.parse(reply, r) for reply, r in zip(replies, records)])
    assert metrics["field_accuracy"] == metrics["exact_record_accuracy"] == metrics["schema_valid_rate"] == 1.0
    cut, _ = metrics_of(h, records, [h.parse(reply[:-1], r) for reply, r in zip(replies, records)])
    assert cut["valid_json_rate"] == 0.0 and cut["unparseable_rate"] == 1.0 and cut["field_accuracy"] == 0.0
