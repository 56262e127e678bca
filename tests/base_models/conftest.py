"""A private workspace for every test, and the tiny causal LM fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.tiny_model import tiny_model_dir  # noqa: F401  (a fixture)
from helpers.workspace import private_workspace


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_workspace(tmp_path, monkeypatch)
