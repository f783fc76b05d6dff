"""The crash harness: the monitor killed with SIGKILL at random moments loses nothing and
repeats only what was in flight.

A pass (`run_pass` without Prefect) runs in a subprocess, forked from a warm process
(`tests/pass_runner.py --serve`, so kills land in passes, not in Python's start-up),
against local feeds, article pages, a webhook and an SMTP inbox. A clean pass is timed first;
then, again and again, the feeds gain a few items, a pass starts, and after a random
delay spanning a whole clean pass its process group (the pass and its extraction
workers) is killed with SIGKILL, unless it has finished. At least KILLS passes die.
Then a pass runs to completion, and the oracle (`tests.crash_support`) is checked:
every expected hit is stored exactly once, every expected alert arrived, an alert that
arrived twice is one whose delivery the relay found `sending` from a killed process and
logged as a possible redelivery (the kill fell between the receiver accepting it and
the outbox recording it), with at most one extra arrival per such log (two passes killed
in a row while sending it: three arrivals, two logs), never more of them per kill than
sends can be in flight, and
the SQLite file passes `PRAGMA integrity_check`.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from alerts.deliver import EMAIL_PARALLEL_SENDS
from store import delivery_counts, make_engine, open_database
from tests.conftest import fresh_postgres_database
from tests.crash_support import FEEDS, TITLE, ForkServer, Workload, received_alerts, stored_hit_urls

KILLS = {"sqlite": 50, "postgresql": 10}
IN_FLIGHT = 1 + EMAIL_PARALLEL_SENDS  # webhook one at a time, email a few at a time
REDELIVERY = re.compile(r"possible redelivery: .* to (\w+) .*\(ids ([\d, ]+)\)")


def run_clean(server: ForkServer, config_dir) -> float:
    started = time.monotonic()
    server.start(config_dir)
    assert server.wait() == 0
    return time.monotonic() - started


def delivery_items(database_url: str) -> dict[int, tuple[str, int]]:
    """delivery id -> (channel, item number), from the article titles."""
    engine = open_database(database_url)
    with engine.connect() as db:
        rows = db.execute(text("SELECT delivery.id, delivery.channel, article.title FROM delivery "
                               "JOIN hit ON hit.id = delivery.hit_id JOIN article ON article.id = hit.article_id"))
        found = {row[0]: (row[1], int(TITLE.search(row[2]).group(1))) for row in rows}
    engine.dispose()
    return found


@pytest.mark.slow
def test_monitor_killed_at_random_moments_loses_nothing_and_repeats_only_in_flight_alerts(
        database_url, site, webhook, smtp, tmp_path):
    harness_started = time.monotonic()
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    kills_wanted, rng = KILLS[backend], random.Random(20261129)
    workload = Workload(site, FEEDS * (3 * kills_wanted + 1))

    log_path = tmp_path / "passes.log"
    with open(log_path, "a") as log:
        server = ForkServer(log)
        try:
            record = kill_passes(
                server, workload, database_url, backend, kills_wanted, rng, webhook, smtp, tmp_path, log_path)
        finally:
            if server.process.poll() is None:
                server.process.kill()
                server.process.wait()

    # the oracle
    revealed = record.revealed
    assert sorted(stored_hit_urls(database_url)) == sorted(workload.expected_hit_urls(revealed))
    arrived = received_alerts(webhook, smtp)
    counts = Counter(arrived)
    expected = workload.expected_alerts(revealed)
    assert set(counts) == set(expected), "an alert is missing or unexpected"
    duplicates = {key: count - 1 for key, count in counts.items() if count > 1}
    items_of = delivery_items(database_url)
    logged = Counter(items_of[int(i)] for channel, ids in REDELIVERY.findall(log_path.read_text())
                     for i in ids.split(", "))
    assert set(duplicates) <= set(logged), f"arrived twice without a logged redelivery: {set(duplicates) - set(logged)}"
    # each killed relay that held the delivery can have sent it once: a delivery claimed by
    # the relays of two passes killed in a row may arrive three times, never more
    over = {key: extra for key, extra in duplicates.items() if extra > logged[key]}
    assert not over, f"arrived more often than its delivery was found claimed by a killed relay: {over}"
    per_kill = duplicates_per_kill(arrived, duplicates, record.received_at_kill)
    assert max(per_kill, default=0) <= IN_FLIGHT, per_kill
    engine = open_database(database_url)
    assert delivery_counts(engine) == {"sent": sum(expected.values())}
    if backend == "sqlite":
        with engine.connect() as db:
            assert db.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
    print(f"\ncrash harness ({backend}): {record.kills} kills ({dict(record.phases)}), {record.finished} passes "
          f"finished before their kill, clean pass {record.clean_seconds:.1f} s + {record.item_seconds:.2f} s per "
          f"further item, {revealed} items, {sum(expected.values())} alerts expected, "
          f"{sum(duplicates.values())} arrived twice (all logged; at most {max(per_kill, default=0)} per kill), "
          f"{len(logged)} deliveries logged as possible redeliveries, {time.monotonic() - harness_started:.0f} s")


@dataclass
class KillRecord:
    clean_seconds: float = 0.0  # a clean pass with FEEDS new items
    item_seconds: float = 0.0  # and each further new item
    kills: int = 0
    finished: int = 0
    revealed: int = 0
    received_at_kill: list[Counter] = field(default_factory=list)
    phases: Counter = field(default_factory=Counter)  # how far each killed pass had got

    def pass_seconds(self, new_items: int) -> float:
        return self.clean_seconds + max(new_items - FEEDS, 0) * self.item_seconds


def count_rows_where(engine, sql: str) -> int:
    try:
        with engine.connect() as db:
            return db.exec_driver_sql(sql).scalar()
    except (OperationalError, ProgrammingError):  # no tables yet
        return 0


def count_articles(engine) -> int:
    return count_rows_where(engine, "SELECT count(*) FROM article")


def kill_phase(engine, stored_before: int, arrived_before: int, arrived_after: int) -> str:
    """How far the killed pass had got, judged from what it left behind."""
    if arrived_after > arrived_before:
        return "alerts arriving"
    if count_rows_where(engine, "SELECT count(*) FROM delivery WHERE status = 'sending'"):
        return "alerts claimed"
    return "articles stored" if count_articles(engine) > stored_before else "before storing"


def time_clean_passes(server, workload, clean_url, webhook, smtp, tmp_path, record: KillRecord) -> None:
    """Clean passes on a database of their own: FEEDS new items, then 3 x FEEDS, to time a pass."""
    clean_dir = workload.config_dir(tmp_path / "clean", clean_url, webhook, smtp)
    workload.reveal(FEEDS)
    run_clean(server, clean_dir)
    workload.reveal(2 * FEEDS)
    record.clean_seconds = run_clean(server, clean_dir)
    workload.reveal(5 * FEEDS)
    record.item_seconds = max((run_clean(server, clean_dir) - record.clean_seconds) / (2 * FEEDS), 0.01)
    webhook.received.clear()
    smtp.inbox.messages.clear()


def kill_passes(server, workload, database_url, backend, kills_wanted, rng, webhook, smtp, tmp_path, log_path):
    """Time a clean pass, then start passes on growing feeds and kill most of them at a random
    moment of their expected run (a clean pass plus the backlog left by earlier kills)."""
    record = KillRecord()
    clean_db = nullcontext(f"sqlite:///{tmp_path / 'clean.db'}") if backend == "sqlite" else fresh_postgres_database()
    with clean_db as clean_url:
        time_clean_passes(server, workload, clean_url, webhook, smtp, tmp_path, record)
    config_dir = workload.config_dir(tmp_path / "c", database_url, webhook, smtp)
    engine = make_engine(database_url)
    while record.kills < kills_wanted and record.revealed < len(workload.items) - FEEDS:
        record.revealed += FEEDS
        workload.reveal(record.revealed)
        stored, arrived = count_articles(engine), len(received_alerts(webhook, smtp))
        pid = server.start(config_dir)
        code = server.wait(timeout=rng.uniform(0.0, 1.2 * record.pass_seconds(record.revealed - stored)))
        if code is not None:
            assert code == 0, log_path.read_text()[-3000:]
            record.finished += 1
            continue
        server.kill(pid)
        record.kills += 1
        record.received_at_kill.append(Counter(channel for channel, _ in received_alerts(webhook, smtp)))
        record.phases[kill_phase(engine, stored, arrived, len(received_alerts(webhook, smtp)))] += 1
    engine.dispose()
    assert record.kills >= kills_wanted, f"only {record.kills} passes were killed"

    for _ in range(2):  # to completion, then once more: nothing left to send
        server.start(config_dir)
        assert server.wait() == 0, log_path.read_text()[-3000:]
    server.close()
    assert log_path.read_text().rstrip().endswith('"alerts_sent": 0, "alerts_failed": 0}')
    return record


def duplicates_per_kill(arrived, duplicates, received_at_kill) -> list[int]:
    """How many of the repeated alerts first arrived during each killed pass (by arrival order)."""
    first_index, seen = {}, Counter()
    for key in arrived:
        seen[key[0]] += 1
        first_index.setdefault(key, seen[key[0]])
    per_kill = [0] * (len(received_at_kill) + 1)
    for key in duplicates:
        channel, index = key[0], first_index[key]
        kill = next((k for k, counts in enumerate(received_at_kill) if index <= counts[channel]), len(received_at_kill))
        per_kill[kill] += 1
    return per_kill
