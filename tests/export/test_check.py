"""export/check.py: a merged folder compared across two transformers environments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from brewslm.errors import ConfigError
from brewslm.export.check import PROMPTS, check_folder, compare, run_side
from helpers.tiny_model import tiny_model_dir  # noqa: F401  (a fixture)


def _side(version: str, ids: list[list[int]], theta: float = 1e5, error: str | None = None) -> dict:
    if error:
        return {"transformers": version, "error": error}
    return {
        "transformers": version,
        "rope_theta": theta,
        "tokenizer_class": "T",
        "outputs": [{"prompt_ids": [1, 2], "ids": i, "text": str(i)} for i in ids],
    }


def test_compare_passes_only_when_everything_agrees():
    same = compare(_side("5", [[1], [2]]), _side("4", [[1], [2]]))
    assert same["passed"] and same["outputs_agree"] == 1.0 and same["versions"] == ["5", "4"]
    differs = compare(_side("5", [[1], [2]]), _side("4", [[1], [3]]))
    assert not differs["passed"] and differs["outputs_agree"] == 0.5
    # the same tokens from a different RoPE base is luck, not agreement
    assert not compare(_side("5", [[1]]), _side("4", [[1]], theta=1e4))["passed"]
    failed = compare(_side("5", [[1]]), _side("4", [], error="ValueError: Tokenizer class X does not exist"))
    assert not failed["passed"] and failed["errors"][1].startswith("ValueError")


def test_one_side_loads_and_generates_greedily(tiny_model_dir: Path):
    side = run_side(sys.executable, tiny_model_dir, PROMPTS[:2], new_tokens=3)
    assert "error" not in side, side
    assert len(side["outputs"]) == 2 and all(len(o["ids"]) <= 3 and o["prompt_ids"] for o in side["outputs"])
    assert check_folder(tiny_model_dir, sys.executable)["passed"]


def test_a_missing_interpreter_or_folder_is_a_clear_failure(tiny_model_dir: Path, tmp_path: Path):
    assert run_side(tmp_path / "no-python", tiny_model_dir)["error"].startswith(str(tmp_path / "no-python"))
    with pytest.raises(ConfigError, match="has no config.json"):
        check_folder(tmp_path, sys.executable)
