"""Per-example verdicts of a saved report (what ``brewslm eval errors`` and the UI's error filter show),
from hand-written report folders: no model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from brewslm.errors import ConfigError
from brewslm.evaluation.review import prompt_of, review_predictions


def report_folder(tmp_path: Path, task: str, rows: list[dict[str, Any]], scoring_mode: str | None = None) -> Path:
    folder = tmp_path / "report"
    folder.mkdir()
    with open(folder / "predictions_tuned.jsonl", "w", encoding="utf-8") as out:
        for index, row in enumerate(rows):
            out.write(json.dumps({"index": index, "input": [{"role": "user", "content": f"q{index}"}], **row}) + "\n")
    (folder / "report.json").write_text(
        json.dumps(
            {
                "task": task,
                "scoring_mode": scoring_mode,
                "headline": "x",
                "dataset": {},
                "predictions": {"tuned": "predictions_tuned.jsonl"},
            }
        ),
        encoding="utf-8",
    )
    return folder


def test_a_wrong_label_is_an_error_and_a_right_one_is_not(tmp_path: Path):
    rows = [
        {"record": {"text": t, "label": gold}, "gold": gold, "prediction": pred}
        for t, gold, pred in [("a", "pos", "pos"), ("b", "neg", "pos"), ("c", "neg", "neg")]
    ]
    review = review_predictions(report_folder(tmp_path, "classification", rows))
    assert review.verdicts == ["correct", "error", "correct"] and review.errors == 1


def test_one_missed_span_makes_the_example_an_error(tmp_path: Path):
    text = "Ann met Bob in Paris"
    spans = [{"start": 0, "end": 3, "label": "PER"}, {"start": 8, "end": 11, "label": "PER"}]
    rows = [
        {"record": {"text": text, "spans": spans}, "gold": spans, "prediction": spans},
        {"record": {"text": text, "spans": spans}, "gold": spans, "prediction": spans[:1]},
        {"record": {"text": text, "spans": spans}, "gold": spans, "prediction": None, "raw": "garbled"},
    ]
    review = review_predictions(report_folder(tmp_path, "structured_extraction", rows, "span_set"))
    assert review.verdicts == ["correct", "error", "error"]


def test_the_report_json_path_works_and_a_missing_model_or_report_is_one_line(tmp_path: Path):
    rows = [{"record": {"text": "a", "label": "pos"}, "gold": "pos", "prediction": "neg"}]
    folder = report_folder(tmp_path, "classification", rows)
    assert review_predictions(folder / "report.json").errors == 1
    with pytest.raises(ConfigError, match="saved no predictions of the base model; it has: tuned"):
        review_predictions(folder, "base")
    with pytest.raises(ConfigError, match="has no report.json"):
        review_predictions(tmp_path)


def test_a_broken_report_is_one_line_naming_the_file_and_the_fix(tmp_path: Path):
    rows = [{"record": {"text": "a", "label": "pos"}, "gold": "pos", "prediction": "neg"}]
    folder = report_folder(tmp_path, "classification", rows)
    (folder / "report.json").write_text('{"task": "classif', encoding="utf-8")  # a torn write
    with pytest.raises(ConfigError, match=r"report\.json is unreadable \(.*\); evaluate again to rewrite it$"):
        review_predictions(folder)
    (folder / "report.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"report\.json is not a JSON object; evaluate again to rewrite it$"):
        review_predictions(folder)
    assert (folder / "predictions_tuned.jsonl").is_file()  # nothing else touched


def test_the_prompt_is_the_last_user_message():
    chat = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "last"},
    ]
    assert prompt_of(chat) == "last" and prompt_of("plain") == "plain" and prompt_of(None) == ""
