"""LLM-judge grounding: the probability that a local judge model finds an answer sentence supported
by the passages it was written from (rag_qa's ``faithfulness: llm_judge``).

The judge reads one ``SupportClaim`` at a time (``support_prompt``): the numbered passages, the
question, the whole answer (so "it" and "they" in a sentence can be read), then the one sentence
under judgement and the question "Is this sentence supported by the passages? Answer yes or no
only." Its answer is not generated but label-scored (``label_scoring.score_labels`` over ``"yes"``
/ ``"no"``, one forward per claim, the prompt once for both labels): the support probability is
P("yes") renormalised over the two answers.

Which sentences are asked about, and how the probabilities become a faithfulness score, is the
pure side in ``metrics.faithfulness`` (``support_claims``, ``judged_faithfulness``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from brewslm.inference.label_scoring import score_labels
from brewslm.inference.prompts import ProgressFn
from brewslm.tasks.rendering import single_turn

VERDICTS = ("yes", "no")

INSTRUCTION = (
    "You are checking whether an answer is grounded in the passages it was written from. A sentence "
    "is supported when the passages state it or it follows directly from them; a sentence that adds "
    "facts the passages do not contain, or contradicts them, is not supported."
)
QUESTION = "Is this sentence supported by the passages? Answer yes or no only."


@dataclass(frozen=True)
class SupportClaim:
    """One answer sentence for a judge to check against the passages (the question and the whole
    answer come along so the judge can read "it" and "they" in the sentence)."""

    question: str
    passages: tuple[str, ...]
    answer: str
    sentence: str


def support_prompt(claim: SupportClaim) -> str:
    """The judge's question about one sentence of an answer."""
    passages = "\n".join(f"[{number}] {passage}" for number, passage in enumerate(claim.passages, start=1))
    return (
        f"{INSTRUCTION}\n\nPassages:\n{passages}\n\nQuestion: {claim.question}\n\nAnswer:\n{claim.answer}\n\n"
        f"Sentence to check:\n{claim.sentence}\n\n{QUESTION}"
    )


def judge_support(
    judge_model: Any,
    tokenizer: Any,
    claims: Sequence[SupportClaim],
    *,
    batch_size: int = 8,
    max_seq_len: int = 2048,
    progress: ProgressFn = None,
) -> list[float]:
    """P(the sentence is supported by the passages) per claim, in order (the judge's "yes")."""
    if not claims:
        return []
    rendered = [single_turn(support_prompt(claim), VERDICTS[0]) for claim in claims]  # each label replaces the reply
    scores = score_labels(
        judge_model, tokenizer, rendered, VERDICTS, max_seq_len=max_seq_len, batch_size=batch_size, progress=progress
    )
    return [s.probabilities["yes"] for s in scores]


__all__ = ["SupportClaim", "INSTRUCTION", "QUESTION", "VERDICTS", "judge_support", "support_prompt"]
