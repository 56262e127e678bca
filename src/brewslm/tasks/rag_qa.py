"""rag_qa: answering from retrieved passages, including the cases where the passages do not hold the answer.

Record: ``{"question": str, "passages": [str, ...], "answer": str, "is_refusal": bool,
"alternatives": [str] (optional)}`` — ``is_refusal`` is true exactly when there is no gold
answer (``answer == ""``): the model should say the passages do not answer the question.
``alternatives`` are the other gold answers (an alias list, SQuAD's extra crowd answers), in source
order after ``answer``: evaluation scores a reply by the best of them, training teaches ``answer``
(the first gold) alone.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from pydantic import StrictBool, StrictStr, field_validator, model_validator

from brewslm.records import Record
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile
from brewslm.tasks.rendering import REFUSAL, RenderContext, Rendered, single_turn


class RagRecord(CanonicalRecord):
    question: StrictStr
    passages: list[StrictStr]
    answer: StrictStr
    is_refusal: StrictBool
    alternatives: Optional[list[StrictStr]] = None

    @field_validator("question")
    @classmethod
    def _question_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty question")
        return value

    @field_validator("passages")
    @classmethod
    def _passages(cls, passages: list[str]) -> list[str]:
        if not passages:
            raise ValueError("no passages")
        if any(not p.strip() for p in passages):
            raise ValueError("an empty passage")
        return passages

    @model_validator(mode="after")
    def _refusal_consistent(self) -> "RagRecord":
        if self.is_refusal != (self.answer == ""):
            raise ValueError("is_refusal must be true exactly when answer is empty")
        if self.is_refusal and self.alternatives:
            raise ValueError("a refusal record has no alternative answers")
        return self


class RagSummary(Summary):
    """Refusal share, passages per question and how often the answer is quoted from the passages."""

    def __init__(self, output_schema: Mapping[str, Any]):
        super().__init__(output_schema)
        self.refusals = 0
        self.passages = 0
        self.max_passages = 0
        self.passage_chars = 0
        self.answer_in_passages = 0
        self.with_alternatives = 0

    def add(self, record: Record) -> None:
        super().add(record)
        passages = record["passages"]
        self.passages += len(passages)
        self.max_passages = max(self.max_passages, len(passages))
        self.passage_chars += sum(len(p) for p in passages)
        if record["is_refusal"]:
            self.refusals += 1
        else:
            self.answer_in_passages += any(record["answer"] in p for p in passages)
        self.with_alternatives += bool(record.get("alternatives"))

    def result(self) -> dict[str, Any]:
        out = super().result()
        n = self.count or 1
        answerable = self.count - self.refusals
        out["stats"].update(
            {
                "refusals": self.refusals,
                "refusal_share": round(self.refusals / n, 4),
                "mean_passages": round(self.passages / n, 3),
                "max_passages": self.max_passages,
                "mean_passage_chars": round(self.passage_chars / max(self.passages, 1), 1),
                # of the answerable records, the share whose answer is quoted verbatim in a passage
                "extractive_share": round(self.answer_in_passages / max(answerable, 1), 4),
                "alternatives_share": round(self.with_alternatives / n, 4),
            }
        )
        return out


class RagQaProfile(TaskProfile):
    id = "rag_qa"
    description = "Question + retrieved passages -> answer, or a refusal when the passages do not answer it."
    record_model = RagRecord
    summary_class = RagSummary

    def render(self, record: Record, context: RenderContext | None = None) -> Rendered:
        """The numbered passages and the question; the reply is the answer, or ``REFUSAL`` word for
        word when the passages do not hold it."""
        passages = "\n\n".join(f"[{i}] {text}" for i, text in enumerate(record["passages"], 1))
        user = (
            "Answer the question using only the passages below. If they do not contain the answer, "
            f"reply exactly: {REFUSAL}\n\nPassages:\n{passages}\n\nQuestion: {record['question']}"
        )
        return single_turn(user, REFUSAL if record["is_refusal"] else record["answer"])


PROFILE = RagQaProfile()
