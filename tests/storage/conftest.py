"""A private workspace per test, and a fresh engine for it."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from brewslm.storage.db import reset_engines
from helpers.database import fresh_database


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("BREWSLM_HOME", str(home))
    monkeypatch.setenv("BREWSLM_CACHE_DIR", str(tmp_path / "cache"))
    reset_engines()
    with fresh_database(monkeypatch):
        yield home
    reset_engines()
