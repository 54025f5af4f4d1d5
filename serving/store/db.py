"""Engines, sessions and migrations. Alembic is configured in code (no ``alembic.ini``) so that
``upgrade`` works the same from a checkout and from an installed package."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: Connections a SQLite store keeps open (see make_engine).
SQLITE_POOL_SIZE = 40


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` (what most hosts hand out) → the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    """An engine for the store. SQLite gets foreign keys on and a busy timeout, so that several
    planners writing at once wait for each other instead of failing."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # as many as the thread pool runs requests at once (anyio's 40): a burst of 50
            # planners opened and closed 20 overflow connections every time (each with its
            # pragmas) with 20 kept
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=40,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=40)


def fill_pool(engine: Engine) -> int:
    """Open the connections the pool keeps (``pool_size``) now, so the first burst of requests
    after a start does not open them one by one while it waits; returns how many are open."""
    size = int(getattr(engine.pool, "size", lambda: 0)())
    connections = [engine.connect() for _ in range(size)]
    for connection in connections:
        connection.close()  # back into the pool, open
    return int(getattr(engine.pool, "checkedin", lambda: 0)())


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the store's schema up to ``revision`` (idempotent)."""
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
