"""rag_qa: answering from retrieved passages, including the cases where the passages do not hold the answer.

Record: ``{"question": str, "passages": [str, ...], "answer": str, "is_refusal": bool,
"alternatives": [str] (optional)}`` — ``is_refusal`` is true exactly when there is no gold
answer (``answer == ""``): the model should say the passages do not answer the question.
``alternatives`` are the other gold answers (an alias list, SQuAD's extra crowd answers), in source
order after ``answer``: evaluation scores a reply by the best of them, training teaches ``answer``
(the first gold) alone.

Reading a reply (``RagQaReader``): the answer, stripped (as qa). ``is_refusal(text)`` tells a
refusal - the trained ``REFUSAL`` sentence after normalisation, or a reply that starts with one of
``REFUSAL_OPENINGS``, a deliberately short list of the ways models phrase "the passages do not
say", so that an answer which merely contains "not" is never read as a refusal.

Grounding, the lexical way (``lexical_faithfulness``; no model): does every sentence of an answer
stand on the passages it was given?

- the answer is split into sentences (``split_sentences``: after ``.``, ``!`` or ``?`` followed by
  whitespace and a character that is not a lower-case letter, and at line breaks; "3.5" and
  "e.g. this" inside a sentence do not split it);
- a sentence's *content words* are its SQuAD-normalised words (``replies.normalize_answer``;
  possessive "'s" dropped, split at dashes and other non-ASCII punctuation) minus a small list of
  function words (``FUNCTION_WORDS``); numbers count as content;
- a sentence's support is the share of its content words found in the single best passage, and
  the sentence is supported when that share is at least ``threshold`` (default 0.5);
- an answer's faithfulness is supported sentences / sentences. Sentences without content words
  ("Yes.") claim nothing checkable and are left out; an answer made only of such sentences is
  fully faithful.

A lexical score cannot see negation or paraphrase; it catches answers that bring in facts the
passages never mention, which is the common failure of a fine-tune that memorised its answers.
The rag_qa evaluation scores faithfulness with it (or with a judge model, whose verdicts make a
graded ``Faithfulness``: ``evaluation.metrics.faithfulness``), and the server cites the passages
that support an answer's sentences with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from pydantic import StrictBool, StrictStr, field_validator, model_validator

from brewslm.records import Record
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile
from brewslm.tasks.qa import QaReader
from brewslm.tasks.rendering import REFUSAL, RenderContext, Rendered, single_turn
from brewslm.tasks.replies import answer_tokens, normalize_answer


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


class RagQaReader(QaReader):
    """An answer from passages (stripped, as qa reads it), or the refusal sentence."""

    task = "rag_qa"
    max_new_tokens = 160  # a grounded answer of a few sentences, or the refusal sentence


class RagQaProfile(TaskProfile):
    id = "rag_qa"
    description = "Question + retrieved passages -> answer, or a refusal when the passages do not answer it."
    record_model = RagRecord
    summary_class = RagSummary
    readers = {None: RagQaReader}

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


# --- refusals and lexical grounding ----------------------------------------------------------------

DEFAULT_SUPPORT_THRESHOLD = 0.5

FUNCTION_WORDS = frozenset(
    """
    i me my we our you your he him his she her it its they them their this that these those
    am is are was were be been being have has had do does did will would shall should can could may might must
    and or but if then so of in on at by for with from to into onto over under about as than too very
    not no nor there here what which who whom whose when where why how all any both each few more most some such
    only own same just also yes
    """.split()
)
"""Words that carry no checkable fact (articles are already removed by the SQuAD normalisation)."""

REFUSAL_OPENINGS = (
    REFUSAL,
    "I do not have that information",
    "I don't know",
    "I do not know",
    "I cannot answer",
    "I can't answer",
    "The passages do not",
    "The passages don't",
    "The context does not",
    "The context doesn't",
    "There is no information",
    "Not enough information",
)
"""Openings that make a reply a refusal (compared after SQuAD normalisation, token by token)."""

# a sentence ends after . ! ? (and any closing quotes or brackets) when whitespace and a character
# that is not a lower-case letter follow ("e.g. this" stays one sentence)
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*(?=\s+[^a-z\s])")


def split_sentences(text: str) -> list[str]:
    """The non-empty sentences of ``text`` (see the module docstring for where it splits)."""
    sentences = []
    for line in text.splitlines():
        start = 0
        for end in _SENTENCE_END.finditer(line):
            sentences.append(line[start : end.end()])
            start = end.end()
        sentences.append(line[start:])
    return [sentence.strip() for sentence in sentences if sentence.strip()]


_POSSESSIVE = re.compile(r"(?<=\w)['\u2019]s\b")
_WORD = re.compile(r"\w+")


def grounding_tokens(text: str) -> set[str]:
    """The normalised words of a text, possessives dropped ("Eiffel's" reads as "eiffel") and
    split at the non-ASCII punctuation SQuAD's normalisation keeps ("1763–1775" is two numbers)."""
    return set(_WORD.findall(normalize_answer(_POSSESSIVE.sub("", text))))


def content_words(text: str) -> set[str]:
    return {token for token in grounding_tokens(text) if token not in FUNCTION_WORDS}


@dataclass(frozen=True)
class SentenceSupport:
    sentence: str
    support: float | None  # None: nothing checkable in it
    supported: bool


@dataclass(frozen=True)
class Faithfulness:
    """An answer's sentences with their support; ``score`` = supported / checked sentences, or for
    a ``graded`` (judged) answer the mean support of the checked sentences (1.0 when no sentence
    is checkable)."""

    sentences: tuple[SentenceSupport, ...]
    graded: bool = False

    @property
    def checked(self) -> int:
        return sum(s.support is not None for s in self.sentences)

    @property
    def supported(self) -> int:
        return sum(s.supported for s in self.sentences if s.support is not None)

    @property
    def score(self) -> float:
        if not self.checked:
            return 1.0
        if self.graded:
            return sum(s.support for s in self.sentences if s.support is not None) / self.checked
        return self.supported / self.checked

    @property
    def unsupported(self) -> list[str]:
        return [s.sentence for s in self.sentences if s.support is not None and not s.supported]


def lexical_faithfulness(
    answer: str, passages: Sequence[str], threshold: float = DEFAULT_SUPPORT_THRESHOLD
) -> Faithfulness:
    """Score every sentence of ``answer`` against ``passages`` (pure; see the module docstring)."""
    passage_words = [grounding_tokens(passage) for passage in passages]
    scored = []
    for sentence in split_sentences(answer):
        words = content_words(sentence)
        if not words:
            scored.append(SentenceSupport(sentence, None, True))
            continue
        support = max((len(words & found) for found in passage_words), default=0) / len(words)
        scored.append(SentenceSupport(sentence, support, support >= threshold))
    return Faithfulness(tuple(scored))


_REFUSAL_TOKENS = tuple(tuple(answer_tokens(opening)) for opening in REFUSAL_OPENINGS)


def is_refusal(text: str) -> bool:
    """Whether a reply declines to answer (the trained sentence or one of ``REFUSAL_OPENINGS``)."""
    tokens = tuple(answer_tokens(text.replace("\u2019", "'")))
    return bool(tokens) and any(tokens[: len(opening)] == opening for opening in _REFUSAL_TOKENS)
