"""Grounding metrics for answers written from passages (rag_qa): lexical faithfulness and refusals.

Faithfulness asks whether every sentence of an answer is supported by the passages it was given.
The default scorer is lexical and needs no model:

- the answer is split into sentences (``split_sentences``: after ``.``, ``!`` or ``?`` followed by
  whitespace and a character that is not a lower-case letter, and at line breaks; "3.5" and
  "e.g. this" inside a sentence do not split it);
- a sentence's *content words* are its SQuAD-normalised words (``metrics.text``; possessive "'s"
  dropped, split at dashes and other non-ASCII punctuation) minus a small list of function words
  (``FUNCTION_WORDS``); numbers count as content;
- a sentence's support is the share of its content words found in the single best passage, and
  the sentence is supported when that share is at least ``threshold`` (default 0.5);
- an answer's faithfulness is supported sentences / sentences. Sentences without content words
  ("Yes.") claim nothing checkable and are left out; an answer made only of such sentences is
  fully faithful.

A lexical score cannot see negation or paraphrase; it catches answers that bring in facts the
passages never mention, which is the common failure of a fine-tune that memorised its answers.

The judged scorer (``options["faithfulness"] = "llm_judge"`` in the rag_qa handler) checks the
same sentences - ``checkable_sentences``, the ones the lexical scorer checks - but a local judge
model gives each one a support probability (``prediction.grounding``); ``judged_faithfulness``
turns those probabilities into the same ``Faithfulness``, *graded*: the answer's score is the mean
probability (the expected share of supported sentences), and a sentence counts as supported in
the detail when the judge leans to "yes" (probability >= 0.5). This module stays model-free: the
probabilities come in as numbers.

Refusals: ``is_refusal(text)`` is true when the text is the trained ``REFUSAL`` sentence after
normalisation, or starts with one of ``REFUSAL_OPENINGS`` - a deliberately short list of the ways
models phrase "the passages do not say", so that an answer which merely contains "not" is never
read as a refusal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from brewslm.evaluation.metrics.text import answer_tokens, normalize_answer
from brewslm.inference.grounding import SupportClaim
from brewslm.tasks.rendering import REFUSAL

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


def checkable_sentences(answer: str) -> list[str]:
    """The sentences of ``answer`` that claim something checkable (have content words), in order:
    what the lexical scorer measures and what a judge is asked about."""
    return [sentence for sentence in split_sentences(answer) if content_words(sentence)]


def support_claims(question: str, passages: Sequence[str], answer: str) -> list[SupportClaim]:
    """What a judge is asked about ``answer``: one claim per checkable sentence, in order."""
    return [SupportClaim(question, tuple(passages), answer, sentence) for sentence in checkable_sentences(answer)]


JUDGE_LEANS_YES = 0.5
"""A judged sentence counts as supported (in the detail) at this support probability or above."""


def judged_faithfulness(answer: str, support: Sequence[float]) -> Faithfulness:
    """A graded ``Faithfulness`` from a judge's support probability for each of
    ``checkable_sentences(answer)`` (aligned, in order); sentences without content words are left
    out as in the lexical scorer (pure)."""
    claims = checkable_sentences(answer)
    if len(claims) != len(support):
        raise ValueError(f"{len(support)} support values for {len(claims)} checkable sentences")
    verdicts = iter(support)
    scored = []
    for sentence in split_sentences(answer):
        if content_words(sentence):
            p = float(next(verdicts))
            scored.append(SentenceSupport(sentence, p, p >= JUDGE_LEANS_YES))
        else:
            scored.append(SentenceSupport(sentence, None, True))
    return Faithfulness(tuple(scored), graded=True)


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


__all__ = [
    "DEFAULT_SUPPORT_THRESHOLD",
    "FUNCTION_WORDS",
    "JUDGE_LEANS_YES",
    "REFUSAL_OPENINGS",
    "Faithfulness",
    "SentenceSupport",
    "SupportClaim",
    "checkable_sentences",
    "content_words",
    "is_refusal",
    "judged_faithfulness",
    "lexical_faithfulness",
    "split_sentences",
    "support_claims",
]
