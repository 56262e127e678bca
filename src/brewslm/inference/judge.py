"""LLM-as-judge pairwise comparison: which of two replies to the same conversation is better.

A local judge model reads the conversation and two candidate replies, labelled A and B, and is asked
for the better one (the prompt is ``judge_prompt``: the conversation as ``[role]`` lines, then
"Reply A", "Reply B", and the question "Which reply is better? Answer with A or B only."). Its
answer is not generated but label-scored (``label_scoring.score_labels`` over ``"A"`` / ``"B"``):
the probability it gives "A", renormalised over the two answers.

Judges prefer a position (often the first), so every pair is judged twice, once in each order, and
the two verdicts are averaged: ``P(a better) = (P("A" | a shown first) + P("B" | b shown first)) / 2``.
Identical replies get exactly 0.5; swapping ``a`` and ``b`` gives ``1 - p``.

``win_rates`` turns the per-example probabilities into the report's win / tie / loss rates: a win
when P(a better) is above ``0.5 + tie_margin``, a loss below ``0.5 - tie_margin``, a tie between.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from brewslm.errors import ConfigError
from brewslm.inference.label_scoring import score_labels
from brewslm.inference.prompts import ProgressFn
from brewslm.tasks.rendering import Rendered, single_turn

VERDICTS = ("A", "B")
TIE_MARGIN = 0.05

INSTRUCTION = (
    "You are judging two replies to the same conversation. Pick the reply that answers the last "
    "message better: more helpful, correct, relevant and clear."
)
QUESTION = "Which reply is better? Answer with A or B only."


def judge_prompt(messages: Sequence[Mapping[str, Any]], first: str, second: str) -> str:
    """The judge's question about ``messages`` (the conversation before the reply) with ``first``
    shown as reply A and ``second`` as reply B."""
    conversation = "\n".join(f"[{m['role']}] {m['content']}" for m in messages)
    return f"{INSTRUCTION}\n\nConversation:\n{conversation}\n\nReply A:\n{first}\n\nReply B:\n{second}\n\n{QUESTION}"


def _judge_rendering(messages: Sequence[Mapping[str, Any]], first: str, second: str) -> Rendered:
    return single_turn(judge_prompt(messages, first, second), VERDICTS[0])  # the reply is replaced by each label


def judge_pairwise(
    judge_model: Any,
    tokenizer: Any,
    prompts: Sequence[Sequence[Mapping[str, Any]]],
    answers_a: Sequence[str],
    answers_b: Sequence[str],
    *,
    batch_size: int = 8,
    max_seq_len: int = 2048,
    progress: ProgressFn = None,
) -> list[float]:
    """P(answer a is better than answer b) per example, averaged over both presentation orders."""
    if not len(prompts) == len(answers_a) == len(answers_b):
        raise ConfigError(
            f"judge inputs differ in length: {len(prompts)} prompts, {len(answers_a)} and "
            f"{len(answers_b)} answers; give one answer of each model per prompt"
        )
    rendered: list[Rendered] = []
    for messages, a, b in zip(prompts, answers_a, answers_b):
        rendered.append(_judge_rendering(messages, a, b))  # a shown first
        rendered.append(_judge_rendering(messages, b, a))  # b shown first
    pairs = len(prompts)
    report = None if progress is None else (lambda done, total: progress(done // 2, pairs))
    scores = score_labels(
        judge_model, tokenizer, rendered, VERDICTS, max_seq_len=max_seq_len, batch_size=batch_size, progress=report
    )
    return [(scores[2 * i].probabilities["A"] + scores[2 * i + 1].probabilities["B"]) / 2 for i in range(pairs)]


def win_rates(probabilities: Sequence[float], *, tie_margin: float = TIE_MARGIN) -> dict[str, Any]:
    """``{"win_rate", "tie_rate", "loss_rate", "examples", "mean_probability"}`` of P(a better)
    values (rates None when there are none)."""
    n = len(probabilities)
    wins = sum(p > 0.5 + tie_margin for p in probabilities)
    losses = sum(p < 0.5 - tie_margin for p in probabilities)

    def rate(k: float) -> float | None:
        return k / n if n else None

    return {
        "win_rate": rate(wins),
        "tie_rate": rate(n - wins - losses),
        "loss_rate": rate(losses),
        "examples": n,
        "mean_probability": rate(sum(probabilities)),
    }


__all__ = ["INSTRUCTION", "QUESTION", "TIE_MARGIN", "VERDICTS", "judge_pairwise", "judge_prompt", "win_rates"]
