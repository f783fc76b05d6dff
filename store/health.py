"""The monitor's own health, as rows: completed passes and the incidents the operator was told of.

`record_completed_pass` is what "the monitor works" means: a pass got through polling and
storing. An incident (`stalled`, `all_feeds_failed`, `feed_silent:<feed id>`) is one row per
key; `open_incident` and `close_incident` change it with a compare-and-set update and queue
the operator notice in that same transaction, so however many passes (or shards) see the
same condition, the operator hears of it once when it starts and once when it ends.
`item_histories` reads what a feed's silence is judged against: its items' times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, update
from sqlmodel import Session, select

from store.notices import queue_notice
from store.stories import in_chunks
from store.tables import Article, CompletedPass, Feed, Incident, Notice, as_utc, utcnow
from store.upsert import insert_ignore

KEEP_PASSES = timedelta(days=90)


@dataclass(frozen=True)
class PassRecord:
    shard: str
    started_at: datetime
    finished_at: datetime
    feeds_polled: int
    feeds_failed: int


@dataclass(frozen=True)
class IncidentView:
    key: str
    opened_at: datetime
    detail: str


@dataclass(frozen=True)
class IncidentNotice:
    """What the operator is told when an incident opens or closes."""

    kind: str
    subject: str
    body: str


def record_completed_pass(engine: Engine, record: PassRecord) -> None:
    """Add a completed pass; forget those older than KEEP_PASSES (only the newest is read)."""
    with Session(engine) as session:
        session.add(CompletedPass(shard=record.shard, started_at=record.started_at, finished_at=record.finished_at,
                                  feeds_polled=record.feeds_polled, feeds_failed=record.feeds_failed))
        session.execute(CompletedPass.__table__.delete().where(
            CompletedPass.finished_at < record.finished_at - KEEP_PASSES))
        session.commit()


def last_completed_pass(engine: Engine) -> PassRecord | None:
    with Session(engine) as session:
        row = session.exec(select(CompletedPass).order_by(CompletedPass.finished_at.desc()).limit(1)).first()
    if row is None:
        return None
    return PassRecord(row.shard, as_utc(row.started_at), as_utc(row.finished_at), row.feeds_polled, row.feeds_failed)


def open_incident(engine: Engine, key: str, notice: IncidentNotice | None, detail: str = "") -> bool:
    """Open the incident `key` unless it is open; True (and `notice` queued) only for the call that opened it."""
    with Session(engine) as session:
        insert_ignore(session, Incident.__table__, {"key": key, "is_open": False, "detail": ""})
        opened = session.execute(update(Incident).where(Incident.key == key, Incident.is_open.is_(False))
                                 .values(is_open=True, opened_at=utcnow(), closed_at=None, detail=detail)).rowcount
        if opened and notice is not None:
            queue_notice(session, notice.kind, notice.subject, notice.body)
        session.commit()
    return bool(opened)


def close_incident(engine: Engine, key: str, notice: IncidentNotice | None) -> bool:
    """Close the incident `key` if it is open; True (and `notice` queued) only for the call that closed it."""
    with Session(engine) as session:
        closed = session.execute(update(Incident).where(Incident.key == key, Incident.is_open.is_(True))
                                 .values(is_open=False, closed_at=utcnow())).rowcount
        if closed and notice is not None:
            queue_notice(session, notice.kind, notice.subject, notice.body)
        session.commit()
    return bool(closed)


def open_incidents(engine: Engine, prefix: str = "") -> list[IncidentView]:
    with Session(engine) as session:
        rows = session.exec(select(Incident).where(Incident.is_open.is_(True), Incident.key.startswith(prefix))
                            .order_by(Incident.opened_at))
        return [IncidentView(row.key, as_utc(row.opened_at), row.detail) for row in rows]


def last_item_at(engine: Engine, feed_ids: Sequence[int]) -> dict[int, datetime]:
    """When each feed last brought a new item (the newest stored article's fetch time).
    One index lookup per feed (ix_article_feed_fetched), not a scan of every article."""
    result: dict[int, datetime] = {}
    newest = (select(func.max(Article.fetched_at)).where(Article.feed_id == Feed.id)
              .correlate(Feed).scalar_subquery())
    with Session(engine) as session:
        for chunk in in_chunks(list(feed_ids)):
            rows = session.execute(select(Feed.id, newest).where(Feed.id.in_(chunk)))
            result.update({feed_id: as_utc(at) for feed_id, at in rows if at is not None})
    return result


def item_histories(engine: Engine, feed_ids: Sequence[int], items: int) -> dict[int, list[datetime]]:
    """For each feed, the times of its newest `items` items, oldest first (one query for
    all): when each was published, or when it was fetched if it has no date or claims a
    date after that (a feed's first poll fetches its whole backlog at once, so fetch times
    alone would show no gaps)."""
    histories: dict[int, list[datetime]] = {feed_id: [] for feed_id in feed_ids}
    with Session(engine) as session:
        for chunk in in_chunks(list(feed_ids)):
            newest = func.row_number().over(partition_by=Article.feed_id,
                                            order_by=(Article.fetched_at.desc(), Article.id.desc())).label("newest")
            ranked = (select(Article.feed_id, Article.published, Article.fetched_at, newest)
                      .where(Article.feed_id.in_(chunk)).subquery())
            rows = session.execute(select(ranked.c.feed_id, ranked.c.published, ranked.c.fetched_at)
                                   .where(ranked.c.newest <= items))
            for feed_id, published, fetched in rows:
                fetched = as_utc(fetched)
                histories[feed_id].append(min(as_utc(published), fetched) if published else fetched)
    return {feed_id: sorted(times) for feed_id, times in histories.items()}


@dataclass(frozen=True)
class FeedHealth:
    name: str
    url: str
    error_count: int
    last_error: str | None
    parked: bool
    last_ok_at: datetime | None


def feed_health(engine: Engine, urls: Sequence[str]) -> list[FeedHealth]:
    """How each of these feeds is doing (feeds never polled yet have no row)."""
    with Session(engine) as session:
        rows = [row for chunk in in_chunks(list(urls)) for row in session.exec(select(Feed).where(Feed.url.in_(chunk)))]
    return [FeedHealth(row.name, row.url, row.error_count,
                       f"{row.last_error_class}: {row.last_error}" if row.last_error_class else None,
                       row.parked, as_utc(row.last_ok_at)) for row in rows]


def notice_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(select(Notice.status, func.count()).group_by(Notice.status)).all()
    return {status: count for status, count in rows}
