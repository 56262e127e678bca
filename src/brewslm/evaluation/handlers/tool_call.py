"""tool_call handler: whether to call a tool, which one, with what arguments - or to answer directly.

Predictions: a ``{"tool", "arguments"}`` object, a list of them (parallel calls), or a plain
string (a direct answer, no call) - the shapes of the rendered reply (``tasks.tool_call.call_json``).
``parse`` is the task's reader (``tasks.tool_call.ToolCallReader``: ``parse_tool_reply``): a reply
that opens a JSON document is a call attempt and must be call-shaped, else it is unparseable; any
other reply is a direct answer.
The gold is the record's call (one object), its calls (a list), or its direct answer (``""`` when
a no-call record has no known answer, e.g. a BFCL irrelevance row).

Metrics (``metrics.tool_calls`` pairs gold and predicted calls by tool name):
- ``call_accuracy`` (headline): the whole decision right - exactly the gold calls with exactly
  their arguments, or no call where none is expected;
- ``valid_call_rate``: of the call attempts (predicted calls, plus replies that opened a call but
  did not parse), those that name an offered tool with arguments valid against its ``parameters``
  JSON schema; None when the model never tried to call;
- ``tool_name_accuracy``: on rows that expect calls, the predicted tool names are the gold ones;
- ``argument_exact_match``: gold calls matched by a call of the same tool with every argument right
  and none extra; ``argument_accuracy``: gold arguments right (a missed call's all wrong). BFCL
  ``acceptable`` lists accept any listed value and ``""`` allows leaving an argument out;
- ``no_tool_accuracy``: on rows that expect no call, the model did not call;
- ``answer_f1`` / ``answer_exact_match``: SQuAD scores of the direct answer on no-call rows with a
  known answer (a call instead of the answer scores 0);
- ``length_ratio`` and ``unparseable_rate``.
Breakdown: ``per_tool`` ``{tool: {"precision", "recall", "f1", "support", "argument_exact_match"}}``
(a call of the tool counts as a true positive when it pairs with a gold call of that tool).

Options (``json_fields.FieldNormalization``, booleans, applied to argument values):
``ignore_case`` (false), ``normalize_whitespace`` (true), ``normalize_numbers`` (true),
``normalize_dates`` (false), ``dayfirst`` (true).

Constrained decoding (the reader's): ``json_schema(record)`` is the schema of a call of one of the
record's offered tools (``tasks.tool_call.calls_schema``: ``anyOf`` per tool, its name as
``const``, its parameters as ``arguments``) or a list of such calls; use it with
``JsonConstraint(allow_text=True)`` (``constraint_allows_text``) so that a direct answer stays
possible.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers._options import check_options
from brewslm.evaluation.handlers.base import GENERATION, EvalHandler, Scored
from brewslm.evaluation.metrics.common import (
    count_key,
    example_stats,
    label_counts,
    per_label_scores,
    ratio,
    shared_metrics,
    sum_stats,
)
from brewslm.evaluation.metrics.json_fields import FieldNormalization
from brewslm.evaluation.metrics.tool_calls import score_decision
from brewslm.tasks.rendering import RenderContext
from brewslm.tasks.tool_call import Decision, as_decision

ARGUMENTS_EXACT = "arguments_exact"  # per-tool statistics kind: gold calls of the tool matched exactly


def gold_decision(record: Mapping[str, Any]) -> Decision:
    calls = tuple({"tool": c["tool"], "arguments": c["arguments"]} for c in record["calls"])
    return Decision(calls=calls, answer=None if calls else record.get("answer"))


class ToolCallHandler(EvalHandler):
    task = "tool_call"
    strategies = (GENERATION,)
    headline = "call_accuracy"

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        context: RenderContext | None = None,
        manifest: Mapping[str, Any] | None = None,
    ):
        super().__init__(options, context, manifest)
        check_options(self.options, FieldNormalization.option_names(), self.task)
        self.normalization = FieldNormalization.from_options(self.options)

    def gold(self, record: Mapping[str, Any]) -> Any:
        decision = gold_decision(record)
        if not decision.calls:
            return decision.answer or ""
        calls = list(decision.calls)
        return calls[0] if len(calls) == 1 else calls

    def score_example(self, record: Mapping[str, Any], prediction: Any) -> Scored:
        predicted = None
        if prediction is not None:
            predicted = as_decision(prediction)
            if predicted is None:
                raise ConfigError(
                    'a tool_call prediction is a {"tool": name, "arguments": {...}} object, a list of them, a direct '
                    f"answer string or null, not {prediction!r}; write calls in that form"
                )
        gold = gold_decision(record)
        score = score_decision(gold, predicted, record["tools"], record.get("acceptable"), self.normalization)
        expects_calls = bool(gold.calls)
        stats = {
            **example_stats(self.gold(record), prediction),
            "decision_correct": float(score.correct),
            "call_examples": float(expects_calls),
            "no_call_examples": float(not expects_calls),
            "call_attempts": float(score.predicted_calls + (prediction is None)),
            "valid_calls": float(score.valid_calls),
            "tool_names_correct": float(expects_calls and score.names_right),
            "gold_calls": float(score.gold_calls),
            "exact_calls": float(score.exact_calls),
            "gold_arguments": float(score.gold_arguments),
            "correct_arguments": float(score.correct_arguments),
            "no_call_correct": float(not expects_calls and score.correct),
        }
        if score.answer_f1 is not None:
            stats.update(
                {"answer_examples": 1.0, "answer_f1": score.answer_f1, "answer_exact_match": score.answer_exact or 0.0}
            )
        for pair in score.pairs:
            _add(stats, count_key("tp", pair.tool))
            _add(stats, count_key(ARGUMENTS_EXACT, pair.tool), float(pair.arguments.exact))
        for tool in score.missed:
            _add(stats, count_key("fn", tool))
        for tool in score.unexpected:
            _add(stats, count_key("fp", tool))
        detail: dict[str, Any] = {"correct": score.correct}
        for key, tools in (
            ("invalid_calls", score.problems),
            ("missed_calls", score.missed),
            ("unexpected_calls", score.unexpected),
        ):
            if tools:
                detail[key] = list(tools)
        wrong_arguments = [
            {"tool": p.tool, "wrong": list(p.arguments.wrong), "extra": list(p.arguments.extra)}
            for p in score.pairs
            if not p.arguments.exact
        ]
        if wrong_arguments:
            detail["argument_errors"] = wrong_arguments
        if score.answer_f1 is not None:
            detail["answer_f1"] = score.answer_f1
        return Scored(stats, detail)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float | None]:
        get = totals.get
        return {
            "call_accuracy": ratio(get("decision_correct", 0.0), get("examples", 0.0)),
            "valid_call_rate": ratio(get("valid_calls", 0.0), get("call_attempts", 0.0)),
            "tool_name_accuracy": ratio(get("tool_names_correct", 0.0), get("call_examples", 0.0)),
            "argument_exact_match": ratio(get("exact_calls", 0.0), get("gold_calls", 0.0)),
            "argument_accuracy": ratio(get("correct_arguments", 0.0), get("gold_arguments", 0.0)),
            "no_tool_accuracy": ratio(get("no_call_correct", 0.0), get("no_call_examples", 0.0)),
            "answer_f1": ratio(get("answer_f1", 0.0), get("answer_examples", 0.0)),
            "answer_exact_match": ratio(get("answer_exact_match", 0.0), get("answer_examples", 0.0)),
            **shared_metrics(totals),
        }

    def breakdown(
        self, records: Sequence[Mapping[str, Any]], predictions: Sequence[Any], scored: Sequence[Scored]
    ) -> dict[str, Any]:
        totals = sum_stats(s.stats for s in scored)
        table = per_label_scores(label_counts(totals))
        for tool, row in table.items():
            row["argument_exact_match"] = ratio(totals.get(count_key(ARGUMENTS_EXACT, tool), 0.0), row["support"])
        return {"per_tool": table}


def _add(stats: dict[str, float], key: str, value: float = 1.0) -> None:
    stats[key] = stats.get(key, 0.0) + value


HANDLER = ToolCallHandler
