"""Schema migrations with Alembic: the database is brought to the current schema on start.

`upgrade_database(engine)` is idempotent and safe to call from several processes, and
several threads, at once. `newswatch db upgrade` calls it explicitly; every command that opens the
database calls it too, so an upgraded newswatch never runs on an old schema.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, inspect

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection=None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


FIRST_REVISION = "0001"


# Alembic's `context` is module-global, so two threads of one process must not migrate at
# once (processes are kept apart by the database's own locks, see migrations/env.py).
_MIGRATING = threading.Lock()


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    with _MIGRATING:
        _upgrade(engine, revision)


def _upgrade(engine: Engine, revision: str) -> None:
    with engine.connect() as connection, _sqlite_foreign_keys_off(connection):
        config = alembic_config(connection)
        if _created_before_migrations(connection):
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, revision)
        _check_foreign_keys(connection)
        connection.commit()


@contextmanager
def _sqlite_foreign_keys_off(connection) -> Iterator[None]:
    """SQLite's ALTER TABLE rebuilds a table (copy, drop, rename); with foreign keys on,
    dropping a table that other rows point at fails, so migrations run with them off
    (set outside any transaction, as SQLite requires); `_check_foreign_keys` checks them before commit."""
    if connection.dialect.name != "sqlite":
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


def _check_foreign_keys(connection) -> None:
    if connection.dialect.name == "sqlite":
        problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"a migration left rows pointing at missing rows: {problems[:5]}")


def _created_before_migrations(connection) -> bool:
    """Databases made by the very first builds (tables, no alembic_version) hold schema 0001."""
    from alembic.runtime.migration import MigrationContext

    tables = set(inspect(connection).get_table_names())
    return "feed" in tables and MigrationContext.configure(connection).get_current_revision() is None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
