"""Alembic environment for BrewSLM's schema.

BrewSLM runs the migrations itself (``brewslm.storage.db.upgrade``) and passes its connection in
``config.attributes["connection"]``; ``alembic -c src/brewslm/storage/migrations/alembic.ini``
works too, with the URL from ``BREWSLM_DATABASE_URL`` / the workspace default.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from brewslm.storage.tables import Base
from brewslm.workspace import database_url

config = context.config
target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables so later migrations stay portable.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or database_url())
    try:
        with engine.begin() as conn:
            _configure(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
