"""INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL: the "decided once" primitive."""

from __future__ import annotations

from sqlmodel import Session

from store.dialect import insert_ignore_statement


def insert_ignore(session: Session, table, values: dict):
    """Insert a row unless a unique key already holds it; its id, or None when it existed."""
    return session.execute(insert_ignore_statement(session.get_bind().dialect.name, table), values).scalar()


def insert_ignore_returning(session: Session, table, rows: list[dict], *columns) -> list:
    """Insert the rows no unique key already holds, in one statement (the rows must not
    repeat a key among themselves); `columns` of those inserted (a tuple each when several),
    in no set order."""
    if not rows:
        return []
    result = session.execute(insert_ignore_statement(session.get_bind().dialect.name, table, columns), rows)
    return result.all() if len(columns) > 1 else result.scalars().all()
