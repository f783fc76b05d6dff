"""Schema migrations with Alembic: the database is brought to the current schema on start.

`upgrade_database(engine)` is idempotent and safe to call from several processes, and
several threads, at once. `newswatch db upgrade` calls it explicitly; every command that opens the
database calls it too, so an upgraded newswatch never runs on an old schema.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, inspect

from store.dialect import check_foreign_keys, foreign_keys_off_for_migration

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
    with engine.connect() as connection, foreign_keys_off_for_migration(connection):
        config = alembic_config(connection)
        if _created_before_migrations(connection):
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, revision)
        check_foreign_keys(connection)
        connection.commit()


def _created_before_migrations(connection) -> bool:
    """Databases made by the very first builds (tables, no alembic_version) hold schema 0001."""
    from alembic.runtime.migration import MigrationContext

    tables = set(inspect(connection).get_table_names())
    return "feed" in tables and MigrationContext.configure(connection).get_current_revision() is None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
