"""language_modeling profile: record checks and corpus statistics."""

from __future__ import annotations

import pytest

from brewslm.tasks import get_task_profile

PROFILE = get_task_profile("language_modeling")


def test_valid_and_invalid_records():
    assert PROFILE.validate({"text": "  line one\n\nline two  "}) is None
    assert PROFILE.validate({"text": "x", "id": "doc-1", "meta": {"source": "wiki"}}) is None
    for bad in ({}, {"text": ""}, {"text": " \n"}, {"text": 5}, {"text": None}):
        rejection = PROFILE.validate(bad)
        assert rejection.reason == "invalid_record" and "'text'" in rejection.detail


def test_summary():
    summary = PROFILE.new_summary()
    for text in ["one two three", "four\nfive", "six"]:
        summary.add({"text": text})
    stats = summary.result()["stats"]
    assert stats == {
        "records": 3,
        "total_chars": 25,
        "total_words": 6,
        "mean_chars": 8.3,
        "max_chars": 13,
        "multiline_share": pytest.approx(0.3333),
    }
    assert PROFILE.new_summary().result()["stats"]["mean_chars"] == 0.0
