"""chat_sft: supervised fine-tuning on whole conversations.

Record: ``{"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]}`` — an
optional leading system message, then alternating user/assistant turns starting with the user,
ending with an assistant turn (so there is at least one reply to learn). Rendered as is, with
every assistant turn trained.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

from pydantic import field_validator

from brewslm.records import Record
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile
from brewslm.tasks.messages import ASSISTANT, SYSTEM, USER, Message, check_messages
from brewslm.tasks.rendering import RenderContext, Rendered, conversation


class ChatRecord(CanonicalRecord):
    messages: list[Message]

    @field_validator("messages")
    @classmethod
    def _order(cls, messages: list[Message]) -> list[Message]:
        return check_messages(messages, ends_with=(ASSISTANT,))


class ChatSummary(Summary):
    """Conversation shape for the manifest: turns per conversation, system prompts, reply lengths."""

    def __init__(self, output_schema: Mapping[str, Any]):
        super().__init__(output_schema)
        self.messages = 0
        self.assistant_turns = 0
        self.assistant_chars = 0
        self.with_system = 0
        self.multi_turn = 0
        self.max_messages = 0
        self.turn_histogram: Counter = Counter()

    def add(self, record: Record) -> None:
        super().add(record)
        messages = record["messages"]
        n = len(messages)
        self.messages += n
        self.max_messages = max(self.max_messages, n)
        replies = [m for m in messages if m["role"] == ASSISTANT]
        self.assistant_turns += len(replies)
        self.assistant_chars += sum(len(m["content"]) for m in replies)
        self.with_system += messages[0]["role"] == SYSTEM
        self.multi_turn += len(replies) > 1
        self.turn_histogram[min(sum(m["role"] == USER for m in messages), 10)] += 1

    def result(self) -> dict[str, Any]:
        out = super().result()
        n = self.count or 1
        out["stats"].update(
            {
                "messages": self.messages,
                "mean_messages": round(self.messages / n, 3),
                "max_messages": self.max_messages,
                "assistant_turns": self.assistant_turns,
                "mean_assistant_chars": round(self.assistant_chars / max(self.assistant_turns, 1), 1),
                "system_prompt_share": round(self.with_system / n, 4),
                "multi_turn_share": round(self.multi_turn / n, 4),
                # user turns per conversation (10 = ten or more)
                "user_turns_histogram": {str(k): v for k, v in sorted(self.turn_histogram.items())},
            }
        )
        return out


class ChatSftProfile(TaskProfile):
    id = "chat_sft"
    description = "Multi-turn conversations (system/user/assistant) for supervised fine-tuning."
    record_model = ChatRecord
    summary_class = ChatSummary

    def render(self, record: Record, context: RenderContext | None = None) -> Rendered:
        """The conversation as is; every assistant turn is trained."""
        return conversation(record["messages"], train="all")


PROFILE = ChatSftProfile()
