"""tool_call baselines: most frequent call and never call, hand-computed on tiny rows and scored by
the tool_call handler."""

from __future__ import annotations

import pytest

from brewslm.evaluation.baselines import BaselineUnavailable, baseline_classes
from brewslm.evaluation.baselines.tool_call import DEFAULT_REPLY, MostFrequentCall, NeverCall
from brewslm.evaluation.handlers.tool_call import ToolCallHandler
from helpers.scoring import metrics_of


def tool(name: str, **properties: str) -> dict:
    required = [next(iter(properties))] if properties else []
    return {
        "name": name,
        "description": "",
        "parameters": {
            "type": "object",
            "properties": {k: {"type": v} for k, v in properties.items()},
            "required": required,
        },
    }


WEATHER = tool("get_weather", city="string", unit="string")
TIME = tool("get_time", zone="string")
BOOK = tool("book_table", people="integer")


def row(tools: list, calls: list, answer: str | None = None) -> dict:
    return {
        "messages": [{"role": "user", "content": "hi"}],
        "tools": tools,
        "calls": [{"tool": t, "arguments": a} for t, a in calls],
        "answer": answer,
    }


TRAIN = [
    row([WEATHER, TIME], [("get_weather", {"city": "Paris", "unit": "c"})]),
    row([WEATHER, TIME], [("get_weather", {"city": "Paris"})]),
    row([WEATHER], [("get_weather", {"city": "Rome", "unit": "c"})]),
    row([WEATHER, TIME], [("get_time", {"zone": "UTC"})]),
    row([WEATHER], [], "Hello!"),
    row([], [], "Hello!"),
    row([TIME], [], "Bye"),
]
TEST = [
    row([WEATHER, TIME], [("get_weather", {"city": "Paris", "unit": "c"})]),
    row([TIME], [("get_time", {"zone": "UTC"})]),
    row([WEATHER], [("get_weather", {"city": "Oslo"})]),
    row([BOOK], [("book_table", {"people": 2})]),
    row([], [], "Hello!"),
    row([WEATHER], [], "Hi there"),
]


def test_registered_strongest_first():
    assert baseline_classes("tool_call") == [MostFrequentCall, NeverCall]


def test_most_frequent_call():
    baseline = MostFrequentCall().fit(TRAIN, ToolCallHandler())
    # get_weather: 3 of 4 calls; city Paris 2 of 3; unit given in 2 of 3 calls (>= half), "c"
    assert baseline.fitted == {
        "train_calls": 4,
        "tools_called": 2,
        "most_frequent_tool": "get_weather",
        "most_frequent_tool_share": 0.75,
        "most_frequent_tool_arguments": {"city": "Paris", "unit": "c"},
        "no_tool_offered_reply": "Hello!",
    }
    predictions = baseline.predict(TEST)
    assert predictions == [
        {"tool": "get_weather", "arguments": {"city": "Paris", "unit": "c"}},
        {"tool": "get_time", "arguments": {"zone": "UTC"}},  # the most frequent of the offered tools
        {"tool": "get_weather", "arguments": {"city": "Paris", "unit": "c"}},
        {"tool": "book_table", "arguments": {}},  # never called on train; no train value for "people"
        "Hello!",  # no tool offered
        {"tool": "get_weather", "arguments": {"city": "Paris", "unit": "c"}},
    ]
    metrics, _ = metrics_of(ToolCallHandler(), TEST, predictions)
    assert metrics["call_accuracy"] == pytest.approx(3 / 6)
    assert metrics["tool_name_accuracy"] == 1.0 and metrics["no_tool_accuracy"] == pytest.approx(1 / 2)
    assert metrics["argument_exact_match"] == pytest.approx(2 / 4)
    assert metrics["valid_call_rate"] == pytest.approx(4 / 5)  # book_table lacks its required "people"
    assert metrics["answer_f1"] == pytest.approx(1 / 2)


def test_unseen_tool_gets_known_values_of_its_required_parameters():
    baseline = MostFrequentCall().fit(TRAIN, ToolCallHandler())
    forecast = tool("get_forecast", city="string", days="integer")
    assert baseline.predict([row([forecast], [])]) == [{"tool": "get_forecast", "arguments": {"city": "Paris"}}]


def test_most_frequent_call_needs_train_calls():
    with pytest.raises(BaselineUnavailable, match="no train record calls a tool"):
        MostFrequentCall().fit(TRAIN[4:], ToolCallHandler())


def test_never_call():
    baseline = NeverCall().fit(TRAIN, ToolCallHandler())
    assert baseline.fitted == {"reply": "Hello!", "train_no_call_share": round(3 / 7, 4)}
    predictions = baseline.predict(TEST)
    assert predictions == ["Hello!"] * 6
    metrics, _ = metrics_of(ToolCallHandler(), TEST, predictions)
    assert metrics["call_accuracy"] == pytest.approx(2 / 6) and metrics["no_tool_accuracy"] == 1.0
    assert metrics["tool_name_accuracy"] == 0.0 and metrics["valid_call_rate"] is None
    assert metrics["answer_f1"] == pytest.approx(1 / 2)


def test_never_call_without_train_answers():
    assert NeverCall().fit(TRAIN[:4], ToolCallHandler()).predict(TEST[:1]) == [DEFAULT_REPLY]


def test_deterministic():
    for cls in (MostFrequentCall, NeverCall):
        first, second = cls().fit(TRAIN, ToolCallHandler()), cls().fit(TRAIN, ToolCallHandler())
        assert first.describe() == second.describe() and first.predict(TEST) == second.predict(TEST)
