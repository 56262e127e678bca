"""Where BrewSLM keeps its state.

``BREWSLM_HOME`` (default ``~/.brewslm``) holds datasets, runs and model caches;
``BREWSLM_DATABASE_URL`` (default SQLite in the workspace) is any SQLAlchemy URL.
Kaggle downloads are cached under ``~/.cache/brewslm/kaggle/`` (``BREWSLM_CACHE_DIR`` overrides).
"""

from __future__ import annotations

import os
from pathlib import Path


def home_dir() -> Path:
    path = Path(os.environ.get("BREWSLM_HOME") or Path.home() / ".brewslm").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    return os.environ.get("BREWSLM_DATABASE_URL") or f"sqlite:///{home_dir() / 'brewslm.db'}"


def datasets_dir() -> Path:
    path = home_dir() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Converted model folders (e.g. the embedded SmolLM2 as an HF folder)."""
    path = home_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    path = Path(os.environ.get("BREWSLM_CACHE_DIR") or Path.home() / ".cache" / "brewslm").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def kaggle_cache_dir() -> Path:
    path = cache_dir() / "kaggle"
    path.mkdir(parents=True, exist_ok=True)
    return path


CRASH_ENV = "BREWSLM_TEST_CRASH_AT"


def crash_point(step: str) -> None:
    """A named point in a multi-step write (e.g. publishing a dataset version). When
    ``BREWSLM_TEST_CRASH_AT`` names it, the process SIGKILLs itself right here: the crash-recovery
    tests use it to leave exactly the state a ``kill -9`` at that moment would."""
    if os.environ.get(CRASH_ENV) == step:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
