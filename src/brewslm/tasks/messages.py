"""The chat message shared by every conversational task profile (chat_sft, dpo, tool_call).

One ``Message`` model and one turn-order rule, so a conversation accepted by one profile is
shaped the same way in the others: an optional leading system message, then turns that start with
the user and alternate user/assistant. In tool-calling histories an assistant tool call may be
followed by one or more ``tool`` results, after which the assistant (or the user) speaks again.
"""

from __future__ import annotations

from typing import Iterable, Literal

from pydantic import BaseModel, ConfigDict, StrictStr, model_validator

SYSTEM, USER, ASSISTANT, TOOL = "system", "user", "assistant", "tool"
CHAT_ROLES = (SYSTEM, USER, ASSISTANT)
ALL_ROLES = (SYSTEM, USER, ASSISTANT, TOOL)

Role = Literal["system", "user", "assistant", "tool"]


class Message(BaseModel):
    """``{"role", "content"}``; content is text kept exactly as written (blank only for tool results)."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: StrictStr

    @model_validator(mode="after")
    def _content_not_blank(self) -> "Message":
        if self.role != TOOL and not self.content.strip():
            raise ValueError(f"a {self.role} message has empty content")
        return self


def turn_order_error(roles: Iterable[str], *, ends_with: tuple[str, ...], allow_tool: bool = False) -> str | None:
    """Why a sequence of roles is not a valid conversation, or None when it is.

    Rules: system only first; the first other turn is the user's; user and assistant alternate;
    ``tool`` results (only when ``allow_tool``) follow an assistant turn or another tool result,
    after which the assistant or the user speaks (a user may cut in before the assistant answered
    a result: real agent logs restart a search that way, so such a history is kept as it is);
    the last turn's role is one of ``ends_with``.
    """
    roles = list(roles)
    if not roles:
        return "the conversation has no messages"
    prev: str | None = None
    for i, role in enumerate(roles):
        if role == SYSTEM:
            if i != 0:
                return f"message {i} is a system message after the conversation started"
        elif role == TOOL:
            if not allow_tool:
                return f"message {i} has role 'tool', which this task does not allow"
            if prev not in (ASSISTANT, TOOL):
                return f"message {i} is a tool result that does not follow an assistant tool call"
        elif role == USER:
            if prev == USER:
                return f"messages {i - 1} and {i} are consecutive user turns"
        elif role == ASSISTANT:
            if prev in (None, SYSTEM):
                return f"message {i} is an assistant turn before any user turn"
            if prev == ASSISTANT:
                return f"messages {i - 1} and {i} are consecutive assistant turns"
        prev = role
    if roles[-1] not in ends_with:
        return f"the conversation ends with a {roles[-1]} turn; it must end with {' or '.join(ends_with)}"
    return None


def check_messages(messages: list[Message], *, ends_with: tuple[str, ...], allow_tool: bool = False) -> list[Message]:
    """Pydantic-side wrapper of ``turn_order_error`` for record models."""
    problem = turn_order_error((m.role for m in messages), ends_with=ends_with, allow_tool=allow_tool)
    if problem:
        raise ValueError(problem)
    return messages


__all__ = [
    "ALL_ROLES",
    "ASSISTANT",
    "CHAT_ROLES",
    "Message",
    "SYSTEM",
    "TOOL",
    "USER",
    "check_messages",
    "turn_order_error",
]
