"""Engine setup: an engine per database URL (SQLite tuned for a single-writer job,
PostgreSQL as it comes: `store.dialect`), migrated to the newest schema on first use.

SQLite runs in WAL mode (readers never block the writer), with a busy timeout so a
second process waits instead of failing, foreign keys on, `synchronous=NORMAL` (in WAL
mode a power cut may lose the last transactions but never corrupts the file; the
outbox makes a lost "sent" mark a redelivery, never a lost alert), and every
transaction begins IMMEDIATE so two writers queue up front instead of deadlocking
on a lock upgrade.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from store import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from store.dialect import create_engine_for

SCHEMA_HEAD = "0013"  # the newest revision in store/migrations/versions (tests keep the two equal)


def make_engine(database_url: str) -> Engine:
    """An engine for `database_url` (SQLite tuned: `store.dialect`); creates the SQLite file's folder if needed."""
    return create_engine_for(make_url(database_url))


@contextmanager
def database(database_url: str) -> Iterator[Engine]:
    """`open_database` for one unit of work; the engine's connections are closed after it."""
    engine = open_database(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def open_database(database_url: str) -> Engine:
    """An engine on a database migrated to the current schema (created on first use)."""
    engine = make_engine(database_url)
    if not at_schema_head(engine):
        from store.migrate import upgrade_database  # Alembic is loaded only when a migration is due

        upgrade_database(engine)
    return engine


def at_schema_head(engine: Engine) -> bool:
    """Whether the database already has the newest schema: the common case, answered with one
    query and without Alembic. Anything else (a new or older database, or one that cannot be
    read) goes to the migration, which creates, upgrades or reports it."""
    try:
        with engine.connect() as connection:
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    except DBAPIError:
        return False
    return [row[0] for row in versions] == [SCHEMA_HEAD]
