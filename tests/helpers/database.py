"""A fresh database per test: SQLite in the test's workspace, or with ``BREWSLM_TEST_DATABASE_URL``
(a PostgreSQL server URL) an empty database created on that server, so the same tests prove the
schema and queries portable."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator

import pytest

from brewslm.storage.db import reset_engines


@contextmanager
def fresh_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
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
    monkeypatch.setenv(
        "BREWSLM_DATABASE_URL", make_url(server).set(database=name).render_as_string(hide_password=False)
    )
    try:
        yield
    finally:
        reset_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
