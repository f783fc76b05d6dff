"""Schema migrations with Alembic: the database is brought to the current schema on start.

`upgrade_database(engine)` is idempotent and safe to call from several processes at
once. `newswatch db upgrade` calls it explicitly; every command that opens the
database calls it too, so an upgraded newswatch never runs on an old schema.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection=None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), revision)
        connection.commit()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
