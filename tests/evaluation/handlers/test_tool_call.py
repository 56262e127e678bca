"""tool_call handler: call accuracy, valid-call rate, tool-name / argument accuracy, no-tool accuracy,
direct answers, BFCL acceptable values, per-tool breakdown, the constraint schema (hand-computed)."""

from __future__ import annotations

import jsonschema
import pytest

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.handlers.tool_call import ToolCallHandler
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import NotRenderable
from helpers.mapping import needs_shared, run_mapper, shared_rows, sniff
from helpers.scoring import metrics_of

PROFILE = get_task_profile("tool_call")
WEATHER = {
    "name": "get_weather",
    "description": "Weather now",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
    },
}
TIME = {"name": "get_time", "description": "The time", "parameters": {"type": "object", "properties": {}}}
TOOLS = [WEATHER, TIME]


def record(calls, answer=None, acceptable=None, question="Weather in Oslo?"):
    out = {"messages": [{"role": "user", "content": question}], "tools": TOOLS, "calls": calls, "answer": answer}
    if acceptable is not None:
        out["acceptable"] = acceptable
    assert PROFILE.validate(out) is None
    return out


def call(tool, **arguments):
    return {"tool": tool, "arguments": arguments}


ONE = record([call("get_weather", city="Oslo", unit="c")])
PARALLEL = record([call("get_weather", city="Oslo"), call("get_time")])
EMPTY_ARGS = record([call("get_time")], question="What time is it?")
CHAT = record([], answer="Hello! How can I help?", question="Hi")
IRRELEVANT = record([], question="Book me a flight")  # BFCL irrelevance: no call, no known answer


def test_registered():
    handler = get_eval_handler("tool_call")
    assert isinstance(handler, ToolCallHandler) and handler.headline == "call_accuracy"
    assert handler.constrainable and handler.constraint_allows_text


def test_the_rendered_completion_scores_perfectly():
    handler = ToolCallHandler()
    records = [ONE, PARALLEL, EMPTY_ARGS, CHAT]
    predictions = [handler.parse(PROFILE.render(r).completion, r) for r in records]
    assert predictions == [handler.gold(r) for r in records]
    assert predictions[0] == call("get_weather", city="Oslo", unit="c") and isinstance(predictions[1], list)
    metrics, _ = metrics_of(handler, records, predictions)
    assert metrics == {
        "call_accuracy": 1.0,
        "valid_call_rate": 1.0,
        "tool_name_accuracy": 1.0,
        "argument_exact_match": 1.0,
        "argument_accuracy": 1.0,
        "no_tool_accuracy": 1.0,
        "answer_f1": 1.0,
        "answer_exact_match": 1.0,
        "length_ratio": 1.0,
        "unparseable_rate": 0.0,
    }


def test_mixed_predictions_hand_computed():
    handler = ToolCallHandler()
    records = [ONE, ONE, PARALLEL, EMPTY_ARGS, CHAT, IRRELEVANT]
    predictions = [
        call("get_weather", city="Oslo", unit="f"),  # right tool, 1 of 2 arguments
        call("book_flight", to="Oslo"),  # a tool that was not offered: invalid, wrong name
        [call("get_time"), call("get_weather", city="Oslo")],  # parallel, other order: right
        None,  # unparseable (a broken call)
        call("get_time"),  # called where it should have answered
        "Sorry, I cannot book flights.",  # correctly no call
    ]
    metrics, scored = metrics_of(handler, records, predictions)
    assert metrics["call_accuracy"] == pytest.approx(2 / 6)  # PARALLEL and IRRELEVANT
    # attempts: 1 + 1 + 2 + 1 (unparseable) + 1 = 6; valid: 1 + 0 + 2 + 0 + 1 = 4
    assert metrics["valid_call_rate"] == pytest.approx(4 / 6)
    assert metrics["tool_name_accuracy"] == pytest.approx(2 / 4)  # rows 1 and 3 of the 4 call rows
    # gold calls: 1 + 1 + 2 + 1 = 5, exact: PARALLEL's 2
    assert metrics["argument_exact_match"] == pytest.approx(2 / 5)
    # gold arguments: 2 + 2 + 1 + 0 + 0 = 5; right: city (row 1) + city (PARALLEL) = 2
    assert metrics["argument_accuracy"] == pytest.approx(2 / 5)
    assert metrics["no_tool_accuracy"] == pytest.approx(1 / 2)
    assert metrics["answer_f1"] == 0.0 and metrics["answer_exact_match"] == 0.0  # only CHAT has an answer
    assert metrics["unparseable_rate"] == pytest.approx(1 / 6)
    assert scored[0].detail == {
        "correct": False,
        "argument_errors": [{"tool": "get_weather", "wrong": ["unit"], "extra": []}],
    }
    assert scored[1].detail["invalid_calls"] == ["calls 'book_flight', which is not an offered tool"]
    assert scored[1].detail["missed_calls"] == ["get_weather"]
    assert scored[1].detail["unexpected_calls"] == ["book_flight"]
    assert scored[4].detail["unexpected_calls"] == ["get_time"] and scored[4].detail["answer_f1"] == 0.0

    per_tool = handler.breakdown(records, predictions, scored)["per_tool"]
    assert list(per_tool) == ["book_flight", "get_time", "get_weather"]
    # get_weather: tp 2 (rows 1, 3), fn 1 (row 2); get_time: tp 1 (row 3), fp 1 (row 5), fn 1 (row 4)
    assert per_tool["get_weather"] == {
        "precision": 1.0,
        "recall": pytest.approx(2 / 3),
        "f1": pytest.approx(0.8),
        "support": 3.0,
        "argument_exact_match": pytest.approx(1 / 3),
    }
    assert per_tool["get_time"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "support": 2.0,
        "argument_exact_match": 0.5,
    }
    assert per_tool["book_flight"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0.0,
        "argument_exact_match": None,
    }


def test_empty_arguments():
    handler = ToolCallHandler()
    metrics, _ = metrics_of(handler, [EMPTY_ARGS], [call("get_time")])
    assert metrics["call_accuracy"] == 1.0 and metrics["argument_exact_match"] == 1.0
    assert metrics["argument_accuracy"] is None  # no gold arguments to get right
    metrics, scored = metrics_of(handler, [EMPTY_ARGS], [call("get_time", zone="UTC")])
    assert metrics["call_accuracy"] == 0.0 and scored[0].detail["argument_errors"][0]["extra"] == ["zone"]


def test_direct_answers_are_token_scored():
    metrics, _ = metrics_of(ToolCallHandler(), [CHAT], ["Hello, how can I help you?"])
    # tokens: hello how can i help you (6) vs hello how can i help (5): p 5/6, r 1 -> 10/11
    assert metrics["answer_f1"] == pytest.approx(10 / 11) and metrics["answer_exact_match"] == 0.0
    assert metrics["call_accuracy"] == 1.0 and metrics["valid_call_rate"] is None  # it never tried to call


def test_irrelevance_rows_have_an_empty_gold_reply():
    assert ToolCallHandler().gold(IRRELEVANT) == ""
    metrics, _ = metrics_of(ToolCallHandler(), [IRRELEVANT], [[]])  # an empty call list is no call
    assert metrics["no_tool_accuracy"] == 1.0 and metrics["answer_f1"] is None


def test_bfcl_acceptable_values():
    bfcl = record(
        [call("get_weather", city="Oslo")], acceptable=[{"city": ["Oslo", "Oslo, Norway"], "unit": ["", "c"]}]
    )
    handler = ToolCallHandler()
    metrics, _ = metrics_of(
        handler,
        [bfcl, bfcl, bfcl],
        [
            call("get_weather", city="Oslo, Norway", unit="c"),
            call("get_weather", city="Oslo"),
            call("get_weather", city="Oslo", unit="f"),
        ],
    )
    assert metrics["call_accuracy"] == pytest.approx(2 / 3)
    assert metrics["argument_accuracy"] == pytest.approx(5 / 6)  # 2 acceptable keys per call, unit wrong once


def test_normalisation_options_apply_to_arguments():
    gold = record([call("get_weather", city="Oslo")])
    assert metrics_of(ToolCallHandler(), [gold], [call("get_weather", city="oslo")])[0]["call_accuracy"] == 0.0
    loose = ToolCallHandler({"ignore_case": True})
    assert metrics_of(loose, [gold], [call("get_weather", city="oslo")])[0]["call_accuracy"] == 1.0


def test_constraint_schema_accepts_offered_calls_only():
    schema = ToolCallHandler().json_schema(ONE)
    validator = jsonschema.Draft202012Validator(schema)
    for good in [ONE["calls"][0], PARALLEL["calls"], call("get_time")]:
        assert validator.is_valid(good), good
    for bad in [
        call("book_flight"),
        call("get_weather"),
        call("get_weather", city="Oslo", unit="k"),
        [],
        {"tool": "get_time", "arguments": {}, "x": 1},
        "text",
    ]:
        assert not validator.is_valid(bad), bad
    no_tools = {"messages": [{"role": "user", "content": "Hi"}], "tools": [], "calls": [], "answer": "Hello"}
    assert ToolCallHandler().json_schema(no_tools) is None


def test_bad_predictions_and_options_are_config_errors():
    with pytest.raises(ConfigError, match=r'\{"tool": name'):
        ToolCallHandler().score_example(ONE, {"name": "get_weather", "arguments": {}})
    with pytest.raises(ConfigError, match="unknown handler option 'beta' for tool_call"):
        ToolCallHandler({"beta": 1})


@needs_shared
@pytest.mark.parametrize(
    "spec",
    ["jsonl:tool_calling_bfcl/dev.jsonl?join=dev_possible_answer.jsonl&on=id", "jsonl:tool_calling_glaive/dev.jsonl"],
)
def test_shared_gold_replies_score_perfectly(spec):
    """Real tool schemas and BFCL acceptable values: every gold reply, rendered and parsed back,
    is the right decision; the constraint schema accepts a gold call exactly when it is a valid
    call (one BFCL ground truth passes an argument outside its own tool's enum)."""
    data = shared_rows(spec)
    records = run_mapper("tool_call_passthrough", data, sniff("tool_call_passthrough", data).field_map).records
    handler = ToolCallHandler()
    predictions = []
    for r in records:
        try:
            predictions.append(handler.parse(PROFILE.render(r).completion, r))
        except NotRenderable:  # BFCL irrelevance: no call and no known answer
            predictions.append(handler.gold(r))
    assert predictions == [handler.gold(r) for r in records]
    metrics, scored = metrics_of(handler, records, predictions)
    assert metrics["call_accuracy"] == metrics["argument_exact_match"] == metrics["no_tool_accuracy"] == 1.0
    assert metrics["argument_accuracy"] == metrics["tool_name_accuracy"] == 1.0
    assert metrics["valid_call_rate"] > 0.95 and metrics["unparseable_rate"] == 0.0
    for record, prediction, score in zip(records, predictions, scored):
        if record["calls"]:
            accepted = jsonschema.Draft202012Validator(handler.json_schema(record)).is_valid(prediction)
            assert accepted == ("invalid_calls" not in score.detail), (record["calls"], score.detail)
