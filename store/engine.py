"""Engine setup: SQLite tuned for a single-writer job, PostgreSQL as it comes.

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
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import create_engine

from store import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


def make_engine(database_url: str) -> Engine:
    """An engine for `database_url`; creates the SQLite file's folder if needed."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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
    from store.migrate import upgrade_database

    engine = make_engine(database_url)
    upgrade_database(engine)
    return engine
