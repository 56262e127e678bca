"""dpo: preference pairs for direct preference optimisation.

Record: ``{"prompt": [messages ending with a user turn], "chosen": str, "rejected": str}`` — the
conversation so far, then two candidate assistant replies, the preferred one first.
"""

from __future__ import annotations

from typing import Any, Mapping

from pydantic import StrictStr, field_validator, model_validator

from brewslm.records import Record
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile
from brewslm.tasks.messages import ASSISTANT, SYSTEM, USER, Message, check_messages
from brewslm.tasks.rendering import RenderContext, Rendered, conversation


class DpoRecord(CanonicalRecord):
    prompt: list[Message]
    chosen: StrictStr
    rejected: StrictStr

    @field_validator("prompt")
    @classmethod
    def _prompt_order(cls, prompt: list[Message]) -> list[Message]:
        return check_messages(prompt, ends_with=(USER,))

    @field_validator("chosen", "rejected")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the reply is empty")
        return value

    @model_validator(mode="after")
    def _different(self) -> "DpoRecord":
        if self.chosen == self.rejected:
            raise ValueError("chosen and rejected are the same reply")
        return self


class DpoSummary(Summary):
    """Prompt depth and reply lengths; the chosen-is-longer share flags a length bias in the pairs."""

    def __init__(self, output_schema: Mapping[str, Any]):
        super().__init__(output_schema)
        self.prompt_messages = 0
        self.max_prompt_messages = 0
        self.multi_turn = 0
        self.with_system = 0
        self.chosen_chars = 0
        self.rejected_chars = 0
        self.chosen_longer = 0

    def add(self, record: Record) -> None:
        super().add(record)
        prompt = record["prompt"]
        self.prompt_messages += len(prompt)
        self.max_prompt_messages = max(self.max_prompt_messages, len(prompt))
        self.multi_turn += any(m["role"] == ASSISTANT for m in prompt)
        self.with_system += prompt[0]["role"] == SYSTEM
        self.chosen_chars += len(record["chosen"])
        self.rejected_chars += len(record["rejected"])
        self.chosen_longer += len(record["chosen"]) > len(record["rejected"])

    def result(self) -> dict[str, Any]:
        out = super().result()
        n = self.count or 1
        out["stats"].update(
            {
                "mean_prompt_messages": round(self.prompt_messages / n, 3),
                "max_prompt_messages": self.max_prompt_messages,
                "multi_turn_prompt_share": round(self.multi_turn / n, 4),
                "system_prompt_share": round(self.with_system / n, 4),
                "mean_chosen_chars": round(self.chosen_chars / n, 1),
                "mean_rejected_chars": round(self.rejected_chars / n, 1),
                "chosen_longer_share": round(self.chosen_longer / n, 4),
            }
        )
        return out


class DpoProfile(TaskProfile):
    id = "dpo"
    description = "Preference pairs: a prompt conversation with a chosen and a rejected assistant reply."
    record_model = DpoRecord
    summary_class = DpoSummary

    def render(self, record: Record, context: RenderContext | None = None) -> Rendered:
        """The prompt conversation answered by the chosen reply (the trained turn), with the
        rejected reply alongside (``Rendered.rejected``; ``with_completion`` swaps it in)."""
        chosen = conversation([*record["prompt"], {"role": "assistant", "content": record["chosen"]}], train="last")
        return Rendered(messages=chosen.messages, trained_turns=chosen.trained_turns, rejected=record["rejected"])


PROFILE = DpoProfile()
