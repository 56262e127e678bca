"""rag_qa baselines: best-overlap with a refusal cut tuned on train, and always-refuse,
hand-computed on tiny rows and scored by the rag_qa handler."""

from __future__ import annotations

import pytest

from brewslm.evaluation.baselines import baseline_classes
from brewslm.evaluation.baselines.rag_qa import AlwaysRefuse, BestOverlapSentence
from brewslm.evaluation.handlers.rag_qa import RagQaHandler
from brewslm.tasks.rendering import REFUSAL
from helpers.scoring import metrics_of


def rag(question: str, passages: list[str], answer: str = "") -> dict:
    return {"question": question, "passages": passages, "answer": answer, "is_refusal": answer == ""}


TRAIN = [
    rag("What is the capital of France?", ["Paris is the capital of France.", "Berlin has many museums."], "Paris"),
    rag("At what temperature does water boil?", ["Water boils at 100 degrees."], "100 degrees"),
    rag("Who painted the Mona Lisa?", ["Cats sleep a lot."]),
    rag("When did Rome fall?", ["Dogs bark loudly."]),
]
TEST = [
    rag("What is the capital of Spain?", ["Madrid is the capital of Spain.", "Snow is white."], "Madrid"),
    rag("Who wrote Hamlet?", ["Lions hunt at night."]),
    rag("At what temperature does lead melt?", ["Lead melts at 327 degrees."], "327 degrees"),
]


def test_registered_strongest_first():
    assert baseline_classes("rag_qa") == [BestOverlapSentence, AlwaysRefuse]


def test_best_overlap_refuses_at_the_cut_tuned_on_train():
    baseline = BestOverlapSentence().fit(TRAIN, RagQaHandler())
    # window = median_low(1, 2) = 1 word: "Paris" (F1 1) and "boils" (0) beat the sentences (1/3, 4/7);
    # best overlaps 1, 1/3, 0, 0: refusing at <= 0 scores 3 of 4 on train (never refusing: 1; at
    # <= 1/3 also 3, and the tie refuses less)
    assert baseline.fitted == {
        "train_records": 4,
        "answer_from": "window",
        "window_tokens": 1,
        "window_tokens_rule": "median (low) word count of the train answers",
        "train_overall_f1": {"sentence": round((1 / 3 + 4 / 7) / 4, 4), "window": 0.25},
        "refuse_at_or_below_overlap": 0.0,
        "train_overall_f1_with_refusals": 0.75,
    }
    predictions = baseline.predict(TEST)
    assert predictions == ["Madrid", REFUSAL, "melts"]
    metrics, _ = metrics_of(RagQaHandler(), TEST, predictions)
    assert metrics["overall_f1"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(0.5) and metrics["exact_match"] == pytest.approx(0.5)
    assert metrics["refusal_accuracy"] == 1.0 and metrics["refusal_rate"] == pytest.approx(1 / 3)
    assert metrics["format_compliance"] == 1.0


def test_best_overlap_never_refuses_when_train_has_no_refusals():
    baseline = BestOverlapSentence().fit(TRAIN[:2], RagQaHandler())
    assert baseline.fitted["refuse_at_or_below_overlap"] is None
    assert REFUSAL not in baseline.predict(TEST)


def test_best_overlap_is_deterministic():
    first, second = BestOverlapSentence().fit(TRAIN, RagQaHandler()), BestOverlapSentence().fit(TRAIN, RagQaHandler())
    assert first.describe() == second.describe() and first.predict(TEST) == second.predict(TEST)


def test_always_refuse_is_right_on_exactly_the_unanswerable_share():
    baseline = AlwaysRefuse().fit(TRAIN, RagQaHandler())
    assert baseline.fitted == {"reply": REFUSAL, "train_refusal_share": 0.5}
    predictions = baseline.predict(TEST)
    assert predictions == [REFUSAL] * 3
    metrics, _ = metrics_of(RagQaHandler(), TEST, predictions)
    assert metrics["overall_f1"] == pytest.approx(1 / 3) and metrics["overall_exact_match"] == pytest.approx(1 / 3)
    assert metrics["f1"] == 0.0 and metrics["refusal_recall"] == 1.0
    assert metrics["refusal_precision"] == pytest.approx(1 / 3) and metrics["format_compliance"] == 1.0
