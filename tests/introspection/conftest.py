"""A private workspace for every test; the toy registries and the tiny causal LM as fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.tiny_model import tiny_model_dir  # noqa: F401  (a fixture)
from introspection.toy import isolated_registry  # noqa: F401  (a fixture)


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("BREWSLM_HOME", str(home))
    monkeypatch.setenv("BREWSLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BREWSLM_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATASET_IMPORT_LLM_ASSIST_ENABLED", raising=False)
    return home
