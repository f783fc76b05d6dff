"""Decide once what is new, and store it with its hits and their outbox rows.

`select_unseen` is the read-only pre-filter (skip entries we already have, before any
page is fetched). `save_articles` is the decision itself: in one transaction it claims
each entry's identity (a unique key, so a racing run or a retried task loses the claim
and stores nothing twice), writes the article, files it under its story (near-identical
copies from other outlets share one), writes its hits, and one pending delivery per hit
and channel, but only for the first alerting hit of a rule in a story: later copies are
stored and listed as "also reported by", never alerted again. A crash before the commit
leaves nothing; after it, everything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, bindparam, insert, select
from sqlmodel import Session

from extractors.models import Article as CleanArticle
from extractors.models import FeedEntry
from matching.models import RuleMatch
from store.stories import assign_story, claim_story, lock_story_index, prune_story_index
from store.tables import Article, Delivery, Hit, SeenEntry, as_utc, utcnow
from store.text import clean_text
from store.upsert import insert_ignore_many


def identity_keys(entry: FeedEntry, feed_id: int) -> tuple[str, ...]:
    """Every key under which this entry counts as already seen.

    Its own key within its feed (GUIDs are only unique per feed), and its canonical link
    across all feeds: a feed that churns GUIDs on the same link does not bring the
    story back, and an article listed by two feeds is one article.
    """
    keys = [f"feed:{feed_id}:{entry.entry_key}"]
    if entry.link:
        keys.append(f"link:{entry.link}")
    return tuple(dict.fromkeys(key[:2100] for key in keys))


def select_unseen(engine: Engine, feed_id: int, entries: Sequence[FeedEntry]) -> list[FeedEntry]:
    """The entries none of whose identity keys is stored yet (first occurrence wins)."""
    all_keys = {key for entry in entries for key in identity_keys(entry, feed_id)}
    with Session(engine) as session:
        known = set()
        keys = list(all_keys)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            known.update(session.execute(select(SeenEntry.key).where(SeenEntry.key.in_(chunk))).scalars())
    unseen, taken = [], set()
    for entry in entries:
        keys = identity_keys(entry, feed_id)
        if known.isdisjoint(keys) and taken.isdisjoint(keys):
            unseen.append(entry)
            taken.update(keys)
    return unseen


@dataclass(frozen=True)
class ArticleToSave:
    """An article ready to store. `baseline`: old news found on a feed's first poll,
    whose hits are stored and shown but never alerted."""

    entry: FeedEntry
    article: CleanArticle
    matches: Sequence[RuleMatch] = ()
    baseline: bool = False


@dataclass
class SavedBatch:
    article_ids: list[int] = field(default_factory=list)
    hit_ids: list[int] = field(default_factory=list)  # alerting hits
    copy_hit_ids: list[int] = field(default_factory=list)  # of hit_ids: later copies of an alerted story
    baseline_hit_ids: list[int] = field(default_factory=list)  # stored, never alerted
    deliveries: int = 0
    already_stored: int = 0


def save_articles(
    engine: Engine,
    feed_id: int,
    items: Iterable[ArticleToSave],
    *,
    channels_for_rule: Callable[[str], Sequence[str]],
    config_hash: str = "",
) -> SavedBatch:
    """Store the new articles with their hits and outbox rows, all in one transaction.

    Baseline items get their hits stored but no delivery queued.
    """
    return save_article_groups(engine, [(feed_id, items)], channels_for_rule=channels_for_rule,
                               config_hash=config_hash)[0]


def save_article_groups(
    engine: Engine,
    groups: Sequence[tuple[int, Iterable[ArticleToSave]]],
    *,
    channels_for_rule: Callable[[str], Sequence[str]],
    config_hash: str = "",
) -> list[SavedBatch]:
    """`save_articles` for several feeds' items in ONE transaction; a SavedBatch per group."""
    results = []
    with Session(engine) as session:
        lock_story_index(session)
        prune_story_index(session)
        for feed_id, items in groups:
            results.append(_save_group(session, feed_id, items, channels_for_rule, config_hash))
        session.commit()
    return results


def _save_group(session: Session, feed_id: int, items: Iterable[ArticleToSave], channels_for_rule,
                config_hash: str) -> SavedBatch:
    saved = SavedBatch()
    for item in items:
        article_id = _claim_and_insert(session, feed_id, item)
        if article_id is None:
            saved.already_stored += 1
            continue
        saved.article_ids.append(article_id)
        story_id = assign_story(session, article_id, _story_text(item))
        for match in item.matches:
            _save_hit(session, saved, article_id, story_id, match, item.baseline, config_hash, channels_for_rule)
    return saved


def _story_text(item: ArticleToSave) -> str:
    return f"{item.article.title or item.entry.title or ''}\n{item.article.text or ''}"


def _save_hit(session, saved: SavedBatch, article_id: int, story_id: int, match: RuleMatch, baseline: bool,
              config_hash: str, channels_for_rule) -> None:
    hit_id = _insert_hit(session, article_id, match, config_hash, baseline)
    if baseline:
        saved.baseline_hit_ids.append(hit_id)
        return
    saved.hit_ids.append(hit_id)
    if claim_story(session, match.rule, story_id, hit_id):
        saved.deliveries += _queue_deliveries(session, hit_id, channels_for_rule(match.rule))
    else:
        saved.copy_hit_ids.append(hit_id)


def _claim_keys(session: Session, keys: Sequence[str]) -> list[int] | None:
    """Claim every identity key of an entry, or none of them.

    A key already taken (by an earlier pass, another feed listing the same link in this
    pass, or a racing run) means the entry is not new; the claims this call did make are
    deleted again, so no half-claimed identity is left behind. One statement for all the
    keys (it was a savepoint and a statement per key, four statements per article).
    """
    now = utcnow()
    claims = insert_ignore_many(session, SeenEntry.__table__, [{"key": key, "first_seen_at": now} for key in keys])
    if len(claims) < len(keys):
        if claims:
            session.execute(UNCLAIM, {"ids": claims})
        return None
    return claims


def _claim_and_insert(session: Session, feed_id: int, item: ArticleToSave) -> int | None:
    claims = _claim_keys(session, identity_keys(item.entry, feed_id))
    if claims is None:
        return None
    article = item.article
    article_id = session.execute(INSERT_ARTICLE, dict(
        feed_id=feed_id,
        entry_key=clean_text(item.entry.entry_key, 2100),
        url=clean_text(article.url, 2000),
        title=clean_text(article.title, 1000) or "",
        text=clean_text(article.text) or "",
        published=as_utc(item.entry.published),
        language=clean_text(article.language, 20),
        author=clean_text(article.author, 300),
        flagged=clean_text(article.flagged, 200),
        fetched_at=utcnow(),
    )).scalar_one()
    session.execute(LINK_CLAIMS, {"ids": claims, "article_id": article_id})
    return article_id


# built once, values bound per row (a statement built per row is cache-keyed per row)
INSERT_ARTICLE = insert(Article.__table__).returning(Article.__table__.c.id)
INSERT_HIT = insert(Hit.__table__).returning(Hit.__table__.c.id)
UNCLAIM = SeenEntry.__table__.delete().where(SeenEntry.__table__.c.id.in_(bindparam("ids", expanding=True)))
LINK_CLAIMS = (SeenEntry.__table__.update().where(SeenEntry.__table__.c.id.in_(bindparam("ids", expanding=True)))
               .values(article_id=bindparam("article_id")))


def _insert_hit(session: Session, article_id: int, match: RuleMatch, config_hash: str, baseline: bool) -> int:
    return session.execute(INSERT_HIT, dict(
        rule=match.rule,
        rule_hash=match.rule_hash,
        config_hash=config_hash,
        article_id=article_id,
        terms=json.dumps([clean_text(t, 200) for t in match.terms], ensure_ascii=False),
        fields=json.dumps(list(match.fields)),
        snippet=clean_text(match.snippet, 2000) or "",
        marks=json.dumps([list(m) for m in match.marks]),
        baseline=baseline,
        found_at=utcnow(),
    )).scalar_one()


def _queue_deliveries(session: Session, hit_id: int, channels: Sequence[str]) -> int:
    for channel in channels:
        session.add(Delivery(hit_id=hit_id, channel=channel))
    return len(channels)
