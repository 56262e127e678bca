"""tool_call: deciding whether to call a tool, which one, and with what arguments.

Record (one per assistant decision point)::

    {"messages": [history ending with a user turn or a tool result],
     "tools": [{"name", "description", "parameters": <JSON schema object>}],
     "calls": [{"tool": name, "arguments": {...}}, ...],   # [] = answer without calling a tool
     "answer": str | null,                                 # the direct reply of a no-call turn, when known
     "acceptable": [{arg: [acceptable values]}, ...]}      # optional, parallel to calls (BFCL)

In the history, an earlier assistant tool call is an assistant message whose content is the call
as JSON (``call_message_content``) and a tool result is a ``tool`` message. A history may end with
a tool result: the decision then is whether to call again or to answer from the result.

Rendering: a system message lists the offered tools as JSON schemas (after the record's own system
prompt, if any) and says how to call them; the reply is ``{"tool": name, "arguments": {...}}`` (a
JSON list of them for parallel calls, ``call_json``) or the direct answer. Earlier calls in the
history are rewritten into the same ``{"tool", "arguments"}`` form, so a conversation never mixes
two call formats. A no-call record without a known answer has nothing to learn (``NotRenderable``).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Mapping, Optional

from pydantic import BaseModel, ConfigDict, StrictStr, field_validator, model_validator

from brewslm.records import Record
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile
from brewslm.tasks.messages import ASSISTANT, SYSTEM, TOOL, USER, Message, check_messages
from brewslm.tasks.rendering import NotRenderable, RenderContext, Rendered, to_json

TOP_TOOLS = 20  # tool names listed in the manifest


class Tool(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr
    description: StrictStr = ""
    parameters: dict[str, Any]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a tool has an empty name")
        return value

    @field_validator("parameters")
    @classmethod
    def _schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type") != "object":
            raise ValueError("tool parameters must be a JSON schema of type 'object'")
        return value


class Call(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: StrictStr
    arguments: dict[str, Any]


class ToolCallRecord(CanonicalRecord):
    messages: list[Message]
    tools: list[Tool]
    calls: list[Call]
    answer: Optional[StrictStr] = None
    acceptable: Optional[list[dict[str, list[Any]]]] = None

    @field_validator("messages")
    @classmethod
    def _history(cls, messages: list[Message]) -> list[Message]:
        return check_messages(messages, ends_with=(USER, TOOL), allow_tool=True)

    @model_validator(mode="after")
    def _calls_fit_tools(self) -> "ToolCallRecord":
        names = {t.name for t in self.tools}
        for call in self.calls:
            if call.tool not in names:
                raise ValueError(f"call to '{call.tool}', which is not among the offered tools")
        if self.acceptable is not None and len(self.acceptable) != len(self.calls):
            raise ValueError("acceptable must have one entry per call")
        return self


def call_message_content(calls: list[Mapping[str, Any]]) -> str:
    """How an assistant tool call appears in a later history: ``{"name", "arguments"}`` as JSON,
    a JSON list of them for parallel calls."""
    payload = [{"name": c["tool"], "arguments": c["arguments"]} for c in calls]
    return json.dumps(payload[0] if len(payload) == 1 else payload, ensure_ascii=False)


TOOLS_INSTRUCTION = (
    "You can call the tools below, given as JSON schemas, one per line. To call a tool, reply with only "
    'a JSON object {"tool": <tool name>, "arguments": {<argument>: <value>}}; to make several calls at '
    "once, reply with a JSON list of such objects. If no tool fits the request, answer directly."
)


def call_json(calls: list[Mapping[str, Any]]) -> str:
    """The reply that makes ``calls``: one ``{"tool", "arguments"}`` object, or a JSON list of them."""
    payload = [{"tool": c["tool"], "arguments": c["arguments"]} for c in calls]
    return to_json(payload[0] if len(payload) == 1 else payload)


def _as_call_reply(content: str) -> str:
    """An earlier assistant tool call (``{"name", "arguments"}`` JSON, or a list) in the ``call_json``
    form; any other assistant message is returned unchanged."""
    try:
        value = json.loads(content)
    except ValueError:
        return content
    items = value if isinstance(value, list) else [value]
    if not items or not all(
        isinstance(i, dict) and set(i) == {"name", "arguments"} and isinstance(i["name"], str) for i in items
    ):
        return content
    return call_json([{"tool": i["name"], "arguments": i["arguments"]} for i in items])


def tools_system_prompt(tools: list[Mapping[str, Any]]) -> str:
    lines = [
        to_json({"name": t["name"], "description": t.get("description", ""), "parameters": t["parameters"]})
        for t in tools
    ]
    return TOOLS_INSTRUCTION + "\n\nTools:\n" + "\n".join(lines)


class ToolCallSummary(Summary):
    """Call vs no-call balance, parallel calls, tools offered and called."""

    def __init__(self, output_schema: Mapping[str, Any]):
        super().__init__(output_schema)
        self.with_calls = 0
        self.parallel = 0
        self.calls = 0
        self.no_tools_offered = 0
        self.tools_offered = 0
        self.after_tool_result = 0
        self.negatives_with_answer = 0
        self.with_acceptable = 0
        self.tools_seen: Counter = Counter()
        self.tools_called: Counter = Counter()

    def add(self, record: Record) -> None:
        super().add(record)
        calls = record["calls"]
        tools = record["tools"]
        self.calls += len(calls)
        self.with_calls += bool(calls)
        self.parallel += len(calls) > 1
        self.tools_offered += len(tools)
        self.no_tools_offered += not tools
        self.after_tool_result += record["messages"][-1]["role"] == TOOL
        self.negatives_with_answer += not calls and record.get("answer") is not None
        self.with_acceptable += record.get("acceptable") is not None
        self.tools_seen.update({t["name"] for t in tools})
        self.tools_called.update(c["tool"] for c in calls)

    def result(self) -> dict[str, Any]:
        out = super().result()
        n = self.count or 1
        out["stats"].update(
            {
                "call_records": self.with_calls,
                "no_call_records": self.count - self.with_calls,
                "no_call_share": round((self.count - self.with_calls) / n, 4),
                "parallel_call_share": round(self.parallel / n, 4),
                "mean_calls_per_call_record": round(self.calls / max(self.with_calls, 1), 3),
                "no_tools_offered_share": round(self.no_tools_offered / n, 4),
                "mean_tools_offered": round(self.tools_offered / n, 3),
                "after_tool_result_share": round(self.after_tool_result / n, 4),
                "no_call_with_answer": self.negatives_with_answer,
                "acceptable_share": round(self.with_acceptable / n, 4),
                "distinct_tools": len(self.tools_seen),
                "top_called_tools": dict(self.tools_called.most_common(TOP_TOOLS)),
            }
        )
        return out


class ToolCallProfile(TaskProfile):
    id = "tool_call"
    description = "Conversation + offered tools -> the tool calls to make (or none, with a direct answer)."
    record_model = ToolCallRecord
    summary_class = ToolCallSummary

    def render(self, record: Record, context: RenderContext | None = None) -> Rendered:
        calls = record["calls"]
        if calls:
            reply = call_json(calls)
        elif record.get("answer") is not None:
            reply = record["answer"]
        else:
            raise NotRenderable("a no-call tool_call record without a known answer has no reply to learn")
        history = [dict(m) for m in record["messages"]]
        own_system = history.pop(0)["content"] if history and history[0]["role"] == SYSTEM else None
        if record["tools"]:
            system = tools_system_prompt(record["tools"])
            system = f"{own_system}\n\n{system}" if own_system else system
        else:
            system = own_system
        messages = ([{"role": SYSTEM, "content": system}] if system else []) + [
            {"role": m["role"], "content": _as_call_reply(m["content"]) if m["role"] == ASSISTANT else m["content"]}
            for m in history
        ]
        messages.append({"role": ASSISTANT, "content": reply})
        return Rendered(messages=tuple(messages), trained_turns=(len(messages) - 1,))

    def render_prompt(self, record: Record, context: RenderContext | None = None) -> Rendered:
        """A no-call record without a known answer (a BFCL irrelevance row) is still a question: its
        prompt is asked with an empty gold reply (scoring checks that the model does not call)."""
        if not record["calls"] and record.get("answer") is None:
            return self.render({**record, "answer": ""}, context)
        return self.render(record, context)


PROFILE = ToolCallProfile()
