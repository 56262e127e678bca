"""qa baselines: best-overlap sentence / window and the most frequent answer, hand-computed on
tiny rows and scored by the qa handler."""

from __future__ import annotations

import pytest

from brewslm.evaluation.baselines import BaselineUnavailable, baseline_classes
from brewslm.evaluation.baselines.qa import BestOverlapSentence, MostFrequentAnswer
from brewslm.evaluation.handlers.qa import QaHandler
from helpers.scoring import metrics_of

TRAIN = [
    {
        "context": "Paris is the capital of France. It has the Eiffel Tower.",
        "question": "What is the capital of France?",
        "answer": "Paris",
    },
    {
        "context": "The Nile flows north. The Nile is the longest river in Africa.",
        "question": "What is the longest river in Africa?",
        "answer": "The Nile",
    },
    {
        "context": "Water boils at 100 degrees. Ice melts at zero degrees.",
        "question": "At what temperature does water boil?",
        "answer": "100 degrees",
    },
    {"question": "Is water wet?", "answer": "yes"},  # closed book: no context
    {"question": "Is fire cold?", "answer": "No"},
    {"question": "Is ice cold?", "answer": "Yes."},
]
TEST = [
    {
        "context": "Berlin is the capital of Germany. It is large.",
        "question": "What is the capital of Germany?",
        "answer": "Berlin",
    },
    {
        "context": "Rome is old. Gold melts at 1064 degrees.",
        "question": "At what temperature does gold melt?",
        "answer": "1064 degrees",
    },
    {"question": "Is snow white?", "answer": "yes"},
]


def test_registered_strongest_first():
    assert baseline_classes("qa") == [BestOverlapSentence, MostFrequentAnswer]


def test_best_overlap_picks_the_window_that_scores_best_on_train():
    baseline = BestOverlapSentence().fit(TRAIN, QaHandler())
    # window = median_low of the train answers' word counts (1, 2, 2) = 2; on train the windows
    # ("Paris is", "Nile is", "100 degrees": F1 2/3, 2/3, 1) beat the whole sentences (1/3, 2/7, 4/7)
    assert baseline.fitted == {
        "train_records": 3,
        "answer_from": "window",
        "window_tokens": 2,
        "window_tokens_rule": "median (low) word count of the train answers",
        "train_f1": {"sentence": round((1 / 3 + 2 / 7 + 4 / 7) / 3, 4), "window": round(7 / 9, 4)},
    }
    predictions = baseline.predict(TEST)
    # the best sentence's 2 words holding the most words the question lacks, nearest a question word
    assert predictions == ["Berlin is", "1064 degrees", None]
    metrics, _ = metrics_of(QaHandler(), TEST, predictions)
    assert metrics["f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert metrics["exact_match"] == pytest.approx(1 / 3)
    assert metrics["unparseable_rate"] == pytest.approx(1 / 3)


def test_sentence_mode_when_sentences_score_better_on_train():
    train = [
        {
            "context": "Blue sky. Grass is green and lush everywhere.",
            "question": "What colour is grass?",
            "answer": "grass is green and lush everywhere",
        }
    ]
    baseline = BestOverlapSentence().fit(train, QaHandler())
    assert baseline.fitted["answer_from"] == "sentence"
    assert baseline.predict(
        [{"context": "Snow is white and cold in winter. Hot sun.", "question": "What is snow?", "answer": "white"}]
    ) == ["Snow is white and cold in winter."]


def test_best_overlap_is_deterministic():
    first, second = BestOverlapSentence().fit(TRAIN, QaHandler()), BestOverlapSentence().fit(TRAIN, QaHandler())
    assert first.describe() == second.describe() and first.predict(TEST) == second.predict(TEST)


def test_best_overlap_needs_a_context_on_train():
    with pytest.raises(BaselineUnavailable, match="no qa train record has a context"):
        BestOverlapSentence().fit(TRAIN[3:], QaHandler())


def test_most_frequent_answer():
    baseline = MostFrequentAnswer().fit(TRAIN, QaHandler())
    # "yes" and "Yes." normalise alike: 2 of the 6 train answers; the first spelling is kept
    assert baseline.fitted == {"answer": "yes", "train_share": round(2 / 6, 4)}
    predictions = baseline.predict(TEST)
    assert predictions == ["yes"] * 3
    metrics, _ = metrics_of(QaHandler(), TEST, predictions)
    assert metrics["exact_match"] == pytest.approx(1 / 3) and metrics["f1"] == pytest.approx(1 / 3)
