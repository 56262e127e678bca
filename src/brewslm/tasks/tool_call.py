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

Reading a reply (``ToolCallReader``): a decision (``Decision``) is one or more calls
``{"tool": name, "arguments": {...}}`` (several = parallel calls) or no call, possibly with a
direct answer; ``as_decision`` reads the reply shapes (a call object, a list of them, a plain
string: the direct answer) as one.

- ``parse_tool_reply(text)``: a generated reply -> that shape. A reply that starts with ``{`` or
  ``[`` (after whitespace, optionally inside a Markdown code fence) is a call attempt and must be
  call-shaped JSON - objects with exactly the keys ``tool`` (text) and ``arguments`` (an object),
  or a list of them (``[]`` reads as "no call") - else it is unparseable (None). Any other reply is
  a direct answer, returned stripped. The rule matches constrained decoding with ``allow_text``
  (``calls_schema``, ``constraint_allows_text``): free text is fine, but once a reply opens a JSON
  document it is a call.
- ``call_problem(call, tools)``: why a call is not a valid call - it names a tool that was not
  offered, or its arguments fail the tool's ``parameters`` JSON schema (``jsonschema``) - or None
  when it is valid.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, Optional, Sequence

from jsonschema import exceptions as jsonschema_errors
from jsonschema import validators
from pydantic import BaseModel, ConfigDict, StrictStr, field_validator, model_validator

from brewslm.records import Record
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile
from brewslm.tasks.messages import ASSISTANT, SYSTEM, TOOL, USER, Message, check_messages
from brewslm.tasks.rendering import NotRenderable, RenderContext, Rendered, to_json
from brewslm.tasks.replies import ReplyReader, parse_json_completion

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


# --- reading a reply ------------------------------------------------------------------------------


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
    """A target-shaped tool_call reply (call object, list of calls, direct-answer string) as a
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


def calls_schema(tools: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The JSON schema of a reply that calls the offered tools: one call object, or a non-empty
    list of them. None when no tool is offered (every reply is then a direct answer)."""
    if not tools:
        return None
    one_call = {
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "tool": {"const": tool["name"]},
                    "arguments": tool.get("parameters") or {"type": "object"},
                },
                "required": ["tool", "arguments"],
                "additionalProperties": False,
            }
            for tool in tools
        ]
    }
    return {"anyOf": [one_call, {"type": "array", "items": one_call, "minItems": 1}]}


class ToolCallReader(ReplyReader):
    """A call, parallel calls or a direct answer (``parse_tool_reply``). Constrained, a reply is a
    call of one of the record's offered tools (``calls_schema``) or plain text: a direct answer
    stays possible (``JsonConstraint(allow_text=True)``)."""

    task = "tool_call"
    max_new_tokens = 256  # one or a few calls with their arguments, or a short direct answer
    constrainable = True
    constraint_allows_text = True

    def parse(self, text: str, record: Mapping[str, Any]) -> Any:
        return parse_tool_reply(text)

    def json_schema(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        return calls_schema(record["tools"])


class ToolCallProfile(TaskProfile):
    id = "tool_call"
    description = "Conversation + offered tools -> the tool calls to make (or none, with a direct answer)."
    record_model = ToolCallRecord
    summary_class = ToolCallSummary
    readers = {None: ToolCallReader}

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
