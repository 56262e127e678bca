"""rag_qa with faithfulness=llm_judge: the handler asks about the answer's checkable sentences,
scores the judge's probabilities (mean over sentences), never judges refusals, refuses to score
without verdicts, and names the scorers when the option is unknown (hand-computed)."""

from __future__ import annotations

import pytest

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers.rag_qa import RagQaHandler
from brewslm.evaluation.metrics.common import sum_stats
from brewslm.evaluation.metrics.faithfulness import judged_faithfulness
from brewslm.tasks.rendering import REFUSAL

PASSAGES = ["The Eiffel Tower was completed in 1889 for the World's Fair in Paris."]
RECORD = {"question": "When was it completed?", "passages": PASSAGES, "answer": "1889", "is_refusal": False}
UNANSWERABLE = {"question": "How tall is it?", "passages": PASSAGES, "answer": "", "is_refusal": True}
ANSWER = "It was completed in 1889. Yes. It is green."

JUDGED = RagQaHandler({"faithfulness": "llm_judge"})


def test_the_judge_is_asked_about_each_checkable_sentence_with_passages_and_answer() -> None:
    claims = JUDGED.judge_claims(RECORD, ANSWER)
    assert [c.sentence for c in claims] == ["It was completed in 1889.", "It is green."]
    assert all(
        c.passages == tuple(PASSAGES) and c.answer == ANSWER and c.question == RECORD["question"] for c in claims
    )
    assert JUDGED.judged and not RagQaHandler().judged
    assert RagQaHandler().judge_claims(RECORD, ANSWER) == []  # the lexical scorer asks no judge


def test_refusals_and_unparseable_replies_are_not_judged() -> None:
    assert JUDGED.judge_claims(UNANSWERABLE, REFUSAL) == [] and JUDGED.judge_claims(RECORD, None) == []
    assert JUDGED.judge_claims(RECORD, "  ") == []
    scored = JUDGED.score_example(UNANSWERABLE, REFUSAL)  # nothing to judge: scores without verdicts
    assert "faithfulness" not in scored.stats and scored.stats["refusal_correct"] == 1.0


def test_faithfulness_is_the_mean_support_over_answered_rows() -> None:
    first = JUDGED.score_judged(RECORD, ANSWER, [0.9, 0.2])
    assert first.stats["faithfulness"] == pytest.approx(0.55) and first.stats["answered"] == 1.0
    assert first.detail["unsupported_sentences"] == ["It is green."]
    second = JUDGED.score_judged(UNANSWERABLE, "It opened in 1889.", [0.7])  # answering a refusal gold is judged
    refusal = JUDGED.score_judged(UNANSWERABLE, REFUSAL, [])
    metrics = JUDGED.metrics(sum_stats(s.stats for s in (first, second, refusal)))
    assert metrics["faithfulness"] == pytest.approx((0.55 + 0.7) / 2)
    assert judged_faithfulness("Yes.", []).score == 1.0  # nothing checkable: fully faithful, as lexically


def test_scoring_without_verdicts_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match="faithfulness=llm_judge .* has none") as error:
        JUDGED.score_example(RECORD, ANSWER)
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="1 support values for 2 checkable sentences"):
        JUDGED.score_judged(RECORD, ANSWER, [0.5])


def test_an_unknown_scorer_names_the_choices() -> None:
    with pytest.raises(ConfigError) as error:
        RagQaHandler({"faithfulness": "nli"})
    assert str(error.value) == (
        "handler option faithfulness='nli' is not available for rag_qa; scorers: lexical, llm_judge"
    )
