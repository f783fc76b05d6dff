"""INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL: the "decided once" primitive."""

from __future__ import annotations

import functools

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def insert_ignore(session: Session, table, values: dict):
    """Insert a row unless a unique key already holds it; its id, or None when it existed."""
    return session.execute(_insert_ignore_statement(session.get_bind().dialect.name, table), values).scalar()


def insert_ignore_returning(session: Session, table, rows: list[dict], *columns) -> list:
    """Insert the rows no unique key already holds, in one statement (the rows must not
    repeat a key among themselves); `columns` of those inserted (a tuple each when several),
    in no set order."""
    if not rows:
        return []
    result = session.execute(_insert_ignore_statement(session.get_bind().dialect.name, table, columns), rows)
    return result.all() if len(columns) > 1 else result.scalars().all()


@functools.cache
def _insert_ignore_statement(dialect_name: str, table, columns: tuple = ()):
    """One statement per dialect, table and returned columns, values bound at execution:
    building and cache-keying a new statement for every row cost more than the insert itself."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing().returning(*(columns or (table.c.id,)))
