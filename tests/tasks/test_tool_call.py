import json

import pytest

from brewslm.tasks import get_task_profile
from brewslm.tasks.tool_call import Decision, as_decision, call_message_content, call_problem, parse_tool_reply

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


FORECAST = {
    "name": "get_weather",
    "description": "",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "days": {"type": "integer"},
        },
        "required": ["city"],
    },
}
TIME = {"name": "get_time", "description": "", "parameters": {"type": "object", "properties": {}}}
OFFERED = [FORECAST, TIME]


def call(tool, **arguments):
    return {"tool": tool, "arguments": arguments}


# --- reading a reply ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"tool": "get_time", "arguments": {}}', call("get_time")),
        ('```json\n{"tool": "get_time", "arguments": {}}\n```', call("get_time")),
        (
            '[{"tool": "get_time", "arguments": {}}, {"tool": "get_weather", "arguments": {"city": "Oslo"}}]',
            [call("get_time"), call("get_weather", city="Oslo")],
        ),
        ("[]", []),  # an empty call list: no call
        ("  It is sunny.  ", "It is sunny."),  # prose: a direct answer
        ("```python\nprint(1)\n```", "```python\nprint(1)\n```"),  # a code block that is not JSON: an answer
        ('{"tool": "get_time", "arguments": {}', None),  # a broken call
        ('{"name": "get_time", "arguments": {}}', None),  # JSON, but not the trained call form
        ('{"tool": "get_time"}', None),
        ('{"tool": "get_time", "arguments": {}, "id": 1}', None),
        ('[{"tool": "get_time", "arguments": {}}, 3]', None),
        ("```json\n{broken\n```", None),
    ],
)
def test_parse_tool_reply(text, expected):
    assert parse_tool_reply(text) == expected


def test_as_decision():
    assert as_decision("hi") == Decision(answer="hi")
    assert as_decision(call("get_time")) == Decision(calls=(call("get_time"),))
    assert as_decision([]) == Decision()
    assert as_decision({"name": "x"}) is None and as_decision(3) is None and as_decision(None) is None


# --- checking a call ---------------------------------------------------------------------------------


def test_call_problem():
    assert call_problem(call("get_weather", city="Oslo", unit="c"), OFFERED) is None
    assert call_problem(call("get_time"), OFFERED) is None  # empty arguments are fine when none are required
    assert "not an offered tool" in call_problem(call("book_flight", to="Oslo"), OFFERED)
    assert "'city' is a required property" in call_problem(call("get_weather"), OFFERED)
    assert "at days" in call_problem(call("get_weather", city="Oslo", days="3"), OFFERED)
    assert "at unit" in call_problem(call("get_weather", city="Oslo", unit="kelvin"), OFFERED)


def test_a_broken_tool_schema_does_not_blame_the_call():
    broken = {"name": "odd", "parameters": {"type": "object", "properties": {"x": {"type": "decimal"}}}}
    assert call_problem(call("odd", x=1), [broken]) is None


def test_the_reader_reads_calls_and_constrains_them_to_the_offered_tools():
    reader = PROFILE.reply_reader()
    record = rec(tools=OFFERED, calls=[])
    assert reader.parse('{"tool": "get_time", "arguments": {}}', record) == call("get_time")
    assert reader.parse("Hello!", record) == "Hello!"
    schema = reader.json_schema(record)
    one_call = schema["anyOf"][0]
    assert [branch["properties"]["tool"] for branch in one_call["anyOf"]] == [
        {"const": "get_weather"},
        {"const": "get_time"},
    ]
    assert schema["anyOf"][1] == {"type": "array", "items": one_call, "minItems": 1}
    assert reader.json_schema(rec(tools=[], calls=[], answer="hi")) is None  # no tools: every reply is an answer
    assert reader.constrainable and reader.constraint_allows_text
