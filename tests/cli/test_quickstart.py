"""``brewslm quickstart``: the main job on the shipped example data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brewslm.cli import main
from helpers.tiny_model import tiny_model_dir  # noqa: F401  (fixture)


def test_quickstart_imports_the_example_and_fine_tunes_on_it(tiny_model_dir, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("BREWSLM_BASE_MODEL", str(tiny_model_dir))
    assert main(["quickstart", "--epochs", "0.5", "--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["introspection"]["mapper_id"] == "label_to_classification"
    assert result["introspection"]["field_map"]["review"] == "text"
    assert result["introspection"]["field_map"]["rating"] == "label"
    imported = result["import"]
    assert imported["dataset"] == "quickstart-reviews"
    assert imported["accepted"] == 400 and imported["duplicates"] == 1
    assert imported["rejected_counts"] == {"missing_label": 1, "parse_error": 1, "wrong_type": 1}
    training = result["training"]
    assert training["steps"] > 0 and training["eval_loss"] is not None
    assert (Path(training["run_dir"]) / "run.json").is_file()

    # a second run replaces the dataset with an identical new version and trains a new run on it
    assert main(["quickstart", "--epochs", "0.25", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "quickstart-reviews v2" in text and "accepted       400" in text
    assert "validation loss" in text and "brewslm train export" in text


@pytest.mark.slow
def test_quickstart_on_the_embedded_model(monkeypatch, capsys):
    monkeypatch.delenv("BREWSLM_BASE_MODEL", raising=False)
    assert main(["quickstart", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["training"]["eval_loss"] < 1.0
