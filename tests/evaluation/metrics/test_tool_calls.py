"""metrics.tool_calls: argument matching with BFCL acceptable values, pairing of parallel calls,
whole-decision scoring (hand-computed); reading and checking a call: tests/tasks/test_tool_call.py."""

from __future__ import annotations

from brewslm.evaluation.metrics.json_fields import FieldNormalization
from brewslm.evaluation.metrics.tool_calls import match_arguments, score_decision
from brewslm.tasks.tool_call import Decision
from tasks.test_tool_call import OFFERED as TOOLS
from tasks.test_tool_call import call

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
