"""Engine and session helpers over ``workspace.database_url()``.

One engine per database URL, created on first use; creating it brings the schema up to date by
running the Alembic migrations shipped inside the package (``storage/migrations``), so a fresh
workspace needs no set-up step and an older one is upgraded in place.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from brewslm.errors import ConfigError
from brewslm.workspace import database_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_ENGINES: dict[str, Engine] = {}
_SESSIONMAKERS: dict[str, sessionmaker[Session]] = {}
_LOCK = threading.Lock()
_ON_WORKSPACE_OPEN: list[Callable[[], None]] = []


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def alembic_config(connection=None):
    """An Alembic ``Config`` built in code, pointing at the package's migration scripts."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` (idempotent: an up-to-date database is left as is)."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - exercised via every test
        cursor = dbapi_connection.cursor()
        # ON DELETE CASCADE needs foreign keys on; SQLite leaves them off per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    kwargs: dict = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # Concurrent imports write events to the same file; wait for the lock instead of failing.
        kwargs["connect_args"] = {"timeout": 30}
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return engine


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: ``workspace.database_url()``), migrated to the newest schema."""
    url = url or database_url()
    engine = _ENGINES.get(url)
    if engine is not None:
        return engine
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is not None:
            return engine
        try:
            engine = _create_engine(url)
            upgrade(engine)
        except ConfigError:
            raise
        except ModuleNotFoundError as exc:  # e.g. a PostgreSQL URL without psycopg installed
            raise ConfigError(
                f"database {safe_url(url)} needs the Python driver '{exc.name}', which is not installed; "
                "pip install it (for PostgreSQL: pip install 'psycopg[binary]') or change BREWSLM_DATABASE_URL"
            ) from None
        except (SQLAlchemyError, OSError, ValueError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"database {safe_url(url)} cannot be opened or migrated ({first_line}); check BREWSLM_DATABASE_URL"
            ) from exc
        _ENGINES[url] = engine
        _SESSIONMAKERS[url] = sessionmaker(engine, expire_on_commit=False)
    if url == database_url():
        for callback in list(_ON_WORKSPACE_OPEN):
            callback()
    return engine


def on_workspace_open(callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever this process first opens the workspace's database. The package's
    ``__init__`` registers ``recovery.settle_workspace`` here (crashed imports, runs whose process
    is gone), so every command starts from a consistent store while this module, which recovery
    itself builds on, imports nothing above it."""
    if callback not in _ON_WORKSPACE_OPEN:
        _ON_WORKSPACE_OPEN.append(callback)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    url = url or database_url()
    get_engine(url)
    session = _SESSIONMAKERS[url]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def reset_engines() -> None:
    """Dispose every cached engine (tests switch ``BREWSLM_HOME`` between cases)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _SESSIONMAKERS.clear()
