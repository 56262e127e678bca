"""language_modeling: plain text for continued pre-training / domain adaptation.

Record: ``{"text": str}``, the text exactly as written; rendered as raw text, all tokens trained.
"""

from __future__ import annotations

from typing import Any, Mapping

from pydantic import StrictStr, field_validator

from brewslm.records import Record
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile
from brewslm.tasks.rendering import RenderContext, Rendered


class LanguageModelingRecord(CanonicalRecord):
    text: StrictStr

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty text")
        return value


class LanguageModelingSummary(Summary):
    """Corpus size in characters and whitespace-separated words, and the longest document."""

    def __init__(self, output_schema: Mapping[str, Any]):
        super().__init__(output_schema)
        self.chars = 0
        self.words = 0
        self.max_chars = 0
        self.multiline = 0

    def add(self, record: Record) -> None:
        super().add(record)
        text = record["text"]
        self.chars += len(text)
        self.words += len(text.split())
        self.max_chars = max(self.max_chars, len(text))
        self.multiline += "\n" in text.strip()

    def result(self) -> dict[str, Any]:
        out = super().result()
        n = self.count or 1
        out["stats"].update(
            {
                "total_chars": self.chars,
                "total_words": self.words,
                "mean_chars": round(self.chars / n, 1),
                "max_chars": self.max_chars,
                "multiline_share": round(self.multiline / n, 4),
            }
        )
        return out


class LanguageModelingProfile(TaskProfile):
    id = "language_modeling"
    description = "Plain text documents for (continued) language-model training."
    record_model = LanguageModelingRecord
    summary_class = LanguageModelingSummary

    def render(self, record: Record, context: RenderContext | None = None) -> Rendered:
        """The raw text, no chat template: every token (and a closing end-of-text token) is trained."""
        return Rendered(text=record["text"])


PROFILE = LanguageModelingProfile()
