"""Judged grounding for answers written from passages (rag_qa): what a judge is asked, and its score.

Faithfulness asks whether every sentence of an answer is supported by the passages it was given.
The default scorer is lexical and needs no model: ``tasks.rag_qa.lexical_faithfulness`` (with
``is_refusal`` and the sentence splitting, it reads a rag_qa reply, so the server cites passages
with it too).

The judged scorer (``options["faithfulness"] = "llm_judge"`` in the rag_qa handler) checks the
same sentences - ``checkable_sentences``, the ones the lexical scorer checks - but a local judge
model gives each one a support probability (``inference.grounding``); ``judged_faithfulness``
turns those probabilities into the same ``Faithfulness``, *graded*: the answer's score is the mean
probability (the expected share of supported sentences), and a sentence counts as supported in
the detail when the judge leans to "yes" (probability >= 0.5). This module stays model-free: the
probabilities come in as numbers.
"""

from __future__ import annotations

from typing import Sequence

from brewslm.inference.grounding import SupportClaim
from brewslm.tasks.rag_qa import Faithfulness, SentenceSupport, content_words, split_sentences


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


__all__ = [
    "JUDGE_LEANS_YES",
    "SupportClaim",
    "checkable_sentences",
    "judged_faithfulness",
    "support_claims",
]
