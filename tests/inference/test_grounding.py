"""The grounding judge: label scoring of "yes" / "no" on our support prompt, one claim per answer
sentence, the prompt showing the passages, the question, the whole answer and the sentence."""

from __future__ import annotations

import pytest

from brewslm.evaluation.metrics.faithfulness import support_claims
from brewslm.inference.grounding import QUESTION, judge_support, support_prompt
from brewslm.inference.label_scoring import score_labels
from brewslm.tasks.rendering import single_turn

from .scoring_models import model, tokenizer  # noqa: F401  (fixtures)

PASSAGES = ["The Eiffel Tower was completed in 1889.", "Gustave Eiffel's company built it."]
ANSWER = "It was completed in 1889. It is painted green. Yes."


def test_one_claim_per_checkable_sentence_and_the_prompt_shows_everything() -> None:
    claims = support_claims("When was it completed?", PASSAGES, ANSWER)
    assert [c.sentence for c in claims] == [
        "It was completed in 1889.",
        "It is painted green.",
    ]  # "Yes." claims nothing
    text = support_prompt(claims[1])
    assert "[1] The Eiffel Tower was completed in 1889.\n[2] Gustave Eiffel's company built it." in text
    assert (
        text.index("Question: When was it completed?")
        < text.index(f"Answer:\n{ANSWER}")
        < text.index("Sentence to check:\nIt is painted green.")
        < text.index(QUESTION)
    )


def test_support_is_the_judges_yes_probability(model, tokenizer) -> None:
    claims = support_claims("When was it completed?", PASSAGES, ANSWER)
    progress: list[tuple[int, int]] = []
    got = judge_support(
        model, tokenizer, claims, batch_size=1, progress=lambda done, total: progress.append((done, total))
    )
    for claim, value in zip(claims, got):
        expected = score_labels(model, tokenizer, [single_turn(support_prompt(claim), "yes")], ["yes", "no"])[0]
        assert value == pytest.approx(expected.probabilities["yes"], abs=1e-6) and 0.0 < value < 1.0
    assert progress[-1] == (2, 2)
    assert judge_support(model, tokenizer, []) == []
