"""classification handler options for the intent router: confidence routing, coverage, routed
accuracy and rare-class recall; a predictions file re-scores to the same numbers."""

from __future__ import annotations

import pytest

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.metrics.common import sum_stats
from brewslm.evaluation.prediction import LabelScores
from brewslm.tasks.rendering import RenderContext

LABELS = ("balance", "card_lost", "refund")


def handler(**options):
    return get_eval_handler("classification", options=options, context=RenderContext(labels=LABELS))


def metrics(h, pairs):
    return h.metrics(sum_stats(h.score_example({"text": "t", "label": g}, p).stats for g, p in pairs))


def test_low_confidence_is_routed_to_the_fallback():
    h = handler(confidence_threshold=0.6)
    sure = LabelScores.from_logprobs({"balance": 0.0, "card_lost": -5.0, "refund": -5.0})
    unsure = LabelScores.from_logprobs({"balance": 0.0, "card_lost": -0.1, "refund": -5.0})
    assert h.label_prediction(sure) == "balance"
    assert h.label_prediction(unsure) == "talk_to_human" and h.fallback_label == "talk_to_human"
    assert handler().label_prediction(unsure) == "balance"  # no threshold: the argmax


def test_routed_rows_are_misses_without_a_false_positive_class():
    h = handler(confidence_threshold=0.5)
    pairs = [("balance", "balance"), ("refund", "refund"), ("refund", "talk_to_human"), ("card_lost", "balance")]
    m = metrics(h, pairs)
    assert m["coverage"] == pytest.approx(0.75)
    assert m["routed_accuracy"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["unparseable_rate"] == 0.0
    per_class = h.breakdown([], [], [h.score_example({"text": "t", "label": g}, p) for g, p in pairs])["per_class"]
    assert "talk_to_human" not in per_class  # an abstention is not a predicted class
    assert per_class["refund"]["recall"] == pytest.approx(0.5) and per_class["refund"]["precision"] == 1.0
    detail = h.score_example({"text": "t", "label": "refund"}, "talk_to_human").detail
    assert detail["routed"] is True and "unparseable" not in detail


def test_a_fallback_that_is_a_label_is_scored_as_one():
    h = get_eval_handler("classification", options={"confidence_threshold": 0.5, "fallback_label": "oos"},
                         context=RenderContext(labels=("a", "oos")))
    m = metrics(h, [("oos", "oos"), ("a", "oos"), ("a", "a")])
    assert m["coverage"] == pytest.approx(1 / 3) and m["routed_accuracy"] == 1.0
    assert m["accuracy"] == pytest.approx(2 / 3)


def test_rare_recall_is_the_mean_recall_of_the_named_classes():
    h = handler(rare_labels=["refund", "card_lost", "never_seen"])
    m = metrics(h, [("refund", "refund"), ("refund", "balance"), ("card_lost", "balance"), ("balance", "balance")])
    assert m["rare_recall"] == pytest.approx((0.5 + 0.0) / 2)
    assert "coverage" not in m  # no routing configured
    assert metrics(handler(rare_labels=["never_seen"]), [("balance", "balance")])["rare_recall"] is None


@pytest.mark.parametrize("options, message", [
    ({"confidence_treshold": 0.5}, "did you mean 'confidence_threshold'"),
    ({"confidence_threshold": 1.5}, "between 0 and 1"),
    ({"rare_labels": "refund"}, "list of label strings"),
])
def test_bad_options_are_one_line_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        handler(**options)
