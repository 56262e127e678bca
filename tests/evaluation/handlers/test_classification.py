"""classification handler: strict parsing, sklearn-equal metrics, aliases, majority baseline, breakdown."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.metrics import classification_report

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.handlers.base import GENERATION, LABEL_SCORING
from brewslm.evaluation.handlers.classification import ClassificationHandler
from brewslm.evaluation.metrics.common import sum_stats
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext

LABELS = ("negative", "neutral", "positive")
MANIFEST = {
    "task_profile": "classification",
    "output_schema": {},
    "summary": {"label_counts": {"negative": 5, "positive": 3, "neutral": 1}, "majority_label": "negative"},
}


def handler(**kwargs) -> ClassificationHandler:
    kwargs.setdefault("context", RenderContext(labels=LABELS))
    return get_eval_handler("classification", **kwargs)


def record(label: str, text: str = "some text") -> dict:
    return {"text": text, "label": label}


def test_registered_with_label_scoring_first():
    h = handler()
    assert isinstance(h, ClassificationHandler)
    assert h.strategies == (LABEL_SCORING, GENERATION) and h.strategy == LABEL_SCORING
    assert h.headline == "macro_f1"


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("positive", "positive"),
        ("  Positive.\n", "positive"),
        ('"neutral"', "neutral"),
        ("'NEGATIVE'.", "negative"),
        ("“positive”", "positive"),
        ("not positive", None),
        ("positive, I think", None),
        ("pos", None),
        ("positive negative", None),
        ("", None),
        ("The answer is positive.", None),
    ],
)
def test_parse_is_strict(reply, expected):
    assert handler().parse(reply, record("positive")) == expected


def test_parse_with_labels_that_differ_only_in_case():
    h = handler(context=RenderContext(labels=("Yes", "yes", "no")))
    assert h.parse("Yes", record("no")) == "Yes" and h.parse(" yes ", record("no")) == "yes"
    assert h.parse("YES", record("no")) is None  # ambiguous: never guessed
    assert h.parse("No.", record("no")) == "no"


def test_parse_reads_every_rendered_completion_back():
    profile = get_task_profile("classification")
    context = RenderContext(labels=("0", "not entailment", "entailment", "Sci/Tech"))
    h = handler(context=context)
    for label in context.labels:
        rec = record(label)
        assert h.parse(profile.render(rec, context).completion, rec) == label


def test_labels_spelt_as_words_are_scored_and_read_back_as_labels():
    profile = get_task_profile("classification")
    context = RenderContext.from_manifest({"output_schema": {"labels": ["card_arrival", "lost_card", "refund"]}})
    h = handler(context=context)
    assert h.candidate_labels() == ["card_arrival", "lost_card", "refund"]
    assert h.label_replies() == ["card arrival", "lost card", "refund"]
    for label in context.labels:
        rec = record(label)
        assert h.parse(profile.render(rec, context).completion, rec) == label
    assert h.parse("Lost card.", record("lost_card")) == "lost_card"
    assert h.parse("lost_card", record("lost_card")) == "lost_card"


def test_candidate_labels_from_context_then_manifest():
    assert handler().candidate_labels() == list(LABELS)
    from_counts = handler(context=RenderContext(), manifest=MANIFEST)
    assert from_counts.candidate_labels() == ["negative", "neutral", "positive"]
    from_schema = handler(context=RenderContext(), manifest={"output_schema": {"labels": ["b", "a"]}})
    assert from_schema.candidate_labels() == ["a", "b"]
    with pytest.raises(ConfigError, match="needs the label set"):
        handler(context=RenderContext()).candidate_labels()


def score_all(h, gold, predictions):
    scored = [h.score_example(record(g), p) for g, p in zip(gold, predictions)]
    return scored, h.metrics(sum_stats(s.stats for s in scored))


@pytest.mark.parametrize("seed", range(6))
def test_metrics_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    gold = [str(x) for x in rng.choice(["negative", "neutral", "positive"], size=50)]
    predictions = [
        None if rng.random() < 0.1 * (seed % 2) else str(p)
        for p in rng.choice(["negative", "positive", "other"], size=50)
    ]
    _, metrics = score_all(handler(), gold, predictions)
    labels = sorted(set(gold) | {p for p in predictions if p is not None})
    report = classification_report(
        gold, ["<none>" if p is None else p for p in predictions], labels=labels, output_dict=True, zero_division=0
    )
    assert metrics["macro_f1"] == pytest.approx(report["macro avg"]["f1-score"], abs=1e-9)
    assert metrics["weighted_recall"] == pytest.approx(report["weighted avg"]["recall"], abs=1e-9)
    accuracy = float(np.mean([g == p for g, p in zip(gold, predictions)]))
    assert metrics["accuracy"] == metrics["exact_match"] == pytest.approx(accuracy)
    assert metrics["f1"] == metrics["macro_f1"]
    assert metrics["unparseable_rate"] == pytest.approx(sum(p is None for p in predictions) / 50)


def test_length_ratio_and_unparseable_detail():
    scored, metrics = score_all(handler(), ["positive", "neutral"], ["negative", None])
    assert metrics["length_ratio"] == pytest.approx(8 / 15)
    assert scored[1].detail == {"correct": False, "unparseable": True}
    assert scored[0].stats["examples"] == 1.0 and scored[0].stats["fp:negative"] == 1.0


def test_majority_baseline_from_manifest_or_option():
    gold = ["negative", "negative", "positive", "neutral"]
    _, metrics = score_all(handler(manifest=MANIFEST), gold, gold)
    assert metrics["majority_baseline_accuracy"] == 0.5
    assert metrics["majority_baseline_macro_f1"] == pytest.approx((2 * 2 / (2 * 2 + 2)) / 3)
    _, metrics = score_all(handler(manifest=MANIFEST, options={"majority_label": "positive"}), gold, gold)
    assert metrics["majority_baseline_accuracy"] == 0.25
    counts_only = {"summary": {"label_counts": {"b": 2, "a": 2, "c": 1}}}
    assert handler(manifest=counts_only).majority_label == "a"  # ties by name
    _, metrics = score_all(handler(), gold, gold)
    assert "majority_baseline_accuracy" not in metrics


def test_breakdown_confusion_matrix_and_per_class():
    h = handler()
    gold = ["positive", "positive", "negative", "neutral"]
    predictions = ["positive", None, "positive", "negative"]
    scored, _ = score_all(h, gold, predictions)
    out = h.breakdown([record(g) for g in gold], predictions, scored)
    assert out["labels"] == ["negative", "neutral", "positive"]
    assert out["columns"] == ["negative", "neutral", "positive", "unparseable"]
    assert out["confusion_matrix"] == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 1, 1]]
    assert out["per_class"]["positive"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2.0}


def test_non_text_prediction_is_a_one_line_error():
    with pytest.raises(ConfigError, match=r'label string, \{"label", "confidence"\} or null, not the int 1'):
        handler().score_example(record("positive"), 1)


# --- calibration -------------------------------------------------------------------------------


def scored_predictions(seed: int, n: int = 80):
    rng = np.random.default_rng(seed)
    gold = [str(x) for x in rng.choice(LABELS, size=n)]
    confidence = rng.uniform(0.34, 1.0, size=n).round(3)
    own = [
        g if rng.uniform() < c**2 else str(rng.choice([label for label in LABELS if label != g]))
        for g, c in zip(gold, confidence)
    ]
    return gold, own, confidence.tolist()


def test_label_scoring_predictions_carry_their_confidence():
    from brewslm.inference import LabelScores

    scores = LabelScores.from_logprobs({"negative": -2.0, "neutral": -3.0, "positive": -0.5})
    assert handler().label_prediction(scores) == {"label": "positive", "confidence": scores.confidence}


@pytest.mark.parametrize("seed", range(3))
def test_ece_of_the_classifiers_answers(seed):
    from brewslm.evaluation.metrics.calibration import expected_calibration_error, max_calibration_error

    gold, own, confidence = scored_predictions(seed)
    h = handler()
    scored, m = score_all(h, gold, [{"label": p, "confidence": c} for p, c in zip(own, confidence)])
    correct = [g == p for g, p in zip(gold, own)]
    assert m["ece"] == pytest.approx(expected_calibration_error(confidence, correct))
    assert m["max_calibration_error"] == pytest.approx(max_calibration_error(confidence, correct))
    assert {"ece", "max_calibration_error"} <= h.lower_is_better and h.describe()["lower_is_better"] == [
        "ece",
        "max_calibration_error",
    ]
    # the label metrics are those of the labels alone
    _, plain = score_all(h, gold, own)
    assert {k: v for k, v in m.items() if k not in ("ece", "max_calibration_error")} == {
        k: v for k, v in plain.items() if k not in ("ece", "max_calibration_error")
    }
    bins = h.breakdown([record(g) for g in gold], own, scored)["calibration"]
    assert sum(b["count"] for b in bins) == len(gold)
    assert sum(b["count"] / len(gold) * abs(b["accuracy"] - b["confidence"]) for b in bins) == pytest.approx(m["ece"])


def test_no_confidence_no_calibration():
    scored, m = score_all(handler(), ["positive", "negative"], ["positive", None])
    assert m["ece"] is None and m["max_calibration_error"] is None
    assert "calibration" not in handler().breakdown([], [], scored)


@pytest.mark.parametrize(
    "prediction, message",
    [
        ({"label": "positive", "confidence": 1.5}, 'confidence" is a probability between 0 and 1, not 1.5'),
        ({"label": "positive", "confidence": "high"}, "not 'high'"),
        ({"label": 3, "confidence": 0.5}, '"label" is a label string or null, not 3'),
        ({"answer": "positive"}, 'is a label string, {"label", "confidence"} or null'),
    ],
)
def test_a_bad_scored_label_is_a_one_line_error(prediction, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        handler().score_example(record("positive"), prediction)
