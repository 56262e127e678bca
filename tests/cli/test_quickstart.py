"""``brewslm quickstart``: the sentiment recipe on the shipped example data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brewslm.cli import main
from helpers.tiny_model import tiny_model_dir  # noqa: F401  (fixture)


def test_quickstart_runs_the_sentiment_recipe_on_the_example(tiny_model_dir, monkeypatch, capsys, tmp_path):  # noqa: F811
    monkeypatch.setenv("BREWSLM_BASE_MODEL", str(tiny_model_dir))
    code = main(["quickstart", "--epochs", "0.1", "--quiet", "--json", "--out", str(tmp_path / "qs")])
    result = json.loads(capsys.readouterr().out)
    assert code == (0 if result["passed"] else 1)
    imported = result["stages"]["data"]["outputs"]["import"]
    assert imported["dataset"] == "sentiment-reviews" and imported["accepted"] == 400
    assert imported["rejected_counts"] == {"missing_label": 1, "parse_error": 1, "wrong_type": 1}
    assert result["report"]["metrics"]["base"] is not None and "macro_f1" in result["report"]["lift"]
    assert Path(result["report_html"]).is_file()
    if result["passed"]:
        assert Path(result["export_dir"]).is_dir()
    else:  # a tenth of an epoch on a random tiny model may fail the recipe's gate: then nothing is exported
        assert result["export_dir"] is None and result["stages"]["export"]["status"] == "blocked"


@pytest.mark.slow
def test_quickstart_on_the_embedded_model_lifts_macro_f1(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("BREWSLM_BASE_MODEL", raising=False)
    assert main(["quickstart", "--json", "--quiet", "--out", str(tmp_path / "qs")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["report"]["lift"]["macro_f1"]["lift"] > 0
