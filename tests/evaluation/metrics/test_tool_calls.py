"""metrics.tool_calls: reply parsing, call validity (jsonschema), argument matching with BFCL
acceptable values, pairing of parallel calls, whole-decision scoring (hand-computed)."""

from __future__ import annotations

import pytest

from brewslm.evaluation.metrics.json_fields import FieldNormalization
from brewslm.evaluation.metrics.tool_calls import (
    Decision,
    as_decision,
    call_problem,
    match_arguments,
    parse_tool_reply,
    score_decision,
)

WEATHER = {
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
TOOLS = [WEATHER, TIME]


def call(tool, **arguments):
    return {"tool": tool, "arguments": arguments}


# --- parsing ----------------------------------------------------------------------------------


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


# --- validity ---------------------------------------------------------------------------------


def test_call_problem():
    assert call_problem(call("get_weather", city="Oslo", unit="c"), TOOLS) is None
    assert call_problem(call("get_time"), TOOLS) is None  # empty arguments are fine when none are required
    assert "not an offered tool" in call_problem(call("book_flight", to="Oslo"), TOOLS)
    assert "'city' is a required property" in call_problem(call("get_weather"), TOOLS)
    assert "at days" in call_problem(call("get_weather", city="Oslo", days="3"), TOOLS)
    assert "at unit" in call_problem(call("get_weather", city="Oslo", unit="kelvin"), TOOLS)


def test_a_broken_tool_schema_does_not_blame_the_call():
    broken = {"name": "odd", "parameters": {"type": "object", "properties": {"x": {"type": "decimal"}}}}
    assert call_problem(call("odd", x=1), [broken]) is None


# --- arguments --------------------------------------------------------------------------------


def test_match_arguments_against_the_gold_values():
    match = match_arguments({"city": "Oslo", "days": 3, "unit": "c"}, {"city": "Oslo", "days": "3", "extra": 1})
    assert match.correct == ("city", "days") and match.wrong == ("unit",) and match.extra == ("extra",)
    assert not match.exact and match.total == 3
    assert match_arguments({}, {}).exact  # a call without arguments
    strict = FieldNormalization(normalize_numbers=False)
    assert match_arguments({"days": 3}, {"days": "3"}, normalization=strict).wrong == ("days",)


def test_match_arguments_with_bfcl_acceptable_values():
    acceptable = {"city": ["Oslo", "Oslo, Norway"], "unit": ["", "c"], "days": [3]}
    assert match_arguments({"city": "Oslo", "days": 3}, {"city": "Oslo, Norway", "days": 3.0}, acceptable).exact
    assert match_arguments({}, {"city": "Oslo", "unit": "c", "days": 3}, acceptable).exact
    left_out = match_arguments({}, {"unit": "c"}, acceptable)
    assert left_out.correct == ("unit",) and left_out.wrong == ("city", "days")
    assert match_arguments({}, {"city": "Oslo", "unit": "f", "days": 3}, acceptable).wrong == ("unit",)


def test_nested_acceptable_objects():
    acceptable = {"where": [{"city": ["Oslo"], "country": ["", "NO", "Norway"]}]}
    assert match_arguments({}, {"where": {"city": "Oslo"}}, acceptable).exact
    assert match_arguments({}, {"where": {"city": "Oslo", "country": "Norway"}}, acceptable).exact
    assert not match_arguments({}, {"where": {"city": "Oslo", "zip": "0150"}}, acceptable).exact
    assert not match_arguments({}, {"where": {"country": "NO"}}, acceptable).exact


# --- whole decisions --------------------------------------------------------------------------


def test_a_right_call():
    gold = Decision(calls=(call("get_weather", city="Oslo"),))
    score = score_decision(gold, Decision(calls=(call("get_weather", city="Oslo"),)), TOOLS)
    assert score.correct and score.names_right and score.exact_calls == 1 and score.valid_calls == 1
    assert score.gold_arguments == 1 and score.correct_arguments == 1 and not score.missed and not score.unexpected


def test_right_tool_wrong_argument():
    gold = Decision(calls=(call("get_weather", city="Oslo", unit="c"),))
    score = score_decision(gold, Decision(calls=(call("get_weather", city="Bergen", unit="c"),)), TOOLS)
    assert not score.correct and score.names_right and score.exact_calls == 0
    assert score.gold_arguments == 2 and score.correct_arguments == 1


def test_a_call_to_an_unoffered_tool():
    gold = Decision(calls=(call("get_time"),))
    score = score_decision(gold, Decision(calls=(call("book_flight"),)), TOOLS)
    assert not score.correct and score.valid_calls == 0 and "not an offered tool" in score.problems[0]
    assert score.missed == ("get_time",) and score.unexpected == ("book_flight",)


def test_parallel_calls_pair_in_any_order_and_best_first():
    gold = Decision(calls=(call("get_weather", city="Oslo"), call("get_weather", city="Bergen"), call("get_time")))
    predicted = Decision(calls=(call("get_time"), call("get_weather", city="Bergen"), call("get_weather", city="Oslo")))
    score = score_decision(gold, predicted, TOOLS)
    assert score.correct and score.exact_calls == 3
    assert [(p.gold_index, p.predicted_index) for p in score.pairs] == [(0, 2), (1, 1), (2, 0)]


def test_too_many_or_too_few_calls():
    gold = Decision(calls=(call("get_time"),))
    extra = score_decision(gold, Decision(calls=(call("get_time"), call("get_time"))), TOOLS)
    assert not extra.correct and not extra.names_right and extra.exact_calls == 1 and extra.unexpected == ("get_time",)
    gold2 = Decision(calls=(call("get_time"), call("get_weather", city="Oslo")))
    fewer = score_decision(gold2, Decision(calls=(call("get_time"),)), TOOLS)
    assert not fewer.correct and fewer.missed == ("get_weather",) and fewer.gold_arguments == 1
    assert fewer.correct_arguments == 0


def test_no_call_expected():
    gold = Decision(answer="Hello! How can I help?")
    answered = score_decision(gold, Decision(answer="Hello, how can I help?"), TOOLS)
    assert answered.correct and answered.answer_f1 == 1.0 and answered.answer_exact == 1.0
    called = score_decision(gold, Decision(calls=(call("get_time"),)), TOOLS)
    assert not called.correct and called.answer_f1 == 0.0 and called.unexpected == ("get_time",)
    unknown_answer = score_decision(Decision(), Decision(answer="anything"), TOOLS)
    assert unknown_answer.correct and unknown_answer.answer_f1 is None
    empty_list = score_decision(Decision(), Decision(), TOOLS)
    assert empty_list.correct


def test_unparseable_is_wrong_everywhere():
    assert not score_decision(Decision(), None, TOOLS).correct
    score = score_decision(Decision(calls=(call("get_time"),)), None, TOOLS)
    assert not score.correct and not score.names_right and score.predicted_calls == 0
    assert score_decision(Decision(answer="hi"), None, TOOLS).answer_f1 == 0.0


def test_acceptable_values_per_call():
    gold = Decision(calls=(call("get_weather", city="Oslo"), call("get_time")))
    acceptable = [{"city": ["Oslo", "Oslo, NO"], "unit": ["", "c"]}, {}]
    predicted = Decision(calls=(call("get_time"), call("get_weather", city="Oslo, NO", unit="c")))
    score = score_decision(gold, predicted, TOOLS, acceptable)
    assert score.correct and score.gold_arguments == 2 and score.correct_arguments == 2
