"""classification: one text, one class label.

Record: ``{"text": str, "label": str}``. Labels are strings whatever the source held (``0``,
``true``, ``not entailment``); the manifest keeps their counts so class balance is visible before
training. Rendered as an instruction + the text, answered by the label alone.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

from pydantic import StrictStr, field_validator

from brewslm.records import Record
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile
from brewslm.tasks.rendering import RenderContext, Rendered, single_turn


class ClassificationRecord(CanonicalRecord):
    text: StrictStr
    label: StrictStr

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty text")
        return value

    @field_validator("label")
    @classmethod
    def _label_is_clean(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty label")
        if value != value.strip():
            raise ValueError("label has surrounding whitespace")
        return value


class ClassificationSummary(Summary):
    """Label counts, the number of classes and the majority-class share (the accuracy of always
    guessing the most common label, the floor a trained model has to beat)."""

    def __init__(self, output_schema: Mapping[str, Any]):
        super().__init__(output_schema)
        self.label_counts: Counter[str] = Counter()
        self.text_chars = 0

    def add(self, record: Record) -> None:
        super().add(record)
        self.label_counts[record["label"]] += 1
        self.text_chars += len(record["text"])

    def result(self) -> dict[str, Any]:
        out = super().result()
        majority = self.label_counts.most_common(1)
        out["stats"].update(
            {
                # most common first, ties by name, so manifests of the same data are identical
                "label_counts": dict(sorted(self.label_counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                "num_classes": len(self.label_counts),
                "majority_label": majority[0][0] if majority else None,
                "majority_share": round(majority[0][1] / self.count, 4) if majority else 0.0,
                "mean_text_chars": round(self.text_chars / self.count, 1) if self.count else 0.0,
            }
        )
        return out


class ClassificationProfile(TaskProfile):
    id = "classification"
    description = "Text -> one class label."
    record_model = ClassificationRecord
    summary_class = ClassificationSummary

    def render(self, record: Record, context: RenderContext | None = None) -> Rendered:
        """User: the instruction (with the allowed labels when the manifest knows them and there are
        at most ``max_listed_labels``) and the text; assistant: the label, nothing else - as the
        words it spells when the labels are identifiers (``RenderContext.reply_text``)."""
        context = context or RenderContext()
        replies = context.reply_texts
        if replies and len(replies) <= context.max_listed_labels:
            ask = f"Classify the text into one of these labels: {', '.join(replies)}. Reply with the label only."
        else:
            ask = "Classify the text. Reply with the label only."
        return single_turn(f"{ask}\n\nText: {record['text']}", context.reply_text(record["label"]))


PROFILE = ClassificationProfile()
