"""Feed rows and feed health: what was polled, what failed, who is parked.

A feed that fails `PARK_AFTER` times in a row is parked: polled on a slow cadence
instead of every run, and shown as parked in every run summary, so a dead feed is
never silent. One success resets it. Parking and recovery each queue one operator
notice in the same transaction (never one per failed poll).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine, bindparam, update
from sqlmodel import Session, select

from config.models import FeedConfig
from store.notices import queue_notice
from store.stories import in_chunks
from store.tables import Feed, as_utc, utcnow
from store.text import clean_text
from store.upsert import insert_ignore, insert_ignore_returning

PARK_AFTER = 3
PARKED_RETRY = timedelta(hours=6)


@dataclass(frozen=True)
class FeedState:
    id: int
    url: str
    name: str
    etag: str | None
    last_modified: str | None
    baseline_done: bool
    error_count: int
    last_error_class: str | None
    parked: bool
    next_poll_at: datetime | None

    def due(self, now: datetime) -> bool:
        return self.next_poll_at is None or self.next_poll_at <= now


@dataclass(frozen=True)
class HealthChange:
    """What a poll changed in a feed's health; `parked_now`/`recovered` trigger one notice each."""

    error_count: int
    parked_now: bool = False
    recovered: bool = False
    next_poll_at: datetime | None = None  # after an error: when it is tried again (None: next pass)


def sync_feeds(engine: Engine, feeds: Iterable[FeedConfig]) -> list[FeedState]:
    """Insert feeds new to the config, refresh names; return the state of each configured feed.

    New feeds are inserted with ON CONFLICT DO NOTHING, so two runs starting at once on a
    new PostgreSQL database both go on (SQLite's BEGIN IMMEDIATE serialises them anyway)."""
    feeds = list(feeds)
    urls = [f.url for f in feeds]
    with Session(engine) as session:
        # in chunks: PostgreSQL takes at most 65,535 parameters in a statement (100,000 feeds)
        known = {url for chunk in in_chunks(urls, 5000)
                 for url in session.exec(select(Feed.url).where(Feed.url.in_(chunk)))}
        new: dict[str, dict] = {}
        for feed in feeds:
            if feed.url not in known:
                new.setdefault(feed.url, {"url": feed.url, "name": feed.name, "baseline_done": False,
                                          "error_count": 0, "parked": False, "created_at": utcnow()})
        for chunk in in_chunks(list(new.values()), 1000):  # one statement per 1,000 new feeds, not one per feed
            insert_ignore_returning(session, Feed.__table__, chunk, Feed.__table__.c.id)
        # rows, not ORM objects: the pass only reads these values, and an ORM object per feed
        # (identity map, change tracking) would be built for nothing on every pass
        rows = {row.url: row for chunk in in_chunks(urls, 5000) for row in session.execute(
            select(Feed.__table__).where(Feed.url.in_(chunk)))}
        for feed in feeds:
            if rows[feed.url].name != feed.name:
                session.execute(update(Feed).where(Feed.id == rows[feed.url].id).values(name=feed.name))
        session.commit()
        return [replace(_state(rows[feed.url]), name=feed.name) for feed in feeds]


def _state(row) -> FeedState:
    return FeedState(
        id=row.id, url=row.url, name=row.name, etag=row.etag, last_modified=row.last_modified,
        baseline_done=row.baseline_done, error_count=row.error_count, last_error_class=row.last_error_class,
        parked=row.parked, next_poll_at=as_utc(row.next_poll_at),
    )


@dataclass(frozen=True)
class FeedSuccess:
    """A feed polled fine: its new validators and when to poll it next."""

    feed_id: int
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime | None


def record_feed_success(
    engine: Engine, feed_id: int, *, etag: str | None, last_modified: str | None, next_poll_at: datetime | None
) -> HealthChange:
    """Save validators (only call this after the feed's new entries are stored) and reset health."""
    return record_feed_successes(engine, [FeedSuccess(feed_id, etag, last_modified, next_poll_at)])[0]


def record_feed_successes(engine: Engine, successes: Sequence[FeedSuccess]) -> list[HealthChange]:
    """`record_feed_success` for many feeds in one transaction (a quiet pass: one commit).

    One UPDATE statement run for every feed (executemany), not an ORM object per feed: at
    10,000 feeds loading and flushing the objects was the longest step after the polls."""
    if not successes:
        return []
    table = Feed.__table__
    with Session(engine) as session:
        ids = [success.feed_id for success in successes]
        parked = {row.id: row for chunk in in_chunks(ids) for row in session.execute(
            select(table.c.id, table.c.name, table.c.url).where(table.c.id.in_(chunk), table.c.parked))}
        now = utcnow()
        session.execute(update(table).where(table.c.id == bindparam("feed_id")), [
            _success_values(success, now) for success in successes])
        for row in parked.values():
            queue_notice(session, "feed_recovered", f"feed recovered: {row.name}",
                         f"The feed {row.name} ({row.url}) answers again and is polled on its normal schedule.")
        session.commit()
    return [HealthChange(error_count=0, recovered=success.feed_id in parked) for success in successes]


def _success_values(success: FeedSuccess, now: datetime) -> dict:
    """A feed polled fine: new validators, health reset, polled and ok now."""
    return {"feed_id": success.feed_id, "etag": clean_text(success.etag, 500),
            "last_modified": clean_text(success.last_modified, 200), "baseline_done": True, "error_count": 0,
            "last_error_class": None, "last_error": None, "parked": False, "last_polled_at": now,
            "last_ok_at": now, "next_poll_at": success.next_poll_at}


# Errors that are the user's fetch settings, not the feed's doing (a loopback or private address
# that fetch.allowed_networks does not cover): never a reason to park the feed, which would
# then wait 6 h after the settings are fixed.
SETTINGS_ERRORS = frozenset({"ssrf_blocked"})


def record_feed_error(
    engine: Engine, feed_id: int, error_class: str, message: str, *, retry_at: datetime | None = None
) -> HealthChange:
    """Count a failed poll; park the feed at PARK_AFTER consecutive errors (not for SETTINGS_ERRORS)."""
    with Session(engine) as session:
        row = session.get(Feed, feed_id)
        now = utcnow()
        row.error_count += 1
        row.last_error_class, row.last_error = error_class, clean_text(message, 1000)
        row.last_polled_at = now
        parked_now = not row.parked and row.error_count >= PARK_AFTER and error_class not in SETTINGS_ERRORS
        row.parked = row.parked or parked_now
        if row.parked:
            retry_at = max(retry_at or now, now + PARKED_RETRY)
        row.next_poll_at = retry_at
        session.add(row)
        if parked_now:
            queue_notice(session, "feed_parked", f"feed parked: {row.name}", _parked_text(row))
        session.commit()
        return HealthChange(error_count=row.error_count, parked_now=parked_now, next_poll_at=as_utc(retry_at))


def _parked_text(row: Feed) -> str:
    hours = PARKED_RETRY.total_seconds() / 3600
    return (f"The feed {row.name} ({row.url}) failed {row.error_count} times in a row "
            f"(last error: {row.last_error_class}: {row.last_error}). It is parked: polled every "
            f"{hours:g} hours until it answers again. You will get one notice when it recovers.")


ARCHIVE_SCHEME = "import:"


def archive_feed_ids(engine: Engine, names: Iterable[str]) -> dict[str, int]:
    """The feed row of each outlet named in an imported archive, created when missing.

    Every name gets a row of its own under `import:NAME`, never polled (a pass polls only the
    feeds of feeds.yaml), so `hits --feed NAME` finds its articles. It is never a configured
    feed's row, even under the same name: the health of a polled feed (parking, silence) is
    judged by what the feed itself brings, and an import is not the feed publishing."""
    urls = {name: ARCHIVE_SCHEME + name[:1900] for name in dict.fromkeys(names)}
    with Session(engine) as session:
        for name, url in urls.items():
            insert_ignore(session, Feed.__table__, {"url": url, "name": name, "baseline_done": True,
                                                    "error_count": 0, "parked": False, "created_at": utcnow()})
        ids = dict(session.execute(select(Feed.url, Feed.id).where(Feed.url.in_(list(urls.values())))).all())
        session.commit()
    return {name: ids[url] for name, url in urls.items()}
