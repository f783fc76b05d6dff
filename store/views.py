"""Read-only views of stored hits, as plain data for the CLI, alerts and artifacts.

`to_hit_view` builds a view from one row; `add_context` fills in what needs other rows:
the hit's story, the other outlets that reported it, and where its alerts stand (each
channel's delivery status, and the one `alert` state decided by `store.alertstate`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from sqlalchemy import Select
from sqlmodel import Session, select

from store.alertstate import AlertState, ChannelDelivery, decide_alert_state
from store.labels import labels_of
from store.stories import StoryCopy, in_chunks, others, story_copies, story_ids
from store.tables import Article, Delivery, Feed, Hit, StoryAlert, as_utc


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
    imported: bool = False  # found in an archive loaded by `newswatch import`
    language_source: str | None = None  # how `language` was decided (extractors.language)
    alert: AlertState | None = None  # where the alert stands (filled in by add_context)
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
        data["alert"] = self.alert.to_json() if self.alert else None
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
        imported=hit.imported,
        language=article.language,
        language_source=article.language_source,
        flagged=article.flagged,
        article_id=article.id,
    )


def add_context(session: Session, views: Sequence[HitView]) -> list[HitView]:
    """The views with their story, the other outlets in it, each channel's delivery status,
    the hit's alert state and the analyst's label."""
    stories = story_ids(session, [view.article_id for view in views])
    copies = story_copies(session, stories.values())
    outbox = delivery_rows(session, [view.hit_id for view in views])
    claims = story_claims(session, stories.values())
    labels = labels_of(session, [(view.rule, view.article_id) for view in views])
    return [
        replace(view, story_id=stories[view.article_id],
                also_reported_by=others(copies.get(stories[view.article_id], []), view.article_id, view.feed),
                deliveries={d.channel: d.status for d in outbox.get(view.hit_id, [])},
                alert=decide_alert_state(outbox.get(view.hit_id, []), hit_id=view.hit_id, baseline=view.baseline,
                                         backfilled=view.backfilled, imported=view.imported,
                                         story_claimed_by=claims.get((view.rule, stories[view.article_id]))),
                label=label_name(labels.get((view.rule, view.article_id))))
        for view in views
    ]


def delivery_rows(session: Session, hit_ids: Sequence[int]) -> dict[int, list[ChannelDelivery]]:
    """hit id -> its outbox rows, by channel name."""
    rows: dict[int, list[ChannelDelivery]] = {}
    for chunk in in_chunks(list(hit_ids)):
        for delivery in session.execute(select(Delivery).where(Delivery.hit_id.in_(chunk))
                                        .order_by(Delivery.channel)).scalars():
            rows.setdefault(delivery.hit_id, []).append(ChannelDelivery(
                delivery.channel, delivery.status, delivery.attempts, delivery.sent_at, delivery.last_error,
                delivery.next_attempt_at, delivery.created_at))
    return rows


def story_claims(session: Session, stories) -> dict[tuple[str, int], int]:
    """(rule, story id) -> the hit that claimed the story for the rule (the one that alerts it)."""
    claims: dict[tuple[str, int], int] = {}
    for chunk in in_chunks(list(set(stories))):
        claims.update({(rule, story): hit_id for rule, story, hit_id in session.execute(
            select(StoryAlert.rule, StoryAlert.story_id, StoryAlert.hit_id).where(StoryAlert.story_id.in_(chunk)))})
    return claims


def story_alert_text(hits: Sequence[HitView]) -> str:
    """Where a story's alert stands, for lists that show a rule's story once (copies folded
    in): the state of the hit that holds it (the one queued for alerts, else the first), and
    how many copies were grouped with it rather than alerted again."""
    ordered = sorted(hits, key=lambda hit: hit.hit_id)
    holder = next((hit for hit in ordered if hit.alert and hit.alert.state != "not_alerted"), ordered[0])
    copies = sum(1 for hit in ordered if hit.alert and hit.alert.reason == "grouped")
    text = holder.alert.describe() if holder.alert else "unknown"
    if copies and holder.alert and holder.alert.reason != "grouped":
        text += f"; {copies} cop{'y' if copies == 1 else 'ies'} grouped with it, not alerted again"
    return text


def label_name(relevant: bool | None) -> str | None:
    return None if relevant is None else ("relevant" if relevant else "irrelevant")
