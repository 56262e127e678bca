"""Reading conversations in their common spellings, shared by the chat, preference and tool-call mappers.

Messages come as ``{role, content}`` (OpenAI), ``{from, value}`` (ShareGPT: human/gpt/system),
``{speaker, text}`` (Taskmaster: user/assistant, agent/bot/customer...), a list of plain strings
(alternating, the user first), or a ``"\\n\\nHuman: ...\\n\\nAssistant: ..."`` transcript (HH-RLHF).
Everything is reduced to ``Turn(role, content, raw)`` where role is ``system``, ``user``,
``assistant``, ``tool_call`` (an assistant turn that calls tools, ShareGPT ``function_call``) or
``tool`` (a tool result); the raw message stays available for tool-call details.

Role names are matched case-insensitively with spaces and hyphens read as ``_`` (``function call``,
``Function-Call`` and ``function_call`` are one role). Content may be a string, or a list of typed
parts ``[{"type": "text"|"tool_call"|"reasoning", "text"|"value"|...: ...}]``: text parts are joined
with a newline, ``tool_call`` parts go to ``Turn.calls`` and ``reasoning`` parts to
``Turn.reasoning`` (the caller decides what to keep; nothing is dropped here). A tool-call turn may
hold its call as a JSON object instead of a string (``Turn.calls``); a tool result given as a JSON
object or list becomes its JSON text (``json.dumps(..., ensure_ascii=False)``, reversible);
``tool_result`` parts of a message (Anthropic) become tool turns ahead of that message's text.

A string where a message list is expected is a transcript, a COMPLETE JSON message list
(``structure_from_text``), or plain text; text that merely starts with ``[`` stays text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.mappers.base import MISSING, Rejection, get_path, read_text, structure_from_text, type_name
from brewslm.tasks.messages import ASSISTANT, SYSTEM, TOOL, USER

TOOL_CALL = "tool_call"  # pseudo-role: an assistant turn whose content is a tool call

ROLE_ALIASES: dict[str, str] = {
    **dict.fromkeys(("user", "human", "prompter", "customer", "client", "usr", "questioner", "caller"), USER),
    **dict.fromkeys(
        ("assistant", "gpt", "bot", "agent", "model", "ai", "chatbot", "chatgpt", "llm", "operator"), ASSISTANT
    ),
    **dict.fromkeys(("system", "sys", "system_prompt"), SYSTEM),
    **dict.fromkeys(("function_call", "tool_call", "tool_calls"), TOOL_CALL),
    **dict.fromkeys(("tool", "function", "observation", "function_response", "tool_response", "ipython"), TOOL),
}
ROLE_KEYS = ("role", "from", "speaker", "author", "sender")
CONTENT_KEYS = ("content", "value", "text", "message", "utterance")
SKIP = "skip"  # a role_map target that drops that speaker's messages on purpose (narrator notes...)

_ROLE_SEPARATORS = re.compile(r"[\s\-]+")
PART_TEXT_KEYS = ("text", "value", "content")  # where a typed content part keeps its payload
CALL_PART_TYPES = ("tool_call", "function_call", "tool_use")
REASONING_PART_TYPES = ("reasoning", "thinking", "thought")
RESULT_PART_TYPES = ("tool_result", "function_result")

# HH-RLHF transcripts: a turn marker starts the text or follows a blank line.
_TRANSCRIPT_MARKER = re.compile(r"(?:\A\s*|\n\n)(Human|Assistant):")
_TRANSCRIPT_ROLES = {"Human": USER, "Assistant": ASSISTANT}


@dataclass
class Turn:
    role: str
    content: str
    raw: Any = field(default=None, repr=False)
    calls: list[Any] = field(default_factory=list)  # call payloads from typed parts or object content
    reasoning: list[str] = field(default_factory=list)  # 'reasoning' content parts, in order

    def as_message(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


def canonical_role(raw_role: Any, role_map: Mapping[str, Any] | None = None) -> str | None:
    """The canonical role for a source role name (``role_map`` first, then the common aliases)."""
    if not isinstance(raw_role, str):
        return None
    if role_map:
        target = role_map.get(raw_role, MISSING)
        if target is MISSING:
            wanted = raw_role.strip().lower()
            target = next((t for k, t in role_map.items() if str(k).strip().lower() == wanted), MISSING)
        if target is not MISSING:
            return SKIP if target in (None, SKIP) else str(target)
    return ROLE_ALIASES.get(role_word(raw_role))


def role_word(raw_role: str) -> str:
    """A role name as matched against the aliases: lower case, spaces and hyphens as ``_``."""
    return _ROLE_SEPARATORS.sub("_", raw_role.strip().lower())


def role_key(item: Mapping[str, Any]) -> str | None:
    return next((k for k in ROLE_KEYS if k in item), None)


def content_key(item: Mapping[str, Any]) -> str | None:
    return next((k for k in CONTENT_KEYS if k in item), None)


def is_transcript(text: str) -> bool:
    return bool(_TRANSCRIPT_MARKER.match(text))


def parse_transcript(text: str) -> list[Turn]:
    """Split a ``\\n\\nHuman: ...\\n\\nAssistant: ...`` transcript into turns.

    Only a marker at the start or after a blank line opens a turn, so ``Human:`` quoted inside a
    reply stays text. Each turn's outer whitespace is stripped; inner text is kept exactly. Text
    before the first marker (rare) becomes a system turn.
    """
    turns: list[Turn] = []
    matches = list(_TRANSCRIPT_MARKER.finditer(text))
    if not matches:
        return turns
    preamble = text[: matches[0].start()].strip()
    if preamble:
        turns.append(Turn(SYSTEM, preamble))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        turns.append(Turn(_TRANSCRIPT_ROLES[m.group(1)], text[m.end() : end].strip()))
    return turns


def read_system(row: Any, path: str | None) -> "str | None | Rejection":
    """An optional system-prompt field: absent, null or blank is None (most rows of a dataset with
    a system column leave it empty); text is kept exactly; anything else is ``wrong_type``."""
    value = MISSING if path is None else get_path(row, path)
    if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
        return None
    return read_text(row, path, "missing_text")


def json_list(value: Any) -> list | None:
    """A list value, or a string holding one complete JSON list (CSV cells); else None."""
    return structure_from_text(value, list)


def is_plain_text(value: Any) -> bool:
    """A string that is neither a transcript nor a complete JSON list: a bare prompt or reply,
    kept exactly as written (``"[Verse 1] ..."`` included)."""
    return isinstance(value, str) and not is_transcript(value) and json_list(value) is None


def is_parts(value: Any) -> bool:
    """A list of typed content parts (``[{"type": ...}, ...]``)."""
    return isinstance(value, list) and bool(value) and all(isinstance(p, dict) and "type" in p for p in value)


def _part_payload(part: Mapping[str, Any]) -> Any:
    kind = part.get("type")
    if isinstance(kind, str) and kind in part:
        return part[kind]  # OpenAI-style {"type": "tool_call", "tool_call": {...}}
    key = next((k for k in PART_TEXT_KEYS if k in part), None)
    if key is None:  # the part itself is the payload ({"type": "tool_use", "name", "input"})
        return {k: v for k, v in part.items() if k != "type"}
    return part[key]


def read_content(value: Any, where: str) -> "tuple[str | None, list[Any], list[str]] | Rejection":
    """Message content -> ``(text, calls, reasoning)``: a string as is, null as None, typed parts
    split by type (text parts joined with a newline); an unknown part type is ``wrong_type``."""
    if value is None or value is MISSING:
        return None, [], []
    if isinstance(value, str):
        return value, [], []
    if isinstance(value, list) and all(isinstance(p, dict) for p in value):
        texts: list[str] = []
        calls: list[Any] = []
        reasoning: list[str] = []
        for part in value:
            kind = part.get("type", "text")
            word = role_word(kind) if isinstance(kind, str) else ""
            payload = _part_payload(part)
            if word in ("text", "input_text", "output_text") and isinstance(payload, str):
                texts.append(payload)
            elif word in CALL_PART_TYPES:
                calls.append(payload)
            elif word in REASONING_PART_TYPES and isinstance(payload, str):
                reasoning.append(payload)
            else:
                return Rejection(
                    "wrong_type",
                    f"{where} has a '{kind}' content part; only text, tool_call and reasoning parts can be imported",
                )
        return ("\n".join(texts) if texts else None), calls, reasoning
    return Rejection("wrong_type", f"{where} content is a {type_name(value)} where text is expected")


def content_text(value: Any, where: str) -> "str | None | Rejection":
    """Message content as text: a string as is, typed text parts joined, null as None; content
    holding tool calls or reasoning is ``wrong_type`` here (use ``read_content``)."""
    read = read_content(value, where)
    if isinstance(read, Rejection):
        return read
    text, calls, reasoning = read
    if calls or reasoning:
        kind = "tool_call" if calls else "reasoning"
        return Rejection("wrong_type", f"{where} has a '{kind}' content part; only text parts can be imported here")
    return text


def read_turns(
    value: Any, path: str, role_map: Mapping[str, Any] | None = None, *, missing_reason: str = "missing_messages"
) -> "list[Turn] | Rejection":
    """Turns from a message list (any common spelling), a list of strings or a transcript string.

    Blank messages carry nothing and are left out; messages whose role ``role_map`` maps to
    ``skip`` are left out on purpose. An unknown role is ``invalid_role``.
    """
    if value is MISSING or value is None:
        return Rejection(missing_reason, f"field '{path}' is missing")
    if isinstance(value, str):
        if is_transcript(value):
            return parse_transcript(value)
        decoded = json_list(value)
        if decoded is not None:
            value = decoded
        elif not value.strip():
            return Rejection(missing_reason, f"field '{path}' is empty")
        else:
            return Rejection(
                "wrong_type",
                f"field '{path}' is plain text, not a message list (nor a complete JSON one) or a "
                "'Human:/Assistant:' transcript",
            )
    if not isinstance(value, (list, tuple)):
        return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where a message list is expected")
    if not value:
        return Rejection(missing_reason, f"field '{path}' is an empty list")
    turns: list[Turn] = []
    if all(isinstance(item, str) for item in value):
        # A bare list of utterances alternates speakers, the user first (DailyDialog-style).
        for i, text in enumerate(value):
            turns.append(Turn(USER if i % 2 == 0 else ASSISTANT, text, text))
        return [t for t in turns if t.content.strip()]
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            return Rejection("wrong_type", f"message {where} is a {type_name(item)}, not an object")
        rkey = role_key(item)
        if rkey is None:
            return Rejection("invalid_role", f"message {where} has no role field ({'/'.join(ROLE_KEYS)})")
        role = canonical_role(item[rkey], role_map)
        if role is None:
            return Rejection(
                "invalid_role",
                f"message {where} has role {item[rkey]!r}; known roles are user/assistant/system and their "
                f"usual aliases; map others with the role_map option",
            )
        if role == SKIP:
            continue
        ckey = content_key(item)
        raw_content = item.get(ckey) if ckey else None
        if isinstance(raw_content, (dict, list)) and not is_parts(raw_content) and role in (TOOL_CALL, TOOL):
            if role == TOOL_CALL:  # the call itself as an object (or a list of calls)
                turns.append(
                    Turn(role, "", item, calls=list(raw_content) if isinstance(raw_content, list) else [raw_content])
                )
            else:  # a structured tool result: its JSON text
                turns.append(Turn(role, json.dumps(raw_content, ensure_ascii=False), item))
            continue
        if is_parts(raw_content) and any(_is_result_part(p) for p in raw_content):
            # Anthropic: tool results travel as 'tool_result' parts of a user message; each is a tool turn
            for part in (p for p in raw_content if _is_result_part(p)):
                result = _result_text(part, f"message {where}")
                if isinstance(result, Rejection):
                    return result
                turns.append(Turn(TOOL, result, part))
            raw_content = [p for p in raw_content if not _is_result_part(p)]
            if not raw_content:
                continue
        read = read_content(raw_content, f"message {where}")
        if isinstance(read, Rejection):
            return read
        text, calls, reasoning = read
        turns.append(Turn(role, text or "", item, calls=calls, reasoning=reasoning))
    return turns


def _is_result_part(part: Mapping[str, Any]) -> bool:
    kind = part.get("type")
    return isinstance(kind, str) and role_word(kind) in RESULT_PART_TYPES


def _result_text(part: Mapping[str, Any], where: str) -> "str | Rejection":
    """A tool_result part's content as text: a string as is, text parts joined with a newline,
    any other JSON value as its JSON text (``json.dumps(..., ensure_ascii=False)``)."""
    value = part.get("content", "")
    if value is None or isinstance(value, str):
        return value or ""
    if is_parts(value):
        text = content_text(value, f"{where} tool_result")
        return text if isinstance(text, Rejection) else text or ""
    return json.dumps(value, ensure_ascii=False)


# --- tool-calling shapes, by value (sniffers of the chat and tool-call mappers) ---------------


def looks_like_tool(item: Any) -> bool:
    """A function schema by its shape: a name and parameters (or an OpenAI ``{function: {...}}``
    wrapper, or Anthropic's ``input_schema``)."""
    if isinstance(item, str):
        item = structure_from_text(item, dict)
    if not isinstance(item, dict):
        return False
    if isinstance(item.get("function"), dict):
        item = item["function"]
    return isinstance(item.get("name"), str) and any(k in item for k in ("parameters", "input_schema"))


def named_tools(value: Mapping[str, Any]) -> list[Any]:
    """Tools keyed by name: ``{name: {description, parameters}}`` (each schema with its name),
    ``{name: "what it does"}`` (a description, no parameter schema) or ``{name: [anything else]}``
    (a tool known by its name only, e.g. name -> [HTTP path, method]). An object entry with none of
    the schema keys (an OpenAPI ``components`` section kept beside the functions) is not a tool."""
    tools: list[Any] = []
    for name, spec in value.items():
        if isinstance(spec, str):
            tools.append({"name": name, "description": spec})
        elif isinstance(spec, dict):
            if any(k in spec for k in ("name", "description", "parameters", "input_schema")):
                tools.append(spec if "name" in spec else {"name": name, **spec})
        elif isinstance(spec, list):
            tools.append({"name": name})
    return tools


def tools_value_share(values: list[Any]) -> float:
    """The share of present values that are a tool list (a list of tool schemas, a JSON string of
    one, one schema, or schemas keyed by tool name): the value evidence for a tools field,
    whatever its name."""
    present = [v for v in values if v is not None and v is not MISSING]
    if not present:
        return 0.0
    hits = 0
    for value in present:
        value = structure_from_text(value) if isinstance(value, str) else value
        if isinstance(value, dict):  # one schema, or schemas keyed by name (none found: not tools)
            value = [value] if looks_like_tool(value) else (named_tools(value) or None)
        if isinstance(value, list) and (not value or all(looks_like_tool(i) for i in value)):
            hits += 1
    return hits / len(present)


def message_list_share(values: list[Any]) -> float:
    """The share of present values that are message lists (or complete JSON strings of one): lists
    of objects that each carry a role key (role/from/speaker...)."""
    present = [v for v in values if v is not None and v is not MISSING]
    if not present:
        return 0.0
    hits = 0
    for value in present:
        value = json_list(value)
        hits += bool(value) and all(isinstance(m, dict) and role_key(m) for m in value)
    return hits / len(present)


def call_shape(message: Any) -> str | None:
    """How a message shows a tool call or result, by its values: a call/result role, OpenAI
    ``tool_calls``/``function_call``, typed ``tool_call`` content parts, or call content given as an
    object; None for a plain message."""
    if not isinstance(message, dict):
        return None
    if message.get("tool_calls"):
        return "tool_calls"
    if message.get("function_call"):
        return "function_call"
    rkey = role_key(message)
    raw = message.get(rkey) if rkey else None
    role = canonical_role(raw)
    if role in (TOOL, TOOL_CALL):
        return str(raw)
    ckey = content_key(message)
    content = message.get(ckey) if ckey else None
    if isinstance(content, list) and any(
        isinstance(p, dict) and isinstance(p.get("type"), str) and role_word(p["type"]) in CALL_PART_TYPES
        for p in content
    ):
        return "tool_call parts"
    return None


ANSWERING_SHARE = 0.9  # of the dialogues a speaker is in, where it answers the user (see below)


def answering_speakers(dialogues: list[Any]) -> dict[str, tuple[int, int]]:
    """Speakers that are the assistant side by their PLACE in the dialogues, whatever they are
    called: ``{raw_name: (dialogues where it answers the user, dialogues it speaks in)}``.

    A system prompt is at most the first turn. A speaker whose name reads as ``system`` (task-
    oriented dialogue: ``USER``/``SYSTEM``) or as no known role (``wizard``) but who, in nearly
    every dialogue it is in (``ANSWERING_SHARE``), takes turns with the user all through it: it
    follows a user turn, and apart from a first-turn prompt only the user and it speak, with no
    other assistant. Two such speakers in one dataset, or none with a user, give nothing."""
    speaks: Counter = Counter()
    answers: Counter = Counter()
    for value in dialogues:
        items = json_list(value)
        if not items or not all(isinstance(m, dict) for m in items):
            continue
        names = [m.get(role_key(m) or "", None) for m in items]
        roles = [canonical_role(n) for n in names]
        if not all(isinstance(n, str) for n in names) or USER not in roles or ASSISTANT in roles:
            continue
        for name in {n for n, r in zip(names, roles) if r in (SYSTEM, None)}:
            speaks[name] += 1
            body = [(n, r) for i, (n, r) in enumerate(zip(names, roles)) if i > 0 or n == name or r == USER]
            only_two = all(n == name or r == USER for n, r in body)
            follows_user = any(n == name and body[i - 1][1] == USER for i, (n, _) in enumerate(body) if i > 0)
            answers[name] += only_two and follows_user
    found = {
        n: (answers[n], speaks[n]) for n in speaks if answers[n] >= 2 and answers[n] >= ANSWERING_SHARE * speaks[n]
    }
    return found if len(found) == 1 else {}


def drop_blank(turns: list[Turn]) -> list[Turn]:
    """Leave out messages with no text (tool calls and tool results are judged by their own rules)."""
    return [t for t in turns if t.role in (TOOL_CALL, TOOL) or t.content.strip()]


def merge_consecutive(turns: list[Turn], separator: str) -> list[Turn]:
    """Join consecutive turns of one speaker (utterances split across bubbles) into one turn."""
    merged: list[Turn] = []
    for turn in turns:
        if merged and turn.role == merged[-1].role and turn.role in (SYSTEM, USER, ASSISTANT):
            last = merged[-1]
            # a turn with no text (reasoning only) adds no separator
            content = (
                last.content + separator + turn.content
                if last.content and turn.content
                else last.content or turn.content
            )
            merged[-1] = Turn(last.role, content, last.raw, last.calls + turn.calls, last.reasoning + turn.reasoning)
        else:
            merged.append(turn)
    return merged


def consecutive_index(turns: list[Turn]) -> int | None:
    """Index of the first turn that repeats the previous speaker (user/assistant/system), or None."""
    for i in range(1, len(turns)):
        if turns[i].role == turns[i - 1].role and turns[i].role in (SYSTEM, USER, ASSISTANT):
            return i
    return None


def arrange_turns(turns: list[Turn], consecutive: str, separator: str, where: str) -> "list[Turn] | Rejection":
    """Apply the consecutive-turn policy (``merge`` or ``reject``) and check system placement."""
    for i, turn in enumerate(turns):
        if turn.role == SYSTEM and any(t.role != SYSTEM for t in turns[:i]):
            return Rejection(
                "invalid_turn_order", f"{where}: message {i} is a system message after the conversation started"
            )
    if consecutive == "reject":
        i = consecutive_index(turns)
        if i is not None:
            return Rejection("invalid_turn_order", f"{where}: messages {i - 1} and {i} are both {turns[i].role} turns")
        return turns
    return merge_consecutive(turns, separator)


CONSECUTIVE_OPTION = (
    "what to do with consecutive turns of one speaker: 'merge' (default; joined with merge_separator, "
    "as for utterances split across chat bubbles) or 'reject' (invalid_turn_order)"
)
SEPARATOR_OPTION = "text placed between merged consecutive turns (default a newline)"
ROLE_MAP_OPTION = (
    'extra role names as {source_role: user|assistant|system|skip}, e.g. {"customer": "user", '
    '"narrator": "skip"}; matched exactly, then case-insensitively'
)


def consecutive_options(options: Mapping[str, Any]) -> tuple[str, str]:
    """The checked ``consecutive_turns`` and ``merge_separator`` options."""
    consecutive = options.get("consecutive_turns", "merge")
    if consecutive not in ("merge", "reject"):
        raise MapperError(f"option consecutive_turns must be 'merge' or 'reject', not {consecutive!r}")
    separator = options.get("merge_separator", "\n")
    if not isinstance(separator, str):
        raise MapperError(f"option merge_separator must be text, not a {type_name(separator)}")
    return consecutive, separator


def role_map_option(options: Mapping[str, Any], allowed: tuple[str, ...] = (SYSTEM, USER, ASSISTANT)) -> dict[str, Any]:
    """The checked ``role_map`` option: source role -> one of ``allowed`` or ``skip``."""
    role_map = options.get("role_map") or {}
    if not isinstance(role_map, Mapping):
        raise MapperError('option role_map must be an object such as {"customer": "user", "agent": "assistant"}')
    for source, target in role_map.items():
        if target not in (*allowed, SKIP, None):
            raise MapperError(
                f"option role_map maps '{source}' to {target!r}; targets are {', '.join(allowed)} or {SKIP}"
            )
    return dict(role_map)
