"""Questions users ask of the history: which hits, of which rule, feed or story, when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, Select, and_, exists, func, or_
from sqlmodel import Session, select

from store.tables import Article, Delivery, EventDelivery, Feed, Hit, StoryMember
from store.views import HitView, add_context, hit_view_query, to_hit_view


def list_hits(
    engine: Engine,
    *,
    rule: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    feed: str | None = None,
    story: int | None = None,
    hit_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[HitView]:
    """Past hits, newest first: found in [since, until), of a rule, a feed (name or URL), a story."""
    query = hits_query(rule=rule, since=since, until=until, feed=feed, story=story, hit_ids=hit_ids, limit=limit)
    with Session(engine) as session:
        return add_context(session, [to_hit_view(*row) for row in session.execute(query)])


def hits_query(
    *,
    rule: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    feed: str | None = None,
    story: int | None = None,
    hit_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> Select:
    """The query `list_hits` runs (its plan uses ix_hit_rule_found_at for --rule and --since)."""
    query = hit_view_query()
    if rule is not None:
        query = query.where(Hit.rule == rule)
    if since is not None:
        query = query.where(Hit.found_at >= since)
    if until is not None:
        query = query.where(Hit.found_at < until)
    if feed is not None:
        query = query.where(or_(Feed.name == feed, Feed.url == feed))
    if story is not None:
        query = query.where(in_story(story))
    if hit_ids is not None:
        query = query.where(Hit.id.in_(list(hit_ids)))
    query = query.order_by(Hit.found_at.desc(), Hit.id.desc())
    if limit:
        query = query.limit(limit)
    return query


def in_story(story: int):
    """Articles filed under the story, and the story's own first article if it predates stories."""
    members = select(StoryMember.article_id).where(StoryMember.story_id == story)
    unfiled = ~exists().where(StoryMember.article_id == Article.id)
    return or_(Article.id.in_(members), and_(Article.id == story, unfiled))


def count_rows(engine: Engine) -> dict[str, int]:
    """How much is stored, for summaries and tests."""
    with Session(engine) as session:
        return {
            "articles": session.exec(select(func.count()).select_from(Article)).one(),
            "hits": session.exec(select(func.count()).select_from(Hit)).one(),
            "deliveries": session.exec(select(func.count()).select_from(Delivery)).one(),
        }


def delivery_counts(engine: Engine) -> dict[str, int]:
    """Outbox rows by status: hits' deliveries and those of rule events (spikes, story updates)."""
    counts: dict[str, int] = {}
    with Session(engine) as session:
        for table in (Delivery, EventDelivery):
            for status, count in session.exec(select(table.status, func.count()).group_by(table.status)).all():
                counts[status] = counts.get(status, 0) + count
    return counts
