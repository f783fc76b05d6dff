"""A batch's rows written, and its many values looked up, in a few short statements.

On SQLite (in-process, no round trips) the batch goes through SQLAlchemy's statements and
the driver's executemany as before. On PostgreSQL those cost the storing process more
than the server: a multi-row INSERT of 1,000 articles binds 11,000 parameters into one
statement that psycopg re-parses on every execution (it caches only short ones), and an
executemany is one statement per row. So on PostgreSQL:

- `insert_rows` reserves the new rows' ids from the table's sequence in one query (the
  same ids, in the same order, an INSERT ... RETURNING would give), then writes the rows
  with COPY (psycopg's public `cursor.copy`), values converted by each column's own type
  (compressed text, UTC timestamps) exactly as SQLAlchemy converts them;
- `copy_rows` writes plain tuples with COPY;
- `values_table` hands many values to a query as arrays (`unnest`): one parameter a
  column, whatever the batch's size, so the statement is short, parsed once and cached.

All of it inside the caller's transaction: nothing is committed here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Table, insert
from sqlmodel import Session

from store.dialect import is_sqlite, placeholder


def insert_rows(session: Session, table: Table, rows: list[dict], *, return_ids: bool = False) -> list[int]:
    """Insert the rows (dicts with the same keys, values as the model holds them); with
    `return_ids`, the new rows' ids in the order of `rows`."""
    if not rows:
        return []
    connection = session.connection()
    if is_sqlite(connection):
        result = session.execute(insert_statement(table, return_ids), rows)
        return list(result.scalars()) if return_ids else []
    names = list(rows[0])
    convert = [bind_converter(connection, table, name) for name in names]
    values = [tuple(value if to_db is None else to_db(value) for to_db, value in zip(convert, row.values()))
              for row in rows]
    if not return_ids:
        copy_rows(connection, table.name, names, values)
        return []
    ids = reserve_ids(connection, table, len(rows))
    copy_rows(connection, table.name, ["id", *names], [(new_id, *row) for new_id, row in zip(ids, values)])
    return ids


@functools.cache
def insert_statement(table: Table, return_ids: bool):
    """Built once per table: a statement built per batch is compiled and cache-keyed per batch."""
    statement = insert(table)
    return statement.returning(table.c.id, sort_by_parameter_order=True) if return_ids else statement


def bind_converter(connection: Connection, table: Table, name: str):
    """What SQLAlchemy does to a value of this column before the driver sees it (or None)."""
    return table.c[name].type.bind_processor(connection.dialect)


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """`count` new ids from the table's own sequence (PostgreSQL), ascending, as the rows
    inserted now would get them: a racing writer gets other ids, never these."""
    rows = connection.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (table.name, count))
    return sorted(row[0] for row in rows)


def copy_rows(connection: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Write the rows (values ready for the driver) into `columns` of `table`: COPY on
    PostgreSQL, the driver's executemany on SQLite."""
    if is_sqlite(connection):
        marks = ", ".join([placeholder(connection)] * len(columns))
        connection.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", list(rows))
        return
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def values_table(connection: Connection, name: str, columns: Sequence[tuple[str, str]],
                 rows: Sequence[tuple]) -> tuple[str, tuple]:
    """SQL for a common table expression `name(columns...)` holding `rows`, and its
    parameters. `columns` are (name, PostgreSQL array type) pairs. PostgreSQL: one array
    parameter per column (`unnest`); SQLite: a VALUES list, a parameter per value."""
    heading = f"{name}({', '.join(column for column, _ in columns)})"
    if is_sqlite(connection):
        mark = placeholder(connection)
        row = f"({', '.join([mark] * len(columns))})"
        return f"{heading} AS (VALUES {', '.join([row] * len(rows))})", tuple(value for r in rows for value in r)
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
    return f"{heading} AS (SELECT * FROM unnest({arrays}))", tuple(
        integer_array(column) if kind in INTEGER_TYPES else list(column)
        for (_, kind), column in zip(columns, transpose(rows, len(columns))))


INTEGER_TYPES = ("bigint", "integer")


def transpose(rows: Sequence[tuple], width: int) -> list[list]:
    """The rows' columns (zip(*rows) unpacks a batch's 64,000 band rows as arguments: 15x slower)."""
    return [[row[index] for row in rows] for index in range(width)]


def integer_array(values: Iterable[int]) -> str:
    """An integer array as PostgreSQL's literal ('{1,2,3}'), cast by the query: psycopg
    dumps a list element by element in Python, ten times slower for a batch's bands."""
    return "{" + ",".join(map(str, map(int, values))) + "}"
