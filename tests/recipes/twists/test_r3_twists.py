"""intent_router, json_constrained, pii_recall and tool_negatives: their pure parts and options."""

from __future__ import annotations

import json

import pytest

from brewslm.errors import ConfigError
from brewslm.recipes.twists import RecipeContext, build_twist
from brewslm.recipes.twists.intent_router import (
    ThresholdPoint,
    pick_threshold,
    plot_coverage_accuracy,
    rare_labels,
    sweep_thresholds,
)
from brewslm.recipes.twists.json_constrained import side_by_side
from brewslm.recipes.twists.pii_recall import hard_negatives, needed_negatives, span_free_sentences
from brewslm.recipes.twists.tool_negatives import negative_count, tool_negatives
from brewslm.storage.datasets import open_dataset
from brewslm.tasks import get_task_profile

# --- intent_router ---------------------------------------------------------------------------------


def test_sweep_gives_coverage_and_answered_accuracy_per_threshold():
    gold = ["a", "a", "b", "b"]
    pred = ["a", "b", "b", "a"]
    conf = [0.9, 0.4, 0.8, 0.6]
    points = sweep_thresholds(gold, pred, conf)
    assert [p.threshold for p in points] == [0.0, 0.4, 0.6, 0.8, 0.9]
    assert [p.coverage for p in points] == [1.0, 1.0, 0.75, 0.5, 0.25]
    assert [p.accuracy for p in points] == [0.5, 0.5, pytest.approx(2 / 3), 1.0, 1.0]
    chosen, reached = pick_threshold(points, 0.95)
    assert (chosen.threshold, reached) == (0.8, True)  # the lowest threshold that reaches the target


def test_pick_falls_back_to_best_accuracy_times_coverage():
    points = [ThresholdPoint(0.0, 1.0, 0.5, 10), ThresholdPoint(0.5, 0.8, 0.75, 8), ThresholdPoint(0.9, 0.1, 0.8, 1)]
    chosen, reached = pick_threshold(points, 0.99)
    assert chosen.threshold == 0.5 and reached is False


def test_rare_labels_are_the_bottom_quartile_of_training_counts():
    counts = {"a": 100, "b": 50, "c": 10, "d": 5, "e": 4}
    assert rare_labels(counts) == ["d", "e"]
    assert rare_labels({}) == []


def test_describe_puts_the_classifiers_own_metric_first_and_routing_apart():
    twist = build_twist({"kind": "intent_router"})
    section = {
        "threshold": 0.42,
        "target_reached": True,
        "validation": {"coverage": 0.8, "accuracy": 0.9},
        "curve": "c.png",
        "test": {
            "tuned": {
                "macro_f1": 0.66,
                "ece": 0.05,
                "coverage": 0.7,
                "routed_accuracy": 0.93,
                "routed_macro_f1": 0.455,
                "rare_recall": None,
            }
        },
    }
    line = twist.describe(section)[1]
    assert line == (
        "tuned: classifier macro-F1 0.660 (before routing), ECE 0.050; routed: coverage 0.700, "
        "accuracy 0.930, macro-F1 0.455, rare-intent recall -"
    )


def test_coverage_curve_is_drawn(tmp_path):
    points = sweep_thresholds(["a", "b"], ["a", "a"], [0.9, 0.6])
    path = plot_coverage_accuracy(points, points[-1], 0.9, tmp_path / "curve.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_intent_router_options_are_typed():
    twist = build_twist({"kind": "intent_router", "target_accuracy": 0.8})
    assert twist.options.fallback_label == "talk_to_human" and twist.options.upsample is True
    with pytest.raises(ConfigError, match="target_accuracy"):
        build_twist({"kind": "intent_router", "target_acuracy": 0.8})


# --- json_constrained ------------------------------------------------------------------------------


def test_json_constrained_schema_is_checked_when_the_recipe_loads():
    twist = build_twist(
        {"kind": "json_constrained", "schema": {"type": "object", "properties": {"total": {"type": "number"}}}}
    )
    assert twist.options.json_schema["properties"]["total"]["type"] == "number"
    with pytest.raises(ConfigError, match="unknown type 'frob'"):
        build_twist({"kind": "json_constrained", "schema": {"type": "frob"}})


def test_side_by_side_table():
    free = {"metrics": {"tuned": {"valid_json_rate": 0.8, "field_accuracy": 0.5}, "base": {"valid_json_rate": 0.2}}}
    constrained = {"metrics": {"tuned": {"valid_json_rate": 1.0, "field_accuracy": 0.6}, "base": None}}
    table = side_by_side(free, constrained)
    assert table["valid_json_rate"] == {"free": {"tuned": 0.8, "base": 0.2}, "constrained": {"tuned": 1.0}}
    assert side_by_side(free, None)["field_accuracy"]["constrained"] is None


def test_field_match_takes_the_recipe_schema():
    from brewslm.evaluation.handlers import get_eval_handler

    schema = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}
    handler = get_eval_handler("structured_extraction", "field_match", options={"json_schema": schema})
    assert handler.json_schema({"text": "x", "target": {"total": 1}}) == schema
    metrics = handler.metrics(handler.score_example({"text": "x", "target": {"total": 1}}, {"total": "one"}).stats)
    assert metrics["schema_valid_rate"] == 0.0
    with pytest.raises(ConfigError, match="json_schema"):
        get_eval_handler("structured_extraction", "field_match", options={"json_schema": "nope"})


# --- pii_recall ------------------------------------------------------------------------------------

PII = [
    {
        "text": "Call Ann Lee on 555-0101. The parcel arrives on Monday morning. Thanks a lot for waiting.",
        "spans": [{"start": 5, "end": 12, "label": "PERSON"}, {"start": 16, "end": 24, "label": "PHONE"}],
    },
    {
        "text": "Mail bo@example.com today. Our office stays closed during the holidays.",
        "spans": [{"start": 5, "end": 19, "label": "EMAIL"}],
    },
    {"text": "Nothing personal here at all.", "spans": []},
]


def test_span_free_sentences_skip_those_with_pii():
    assert span_free_sentences(PII[0]) == ["The parcel arrives on Monday morning.", "Thanks a lot for waiting."]
    assert span_free_sentences(PII[0], min_words=6) == ["The parcel arrives on Monday morning."]


def test_needed_negatives_reaches_the_share():
    assert needed_negatives(10, 0, 0.2) == 3  # 3 / 13 >= 0.2, 2 / 12 < 0.2
    assert needed_negatives(10, 2, 0.2) == 0
    assert needed_negatives(0, 0, 0.2) == 0


def test_hard_negatives_are_valid_span_set_records():
    rows, counts = hard_negatives(PII, 0.5, seed=1)
    assert counts == {"records": 3, "negatives": 1, "needed": 1, "candidates": 3, "added": 1}
    profile = get_task_profile("structured_extraction")
    for row in rows:
        assert row["spans"] == [] and profile.validate(row) is None
        assert any(row["text"] in r["text"] for r in PII[:2])
    assert hard_negatives(PII, 0.2)[0] == []  # already a third negative


# --- tool_negatives --------------------------------------------------------------------------------


def tool(name: str) -> dict:
    return {
        "name": name,
        "description": f"{name} tool",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    }


CALLS = [
    {
        "messages": [{"role": "user", "content": f"weather in {city}?"}],
        "tools": [tool("weather")],
        "calls": [{"tool": "weather", "arguments": {"q": city}}],
        "answer": None,
    }
    for city in ("Oslo", "Rome", "Lima", "Pune")
] + [
    {
        "messages": [{"role": "user", "content": "convert 3 EUR"}],
        "tools": [tool("fx"), tool("weather")],
        "calls": [{"tool": "fx", "arguments": {"q": "3 EUR"}}],
        "answer": None,
    }
]


def test_tool_negatives_offer_only_tools_that_do_not_fit():
    assert negative_count(5, 0.2) == 2
    rows = tool_negatives(CALLS, 0.2, seed=0)
    assert len(rows) == 2
    profile = get_task_profile("tool_call")
    for row in rows:
        own = next(r for r in CALLS if r["messages"] == row["messages"])
        assert not {t["name"] for t in row["tools"]} & {t["name"] for t in own["tools"]}
        assert row["calls"] == [] and row["answer"] == "None of the available tools can do that."
        assert profile.validate(row) is None


def test_tool_negatives_leave_data_with_no_call_records_alone():
    negative = {**CALLS[0], "calls": [], "answer": "It is sunny."}
    assert tool_negatives([*CALLS, negative], 0.2) == []


def import_rows(name: str, rows: list[dict], mapper: str, tmp_path, split: str = "train") -> None:
    from brewslm.ingestion import ImportSpec, run_import

    path = tmp_path / f"{name}-{split}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    run_import(ImportSpec(locator=f"jsonl:{path}", mapper_id=mapper, dataset=name, split=split))


def context(name: str, tmp_path) -> RecipeContext:
    return RecipeContext(recipe=None, out_dir=tmp_path / "out", base_model="tiny", dataset=name)


def test_tool_negatives_are_imported_into_train_and_test(tmp_path):
    openai = [
        {
            "messages": [
                *r["messages"],
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"type": "function", "function": {"name": c["tool"], "arguments": json.dumps(c["arguments"])}}
                        for c in r["calls"]
                    ],
                },
            ],
            "tools": [{"type": "function", "function": t} for t in r["tools"]],
        }
        for r in CALLS
    ]
    import_rows("tools", openai, "tool_call_passthrough", tmp_path)
    held_out = [json.loads(json.dumps(r).replace("?", " tomorrow?").replace("3 EUR", "5 EUR")) for r in openai]
    import_rows("tools", held_out, "tool_call_passthrough", tmp_path, split="test")  # (duplicates would be dropped)
    twist = build_twist({"kind": "tool_negatives"})
    prepared = twist.prepare_data(context("tools", tmp_path))
    dataset = open_dataset(prepared.dataset, prepared.version)
    for split in ("train", "test"):
        records = list(dataset.iter_records(split))
        negatives = [r for r in records if not r["calls"]]
        assert len(records) == 7 and len(negatives) == 2, split
        assert all(r["answer"] == "None of the available tools can do that." for r in negatives)
    assert prepared.summary["train_negatives"] == 2 and prepared.summary["test_negatives_added"] == 2


def test_pii_hard_negatives_are_imported_into_train(tmp_path):
    import_rows("pii", PII[:2], "span_passthrough", tmp_path)
    twist = build_twist({"kind": "pii_recall", "min_negative_share": 0.3})
    prepared = twist.prepare_data(context("pii", tmp_path))
    records = list(open_dataset(prepared.dataset, prepared.version).iter_records("train"))
    assert len(records) == 3 and sum(1 for r in records if not r["spans"]) == 1
    assert prepared.summary["hard_negatives_added"] == 1 and prepared.summary["needed"] == 1
    assert build_twist({"kind": "pii_recall", "hard_negatives": "none"}).prepare_data(context("pii", tmp_path)) is None


def test_pii_recall_gates_are_added_once():
    from brewslm.evaluation.config import load_eval_config

    twist = build_twist({"kind": "pii_recall", "min_recall": 0.8})
    config = twist.adjust_eval(None, load_eval_config(model="m", dataset="d", gates=["lift.recall > 0"]))
    assert config.gates == ["lift.recall > 0", "recall >= 0.8"]


def test_intent_router_tunes_on_validation_and_routes_the_test_eval(tmp_path, tiny_model_dir):
    """Tiny model, 2 training steps: wiring, not quality."""
    from brewslm.evaluation import evaluate, load_eval_config
    from brewslm.training import build_config, train

    texts = {
        "balance": ["what is my balance", "show my balance", "how much money do I have", "balance please"],
        "refund": ["I want a refund", "refund my order"],
        "card_lost": ["I lost my card"],
    }
    rows = [{"text": t, "label": label} for label, items in texts.items() for t in items]
    import_rows("intents", rows, "label_to_classification", tmp_path)
    for split, suffix in (("validation", " now"), ("test", " today")):
        import_rows(
            "intents",
            [{"text": r["text"] + suffix, "label": r["label"]} for r in rows],
            "label_to_classification",
            tmp_path,
            split=split,
        )
    twist = build_twist({"kind": "intent_router", "target_accuracy": 0.5})
    ctx = context("intents", tmp_path)
    config = twist.adjust_train(
        ctx,
        build_config(
            {
                "dataset": "intents",
                "base_model": str(tiny_model_dir),
                "max_steps": 2,
                "batch_size": 4,
                "max_seq_len": 96,
                "lora": {"r": 4},
                "log_every": 1000,
                "output_dir": str(tmp_path / "run"),
            }
        ),
    )
    assert config.class_balance == "upsample"
    ctx.run_dir = train(config, progress=lambda event: None).run_dir
    eval_config = twist.adjust_eval(
        ctx,
        load_eval_config(
            model=str(ctx.run_dir),
            dataset="intents",
            bootstrap_samples=20,
            max_seq_len=96,
            out_dir=str(tmp_path / "eval"),
        ),
    )
    options = eval_config.handler_options
    assert options["fallback_label"] == "talk_to_human" and options["rare_labels"] == ["card_lost"]
    assert 0.0 <= options["confidence_threshold"] <= 1.0
    assert (ctx.twist_dir / "coverage_accuracy.png").is_file()

    result = evaluate(eval_config)
    section = twist.after_eval(ctx, result)
    tuned = result.report["metrics"]["tuned"]
    assert set(section["test"]["tuned"]) == {
        "macro_f1",
        "ece",
        "coverage",
        "routed_accuracy",
        "routed_macro_f1",
        "rare_recall",
    }
    assert section["test"]["tuned"]["coverage"] == tuned["coverage"] is not None
    assert section["test"]["tuned"]["macro_f1"] == tuned["macro_f1"] and tuned["ece"] is not None
    threshold = options["confidence_threshold"]
    predictions = [json.loads(line) for line in result.paths["predictions_tuned"].read_text().splitlines()]
    for (
        row
    ) in predictions:  # the classifier's own label is kept; routed exactly where its confidence is below the threshold
        assert row["prediction"]["label"] in ("balance", "refund", "card_lost")
        assert row["detail"]["routed"] == (row["prediction"]["confidence"] < threshold)
        assert row["prediction"]["confidence"] == row["scores"]["confidence"]
    assert twist.describe(section)[0].startswith("router threshold")
