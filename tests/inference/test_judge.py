"""The pairwise judge: label scoring of "A" / "B" on our judge prompt, averaged over both orders,
so identical replies tie exactly and swapping the replies gives the complement."""

from __future__ import annotations

import pytest

from brewslm.errors import ConfigError
from brewslm.inference.judge import QUESTION, judge_pairwise, judge_prompt, win_rates
from brewslm.inference.label_scoring import score_labels
from brewslm.tasks.rendering import single_turn

from .scoring_models import model, tokenizer  # noqa: F401  (fixtures)

PROMPTS = [
    [{"role": "user", "content": "what is the capital of France?"}],
    [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "map the fields"}],
]
TUNED = ["Paris is the capital of France.", '{"mapper_id": "label_to_classification"}']
BASE = ["the lazy dog", "I want a refund."]


def test_judge_averages_both_presentation_orders(model, tokenizer) -> None:
    progress: list[tuple[int, int]] = []
    got = judge_pairwise(
        model,
        tokenizer,
        PROMPTS,
        TUNED,
        BASE,
        batch_size=3,
        progress=lambda done, total: progress.append((done, total)),
    )
    for i, messages in enumerate(PROMPTS):
        first = score_labels(
            model, tokenizer, [single_turn(judge_prompt(messages, TUNED[i], BASE[i]), "A")], ["A", "B"]
        )[0]
        second = score_labels(
            model, tokenizer, [single_turn(judge_prompt(messages, BASE[i], TUNED[i]), "A")], ["A", "B"]
        )[0]
        assert got[i] == pytest.approx((first.probabilities["A"] + second.probabilities["B"]) / 2, abs=1e-6)
        assert first.probabilities["A"] != pytest.approx(second.probabilities["B"], abs=1e-4)  # order matters
    assert progress[-1] == (2, 2)
    swapped = judge_pairwise(model, tokenizer, PROMPTS, BASE, TUNED)
    assert [a + b for a, b in zip(got, swapped)] == pytest.approx([1.0, 1.0], abs=1e-6)
    assert judge_pairwise(model, tokenizer, PROMPTS, TUNED, TUNED) == pytest.approx([0.5, 0.5], abs=1e-6)


def test_judge_prompt_shows_the_conversation_and_both_replies() -> None:
    text = judge_prompt(PROMPTS[1], "first reply", "second reply")
    assert "[system] Answer in JSON.\n[user] map the fields" in text
    assert text.index("Reply A:\nfirst reply") < text.index("Reply B:\nsecond reply") < text.index(QUESTION)


def test_win_rates_and_bad_input(model, tokenizer) -> None:
    assert win_rates([0.9, 0.5, 0.52, 0.1]) == {
        "win_rate": 0.25,
        "tie_rate": 0.5,
        "loss_rate": 0.25,
        "examples": 4,
        "mean_probability": pytest.approx(0.505),
    }
    assert win_rates([])["win_rate"] is None
    with pytest.raises(ConfigError, match="2 prompts, 1 and 2 answers"):
        judge_pairwise(model, tokenizer, PROMPTS, TUNED[:1], BASE)
