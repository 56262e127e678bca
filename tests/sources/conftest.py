"""Fixtures for the connector tests: an isolated workspace and the shared datasets folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_datasets_dir() -> Path:
    return Path(os.environ.get("BREWSLM_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


@pytest.fixture(autouse=True)
def isolated_workspace(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the real ~/.brewslm or ~/.cache/brewslm."""
    root = tmp_path_factory.mktemp("workspace")
    monkeypatch.setenv("BREWSLM_HOME", str(root / "home"))
    monkeypatch.setenv("BREWSLM_CACHE_DIR", str(root / "cache"))
    return root


@pytest.fixture
def shared_datasets() -> Path:
    path = shared_datasets_dir()
    if not path.is_dir():
        pytest.skip(f"shared datasets not found at {path}")
    return path
