"""Engine setup: SQLite tuned for a single-writer job, PostgreSQL as it comes.

SQLite runs in WAL mode (readers never block the writer), with a busy timeout so a
second process waits instead of failing, foreign keys on, `synchronous=NORMAL` (in WAL
mode a power cut may lose the last transactions but never corrupts the file; the
outbox makes a lost "sent" mark a redelivery, never a lost alert), and every
transaction begins IMMEDIATE so two writers queue up front instead of deadlocking
on a lock upgrade.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import create_engine

from store import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

SCHEMA_HEAD = "0012"  # the newest revision in store/migrations/versions (tests keep the two equal)
BUSY_TIMEOUT_SECONDS = 30
SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}",
    "PRAGMA journal_mode=WAL",
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
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            _execute_waiting(cursor, pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _execute_waiting(cursor, statement: str) -> None:
    """Execute, retrying while the file is locked: switching a new file to WAL needs it to
    itself and SQLite answers "database is locked" at once, busy timeout or not, when two
    processes open a new database at the same moment (seen in CI)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


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
        from store.migrate import upgrade_database  # Alembic: 0.05-0.15 s to import and load

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
