"""classification profile: record checks, the manifest summary, reading a reply and routing."""

from __future__ import annotations

import pytest

from brewslm.errors import ConfigError
from brewslm.tasks import get_task_profile
from brewslm.tasks.classification import LabelRouter, normalise_label
from brewslm.tasks.rendering import RenderContext

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


# --- reading a reply ------------------------------------------------------------------------------


def test_normalise_label():
    assert normalise_label(' "Sci/Tech." ') == "sci/tech"
    assert normalise_label("etc..") == "etc"


def test_the_reader_reads_a_label_by_its_name_or_its_words_and_nothing_else():
    context = RenderContext.from_manifest({"output_schema": {"labels": ["card_arrival", "lost_card", "refund"]}})
    reader = PROFILE.reply_reader(context=context)
    assert reader.candidate_labels() == ["card_arrival", "lost_card", "refund"] and reader.max_new_tokens == 32
    assert reader.label_replies() == ["card arrival", "lost card", "refund"]
    for label in context.labels:
        rendered = PROFILE.render({"text": "t", "label": label}, context).completion
        assert reader.parse(rendered, {}) == label
    assert reader.parse(' "Lost card." ', {}) == "lost_card" and reader.parse("lost_card", {}) == "lost_card"
    assert reader.parse("not a refund", {}) is None and reader.json_schema({}) is None


def test_the_reader_takes_the_labels_from_the_manifest_when_the_context_has_none():
    manifest = {"summary": {"label_counts": {"b": 2, "a": 1}}}
    assert PROFILE.reply_reader(manifest=manifest).candidate_labels() == ["a", "b"]
    with pytest.raises(ConfigError, match="needs the label set"):
        PROFILE.reply_reader().candidate_labels()


def test_the_router_routes_low_confidence_answers_to_the_fallback():
    router = LabelRouter(0.6)
    assert router.fallback_label == "talk_to_human" and router.confidence_threshold == 0.6
    assert router.routed_answer("refund", 0.59) == "talk_to_human" and router.routed_answer("refund", 0.6) == "refund"
    assert router.routed_answer("refund", None) == "refund"  # no confidence (a generated label): not routed
    assert LabelRouter(1, "human").routed_answer("refund", 0.9) == "human"
    unrouted = LabelRouter()
    assert unrouted.fallback_label is None and unrouted.routed_answer("refund", 0.01) == "refund"
    assert LabelRouter(None, "human").fallback_label == "human"
    for bad in (1.5, -0.1, True, "0.5"):
        with pytest.raises(ConfigError, match="confidence_threshold"):
            LabelRouter(bad)
