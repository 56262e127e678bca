"""tool_call baselines: the most frequent call, and never calling.

``MostFrequentCall`` calls, on every row that offers tools, the offered tool called most often on
train (ties: the first offered), with that tool's most frequent train value of each argument it
was given in at least half of its train calls. A row whose offered tools were never called on
train gets its first offered tool, with the most frequent train value of each *required*
parameter whose name some train call used (any tool). It never chooses not to call where a tool
is offered - that decision is ``NeverCall``'s, and the evaluation keeps the stronger of the two;
a row offering no tool gets ``NeverCall``'s reply.

``NeverCall`` answers every row directly (a plain-text reply is "no call" to the handler): with
the most frequent direct answer of the train no-call rows, or ``DEFAULT_REPLY`` when they have none.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping, Sequence

from brewslm.evaluation.baselines.base import Baseline, BaselineUnavailable
from brewslm.evaluation.handlers.base import EvalHandler
from brewslm.tasks.rendering import to_json

DEFAULT_REPLY = "I can answer that without calling a tool."


def direct_reply(records: Sequence[Mapping[str, Any]]) -> str:
    """The most frequent known direct answer of the no-call train rows (ties: alphabetically first),
    else ``DEFAULT_REPLY``."""
    answers = Counter(r["answer"] for r in records if not r["calls"] and (r.get("answer") or "").strip())
    if not answers:
        return DEFAULT_REPLY
    return min(answers.items(), key=lambda item: (-item[1], item[0]))[0]


class _ValueCounts:
    """The most frequent JSON value of each argument name (values compared by their JSON text)."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}
        self.values: dict[str, Any] = {}

    def add(self, arguments: Mapping[str, Any]) -> None:
        for name, value in arguments.items():
            text = to_json(value)
            self.counts.setdefault(name, Counter())[text] += 1
            self.values[text] = value

    def most_frequent(self, name: str) -> Any:
        text = min(self.counts[name].items(), key=lambda item: (-item[1], item[0]))[0]
        return self.values[text]


class MostFrequentCall(Baseline):
    name = "most_frequent_call"
    title = "most frequent offered tool with its most frequent argument values"
    task = "tool_call"

    def fit(self, records: Sequence[Mapping[str, Any]], handler: EvalHandler) -> "MostFrequentCall":
        calls = [call for record in records for call in record["calls"]]
        if not calls:
            raise BaselineUnavailable("no train record calls a tool")
        self.tool_counts = Counter(call["tool"] for call in calls)
        per_tool: dict[str, _ValueCounts] = {}
        self.any_tool = _ValueCounts()
        for call in calls:
            per_tool.setdefault(call["tool"], _ValueCounts()).add(call["arguments"])
            self.any_tool.add(call["arguments"])
        self.arguments = {
            tool: {
                name: values.most_frequent(name)
                for name, counts in values.counts.items()
                if 2 * sum(counts.values()) >= self.tool_counts[tool]
            }
            for tool, values in per_tool.items()
        }
        self.reply = direct_reply(records)
        top, count = min(self.tool_counts.items(), key=lambda item: (-item[1], item[0]))
        self.fitted = {
            "train_calls": len(calls),
            "tools_called": len(self.tool_counts),
            "most_frequent_tool": top,
            "most_frequent_tool_share": round(count / len(calls), 4),
            "most_frequent_tool_arguments": self.arguments[top],
            "no_tool_offered_reply": self.reply,
        }
        return self

    def predict(self, records: Sequence[Mapping[str, Any]]) -> list[Any]:
        return [self._call(record) for record in records]

    def _call(self, record: Mapping[str, Any]) -> Any:
        offered = [tool["name"] for tool in record["tools"]]
        if not offered:
            return self.reply
        tool = max(offered, key=lambda name: self.tool_counts.get(name, 0))  # max keeps the first of equals
        if tool in self.arguments:
            return {"tool": tool, "arguments": dict(self.arguments[tool])}
        parameters = record["tools"][offered.index(tool)].get("parameters") or {}
        known = [name for name in parameters.get("required") or [] if name in self.any_tool.counts]
        return {"tool": tool, "arguments": {name: self.any_tool.most_frequent(name) for name in known}}


class NeverCall(Baseline):
    name = "never_call"
    title = "never call a tool (answer directly)"
    task = "tool_call"

    def fit(self, records: Sequence[Mapping[str, Any]], handler: EvalHandler) -> "NeverCall":
        self.reply = direct_reply(records)
        no_call = sum(not record["calls"] for record in records)
        self.fitted = {
            "reply": self.reply,
            "train_no_call_share": round(no_call / len(records), 4) if records else None,
        }
        return self

    def predict(self, records: Sequence[Mapping[str, Any]]) -> list[Any]:
        return [self.reply for _ in records]


BASELINES = [MostFrequentCall, NeverCall]
