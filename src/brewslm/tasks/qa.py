"""qa: question answering, closed-book or over one given context.

Record: ``{"question": str, "answer": str, "context": str (optional), "alternatives": [str]
(optional)}``; rendered as the question (after its context, when there is one) answered by the answer.

``alternatives`` are the other gold answers of the question (an alias list such as
``["Paris", "paris, france"]``, SQuAD's extra crowd answers), in source order after ``answer``:
evaluation scores a reply by the best of them (SQuAD's max over golds), while training teaches
the first gold, ``answer``, alone. Records written before ``alternatives`` existed kept the other
golds in ``meta.alternatives``; evaluation still reads them there.

Reading a reply (``QaReader``): the answer is the reply, stripped (it always parses; an empty
reply is an answer that matches nothing).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from pydantic import StrictStr, field_validator

from brewslm.records import Record
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile
from brewslm.tasks.rendering import RenderContext, Rendered, single_turn
from brewslm.tasks.replies import ReplyReader


class QaRecord(CanonicalRecord):
    question: StrictStr
    answer: StrictStr
    context: Optional[StrictStr] = None
    alternatives: Optional[list[StrictStr]] = None

    @field_validator("question", "answer")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty text")
        return value

    @field_validator("alternatives")
    @classmethod
    def _alternatives_not_blank(cls, values: Optional[list[str]]) -> Optional[list[str]]:
        if values and any(not v.strip() for v in values):
            raise ValueError("an empty alternative answer")
        return values


class QaSummary(Summary):
    """Lengths, how many records carry a context, and how many answers are spans of it (extractive)."""

    def __init__(self, output_schema: Mapping[str, Any]):
        super().__init__(output_schema)
        self.question_chars = 0
        self.answer_chars = 0
        self.with_context = 0
        self.context_chars = 0
        self.answer_in_context = 0
        self.with_alternatives = 0

    def add(self, record: Record) -> None:
        super().add(record)
        self.question_chars += len(record["question"])
        self.answer_chars += len(record["answer"])
        context = record.get("context")
        if context:
            self.with_context += 1
            self.context_chars += len(context)
            self.answer_in_context += record["answer"] in context
        self.with_alternatives += bool(record.get("alternatives"))

    def result(self) -> dict[str, Any]:
        out = super().result()
        n = self.count or 1
        out["stats"].update(
            {
                "mean_question_chars": round(self.question_chars / n, 1),
                "mean_answer_chars": round(self.answer_chars / n, 1),
                "context_share": round(self.with_context / n, 4),
                "mean_context_chars": round(self.context_chars / max(self.with_context, 1), 1),
                # of the records with a context, the share whose answer is a literal span of it
                "extractive_share": round(self.answer_in_context / max(self.with_context, 1), 4),
                # the share of questions with more than one gold answer (aliases)
                "alternatives_share": round(self.with_alternatives / n, 4),
            }
        )
        return out


class QaReader(ReplyReader):
    """A free-text answer: the reply itself, stripped."""

    task = "qa"
    max_new_tokens = 128  # a short answer; long-form answers still fit a few sentences

    def parse(self, text: str, record: Mapping[str, Any]) -> str:
        return text.strip()


class QaProfile(TaskProfile):
    id = "qa"
    description = "Question -> answer pairs, optionally with one context passage."
    record_model = QaRecord
    summary_class = QaSummary
    readers = {None: QaReader}

    def render(self, record: Record, context: RenderContext | None = None) -> Rendered:
        """Closed book: the question alone. With a context: the context, then the question.
        The reply is ``answer``, the first gold: other golds (``alternatives``) are not trained on."""
        question, passage = record["question"], record.get("context")
        if passage:
            user = f"Answer the question using the context.\n\nContext:\n{passage}\n\nQuestion: {question}"
        else:
            user = question
        return single_turn(user, record["answer"])


PROFILE = QaProfile()
