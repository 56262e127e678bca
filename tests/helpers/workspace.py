"""A private BrewSLM workspace for a test: its own home, cache and SQLite database, and none of
the developer's environment switches (a database URL, LLM assist, an MLflow server) leaking in.

    @pytest.fixture(autouse=True)
    def workspace(tmp_path, monkeypatch):
        return private_workspace(tmp_path, monkeypatch)
"""

from __future__ import annotations

from pathlib import Path

import pytest

CLEARED = ("BREWSLM_DATABASE_URL", "DATASET_IMPORT_LLM_ASSIST_ENABLED", "MLFLOW_TRACKING_URI")


def private_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("BREWSLM_HOME", str(home))
    monkeypatch.setenv("BREWSLM_CACHE_DIR", str(tmp_path / "cache"))
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    return home
