"""Tool-call metrics: comparing a predicted call decision with the gold decision.

A decision (``tasks.tool_call.Decision``) is either one or more calls ``{"tool": name,
"arguments": {...}}`` (several = parallel calls) or no call, possibly with a direct answer. Reading
a reply as one is the tool_call task's (``tasks.tool_call``: ``parse_tool_reply``,
``as_decision``), and so is checking a call against the offered tools (``call_problem``: an offered
name, arguments valid against its JSON schema): the server reads and checks calls the same way.

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

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from brewslm.evaluation.metrics.json_fields import FieldNormalization, values_equal
from brewslm.evaluation.metrics.text import exact_match, token_f1
from brewslm.tasks.tool_call import Decision, call_problem

OMITTABLE = ""
"""BFCL's marker in an acceptable-value list: the argument may be left out."""


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
    "DecisionScore",
    "match_arguments",
    "score_decision",
]
