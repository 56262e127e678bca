"""classification profile: record checks and the manifest summary."""

from __future__ import annotations

import pytest

from brewslm.tasks import get_task_profile

PROFILE = get_task_profile("classification")


@pytest.mark.parametrize(
    "record",
    [
        {"text": "fine film", "label": "positive"},
        {"text": " a\nb ", "label": "0"},
        {"text": "x", "label": "not entailment", "id": 3, "subtask": "sst2", "meta": {"src": "a"}},
    ],
)
def test_valid_records(record):
    assert PROFILE.validate(record) is None


@pytest.mark.parametrize(
    "record, where",
    [
        ({"label": "a"}, "text"),
        ({"text": "  ", "label": "a"}, "text"),
        ({"text": 1, "label": "a"}, "text"),
        ({"text": "x"}, "label"),
        ({"text": "x", "label": 1}, "label"),
        ({"text": "x", "label": ""}, "label"),
        ({"text": "x", "label": " a"}, "label"),
        ({"text": "x", "label": ["a"]}, "label"),
    ],
)
def test_invalid_records(record, where):
    rejection = PROFILE.validate(record)
    assert rejection.reason == "invalid_record"
    assert f"'{where}'" in rejection.detail and "\n" not in rejection.detail


def test_summary_counts_classes_and_majority_share():
    summary = PROFILE.new_summary({"labels": ["neg", "pos", "neutral"]})
    for label in ["pos", "neg", "pos", "pos", "neutral", "neg"]:
        summary.add({"text": "abcd", "label": label})
    out = summary.result()
    assert out["stats"] == {
        "records": 6,
        "label_counts": {"pos": 3, "neg": 2, "neutral": 1},
        "num_classes": 3,
        "majority_label": "pos",
        "majority_share": 0.5,
        "mean_text_chars": 4.0,
    }
    assert out["output_schema"] == {"labels": ["neg", "pos", "neutral"]}
    assert list(out["stats"]["label_counts"]) == ["pos", "neg", "neutral"]


def test_empty_summary():
    stats = PROFILE.new_summary().result()["stats"]
    assert stats["records"] == 0 and stats["num_classes"] == 0 and stats["majority_share"] == 0.0
    assert stats["majority_label"] is None


def test_described():
    assert PROFILE.describe()["schema"]["required"] == ["text", "label"]
