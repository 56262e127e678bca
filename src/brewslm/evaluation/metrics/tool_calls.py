"""Tool-call metrics: reading a reply as a call decision and comparing it with the gold decision.

A decision (``Decision``) is either one or more calls ``{"tool": name, "arguments": {...}}``
(several = parallel calls) or no call, possibly with a direct answer. The prediction shapes of the
tool_call handler map onto it with ``as_decision``: a call object, a list of them, or a plain
string (the direct answer).

- ``parse_tool_reply(text)``: a generated reply -> that prediction shape. A reply that starts with
  ``{`` or ``[`` (after whitespace, optionally inside a Markdown code fence) is a call attempt and
  must be call-shaped JSON - objects with exactly the keys ``tool`` (text) and ``arguments`` (an
  object), or a list of them (``[]`` reads as "no call") - else it is unparseable (None). Any other
  reply is a direct answer, returned stripped. The rule matches constrained decoding with
  ``allow_text``: free text is fine, but once a reply opens a JSON document it is a call.
- ``call_problem(call, tools)``: why a predicted call is not a valid call - it names a tool that
  was not offered, or its arguments fail the tool's ``parameters`` JSON schema (``jsonschema``) -
  or None when it is valid.
- ``score_decision(gold, predicted, tools, acceptable, normalization)`` -> ``DecisionScore``:
  gold and predicted calls are paired one to one by tool name (the best-matching arguments first),
  and every paired call's arguments are compared: with the record's BFCL ``acceptable`` lists when
  present (any listed value is right; ``""`` in the list means the argument may be left out;
  nested objects list acceptable values per field), else against the gold value. Values compare
  with ``json_fields.values_equal`` under ``normalization`` (by default numbers by value, so
  ``"3" == 3 == 3.0``, and whitespace runs collapsed). A predicted argument the gold call does not
  have is *extra* and breaks the exact match.

The decision is right (``DecisionScore.correct``) when the calls are exactly the gold calls (same
count, every pair's arguments exact) or, for a no-call gold, when the model did not call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, Sequence

from jsonschema import exceptions as jsonschema_errors
from jsonschema import validators

from brewslm.evaluation.metrics.json_fields import FieldNormalization, parse_json_completion, values_equal
from brewslm.evaluation.metrics.text import exact_match, token_f1
from brewslm.tasks.rendering import to_json

OMITTABLE = ""
"""BFCL's marker in an acceptable-value list: the argument may be left out."""


@dataclass(frozen=True)
class Decision:
    """Calls to make (``()`` = none) and, without calls, the direct answer (None when unknown)."""

    calls: tuple[Mapping[str, Any], ...] = ()
    answer: str | None = None


def is_call(value: Any) -> bool:
    """A call object: exactly ``{"tool": <text>, "arguments": <object>}``."""
    return (
        isinstance(value, Mapping)
        and set(value) == {"tool", "arguments"}
        and isinstance(value["tool"], str)
        and isinstance(value["arguments"], Mapping)
    )


def as_decision(value: Any) -> Decision | None:
    """A target-shaped tool_call prediction (call object, list of calls, direct-answer string) as a
    ``Decision``; None when it is none of those (unparseable)."""
    if isinstance(value, str):
        return Decision(answer=value)
    if is_call(value):
        return Decision(calls=(value,))
    if isinstance(value, list) and all(is_call(item) for item in value):
        return Decision(calls=tuple(value))
    return None


def parse_tool_reply(text: str) -> Any:
    """A generated reply -> a call object, a list of calls, a direct answer, or None (a broken call)."""
    parsed = parse_json_completion(text)
    if not parsed.body.startswith(("{", "[")):
        return text.strip()  # prose (a fenced code block of anything but JSON included) is a direct answer
    if not parsed.ok:
        return None
    return parsed.value if as_decision(parsed.value) is not None else None


# --- validity -----------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _validator(schema_json: str) -> Any:
    """A checked validator per distinct schema (keyed by its JSON text: dicts are not hashable)."""
    schema = json.loads(schema_json)
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def call_problem(call: Mapping[str, Any], tools: Sequence[Mapping[str, Any]]) -> str | None:
    """None for a valid call; else one line saying what is wrong with it."""
    offered = {tool["name"]: tool for tool in tools}
    name = call["tool"]
    if name not in offered:
        return f"calls '{name}', which is not an offered tool"
    schema = offered[name].get("parameters") or {"type": "object"}
    try:
        validator = _validator(to_json(schema))
    except jsonschema_errors.SchemaError:
        # the dataset's own tool schema is broken: the arguments cannot be checked, so they are not blamed
        return None
    error = jsonschema_errors.best_match(validator.iter_errors(dict(call["arguments"])))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.path)
    return f"'{name}' arguments{' at ' + where if where else ''}: {error.message}"


# --- argument matching --------------------------------------------------------------------------


def _acceptable(present: bool, value: Any, options: Sequence[Any], normalization: FieldNormalization) -> bool:
    """Whether an argument (``present`` or left out) is one of BFCL's acceptable values."""
    for option in options:
        if isinstance(option, str) and option == OMITTABLE:
            if not present:
                return True
            continue
        if not present:
            continue
        if values_equal(option, value, normalization):
            return True
        if (
            isinstance(option, Mapping)
            and isinstance(value, Mapping)
            and option
            and all(isinstance(v, list) for v in option.values())
        ):
            # a nested object whose fields have acceptable-value lists of their own
            if set(value) <= set(option) and all(
                _acceptable(key in value, value.get(key), option[key], normalization) for key in option
            ):
                return True
    return False


@dataclass(frozen=True)
class ArgumentMatch:
    """One gold call's arguments against one predicted call's."""

    correct: tuple[str, ...]
    wrong: tuple[str, ...]  # wrong value, or left out
    extra: tuple[str, ...]  # predicted arguments the gold call does not have

    @property
    def exact(self) -> bool:
        return not self.wrong and not self.extra

    @property
    def total(self) -> int:
        return len(self.correct) + len(self.wrong)


def match_arguments(
    gold: Mapping[str, Any],
    predicted: Mapping[str, Any],
    acceptable: Mapping[str, Sequence[Any]] | None = None,
    normalization: FieldNormalization = FieldNormalization(),
) -> ArgumentMatch:
    """Compare a predicted call's arguments with the gold call's (see the module docstring)."""
    correct, wrong = [], []
    if acceptable is not None:
        for key, options in acceptable.items():
            ok = _acceptable(key in predicted, predicted.get(key), options, normalization)
            (correct if ok else wrong).append(key)
        known = set(acceptable)
    else:
        for key, gold_value in gold.items():
            ok = key in predicted and values_equal(gold_value, predicted[key], normalization)
            (correct if ok else wrong).append(key)
        known = set(gold)
    extra = [key for key in predicted if key not in known]
    return ArgumentMatch(tuple(correct), tuple(wrong), tuple(extra))


# --- one decision -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallPair:
    gold_index: int
    predicted_index: int
    tool: str
    arguments: ArgumentMatch


@dataclass(frozen=True)
class DecisionScore:
    """How a predicted decision compares with the gold one (all counts are per example)."""

    gold_calls: int
    predicted_calls: int
    valid_calls: int
    problems: tuple[str, ...]  # why the invalid predicted calls are invalid
    pairs: tuple[CallPair, ...]  # gold and predicted calls of the same tool, paired one to one
    missed: tuple[str, ...]  # tools of gold calls left unpaired
    unexpected: tuple[str, ...]  # tools of predicted calls left unpaired
    names_right: bool  # the predicted tool names are the gold ones (as a multiset)
    correct: bool  # the whole decision
    answer_f1: float | None = None  # direct-answer token F1 (no-call gold with a known answer)
    answer_exact: float | None = None
    gold_arguments: int = 0

    @property
    def exact_calls(self) -> int:
        return sum(pair.arguments.exact for pair in self.pairs)

    @property
    def correct_arguments(self) -> int:
        return sum(len(pair.arguments.correct) for pair in self.pairs)


def _pair_calls(
    gold: Sequence[Mapping[str, Any]],
    predicted: Sequence[Mapping[str, Any]],
    acceptable: Sequence[Mapping[str, Sequence[Any]]] | None,
    normalization: FieldNormalization,
) -> list[CallPair]:
    candidates = []
    for i, gold_call in enumerate(gold):
        for j, call in enumerate(predicted):
            if call["tool"] == gold_call["tool"]:
                match = match_arguments(
                    gold_call["arguments"], call["arguments"], acceptable[i] if acceptable else None, normalization
                )
                candidates.append(CallPair(i, j, gold_call["tool"], match))
    # greedy best-first: exact pairs, then the most right arguments; ties in call order
    candidates.sort(key=lambda p: (not p.arguments.exact, -len(p.arguments.correct), p.gold_index, p.predicted_index))
    pairs, used_gold, used_predicted = [], set(), set()
    for pair in candidates:
        if pair.gold_index not in used_gold and pair.predicted_index not in used_predicted:
            pairs.append(pair)
            used_gold.add(pair.gold_index)
            used_predicted.add(pair.predicted_index)
    return sorted(pairs, key=lambda p: p.gold_index)


def _gold_argument_count(call: Mapping[str, Any], acceptable: Mapping[str, Any] | None) -> int:
    return len(acceptable) if acceptable is not None else len(call["arguments"])


def score_decision(
    gold: Decision,
    predicted: Decision | None,
    tools: Sequence[Mapping[str, Any]],
    acceptable: Sequence[Mapping[str, Sequence[Any]]] | None = None,
    normalization: FieldNormalization = FieldNormalization(),
) -> DecisionScore:
    """Compare a predicted decision (None = unparseable) with the gold one; pure."""
    gold_calls = list(gold.calls)
    calls = list(predicted.calls) if predicted is not None else []
    problems = [problem for problem in (call_problem(call, tools) for call in calls) if problem]
    pairs = _pair_calls(gold_calls, calls, acceptable, normalization)
    paired_gold = {p.gold_index for p in pairs}
    paired_predicted = {p.predicted_index for p in pairs}
    names_right = predicted is not None and sorted(c["tool"] for c in calls) == sorted(c["tool"] for c in gold_calls)
    if gold_calls:
        correct = (
            predicted is not None
            and len(calls) == len(gold_calls)
            and len(pairs) == len(gold_calls)
            and all(p.arguments.exact for p in pairs)
        )
    else:
        correct = predicted is not None and not calls
    answer_f1 = answer_exact = None
    if not gold_calls and gold.answer is not None:
        said = predicted.answer if predicted is not None and not calls and predicted.answer is not None else None
        answer_f1 = token_f1(said, gold.answer) if said is not None else 0.0
        answer_exact = exact_match(said, gold.answer) if said is not None else 0.0
    return DecisionScore(
        gold_calls=len(gold_calls),
        predicted_calls=len(calls),
        valid_calls=len(calls) - len(problems),
        problems=tuple(problems),
        pairs=tuple(pairs),
        missed=tuple(c["tool"] for i, c in enumerate(gold_calls) if i not in paired_gold),
        unexpected=tuple(c["tool"] for j, c in enumerate(calls) if j not in paired_predicted),
        names_right=names_right,
        correct=correct,
        answer_f1=answer_f1,
        answer_exact=answer_exact,
        gold_arguments=sum(
            _gold_argument_count(c, acceptable[i] if acceptable else None) for i, c in enumerate(gold_calls)
        ),
    )


__all__ = [
    "OMITTABLE",
    "ArgumentMatch",
    "CallPair",
    "Decision",
    "DecisionScore",
    "as_decision",
    "call_problem",
    "is_call",
    "match_arguments",
    "parse_tool_reply",
    "score_decision",
]
