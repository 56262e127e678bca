"""A private BrewSLM workspace for a test: its own home, cache and SQLite database, and none of
the developer's environment switches (a database URL, LLM assist, an MLflow server) leaking in.

    @pytest.fixture(autouse=True)
    def workspace(tmp_path, monkeypatch):
        return private_workspace(tmp_path, monkeypatch)

    @pytest.fixture(scope="package")            # one workspace for a whole test package
    def space(tmp_path_factory):
        with shared_workspace(tmp_path_factory, "export") as root:
            yield root
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import pytest

CLEARED = ("BREWSLM_DATABASE_URL", "DATASET_IMPORT_LLM_ASSIST_ENABLED", "MLFLOW_TRACKING_URI")


def private_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("BREWSLM_HOME", str(home))
    monkeypatch.setenv("BREWSLM_CACHE_DIR", str(tmp_path / "cache"))
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    return home


@contextlib.contextmanager
def shared_workspace(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A private workspace shared by the tests of a wider scope (a package, a module); yields its
    root folder (the workspace's home is ``root / "home"``)."""
    root = tmp_path_factory.mktemp(name)
    with pytest.MonkeyPatch.context() as patch:
        private_workspace(root, patch)
        yield root
