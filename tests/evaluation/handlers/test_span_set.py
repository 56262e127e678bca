"""span_set handler: parsing rendered span lists, strict / relaxed / seqeval metrics, breakdown, WNUT-17."""

from __future__ import annotations

import random

import jsonschema
import pytest
from seqeval.metrics import classification_report as seqeval_report

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.handlers.span_set import SpanSetHandler
from brewslm.evaluation.metrics.common import sum_stats
from brewslm.mappers.bio_to_spans import decode, encode, entities_to_spans
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext, to_json
from brewslm.tasks.structured_extraction import span_offsets_recoverable
from helpers import shared_datasets
from helpers.mapping import needs_shared, run_mapper

PROFILE = get_task_profile("structured_extraction")
CONTEXT = RenderContext(span_labels=("LOC", "PER"), scoring_mode="span_set")
TEXT = "Ada met Bob in Oslo. Bob left."


def span(start, end, label="PER"):
    return {"start": start, "end": end, "label": label}


RECORD = {"text": TEXT, "spans": [span(0, 3), span(8, 11), span(15, 19, "LOC"), span(21, 24)]}


def handler() -> SpanSetHandler:
    return get_eval_handler("structured_extraction", "span_set", context=CONTEXT)


def evaluate(h, records, predictions):
    scored = [h.score_example(r, p) for r, p in zip(records, predictions)]
    return scored, h.metrics(sum_stats(s.stats for s in scored))


def test_registered_for_span_set_mode():
    h = handler()
    assert isinstance(h, SpanSetHandler) and h.headline == "micro_f1" and h.constrainable


def test_parse_reads_the_rendered_completion_back_to_the_gold_spans():
    h = handler()
    completion = PROFILE.render(RECORD, CONTEXT).completion
    assert h.parse(completion, RECORD) == h.gold(RECORD)  # the repeated "Bob" lands on its second occurrence
    assert h.parse(" [] \n", RECORD) == []


@pytest.mark.parametrize(
    "reply",
    [
        '[{"text": "Ada", "label": "PER"}',
        "Ada (PER)",
        '{"text": "Ada", "label": "PER"}',
        '[{"text": "Ada"}]',
        '[{"text": "Ada", "label": 3}]',
        '["Ada"]',
        "",
    ],
)
def test_parse_unparseable_replies_give_none(reply):
    assert handler().parse(reply, RECORD) is None


def test_text_not_in_the_input_is_kept_as_a_hallucinated_span():
    h = handler()
    reply = to_json([{"text": "Ada", "label": "PER"}, {"text": "Carol", "label": "PER"}, {"text": "", "label": "LOC"}])
    prediction = h.parse(reply, RECORD)
    assert prediction == [span(0, 3), {"text": "Carol", "label": "PER"}, {"text": "", "label": "LOC"}]
    scored, metrics = evaluate(h, [RECORD], [prediction])
    assert {"text": "Carol", "label": "PER"} in scored[0].detail["hallucinated"]
    assert scored[0].stats["tp:PER"] == 1 and scored[0].stats["fp:PER"] == 1 and scored[0].stats["fp:LOC"] == 1
    assert metrics["precision"] == pytest.approx(1 / 3) and metrics["recall"] == pytest.approx(1 / 4)


def test_a_quoted_text_with_whitespace_around_it_is_placed_trimmed_only_when_the_input_lacks_it():
    h = handler()
    reply = to_json(
        [
            {"text": " Ada", "label": "PER"},
            {"text": " Bob", "label": "PER"},
            {"text": "Oslo\n", "label": "LOC"},
            {"text": "\t", "label": "PER"},
        ]
    )
    # " Ada" and "Oslo\n" occur only trimmed; " Bob" occurs as quoted (after "met"), so it keeps its space;
    # a text that is only whitespace stays unplaced
    assert h.parse(reply, RECORD) == [span(0, 3), span(7, 11), span(15, 19, "LOC"), {"text": "\t", "label": "PER"}]


def test_metrics_strict_relaxed_and_aliases():
    h = handler()
    off_by_one = [span(0, 3), span(8, 12), span(15, 19, "LOC")]  # "Bob " is one miss + one hallucination
    negative = {"text": "Nothing here.", "spans": []}
    scored, metrics = evaluate(h, [RECORD, negative, RECORD], [off_by_one, [], None])
    # strict: tp 2 (Ada, Oslo); fp 1 (Bob+space); fn 2 + 4 (Bob, second Bob; all of the unparseable row)
    assert metrics["micro_precision"] == pytest.approx(2 / 3)
    assert metrics["micro_recall"] == metrics["recall"] == pytest.approx(2 / 8)
    assert metrics["f1"] == metrics["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 6))
    assert metrics["relaxed_recall"] == pytest.approx(3 / 8) and metrics["relaxed_precision"] == 1.0
    assert metrics["exact_set_match"] == pytest.approx(1 / 3)
    assert metrics["unparseable_rate"] == pytest.approx(1 / 3)
    assert metrics["seqeval_f1"] is None
    assert set(metrics) >= {"macro_f1", "weighted_f1", "length_ratio"}
    assert scored[2].detail["unparseable"] is True and len(scored[2].detail["missed"]) == 4
    gold_chars = 2 * len(to_json(h.gold(RECORD))) + 2
    assert metrics["length_ratio"] == pytest.approx((len(to_json(off_by_one)) + 2) / gold_chars)


def test_empty_gold_and_empty_prediction_is_perfect():
    negative = {"text": "Nothing here.", "spans": []}
    _, metrics = evaluate(handler(), [negative], [[]])
    assert metrics["micro_f1"] == metrics["recall"] == metrics["exact_set_match"] == 1.0


def test_breakdown_sections():
    h = handler()
    tokens = TEXT.split(" ")
    tagged = {
        **RECORD,
        "tokens": tokens,
        "tags": encode(len(tokens), decode(["B-PER", "O", "B-PER", "O", "B-LOC", "B-PER", "O"])),
    }
    tagged["text"] = " ".join(tokens)
    prediction = [span(0, 3), span(8, 12)]
    scored, _ = evaluate(h, [tagged], [prediction])
    out = h.breakdown([tagged], [prediction], scored)
    assert out["per_type"]["PER"] == {"precision": 0.5, "recall": pytest.approx(1 / 3), "f1": 0.4, "support": 3.0}
    assert out["relaxed"]["recall"] == 0.5 and out["relaxed"]["per_type"]["LOC"]["support"] == 1.0
    assert out["seqeval"]["examples"] == 1 and out["seqeval"]["per_type"]["PER"]["precision"] == 1.0
    untagged, _ = evaluate(h, [RECORD], [prediction])
    assert h.breakdown([RECORD], [prediction], untagged)["seqeval"] == {"examples": 0}


def test_json_schema_accepts_the_rendered_completion():
    import json

    schema = handler().json_schema(RECORD)
    jsonschema.validate(json.loads(PROFILE.render(RECORD, CONTEXT).completion), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"text": "Ada", "label": "ORG"}], schema)
    assert (
        "enum"
        not in get_eval_handler("structured_extraction", "span_set").json_schema(RECORD)["items"]["properties"]["label"]
    )


def test_bad_inputs_are_one_line_errors():
    h = handler()
    with pytest.raises(ConfigError, match="list of"):
        h.score_example(RECORD, {"start": 0})
    with pytest.raises(ConfigError, match="field_match"):
        h.gold({"text": TEXT, "target": {"a": 1}})


@needs_shared
def test_wnut17_dev_scores_equal_seqeval():
    """Real BIO data: token-level perturbations of the gold entities, scored through the handler
    from the JSON a model would write, equal seqeval on the same tags in the strict and the
    seqeval view; the gold completion itself scores perfectly."""
    records = run_mapper(
        "bio_to_spans", shared_datasets.rows("jsonl:ner_wnut17/dev.jsonl"), {"tokens": "tokens", "ner_tags": "tags"}
    ).records[:150]
    labels = sorted({s["label"] for r in records for s in r["spans"]})
    h = get_eval_handler("structured_extraction", "span_set", context=RenderContext(span_labels=tuple(labels)))
    rng = random.Random(0)
    gold_tags, pred_tags, predictions = [], [], []
    for record in records:
        entities = decode(record["tags"])
        guess = [e for e in entities if rng.random() < 0.6]
        guess += [type(e)(e.start, e.end, rng.choice(labels)) for e in entities if rng.random() < 0.2]
        guess = sorted({(e.start, e.end): e for e in guess}.values(), key=lambda e: e.start)
        kept, end = [], 0
        for e in guess:
            if e.start >= end:
                kept.append(e)
                end = e.end
        gold_tags.append(record["tags"])
        pred_tags.append(encode(len(record["tokens"]), kept))
        reply = to_json(
            [
                {"text": record["text"][s["start"] : s["end"]], "label": s["label"]}
                for s in entities_to_spans(record["tokens"], kept)
            ]
        )
        predictions.append(h.parse(reply, {**record, "spans": []}))
    recoverable = [
        span_offsets_recoverable({**r, "spans": entities_to_spans(r["tokens"], decode(t))})
        for r, t in zip(records, pred_tags)
    ]
    assert sum(recoverable) > 0.9 * len(records)
    pairs = [(r, p, g, t) for r, p, g, t, ok in zip(records, predictions, gold_tags, pred_tags, recoverable) if ok]
    _, metrics = evaluate(h, [r for r, *_ in pairs], [p for _, p, *_ in pairs])
    report = seqeval_report([g for *_, g, _ in pairs], [t for *_, t in pairs], output_dict=True, zero_division=0)
    for prefix in ("", "seqeval_"):
        assert metrics[f"{prefix}precision"] == pytest.approx(report["micro avg"]["precision"], abs=1e-9)
        assert metrics[f"{prefix}recall"] == pytest.approx(report["micro avg"]["recall"], abs=1e-9)
        assert metrics[f"{prefix}f1"] == pytest.approx(report["micro avg"]["f1-score"], abs=1e-9)
    assert metrics["macro_f1"] == pytest.approx(report["macro avg"]["f1-score"], abs=1e-9)
    assert 0.2 < metrics["f1"] < 0.95
    exact = [r for r in records if span_offsets_recoverable(r)]
    _, metrics = evaluate(h, exact, [h.parse(PROFILE.render(r, h.context).completion, r) for r in exact])
    assert metrics["f1"] == metrics["seqeval_f1"] == metrics["exact_set_match"] == 1.0
