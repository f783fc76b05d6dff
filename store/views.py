"""Read-only views of stored hits, as plain data for the CLI, alerts and artifacts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Select
from sqlmodel import select

from store.tables import Article, Feed, Hit, as_utc


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

    def to_json(self) -> dict:
        """The `newswatch hits --json` object (keys are a public contract: extend, never rename)."""
        data = asdict(self)
        data["published"] = iso_utc(self.published)
        data["found_at"] = iso_utc(self.found_at)
        data["terms"], data["fields"] = list(self.terms), list(self.fields)
        data["marks"] = [list(m) for m in self.marks]
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
        language=article.language,
        flagged=article.flagged,
    )
