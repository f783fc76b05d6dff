"""The stored history as the rules saw it, read back for `rules preview` and `backfill`.

Read-only. `iter_stored_articles` yields every stored article's clean title and text,
language and feed URL (what `RuleSet.match` needs), paging by id in short transactions,
so a long preview never holds a lock a running pass waits for. `stored_hits` lists the
hits of the same articles with the content hash of the rule version that found each;
`rule_versions` counts every rule name's hits per version, all time.
`describe_articles` turns article ids into what a person reads: title, URL, feed, date.

`since` always means the same articles: published at or after it (stored at or after
it when the feed gave no date).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from store.stories import in_chunks
from store.tables import Article, Feed, Hit, as_utc

PAGE = 500


@dataclass(frozen=True)
class StoredArticle:
    """An article as stored: what a rule matches, and the feed whose tags route it."""

    article_id: int
    feed_url: str
    title: str
    text: str
    language: str | None


@dataclass(frozen=True)
class StoredHit:
    """A stored hit and the version (content hash) of the rule that found it."""

    hit_id: int
    rule: str
    rule_hash: str
    article_id: int
    baseline: bool
    backfilled: bool


@dataclass(frozen=True)
class ArticleRef:
    """An article as a person reads it in a list."""

    article_id: int
    url: str
    title: str
    feed: str
    published: datetime | None


def article_date():
    """The date `since` compares: publication, or storage when the feed gave none."""
    return func.coalesce(Article.published, Article.fetched_at, type_=Article.__table__.c.published.type)


def iter_stored_articles(engine: Engine, since: datetime | None = None) -> Iterator[StoredArticle]:
    """Every stored article (published since `since`), oldest id first, PAGE at a time."""
    after = 0
    while True:
        query = (select(Article.id, Feed.url, Article.title, Article.text, Article.language)
                 .join(Feed, Feed.id == Article.feed_id).where(Article.id > after)
                 .order_by(Article.id).limit(PAGE))
        if since is not None:
            query = query.where(article_date() >= since)
        with Session(engine) as session:
            rows = session.execute(query).all()
        yield from (StoredArticle(*row) for row in rows)
        if len(rows) < PAGE:
            return
        after = rows[-1][0]


def count_stored_articles(engine: Engine, since: datetime | None = None) -> int:
    """How many articles `iter_stored_articles` yields (for a progress bar)."""
    query = select(func.count()).select_from(Article)
    if since is not None:
        query = query.where(article_date() >= since)
    with Session(engine) as session:
        return session.execute(query).scalar_one()


def stored_hits(
    engine: Engine, since: datetime | None = None, rules: Collection[str] | None = None
) -> list[StoredHit]:
    """The stored hits on articles published since `since` (of `rules` only, when given)."""
    query = (select(Hit.id, Hit.rule, Hit.rule_hash, Hit.article_id, Hit.baseline, Hit.backfilled)
             .join(Article, Article.id == Hit.article_id).order_by(Hit.id))
    if since is not None:
        query = query.where(article_date() >= since)
    if rules is not None:
        query = query.where(Hit.rule.in_(list(rules)))
    with Session(engine) as session:
        return [StoredHit(*row) for row in session.execute(query)]


def rule_versions(engine: Engine) -> dict[str, dict[str, int]]:
    """Every rule name with stored hits -> {content hash -> how many hits it stored}, all time."""
    versions: dict[str, dict[str, int]] = {}
    with Session(engine) as session:
        for rule, rule_hash, count in session.execute(rule_versions_query()):
            versions.setdefault(rule, {})[rule_hash] = count
    return versions


def rule_versions_query():
    """Hits per (rule, content hash): answered from ix_hit_rule_rule_hash alone."""
    return select(Hit.rule, Hit.rule_hash, func.count()).group_by(Hit.rule, Hit.rule_hash)


def describe_articles(engine: Engine, article_ids: Iterable[int]) -> dict[int, ArticleRef]:
    """article id -> its title, URL, feed name and publication date."""
    found: dict[int, ArticleRef] = {}
    with Session(engine) as session:
        for chunk in in_chunks(sorted(set(article_ids))):
            rows = session.execute(
                select(Article.id, Article.url, Article.title, Feed.name, Article.published)
                .join(Feed, Feed.id == Article.feed_id).where(Article.id.in_(chunk)))
            for article_id, url, title, feed, published in rows:
                found[article_id] = ArticleRef(article_id, url, title, feed, as_utc(published))
    return found
