"""Read-only views of stored hits, as plain data for the CLI, alerts and artifacts.

`to_hit_view` builds a view from one row; `add_context` fills in what needs other rows:
the hit's story, the other outlets that reported it, and where its alerts stand.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from sqlalchemy import Select
from sqlmodel import Session, select

from store.labels import labels_of
from store.stories import StoryCopy, others, story_copies, story_ids
from store.tables import Article, Delivery, Feed, Hit, as_utc


@dataclass(frozen=True)
class HitView:
    hit_id: int
    rule: str
    rule_hash: str
    url: str
    title: str
    feed: str
    feed_url: str
    published: datetime | None
    found_at: datetime
    terms: tuple[str, ...]
    fields: tuple[str, ...]
    snippet: str
    marks: tuple[tuple[int, int], ...]
    baseline: bool
    language: str | None
    flagged: str | None
    article_id: int | None = None
    story_id: int | None = None
    also_reported_by: tuple[StoryCopy, ...] = ()
    deliveries: dict[str, str] = field(default_factory=dict)  # channel -> pending | sent | summarized | dead
    backfilled: bool = False  # found by `newswatch backfill` among stored articles
    label: str | None = None  # the analyst's label for (rule, article): relevant | irrelevant

    def to_json(self) -> dict:
        """The `newswatch hits --json` object (keys are a public contract: extend, never rename)."""
        data = asdict(self)
        data["published"] = iso_utc(self.published)
        data["found_at"] = iso_utc(self.found_at)
        data["terms"], data["fields"] = list(self.terms), list(self.fields)
        data["marks"] = [list(m) for m in self.marks]
        data["story"] = data.pop("story_id")
        data["also_reported_by"] = [{"feed": c.feed, "url": c.url, "title": c.title} for c in self.also_reported_by]
        data["id"] = self.hit_id  # what `newswatch label` takes as a target
        return data


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, whatever the backend handed back."""
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


def hit_view_query() -> Select:
    return select(Hit, Article, Feed).join(Article, Hit.article_id == Article.id).join(Feed, Article.feed_id == Feed.id)


def to_hit_view(hit: Hit, article: Article, feed: Feed) -> HitView:
    return HitView(
        hit_id=hit.id,
        rule=hit.rule,
        rule_hash=hit.rule_hash,
        url=article.url,
        title=article.title,
        feed=feed.name,
        feed_url=feed.url,
        published=as_utc(article.published),
        found_at=as_utc(hit.found_at),
        terms=tuple(json.loads(hit.terms)),
        fields=tuple(json.loads(hit.fields)),
        snippet=hit.snippet,
        marks=tuple(tuple(m) for m in json.loads(hit.marks)),
        baseline=hit.baseline,
        backfilled=hit.backfilled,
        language=article.language,
        flagged=article.flagged,
        article_id=article.id,
    )


def add_context(session: Session, views: Sequence[HitView]) -> list[HitView]:
    """The views with their story, the other outlets in it, each channel's delivery status and the label."""
    stories = story_ids(session, [view.article_id for view in views])
    copies = story_copies(session, stories.values())
    statuses: dict[int, dict[str, str]] = {}
    hit_ids = [view.hit_id for view in views]
    for start in range(0, len(hit_ids), 500):
        rows = session.execute(select(Delivery.hit_id, Delivery.channel, Delivery.status)
                               .where(Delivery.hit_id.in_(hit_ids[start:start + 500])))
        for hit_id, channel, status in rows:
            statuses.setdefault(hit_id, {})[channel] = status
    labels = labels_of(session, [(view.rule, view.article_id) for view in views])
    return [
        replace(view, story_id=stories[view.article_id],
                also_reported_by=others(copies.get(stories[view.article_id], []), view.article_id, view.feed),
                deliveries=statuses.get(view.hit_id, {}),
                label=label_name(labels.get((view.rule, view.article_id))))
        for view in views
    ]


def label_name(relevant: bool | None) -> str | None:
    return None if relevant is None else ("relevant" if relevant else "irrelevant")
