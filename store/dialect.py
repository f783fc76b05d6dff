"""Where SQLite and PostgreSQL differ, in one place; the rest of `store` is written once.

- Engines: SQLite is tuned for a single-writer job (WAL, a busy timeout, foreign keys on,
  `synchronous=NORMAL`, every transaction BEGIN IMMEDIATE); PostgreSQL comes as it is, with
  connections checked before use.
- Serialising writers: `lock_transaction` takes a transaction-scoped advisory lock on
  PostgreSQL; SQLite's writers are serialised already by BEGIN IMMEDIATE.
- "Insert unless a unique key holds it": each dialect's INSERT ... ON CONFLICT DO NOTHING.
- SQL handed to the driver as it is: its parameter mark, and how many parameters one
  statement may bind.
- Migrations: SQLite rebuilds a table to alter it, so Alembic runs in batch mode with
  foreign keys off, and they are checked before the commit.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlmodel import Session, create_engine

BUSY_TIMEOUT_SECONDS = 30
SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}",
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)
POSTGRESQL_MAX_PARAMETERS = 65_535
SQLITE_OLDEST_MAX_PARAMETERS = 999  # what SQLite may be built with (32,766 by default since 3.32)


def is_sqlite(bind: Engine | Connection | Session) -> bool:
    return bind.get_bind().dialect.name == "sqlite" if isinstance(bind, Session) else bind.dialect.name == "sqlite"


def create_engine_for(url: URL) -> Engine:
    """An engine for `url`: SQLite tuned (see the module docstring), its file's folder
    created; any other database as SQLAlchemy makes it."""
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
    tune_sqlite(engine)
    return engine


def tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            execute_waiting(cursor, pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin_immediate(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def execute_waiting(cursor, statement: str) -> None:
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


def lock_transaction(bind: Session | Connection, key: int) -> None:
    """Hold lock `key` until the transaction ends: a second writer waits for the first's
    commit and sees its rows (PostgreSQL's advisory lock; SQLite holds every writer already)."""
    if not is_sqlite(bind):
        bind.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


@functools.cache
def insert_ignore_statement(dialect_name: str, table, columns: tuple = ()):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING `columns` (default: the id), one statement
    per dialect, table and columns, values bound at execution: building and cache-keying a
    new statement for every row cost more than the insert itself."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing().returning(*(columns or (table.c.id,)))


def placeholder(connection: Connection) -> str:
    """The driver's positional parameter mark, for SQL handed to it as it is (SQLite and psycopg)."""
    return {"qmark": "?", "format": "%s", "pyformat": "%s"}[connection.dialect.paramstyle]


def materialized(connection: Connection) -> str:
    """`MATERIALIZED ` where the database knows the CTE hint (PostgreSQL 12+, SQLite 3.35+), so
    a CTE read several times is computed once; else nothing."""
    return "MATERIALIZED " if not is_sqlite(connection) or sqlite3.sqlite_version_info >= (3, 35) else ""


def max_parameters(connection: Connection) -> int:
    """How many parameters one statement may bind on this connection's database."""
    if not is_sqlite(connection):
        return POSTGRESQL_MAX_PARAMETERS
    driver = connection.connection.driver_connection
    return driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if hasattr(driver, "getlimit") \
        else SQLITE_OLDEST_MAX_PARAMETERS


@contextmanager
def foreign_keys_off_for_migration(connection: Connection) -> Iterator[None]:
    """SQLite's ALTER TABLE rebuilds a table (copy, drop, rename); with foreign keys on,
    dropping a table that other rows point at fails, so migrations run with them off
    (set outside any transaction, as SQLite requires); `check_foreign_keys` checks them
    before commit. PostgreSQL alters tables in place: nothing to do."""
    if not is_sqlite(connection):
        yield
        return
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    except BaseException:
        connection.invalidate()  # never back to the pool with foreign keys off
        raise
    raw.execute("PRAGMA foreign_keys=ON")  # after the commit: outside a transaction it takes effect


def check_foreign_keys(connection: Connection) -> None:
    """Raise when a migration run with foreign keys off left rows pointing at missing rows."""
    if is_sqlite(connection):
        problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"a migration left rows pointing at missing rows: {problems[:5]}")
