"""Alembic environment: migrate the engine handed over by `store.migrate`, in one transaction.

On PostgreSQL an advisory lock makes two workers starting at once migrate one after
the other; on SQLite the engine's BEGIN IMMEDIATE does the same.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from store import tables  # noqa: F401  (registers the tables)
from store.dialect import is_sqlite, lock_transaction

MIGRATION_LOCK = 7_460_013  # any constant shared by all newswatch processes


def run_migrations() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=is_sqlite(connection),
        compare_type=True,
    )
    with context.begin_transaction():
        lock_transaction(connection, MIGRATION_LOCK)
        context.run_migrations()


run_migrations()
