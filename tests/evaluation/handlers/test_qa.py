"""qa handler: SQuAD EM / F1 from additive statistics, registry, parse, round trip of the rendering."""

from __future__ import annotations

import pytest

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.handlers.qa import QaHandler
from brewslm.tasks import get_task_profile
from helpers.scoring import metrics_of

RECORDS = [
    {"question": "Who won?", "answer": "Denver Broncos"},
    {"question": "When?", "answer": "1889", "context": "It opened in 1889."},
    {"question": "Where?", "answer": "Paris", "alternatives": ["Paris, France"]},
]


def test_registered():
    handler = get_eval_handler("qa")
    assert isinstance(handler, QaHandler) and handler.headline == "f1" and handler.strategy == "generation"


def test_metrics_hand_computed():
    handler = QaHandler()
    # EM: 1 (equal once normalised), 0, 1 (an alternative); F1: 1, 2/3 ("in 1889" vs "1889": p 1/2, r 1), 1
    metrics, scored = metrics_of(handler, RECORDS, ["the Denver Broncos.", "in 1889", "Paris, France"])
    assert metrics["exact_match"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx((1 + 2 / 3 + 1) / 3)
    assert scored[1].detail == {"exact_match": 0.0, "f1": pytest.approx(2 / 3)}
    # lengths: 19 + 7 + 13 predicted vs 14 + 4 + 5 gold characters
    assert metrics["length_ratio"] == pytest.approx(39 / 23)
    assert metrics["unparseable_rate"] == 0.0


def test_unparseable_and_empty_predictions():
    handler = QaHandler()
    metrics, scored = metrics_of(handler, [RECORDS[0], {"question": "Q?", "answer": "The"}], [None, None])
    assert metrics["exact_match"] == 0.0 and metrics["f1"] == 0.0  # even a gold that normalises to nothing
    assert metrics["unparseable_rate"] == 1.0 and metrics["length_ratio"] == 0.0
    metrics, _ = metrics_of(handler, [RECORDS[0]], [""])
    assert metrics["f1"] == 0.0 and metrics["unparseable_rate"] == 0.0


def test_a_wrong_prediction_type_is_a_config_error():
    with pytest.raises(ConfigError, match="answer string"):
        QaHandler().score_example(RECORDS[0], {"answer": "x"})


def test_the_rendered_completion_scores_perfectly():
    handler, profile = QaHandler(), get_task_profile("qa")
    predictions = [handler.parse(" " + profile.render(r).completion + "\n", r) for r in RECORDS]
    assert predictions == [handler.gold(r) for r in RECORDS]
    metrics, _ = metrics_of(handler, RECORDS, predictions)
    assert metrics["exact_match"] == 1.0 and metrics["f1"] == 1.0 and metrics["length_ratio"] == 1.0


def test_empty_totals_give_none():
    assert QaHandler().metrics({}) == {"exact_match": None, "f1": None, "length_ratio": None, "unparseable_rate": None}


def test_alias_lists_score_by_the_best_gold_and_old_meta_alternatives_still_count():
    handler = QaHandler()
    aliases = {"question": "Capital?", "answer": "Paris", "alternatives": ["paris, france"]}
    legacy = {"question": "Capital?", "answer": "Paris", "meta": {"alternatives": ["paris, france"]}}
    for record in (aliases, legacy):
        metrics, scored = metrics_of(handler, [record], ["Paris, France"])
        assert metrics["exact_match"] == 1.0 and metrics["f1"] == 1.0
    # only the first gold: "Paris, France" vs "Paris" is p 1/2, r 1
    metrics, _ = metrics_of(handler, [{"question": "Capital?", "answer": "Paris"}], ["Paris, France"])
    assert metrics["exact_match"] == 0.0 and metrics["f1"] == pytest.approx(2 / 3)


def test_training_target_is_the_first_gold():
    record = {"question": "Capital?", "answer": "Paris", "alternatives": ["paris, france"]}
    assert get_task_profile("qa").render(record).completion == "Paris"
