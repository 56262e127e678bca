"""classification handler options for the intent router: confidence routing, coverage, routed
accuracy and rare-class recall, reported apart from the classifier's own (headline) metrics; a
predictions file re-scores to the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.metrics.common import sum_stats
from brewslm.inference import LabelScores
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
    # the saved prediction keeps the classifier's own answer; routing happens when it is scored
    assert h.label_prediction(unsure) == {"label": "balance", "confidence": unsure.confidence}
    assert h.routed_answer("balance", sure.confidence) == "balance"
    assert h.routed_answer("balance", unsure.confidence) == "talk_to_human" and h.fallback_label == "talk_to_human"
    assert handler().routed_answer("balance", unsure.confidence) == "balance"  # no threshold: the argmax
    scored = h.score_example({"text": "t", "label": "balance"}, h.label_prediction(unsure))
    assert scored.detail == {"correct": True, "routed": True}


def routed_case(seed: int, n: int = 60):
    rng = np.random.default_rng(seed)
    gold = [str(x) for x in rng.choice(LABELS, size=n)]
    own = [g if rng.uniform() < 0.6 else str(rng.choice(LABELS)) for g in gold]
    confidence = rng.uniform(0.3, 1.0, size=n).round(3).tolist()
    return gold, own, confidence


@pytest.mark.parametrize("seed", range(4))
def test_headline_is_the_classifiers_own_answers_and_routing_is_reported_apart(seed):
    gold, own, confidence = routed_case(seed)
    h = handler(confidence_threshold=0.6, rare_labels=["card_lost"])
    predictions = [{"label": label, "confidence": c} for label, c in zip(own, confidence)]
    m = metrics(h, list(zip(gold, predictions)))
    assert m["macro_f1"] == pytest.approx(f1_score(gold, own, average="macro", zero_division=0))
    assert m["accuracy"] == pytest.approx(accuracy_score(gold, own))
    assert m["f1"] == m["macro_f1"] and m["exact_match"] == m["accuracy"]

    # routing, apart: equal to the routed label strings scored as before (a routed row a miss, no false positive)
    routed = [label if c >= 0.6 else "talk_to_human" for label, c in zip(own, confidence)]
    before = metrics(handler(confidence_threshold=0.6, rare_labels=["card_lost"]), list(zip(gold, routed)))
    assert m["routed_macro_f1"] == pytest.approx(before["macro_f1"])
    assert m["routed_macro_f1"] == pytest.approx(
        f1_score(
            gold, routed, labels=sorted(set(gold) | set(routed) - {"talk_to_human"}), average="macro", zero_division=0
        )
    )
    for key in ("coverage", "routed_accuracy", "rare_recall"):
        assert m[key] == pytest.approx(before[key]), key
    answered = [i for i, c in enumerate(confidence) if c >= 0.6]
    assert m["coverage"] == pytest.approx(len(answered) / len(gold))
    assert m["routed_accuracy"] == pytest.approx(
        accuracy_score([gold[i] for i in answered], [own[i] for i in answered])
    )
    assert m["rare_recall"] == pytest.approx(
        recall_score(gold, routed, labels=["card_lost"], average="macro", zero_division=0)
    )


def test_a_predictions_file_re_scores_under_another_threshold():
    gold, own, confidence = routed_case(7)
    predictions = [{"label": label, "confidence": c} for label, c in zip(own, confidence)]
    strict, lax = (
        metrics(handler(confidence_threshold=0.9), list(zip(gold, predictions))),
        metrics(handler(confidence_threshold=0.0), list(zip(gold, predictions))),
    )
    assert strict["macro_f1"] == lax["macro_f1"]  # the classifier's own answers do not depend on the router
    assert lax["coverage"] == 1.0 and strict["coverage"] == pytest.approx(sum(c >= 0.9 for c in confidence) / len(gold))
    assert lax["routed_macro_f1"] == pytest.approx(lax["macro_f1"])


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
    h = get_eval_handler(
        "classification",
        options={"confidence_threshold": 0.5, "fallback_label": "oos"},
        context=RenderContext(labels=("a", "oos")),
    )
    m = metrics(h, [("oos", "oos"), ("a", "oos"), ("a", "a")])
    assert m["coverage"] == pytest.approx(1 / 3) and m["routed_accuracy"] == 1.0
    assert m["accuracy"] == pytest.approx(2 / 3)


def test_rare_recall_is_the_mean_recall_of_the_named_classes():
    h = handler(rare_labels=["refund", "card_lost", "never_seen"])
    m = metrics(h, [("refund", "refund"), ("refund", "balance"), ("card_lost", "balance"), ("balance", "balance")])
    assert m["rare_recall"] == pytest.approx((0.5 + 0.0) / 2)
    assert "coverage" not in m  # no routing configured
    assert metrics(handler(rare_labels=["never_seen"]), [("balance", "balance")])["rare_recall"] is None


@pytest.mark.parametrize(
    "options, message",
    [
        ({"confidence_treshold": 0.5}, "did you mean 'confidence_threshold'"),
        ({"confidence_threshold": 1.5}, "between 0 and 1"),
        ({"rare_labels": "refund"}, "list of label strings"),
    ],
)
def test_bad_options_are_one_line_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        handler(**options)
