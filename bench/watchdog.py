"""What the dead-man's switch adds to a pass: `check_before_pass` + `check_after_pass` on a
database of FEEDS feeds with ITEMS stored articles each (hourly items), every feed answering,
SILENT of them quiet long enough to be judged (their history is read), on SQLite.

    .venv/bin/python -m bench.watchdog [--feeds 1000] [--items 100] [--silent 50]

Prints the time of each check, averaged over a few passes, and per feed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

from config.models import Config, FeedConfig, Settings
from flows.watchdog import check_after_pass, check_before_pass
from store import open_database, sync_feeds
from store.tables import Article


def build(directory: Path, feeds: int, items: int, silent: int):
    engine = open_database(f"sqlite:///{directory / 'bench.db'}")
    configs = [FeedConfig(url=f"https://feed{n}.example.org/rss", name=f"Feed {n}") for n in range(feeds)]
    states = sync_feeds(engine, configs)
    now = datetime.now(timezone.utc)
    rows = []
    for index, state in enumerate(states):
        newest = now - (timedelta(hours=10) if index < silent else timedelta(minutes=5))
        for number in range(items):
            at = newest - timedelta(hours=number)
            rows.append({"feed_id": state.id, "entry_key": f"{state.id}-{number}", "url": f"{state.url}/{number}",
                         "title": "t", "text": "x", "published": at, "fetched_at": at})
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(Article), rows[start:start + 5000])
    config = Config(directory=str(directory), settings=replace(Settings()), feeds=tuple(configs), aliases={},
                    rules=(), channels={})
    return engine, config, states


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--silent", type=int, default=50)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine, config, states = build(Path(tmp), args.feeds, args.items, args.silent)
        polled = [(state, "not_modified") for state in states]
        before, after = [], []
        for _ in range(args.passes):
            started = datetime.now(timezone.utc)
            clock = time.perf_counter()
            check_before_pass(engine, config, started)
            before.append(time.perf_counter() - clock)
            clock = time.perf_counter()
            check_after_pass(engine, config, started, "0/1", polled)
            after.append(time.perf_counter() - clock)
        engine.dispose()
    print(f"{args.feeds} feeds x {args.items} articles ({args.silent} silent), {args.passes} passes, SQLite")
    print(f"check_before_pass: {sum(before) / len(before) * 1000:.1f} ms")
    print(f"check_after_pass:  {sum(after) / len(after) * 1000:.1f} ms "
          f"(first {after[0] * 1000:.1f} ms, {sum(after) / len(after) / args.feeds * 1e6:.0f} us per feed)")


if __name__ == "__main__":
    main()
