"""Does an import slow down as history grows? Import N articles, then time the next M.

Generates N + M articles exactly as `bench/history.py` does (same texts, outlets, dates),
imports the first N through the CLI into a new database (SQLite, or a new database on a
PostgreSQL server you own), then imports the next M and prints, for those M only: the wall
rate and the CPU per article of the import's processes (the storing process and its
workers) and, on PostgreSQL, of the server's processes (the postmaster's own and its
children's, exited ones included). Comparing `--history 0` with `--history 200000` shows
what a stored article costs more as the history it is stored into grows, in minutes instead
of the million's half hour.

    python bench/import_growth.py [--history 200000] [--articles 20000] [--backend sqlite|postgres]
                                  [--postgres-url URL] [--keep DIR]

`--keep DIR` keeps the archives and the history (SQLite: DIR/history-N.db; PostgreSQL: the
database nw_growth_N) and each later run with the same DIR and N times the M articles into a
fresh copy of it: a change is compared against the same history in a minute. On PostgreSQL
the server's time per statement is printed too when it loads pg_stat_statements
(`shared_preload_libraries`).

PostgreSQL: --postgres-url or $NEWSWATCH_TEST_POSTGRES_URL (`source .ci/postgres.sh;
start_test_postgres` starts a throwaway server, which this must be able to see in /proc
for the server's CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.history import database_bytes, write_archive, write_config  # noqa: E402
from bench.import_speed import source_texts  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=200_000, help="articles stored first")
    parser.add_argument("--articles", type=int, default=20_000, help="articles then timed")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("NEWSWATCH_TEST_POSTGRES_URL"))
    parser.add_argument("--keep", type=Path, help="keep the archives and the history (SQLite: DIR/history.db; "
                        "PostgreSQL: the database nw_growth_<history>) there; a later run with the same "
                        "--keep and --history times the import into a copy of it, skipping the history's")
    args = parser.parse_args()
    if args.backend == "postgres" and not args.postgres_url:
        sys.exit("PostgreSQL: pass --postgres-url or set NEWSWATCH_TEST_POSTGRES_URL")
    work = args.keep or Path(tempfile.mkdtemp(prefix="nw-import-growth-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        texts = source_texts()
        history, timed = work / f"history-{args.history}.jsonl", work / f"timed-{args.history}-{args.articles}.jsonl"
        if not (history.exists() and timed.exists()):
            everything = work / "all.jsonl"
            write_archive(everything, args.history + args.articles, texts)
            split_archive(everything, args.history, history, timed)
            everything.unlink()
        with history_database(args, work) as (url, stored):
            config = write_config(work / f"config-{uuid.uuid4().hex[:6]}", url, texts)
            subprocess.run([sys.executable, "-m", "newswatch", "db", "upgrade", "--config", str(config)],
                           check=True, capture_output=True, cwd=REPO)
            if not stored and args.history:
                started = time.perf_counter()
                summary = import_file(config, history)
                print(f"history: {summary['stored']:,} articles stored in {time.perf_counter() - started:.1f} s")
        with timed_database(args, work) as url:
            config = write_config(work / f"config-{uuid.uuid4().hex[:6]}", url, texts)
            measure(url, config, timed, args.history)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


@contextmanager
def history_database(args, work: Path):
    """(URL, whether it holds the history already) of the database the history goes into."""
    if args.backend == "sqlite":
        path = work / f"history-{args.history}.db"
        yield f"sqlite:///{path}", path.exists() and bool(args.keep)
        return
    name = f"nw_growth_{args.history}"
    exists = bool(admin(args.postgres_url, "SELECT 1 FROM pg_database WHERE datname = %s", (name,)))
    if not exists:
        admin(args.postgres_url, f'CREATE DATABASE "{name}"')
    yield database_url(args.postgres_url, name), exists


@contextmanager
def timed_database(args, work: Path):
    """A copy of the history's database (the history dropped after it, unless kept)."""
    if args.backend == "sqlite":
        source, copy = work / f"history-{args.history}.db", work / "timed.db"
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{copy}{suffix}")
        try:
            yield f"sqlite:///{copy}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{copy}{suffix}").unlink(missing_ok=True)
        return
    name, copy = f"nw_growth_{args.history}", f"nw_growth_timed_{uuid.uuid4().hex[:6]}"
    admin(args.postgres_url, f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    try:
        yield database_url(args.postgres_url, copy)
    finally:
        admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        if not args.keep:
            admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def admin(url: str, sql: str, params: tuple = ()) -> list:
    import psycopg

    with psycopg.connect(plain_url(url), autocommit=True) as connection:
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def database_url(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def split_archive(source: Path, first: int, head: Path, tail: Path) -> None:
    with source.open("rb") as lines, head.open("wb") as out:
        out.writelines(islice(lines, first))
        with tail.open("wb") as rest:
            rest.writelines(lines)


def measure(url: str, config: Path, timed: Path, stored: int) -> None:
    """Import the timed articles and print what they cost."""
    server = None if url.startswith("sqlite") else postmaster_pid(url)
    statements = server is not None and reset_statement_stats(url)
    before, server_before = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu(server)
    started = time.perf_counter()
    summary = import_file(config, timed)
    elapsed = time.perf_counter() - started
    after, server_after = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu(server)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    count = summary["stored"] or 1
    print(f"after {stored:,} stored: {summary['stored']:,} more in {elapsed:.1f} s = {count / elapsed:,.0f} "
          f"articles/s (load average {os.getloadavg()[0]:.1f}); {summary['hits']:,} hits")
    print(f"  import processes' CPU {cpu / count * 1000:.3f} ms per article (the storing process "
          f"{summary['storing_cpu'] / count * 1000:.3f} ms, the rest its workers)")
    if server is not None:
        spent = server_after - server_before
        print(f"  PostgreSQL server CPU {spent / count * 1000:.3f} ms per article; "
              f"together {(cpu + spent) / count * 1000:.3f} ms")
    print(f"  database {database_bytes(url) / 1e6:,.1f} MB")
    if statements:
        print_statement_stats(url, count)


def plain_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def reset_statement_stats(url: str) -> bool:
    """Start pg_stat_statements' counts afresh, when the server loads it (else False)."""
    import psycopg

    try:
        with psycopg.connect(plain_url(url), autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            connection.execute("SELECT pg_stat_statements_reset()")
        return True
    except psycopg.Error:
        return False


def print_statement_stats(url: str, count: int) -> None:
    """The server's time per stored article in each of the statements that took most of it."""
    import psycopg

    with psycopg.connect(plain_url(url), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT total_exec_time, calls, rows, query FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY total_exec_time DESC LIMIT 12").fetchall()
    print("  server time per article, by statement (pg_stat_statements):")
    for total, calls, returned, query in rows:
        print(f"    {total / count * 1000:8.1f} µs  {calls:>6} calls {returned:>9} rows  "
              f"{' '.join(query.split())[:150]}")


def import_file(config: Path, path: Path) -> dict:
    """Run the import; its JSON summary, with the storing process's own CPU seconds (its
    workers' not counted) as `storing_cpu`, read from /proc while it runs."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([sys.executable, "-m", "newswatch", "import", "--config", str(config), "--json",
                                    str(path)], stdout=out, stderr=err, text=True, cwd=REPO)
        storing = 0
        while process.poll() is None:
            try:
                storing = process_ticks(process.pid)
            except (OSError, IndexError, ValueError):
                pass
            time.sleep(0.2)
        out.seek(0)
        err.seek(0)
        if process.returncode:
            sys.exit(f"import failed ({process.returncode}): {err.read()[-2000:]}")
        return {**json.loads(out.read()), "storing_cpu": storing / TICKS}


def postmaster_pid(url: str) -> int | None:
    """The server's postmaster, from its data directory (None when it cannot be read here)."""
    import psycopg

    try:
        with psycopg.connect(plain_url(url), autocommit=True) as connection:
            directory = connection.execute("SHOW data_directory").fetchone()[0]
        return int((Path(directory) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, psycopg.Error):
        return None


def server_cpu(postmaster: int | None) -> float:
    """CPU seconds of the postmaster, its live children and its exited (reaped) children."""
    if postmaster is None:
        return 0.0
    total = process_ticks(postmaster, with_reaped=True)
    for child in Path("/proc").glob("[0-9]*"):
        try:
            fields = (child / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def process_ticks(pid: int, *, with_reaped: bool = False) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks + (int(fields[13]) + int(fields[14]) if with_reaped else 0)  # cutime, cstime


if __name__ == "__main__":
    main()
