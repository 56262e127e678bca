import json

import pytest

from brewslm.tasks import get_task_profile
from brewslm.tasks.tool_call import call_message_content

PROFILE = get_task_profile("tool_call")
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def rec(**kw):
    base = {
        "messages": [{"role": "user", "content": "Weather in Oslo?"}],
        "tools": [WEATHER],
        "calls": [{"tool": "get_weather", "arguments": {"city": "Oslo"}}],
        "answer": None,
    }
    base.update(kw)
    return base


def test_valid_records():
    assert PROFILE.validate(rec()) is None
    assert PROFILE.validate(rec(calls=[], answer="I cannot book flights.")) is None
    assert PROFILE.validate(rec(calls=[], tools=[], answer="Hello!")) is None
    assert PROFILE.validate(rec(acceptable=[{"city": ["Oslo", "oslo"]}])) is None
    history = [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": call_message_content([{"tool": "get_weather", "arguments": {"city": "Oslo"}}]),
        },
        {"role": "tool", "content": '{"temp": 3}'},
    ]
    assert PROFILE.validate(rec(messages=history, calls=[], answer="3 degrees.")) is None


def test_invalid_records():
    for bad, fragment in [
        (rec(calls=[{"tool": "book_flight", "arguments": {}}]), "not among the offered tools"),
        (rec(calls=[{"tool": "get_weather", "arguments": "city=Oslo"}]), "calls"),
        (rec(acceptable=[]), "one entry per call"),
        (rec(tools=[{**WEATHER, "parameters": {"type": "dict"}}]), "type 'object'"),
        (rec(messages=[{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]), "must end with"),
        (rec(messages=[{"role": "tool", "content": "x"}]), "does not follow"),
    ]:
        problem = PROFILE.validate(bad)
        assert problem is not None and problem.reason == "invalid_record", bad
        assert fragment in problem.detail, problem.detail


def test_call_message_content():
    one = call_message_content([{"tool": "f", "arguments": {"x": "é"}}])
    assert json.loads(one) == {"name": "f", "arguments": {"x": "é"}} and "é" in one
    two = json.loads(call_message_content([{"tool": "f", "arguments": {}}, {"tool": "g", "arguments": {"y": 1}}]))
    assert two == [{"name": "f", "arguments": {}}, {"name": "g", "arguments": {"y": 1}}]


def test_summary():
    summary = PROFILE.new_summary({})
    summary.add(rec())
    summary.add(
        rec(
            calls=[
                {"tool": "get_weather", "arguments": {"city": "A"}},
                {"tool": "get_weather", "arguments": {"city": "B"}},
            ]
        )
    )
    summary.add(rec(calls=[], answer="No tool needed."))
    summary.add(rec(calls=[], tools=[]))
    stats = summary.result()["stats"]
    assert stats["records"] == 4 and stats["call_records"] == 2 and stats["no_call_records"] == 2
    assert stats["no_call_share"] == 0.5 and stats["parallel_call_share"] == 0.25
    assert stats["mean_calls_per_call_record"] == 1.5
    assert stats["no_tools_offered_share"] == 0.25 and stats["no_call_with_answer"] == 1
    assert stats["distinct_tools"] == 1 and stats["top_called_tools"] == {"get_weather": 3}


def test_render_prompt_gives_an_irrelevance_row_its_question() -> None:
    from brewslm.tasks import get_task_profile
    from brewslm.tasks.rendering import NotRenderable

    profile = get_task_profile("tool_call")
    record = {
        "messages": [{"role": "user", "content": "Tell me a joke"}],
        "tools": [{"name": "get_weather", "description": "", "parameters": {"type": "object", "properties": {}}}],
        "calls": [],
        "answer": None,
    }
    with pytest.raises(NotRenderable):
        profile.render(record)
    rendered = profile.render_prompt(record)
    assert rendered.prompt[-1] == {"role": "user", "content": "Tell me a joke"}
    assert "get_weather" in rendered.prompt[0]["content"]
    assert rendered.completion == ""
