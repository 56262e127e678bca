"""Tools in ``/v1/chat/completions``: OpenAI's ``tools``, ``tool_choice`` and ``tool_calls`` on
BrewSLM's models, rendered and read the way the ``/v1/tool_call`` endpoint renders and reads them.

    tools = read_tools(body.tools)                         # OpenAI function tools -> task tools
    choice = read_tool_choice(body.tool_choice, tools)     # none | auto | required | a function
    prompt = chat_prompt(served, turns, tools, choice, budget)
    calls = prompt.calls(served, reply_text)               # [] -> the reply is a direct answer

How a conversation with tools becomes a prompt (``chat_prompt``), by the served model:

- a tool_call fine-tune (task ``tool_call``): the task record ``{messages, tools, calls: []}``
  rendered by the model's own task profile and render context, cut to its ``max_seq_len`` - the
  prompt ``/v1/tool_call`` asks with the same messages and tools (``ServedModel.task_prompt_ids``;
  a ``max_tokens`` the run's ``max_seq_len`` cannot hold beside the prompt cuts the prompt's
  middle, as there), checked by the profile's record schema (a problem is a 400 naming the field);
- a plain model (or one of another task) whose chat template takes ``tools`` (Qwen 2.5, Llama
  3.1, Hermes...): the template renders the tools, earlier assistant ``tool_calls`` and ``tool``
  results itself (arguments as objects, as Hugging Face templates expect them);
- any other model: the tool_call task's rendering (``tasks.tool_call``): a system message listing
  the tools as JSON schemas with the instruction to reply ``{"tool": name, "arguments": {...}}``,
  after the conversation's own system prompt, under the model's chat template. A template that
  cannot render a ``tool`` message gets the tool results as user text instead.

In every case an earlier assistant turn with ``tool_calls`` is rendered as that rendering renders a
call (the tool_call task: the call as JSON, ``tasks.tool_call.call_message_content``) and a ``tool``
message as a tool result. A conversation without tools and without tool turns is rendered by the
chat template as before (``ServedModel.chat_prompt_ids``).

``tool_choice``: ``none`` renders no tools (the reply is content); ``auto`` (the default with
tools) renders them all; ``required`` renders them all; a named function renders only that one.
Without constrained decoding nothing forces a call, so ``required`` and a named function steer
instead: where the reply format is the task's (a tool_call fine-tune, or the system-message
rendering) and one function is wanted (named, or ``required`` with a single tool), the reply is
started for the model - ``{"tool": "<name>", "arguments":`` is put after the prompt
(``ChatPrompt.prefix``) and the model writes the arguments. A reply that still is not a call comes
back as content with its finish reason (``stop`` / ``length``), as a server without forced
decoding answers.

Reading a reply (``ChatPrompt.calls``): the tool_call task's parser (``tasks.tool_call.parse_tool_reply``,
or the fine-tune's reply reader), through ``tasks_api.tool_decision`` as ``/v1/tool_call`` reads it; after
a template rendering also the template families' own forms (``<tool_call>{...}</tool_call>``
blocks, a bare ``{"name", "arguments" | "parameters"}`` object or a list of them). Calls are
returned as the model wrote them: their arguments are not checked against the tools' schemas
(``/v1/tool_call`` reports that as ``valid`` / ``errors``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from brewslm.errors import ConfigError
from brewslm.serving.errors import bad_request
from brewslm.serving.tasks_api import TOOL_CALL, tool_decision
from brewslm.tasks import get_task_profile
from brewslm.tasks.tool_call import call_message_content, parse_tool_reply

MAX_TOOLS = 128  # OpenAI's limit
SYSTEM, USER, ASSISTANT, TOOL = "system", "user", "assistant", "tool"

CHAT, TASK, TEMPLATE, INSTRUCTED = "chat", "task", "template", "instructed"
"""How a prompt was rendered: the chat template alone, the fine-tune's tool_call task rendering,
the chat template's own tools support, or the tool_call task's rendering on another model."""


@dataclass(frozen=True)
class Turn:
    """One chat message, tool calls read: ``calls`` are an assistant's ``{"id", "tool", "arguments"}``."""

    role: str  # system (developer too) | user | assistant | tool
    content: str
    calls: tuple[Mapping[str, Any], ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True)
class ToolChoice:
    mode: str  # none | auto | required | function
    name: str | None = None  # the function a "function" choice names


# --- reading the request -------------------------------------------------------------------------


def read_tools(raw: Sequence[Any] | None) -> list[dict[str, Any]]:
    """OpenAI's ``tools`` (``[{"type": "function", "function": {name, description?, parameters?}}]``)
    as the tool_call task's tools ``{name, description, parameters}``; a problem is a 400 naming it."""
    if not raw:
        return []
    if len(raw) > MAX_TOOLS:
        raise bad_request(f"{len(raw)} tools; send at most {MAX_TOOLS}", param="tools")
    tools: list[dict[str, Any]] = []
    for index, tool in enumerate(raw):
        where = f"tools[{index}]"
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            raise bad_request(
                f'{where}: a tool is {{"type": "function", "function": {{...}}}}; only function tools are served',
                param=f"{where}.type",
            )
        function = tool.get("function")
        if not isinstance(function, Mapping):
            raise bad_request(
                f"{where}.function: a function tool needs its 'function' object", param=f"{where}.function"
            )
        name = function.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request(f"{where}.function.name: a function needs a name", param=f"{where}.function.name")
        description = function.get("description")
        if description is not None and not isinstance(description, str):
            raise bad_request(f"{where}.function.description must be a string", param=f"{where}.function.description")
        parameters = function.get("parameters")
        if parameters is None:
            parameters = {"type": "object", "properties": {}}
        if not isinstance(parameters, Mapping) or parameters.get("type", "object") != "object":
            raise bad_request(
                f"{where}.function.parameters must be a JSON schema of type 'object'",
                param=f"{where}.function.parameters",
            )
        if any(t["name"] == name for t in tools):
            raise bad_request(f"{where}.function.name: two tools are named '{name}'", param=f"{where}.function.name")
        tools.append({"name": name, "description": description or "", "parameters": {"type": "object", **parameters}})
    return tools


def read_tool_choice(value: Any, tools: Sequence[Mapping[str, Any]]) -> ToolChoice:
    """OpenAI's ``tool_choice``: ``none`` | ``auto`` | ``required`` | ``{"type": "function",
    "function": {"name"}}``; left out: ``auto`` with tools, ``none`` without."""
    if value is None:
        return ToolChoice("auto" if tools else "none")
    if isinstance(value, str):
        if value not in ("none", "auto", "required"):
            raise bad_request(
                f"tool_choice '{value}': use none, auto, required or a function to call", param="tool_choice"
            )
        if value == "required" and not tools:
            raise bad_request("tool_choice is 'required' but no tools are offered; send tools", param="tool_choice")
        return ToolChoice(value if tools else "none")
    function = value.get("function") if isinstance(value, Mapping) else None
    name = function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(value, Mapping) or value.get("type") != "function" or not isinstance(name, str):
        raise bad_request(
            'tool_choice: use none, auto, required or {"type": "function", "function": {"name": ...}}',
            param="tool_choice",
        )
    if not any(tool["name"] == name for tool in tools):
        offered = ", ".join(tool["name"] for tool in tools) or "none"
        raise bad_request(
            f"tool_choice names function '{name}', which is not among the tools (offered: {offered})",
            param="tool_choice",
        )
    return ToolChoice("function", name)


def read_calls(raw: Sequence[Any], where: str) -> tuple[dict[str, Any], ...]:
    """An assistant message's OpenAI ``tool_calls`` as ``{"id", "tool", "arguments"}`` (arguments
    decoded from their JSON text); a problem is a 400 naming it."""
    calls = []
    for index, call in enumerate(raw):
        at = f"{where}[{index}]"
        function = call.get("function") if isinstance(call, Mapping) else None
        if (
            not isinstance(call, Mapping)
            or call.get("type", "function") != "function"
            or not isinstance(function, Mapping)
        ):
            raise bad_request(
                f'{at}: a tool call is {{"id", "type": "function", "function": {{"name", "arguments"}}}}', param=at
            )
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise bad_request(f"{at}.function.name: a call needs the function's name", param=f"{at}.function.name")
        arguments = function.get("arguments", "{}")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as exc:
                raise bad_request(
                    f"{at}.function.arguments is not valid JSON ({exc})", param=f"{at}.function.arguments"
                ) from None
        if not isinstance(arguments, Mapping):
            raise bad_request(
                f"{at}.function.arguments must be a JSON object (as text)", param=f"{at}.function.arguments"
            )
        calls.append({"id": str(call.get("id") or f"call_{index}"), "tool": name, "arguments": dict(arguments)})
    return tuple(calls)


# --- the prompt ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatPrompt:
    """The prompt of a chat request, how it was rendered, and what its reply may call."""

    ids: list[int]  # the prompt's tokens
    style: str = CHAT
    offered: list[dict[str, Any]] = field(default_factory=list)  # tools rendered ([]: the reply is content)
    prefix: str = ""  # the start of the reply, written for the model (see the module notes)
    prefix_ids: list[int] = field(default_factory=list)
    record: dict[str, Any] | None = None  # the tool_call task record (TASK), for the reader's parse

    @property
    def reads_calls(self) -> bool:
        return bool(self.offered)

    def calls(self, served: Any, text: str) -> list[dict[str, Any]]:
        """The calls in a reply (``prefix`` + generated ``text``): ``{"tool", "arguments"}``;
        [] for a direct answer or a reply that is not a readable call."""
        if not self.offered:
            return []
        reply = self.prefix + text
        parsed = served.reader.parse(reply, self.record) if self.style == TASK else parse_tool_reply(reply)
        calls, _, _ = tool_decision(parsed, self.offered)
        found = [{"tool": call.tool, "arguments": call.arguments} for call in calls]
        if not found and self.style == TEMPLATE:
            found = native_calls(reply)
        return found


def is_tool_call_model(served: Any) -> bool:
    return TOOL_CALL.fits(served) and served.profile is not None and served.reader is not None


def chat_prompt(
    served: Any, turns: Sequence[Turn], tools: Sequence[Mapping[str, Any]], choice: ToolChoice, budget: int
) -> ChatPrompt:
    """The prompt for ``turns`` with ``tools`` under ``choice`` (see the module notes); ``budget``:
    the reply's tokens (a tool_call fine-tune's prompt is cut to leave room for them)."""
    if choice.mode == "none":
        offered: list[dict[str, Any]] = []
    elif choice.mode == "function":
        offered = [dict(tool) for tool in tools if tool["name"] == choice.name]
    else:
        offered = [dict(tool) for tool in tools]
    tool_turns = any(turn.calls or turn.role == TOOL for turn in turns)
    if not offered and not tool_turns:
        return ChatPrompt(served.chat_prompt_ids([{"role": t.role, "content": t.content} for t in turns]))
    if is_tool_call_model(served):
        record = {"messages": _task_messages(turns), "tools": offered, "calls": []}
        rejection = served.profile.validate(record)
        if rejection is not None:
            detail = rejection.detail.removeprefix(f"{served.profile.id} record ")
            field_name = re.search(r"field '([^'.]+)", detail)
            raise bad_request(
                f"model '{served.id}' is a tool_call fine-tune and renders this request as its task does: {detail}",
                param=field_name.group(1) if field_name else "messages",
            )
        ids = served.task_prompt_ids(record, reserve=budget)
        style = TASK
    elif takes_tools(served.tokenizer):
        ids, record, style = _template_ids(served.tokenizer, turns, offered), None, TEMPLATE
    else:
        record = {"messages": _task_messages(turns), "tools": offered, "calls": []}
        ids, style = _instructed_ids(served, record), INSTRUCTED
    prefix = ""
    wanted = choice.name if choice.mode == "function" else None
    if choice.mode == "required" and len(offered) == 1:
        wanted = offered[0]["name"]
    if wanted is not None and style in (TASK, INSTRUCTED):
        prefix = '{"tool": ' + json.dumps(wanted, ensure_ascii=False) + ', "arguments":'  # tasks.tool_call.call_json
    prefix_ids = list(served.tokenizer(prefix, add_special_tokens=False)["input_ids"]) if prefix else []
    return ChatPrompt(ids, style, offered, prefix, prefix_ids, record)


def _task_messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The conversation as a tool_call record's history: an assistant call as the call's JSON."""
    return [
        {"role": turn.role, "content": call_message_content(list(turn.calls)) if turn.calls else turn.content}
        for turn in turns
    ]


def _instructed_ids(served: Any, record: Mapping[str, Any]) -> list[int]:
    """The tool_call task's rendering of ``record`` under the model's chat template (uncut, as a
    chat prompt is); tool results become user text when the template refuses the ``tool`` role."""
    profile = get_task_profile(TOOL_CALL.task)
    try:
        return served.chat_prompt_ids(list(profile.render_prompt(dict(record)).messages[:-1]))
    except ConfigError:
        if not any(m["role"] == TOOL for m in record["messages"]):
            raise
    as_text = {**record, "messages": _results_as_text(record["messages"])}
    return served.chat_prompt_ids(list(profile.render_prompt(as_text).messages[:-1]))


def _results_as_text(messages: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """Tool results as one user message per run of them."""
    out: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        if message["role"] != TOOL:
            out.append(dict(message))
        elif index and messages[index - 1]["role"] == TOOL:
            out[-1]["content"] += "\n" + message["content"]
        else:
            out.append({"role": USER, "content": "Tool results:\n" + message["content"]})
    return out


_TAKES_TOOLS: dict[int, tuple[Any, bool]] = {}
_PROBE_TOOL = "brewslm_probe_tool"


def takes_tools(tokenizer: Any) -> bool:
    """Whether the tokenizer's chat template renders a ``tools`` argument (read once per tokenizer)."""
    known = _TAKES_TOOLS.get(id(tokenizer))
    if known is not None and known[0] is tokenizer:
        return known[1]
    probe = [
        {"type": "function", "function": {"name": _PROBE_TOOL, "description": "", "parameters": {"type": "object"}}}
    ]
    try:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": "hi"}], tools=probe, tokenize=False, add_generation_prompt=True
        )
        takes = _PROBE_TOOL in str(text)
    except Exception:  # a template that fails on tools does not take them
        takes = False
    _TAKES_TOOLS[id(tokenizer)] = (tokenizer, takes)
    return takes


def _template_ids(tokenizer: Any, turns: Sequence[Turn], offered: Sequence[Mapping[str, Any]]) -> list[int]:
    names = {call["id"]: call["tool"] for turn in turns for call in turn.calls}
    messages: list[dict[str, Any]] = []
    for turn in turns:
        message: dict[str, Any] = {"role": turn.role, "content": turn.content}
        if turn.calls:
            message["tool_calls"] = [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["tool"], "arguments": dict(call["arguments"])},
                }
                for call in turn.calls
            ]
        if turn.role == TOOL:
            message["tool_call_id"] = turn.tool_call_id
            if turn.tool_call_id in names:
                message["name"] = names[turn.tool_call_id]
        messages.append(message)
    tools = [
        {
            "type": "function",
            "function": {"name": t["name"], "description": t["description"], "parameters": t["parameters"]},
        }
        for t in offered
    ]
    try:
        text = tokenizer.apply_chat_template(messages, tools=tools or None, tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # jinja raises its own errors (e.g. "roles must alternate")
        raise ConfigError(f"the tokenizer's chat template cannot render this conversation: {exc}") from None
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


# --- template families' call forms ---------------------------------------------------------------

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
_MARKERS = ("[TOOL_CALLS]", "<|python_tag|>")


def native_calls(text: str) -> list[dict[str, Any]]:
    """Calls in the forms chat templates with tools ask for: ``<tool_call>{...}</tool_call>`` blocks
    (Hermes, Qwen), or the whole reply as ``{"name", "arguments" | "parameters"}`` or a list of
    them (Llama 3.1, Mistral after ``[TOOL_CALLS]``); [] when the reply is none of those."""
    blocks = _TAGGED.findall(text)
    if not blocks:
        body = text.strip()
        for marker in _MARKERS:
            body = body.removeprefix(marker).strip()
        blocks = [body]
    calls = []
    for block in blocks:
        try:
            value = json.loads(block)
        except ValueError:
            return []
        for item in value if isinstance(value, list) else [value]:
            call = _named_call(item)
            if call is None:
                return []
            calls.append(call)
    return calls


def _named_call(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        return None
    arguments = item.get("arguments", item.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    return {"tool": item["name"], "arguments": dict(arguments)} if isinstance(arguments, Mapping) else None


__all__ = [
    "ChatPrompt",
    "ToolChoice",
    "Turn",
    "chat_prompt",
    "is_tool_call_model",
    "native_calls",
    "read_calls",
    "read_tool_choice",
    "read_tools",
    "takes_tools",
]
