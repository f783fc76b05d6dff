"""INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL: the "decided once" primitive."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def insert_ignore(session: Session, table, values: dict):
    """Insert a row unless a unique key already holds it; its id, or None when it existed."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    return session.execute(statement).scalar()
