"""The schema: migrations shipped in the package build exactly the models, idempotently."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text

from brewslm.errors import ConfigError
from brewslm.storage.db import MIGRATIONS_DIR, alembic_config, get_engine, session_scope, upgrade
from brewslm.storage.tables import Base, RunEvent, SavedMapping, SavedMappingVersion

TABLES = {"run_events", "saved_mappings", "saved_mapping_versions", "datasets", "dataset_versions", "jobs"}


def _revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_first_use_creates_the_database_and_runs_the_migrations(workspace):
    engine = get_engine()
    if engine.dialect.name == "sqlite":
        assert (workspace / "brewslm.db").is_file()
    assert TABLES <= set(inspect(engine).get_table_names())
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head == "0003" and _revision(engine) == head


def test_the_migrations_produce_exactly_the_models_schema(tmp_path):
    fresh = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(fresh)
    # the workspace database too: PostgreSQL when the suite runs with BREWSLM_TEST_DATABASE_URL
    for engine in (fresh, get_engine()):
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], engine.dialect.name


def test_upgrade_is_idempotent_and_downgrade_reverses_it(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'twice.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO run_events (created_at, stage, reason_code, actor, payload) "
                "VALUES ('2026-01-01 00:00:00', 's', 'r', 'a', '{}')"
            )
        )
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM run_events")).scalar() == 1
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}


def test_migration_scripts_ship_inside_the_package():
    assert (MIGRATIONS_DIR / "env.py").is_file() and (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()


def test_one_engine_per_url(tmp_path, monkeypatch):
    assert get_engine() is get_engine()
    other = f"sqlite:///{tmp_path / 'elsewhere' / 'other.db'}"
    monkeypatch.setenv("BREWSLM_DATABASE_URL", other)
    engine = get_engine()
    assert engine is not get_engine(f"sqlite:///{tmp_path / 'home' / 'brewslm.db'}")
    assert str(engine.url) == other and (tmp_path / "elsewhere" / "other.db").is_file()


def test_an_unusable_database_url_is_a_one_line_config_error(monkeypatch):
    monkeypatch.setenv("BREWSLM_DATABASE_URL", "nosuchdialect://user:secret@host/db")
    with pytest.raises(ConfigError, match="check BREWSLM_DATABASE_URL") as info:
        get_engine()
    assert "secret" not in str(info.value) and "\n" not in str(info.value)


def test_a_database_driver_that_is_not_installed_is_a_one_line_config_error(monkeypatch):
    monkeypatch.setenv("BREWSLM_DATABASE_URL", "mysql+pymysql://brew:secret@127.0.0.1/brewslm")
    with pytest.raises(ConfigError) as err:
        get_engine()
    message = str(err.value)
    assert "'pymysql'" in message and "not installed" in message and "\n" not in message
    assert "secret" not in message


def test_timestamps_come_back_as_aware_utc():
    local = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with session_scope() as session:
        session.add(RunEvent(created_at=local, stage="s", reason_code="r", actor="a", payload={"k": [1, "x"]}))
    with session_scope() as session:
        event = session.scalars(select(RunEvent)).one()
    assert event.created_at == local and event.created_at.utcoffset() == timedelta(0)
    assert event.payload == {"k": [1, "x"]}


def test_session_scope_rolls_back_on_error():
    with pytest.raises(RuntimeError):
        with session_scope() as session:
            session.add(RunEvent(stage="s", reason_code="r", actor="a", payload={}))
            session.flush()
            raise RuntimeError("boom")
    with session_scope() as session:
        assert session.scalars(select(RunEvent)).all() == []


def test_deleting_a_mapping_cascades_to_its_history_in_the_database():
    engine = get_engine()
    with session_scope() as session:
        mapping = SavedMapping(name="m", locator="jsonl:x", mapper_id="x", created_by="a")
        mapping.history.append(SavedMappingVersion(version=1, definition={}, saved_by="a", change="created"))
        session.add(mapping)
    with engine.begin() as conn:  # plain SQL, no ORM cascade: the foreign key must do it
        conn.execute(text("DELETE FROM saved_mappings"))
        assert conn.execute(text("SELECT count(*) FROM saved_mapping_versions")).scalar() == 0


def test_the_migrations_render_for_postgresql_without_a_server():
    import io

    from alembic import command

    cfg = alembic_config()
    cfg.set_main_option("sqlalchemy.url", "postgresql://user@localhost/brewslm")
    cfg.output_buffer = io.StringIO()
    command.upgrade(cfg, "head", sql=True)
    ddl = cfg.output_buffer.getvalue()
    assert ddl.count("CREATE TABLE") == len(TABLES) + 1  # + alembic_version
    assert "TIMESTAMP WITH TIME ZONE" in ddl and "JSON NOT NULL" in ddl and "ON DELETE CASCADE" in ddl
