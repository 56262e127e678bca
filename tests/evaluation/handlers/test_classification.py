"""classification handler: strict parsing, sklearn-equal metrics, aliases, majority baseline, breakdown."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import classification_report

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.handlers.base import GENERATION, LABEL_SCORING
from brewslm.evaluation.handlers.classification import ClassificationHandler, normalise_label
from brewslm.evaluation.metrics.common import sum_stats
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext

LABELS = ("negative", "neutral", "positive")
MANIFEST = {"task_profile": "classification", "output_schema": {},
            "summary": {"label_counts": {"negative": 5, "positive": 3, "neutral": 1}, "majority_label": "negative"}}


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


@pytest.mark.parametrize("reply, expected", [
    ("positive", "positive"), ("  Positive.\n", "positive"), ('"neutral"', "neutral"), ("'NEGATIVE'.", "negative"),
    ("“positive”", "positive"), ("not positive", None), ("positive, I think", None), ("pos", None),
    ("positive negative", None), ("", None), ("The answer is positive.", None),
])
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


def test_normalise_label():
    assert normalise_label(' "Sci/Tech." ') == "sci/tech"
    assert normalise_label("etc..") == "etc"


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
    predictions = [None if rng.random() < 0.1 * (seed % 2) else str(p)
                   for p in rng.choice(["negative", "positive", "other"], size=50)]
    _, metrics = score_all(handler(), gold, predictions)
    labels = sorted(set(gold) | {p for p in predictions if p is not None})
    report = classification_report(gold, ["<none>" if p is None else p for p in predictions], labels=labels,
                                   output_dict=True, zero_division=0)
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
    with pytest.raises(ConfigError, match="label string or null, not the int 1"):
        handler().score_example(record("positive"), 1)
