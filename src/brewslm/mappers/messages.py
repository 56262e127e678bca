"""Reading conversations in their common spellings, shared by the chat, preference and tool-call mappers.

Messages come as ``{role, content}`` (OpenAI), ``{from, value}`` (ShareGPT: human/gpt/system),
``{speaker, text}`` (Taskmaster: user/assistant, agent/bot/customer...), a list of plain strings
(alternating, the user first), or a ``"\\n\\nHuman: ...\\n\\nAssistant: ..."`` transcript (HH-RLHF).
Everything is reduced to ``Turn(role, content, raw)`` where role is ``system``, ``user``,
``assistant``, ``tool_call`` (an assistant turn that calls tools, ShareGPT ``function_call``) or
``tool`` (a tool result); the raw message stays available for tool-call details.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.mappers.base import MISSING, Rejection, get_path, read_text, type_name
from brewslm.tasks.messages import ASSISTANT, SYSTEM, TOOL, USER

TOOL_CALL = "tool_call"  # pseudo-role: an assistant turn whose content is a tool call

ROLE_ALIASES: dict[str, str] = {
    **dict.fromkeys(("user", "human", "prompter", "customer", "client", "usr", "questioner", "caller"), USER),
    **dict.fromkeys(("assistant", "gpt", "bot", "agent", "model", "ai", "chatbot", "chatgpt", "llm", "operator"), ASSISTANT),
    **dict.fromkeys(("system", "sys", "system_prompt"), SYSTEM),
    **dict.fromkeys(("function_call", "tool_call", "tool_calls"), TOOL_CALL),
    **dict.fromkeys(("tool", "function", "observation", "function_response", "tool_response", "ipython"), TOOL),
}
ROLE_KEYS = ("role", "from", "speaker", "author", "sender")
CONTENT_KEYS = ("content", "value", "text", "message", "utterance")
SKIP = "skip"  # a role_map target that drops that speaker's messages on purpose (narrator notes...)

# HH-RLHF transcripts: a turn marker starts the text or follows a blank line.
_TRANSCRIPT_MARKER = re.compile(r"(?:\A\s*|\n\n)(Human|Assistant):")
_TRANSCRIPT_ROLES = {"Human": USER, "Assistant": ASSISTANT}


@dataclass
class Turn:
    role: str
    content: str
    raw: Any = field(default=None, repr=False)

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
    return ROLE_ALIASES.get(raw_role.strip().lower())


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
        turns.append(Turn(_TRANSCRIPT_ROLES[m.group(1)], text[m.end():end].strip()))
    return turns


def read_system(row: Any, path: str | None) -> "str | None | Rejection":
    """An optional system-prompt field: absent, null or blank is None (most rows of a dataset with
    a system column leave it empty); text is kept exactly; anything else is ``wrong_type``."""
    value = MISSING if path is None else get_path(row, path)
    if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
        return None
    return read_text(row, path, "missing_text")


def json_list(value: Any) -> list | None:
    """A list value, or a JSON string holding one (CSV cells); else None."""
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            decoded = json.loads(value)
        except ValueError:
            return None
        return decoded if isinstance(decoded, list) else None
    return None


def content_text(value: Any, where: str) -> "str | None | Rejection":
    """Message content as text: a string as is, OpenAI content parts joined, null as None."""
    if value is None or value is MISSING:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) for p in value):
        texts = []
        for part in value:
            kind = part.get("type", "text")
            if kind != "text" or not isinstance(part.get("text"), str):
                return Rejection("wrong_type", f"{where} has a '{kind}' content part; only text parts can be imported")
            texts.append(part["text"])
        return "\n".join(texts)
    return Rejection("wrong_type", f"{where} content is a {type_name(value)} where text is expected")


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
        if value.lstrip().startswith("["):
            try:
                value = json.loads(value)
            except ValueError as exc:
                return Rejection("wrong_type", f"field '{path}' holds text that is not a JSON message list ({exc})")
        elif not value.strip():
            return Rejection(missing_reason, f"field '{path}' is empty")
        else:
            return Rejection(
                "wrong_type",
                f"field '{path}' is plain text, not a message list or a 'Human:/Assistant:' transcript",
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
        text = content_text(item.get(ckey) if ckey else None, f"message {where}")
        if isinstance(text, Rejection):
            return text
        turns.append(Turn(role, text or "", item))
    return turns


def drop_blank(turns: list[Turn]) -> list[Turn]:
    """Leave out messages with no text (tool calls and tool results are judged by their own rules)."""
    return [t for t in turns if t.role in (TOOL_CALL, TOOL) or t.content.strip()]


def merge_consecutive(turns: list[Turn], separator: str) -> list[Turn]:
    """Join consecutive turns of one speaker (utterances split across bubbles) into one turn."""
    merged: list[Turn] = []
    for turn in turns:
        if merged and turn.role == merged[-1].role and turn.role in (SYSTEM, USER, ASSISTANT):
            last = merged[-1]
            merged[-1] = Turn(last.role, last.content + separator + turn.content, last.raw)
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
            return Rejection("invalid_turn_order", f"{where}: message {i} is a system message after the conversation started")
    if consecutive == "reject":
        i = consecutive_index(turns)
        if i is not None:
            return Rejection(
                "invalid_turn_order", f"{where}: messages {i - 1} and {i} are both {turns[i].role} turns"
            )
        return turns
    return merge_consecutive(turns, separator)


CONSECUTIVE_OPTION = (
    "what to do with consecutive turns of one speaker: 'merge' (default; joined with merge_separator, "
    "as for utterances split across chat bubbles) or 'reject' (invalid_turn_order)"
)
SEPARATOR_OPTION = "text placed between merged consecutive turns (default a newline)"
ROLE_MAP_OPTION = (
    "extra role names as {source_role: user|assistant|system|skip}, e.g. {\"customer\": \"user\", "
    "\"narrator\": \"skip\"}; matched exactly, then case-insensitively"
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
