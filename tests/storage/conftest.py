"""A private workspace per test, and a fresh engine for it."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from brewslm.storage.db import reset_engines


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("BREWSLM_HOME", str(home))
    monkeypatch.setenv("BREWSLM_CACHE_DIR", str(tmp_path / "cache"))
    reset_engines()
    with _test_database(monkeypatch):
        yield home
    reset_engines()


@contextmanager
def _test_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """With ``BREWSLM_TEST_DATABASE_URL`` (a PostgreSQL server URL) each test gets its own empty
    database there, so the suite also proves the schema and queries portable; else SQLite."""
    server = os.environ.get("BREWSLM_TEST_DATABASE_URL")
    if not server:
        monkeypatch.delenv("BREWSLM_DATABASE_URL", raising=False)
        yield
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"brewslm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    monkeypatch.setenv("BREWSLM_DATABASE_URL", make_url(server).set(database=name).render_as_string(hide_password=False))
    try:
        yield
    finally:
        reset_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
