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
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import Engine, bindparam, insert, select
from sqlmodel import Session

from extractors.models import Article as CleanArticle
from extractors.models import FeedEntry
from matching.models import RuleMatch
from store.bulk import copy_rows, insert_rows
from store.dialect import is_sqlite
from store.similarity import StorySketch
from store.stories import STORY_WINDOW, assign_stories, claim_stories, lock_story_index, prune_story_index
from store.tables import Article, Delivery, Hit, SeenEntry, as_utc, utcnow
from store.text import clean_text
from store.upsert import insert_ignore_returning


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


def _claimed_keys(item: ArticleToSave, feed_id: int) -> tuple[str, ...]:
    """The identity keys an item claims: all of them, except for an imported article whose
    entry key is its canonical link (no GUID): its feed key would only repeat the link key,
    as an import's outlet row is never polled, so only the link key is stored (half the rows)."""
    keys = identity_keys(item.entry, feed_id)
    if item.imported and item.entry.link and item.entry.entry_key == item.entry.link:
        return tuple(key for key in keys if key.startswith("link:")) or keys
    return keys


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
    whose hits are stored and shown but never alerted. `imported`: loaded from an archive
    (`newswatch import`): its hits are marked so and dated by its published time, and
    alert only with `alert` (history is not news)."""

    entry: FeedEntry
    article: CleanArticle
    matches: Sequence[RuleMatch] = ()
    baseline: bool = False
    imported: bool = False
    alert: bool = True
    sketch: StorySketch | None = None  # the story sketch, when computed ahead (import)

    @property
    def alerts(self) -> bool:
        return self.alert and not self.baseline


@dataclass
class SavedBatch:
    article_ids: list[int] = field(default_factory=list)
    hit_ids: list[int] = field(default_factory=list)  # alerting hits
    copy_hit_ids: list[int] = field(default_factory=list)  # of hit_ids: later copies of an alerted story
    baseline_hit_ids: list[int] = field(default_factory=list)  # stored, never alerted
    quiet_hit_ids: list[int] = field(default_factory=list)  # imported without --alert: stored, not alerted
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
    """`save_articles` for several feeds' items in ONE transaction; a SavedBatch per group.

    Each step is one statement for the whole batch (claims, articles, stories, hits, story
    claims, outbox rows), with the same result as saving the items one by one, in order,
    which would take several statements per article."""
    items = [(group, feed_id, item) for group, (feed_id, batch) in enumerate(groups) for item in batch]
    results = [SavedBatch() for _ in groups]
    with Session(engine) as session:
        lock_story_index(session)
        prune_story_index(session)
        claims = _claim_identities(session, [_claimed_keys(item, feed_id) for _, feed_id, item in items])
        for (group, _, _), claimed in zip(items, claims):
            results[group].already_stored += claimed is None
        new = [(group, feed_id, item, claimed) for (group, feed_id, item), claimed in zip(items, claims)
               if claimed is not None]
        if not new:
            session.commit()  # the orphaned claims' deletion
            return results
        article_ids = _insert_articles(session, [(feed_id, item) for _, feed_id, item, _ in new])
        _link_claims(session, [(claim, article_id) for (*_, claimed), article_id in zip(new, article_ids)
                               for claim in claimed])
        story_ids = assign_stories(session, [(article_id, _story_input(item))
                                             for (_, _, item, _), article_id in zip(new, article_ids)])
        hits = [(results[group], article_id, story_id, match, item)
                for (group, _, item, _), article_id, story_id in zip(new, article_ids, story_ids)
                for match in item.matches]
        _save_hits(session, hits, config_hash, channels_for_rule)
        for (group, *_), article_id in zip(new, article_ids):
            results[group].article_ids.append(article_id)
        session.commit()
    return results


def _story_text(item: ArticleToSave) -> str:
    return f"{item.article.title or item.entry.title or ''}\n{item.article.text or ''}"


def _story_input(item: ArticleToSave) -> str | StorySketch:
    """What files the article under its story: its text, or its sketch computed ahead, marked
    as history when it is an import published before the story window (old news)."""
    if item.sketch is None:
        return _story_text(item)
    published = as_utc(item.entry.published)
    old = item.imported and published is not None and published < utcnow() - STORY_WINDOW
    return replace(item.sketch, history=old)


def _claim_identities(session: Session, entries: Sequence[Sequence[str]]) -> list[list | None]:
    """Claim every identity key of each entry, or none of them; per entry its claims (what
    `_link_claims` points at the article), or None when it is not new.

    A key already taken (by an earlier pass, an earlier entry of this batch, or a racing
    run) means the entry is not new. On SQLite the keys are claimed by inserting them (one
    statement) and the claims made for an entry that is not new are deleted again, so no
    half-claimed identity is left behind (a later entry of the batch may still own such a
    key, as it would have claimed it anew one by one); the claims are row ids. On PostgreSQL
    see `_claim_under_lock`; the claims are the keys.
    """
    if not is_sqlite(session):
        return _claim_under_lock(session, entries)
    now = utcnow()
    keys = list(dict.fromkeys(key for entry in entries for key in entry))
    table = SeenEntry.__table__
    inserted = dict(insert_ignore_returning(session, table, [{"key": key, "first_seen_at": now} for key in keys],
                                            table.c.key, table.c.id))
    new = _first_owners(entries, inserted.keys())
    owned = {key for entry, is_new in zip(entries, new) if is_new for key in entry}
    orphans = [claim for key, claim in inserted.items() if key not in owned]
    if orphans:
        session.execute(UNCLAIM, {"ids": orphans})
    return [[inserted[key] for key in entry] if is_new else None for entry, is_new in zip(entries, new)]


def _claim_under_lock(session: Session, entries: Sequence[Sequence[str]]) -> list[list[str] | None]:
    """PostgreSQL: every saver holds the story lock (`lock_story_index`, taken first in
    `save_article_groups`) until its commit, so the keys stored now are all there will be
    until then: read which are taken (one query, the keys as an array) and write the new
    ones with their articles (`_link_claims`). Inserting every key, then linking and
    deleting again, left a dead row version per article until vacuum (PostgreSQL never
    updates in place): nearly half the identity table's size after a bulk import. A writer
    that did not take the lock would fail on the unique key, never store twice."""
    keys = list(dict.fromkeys(key for entry in entries for key in entry))
    table = SeenEntry.__table__.name
    taken = {row[0] for row in session.connection().exec_driver_sql(
        f"SELECT key FROM {table} WHERE key = ANY(%s::text[])", (keys,))}
    new = _first_owners(entries, set(keys) - taken)
    return [list(entry) if is_new else None for entry, is_new in zip(entries, new)]


def _first_owners(entries: Sequence[Sequence[str]], free: Collection[str]) -> list[bool]:
    """Which entries are new: every key of theirs free, and none owned by an earlier entry."""
    owned: set[str] = set()
    new = []
    for entry in entries:
        is_new = all(key in free and key not in owned for key in entry)
        if is_new:
            owned.update(entry)
        new.append(is_new)
    return new


def _link_claims(session: Session, links: list[tuple]) -> None:
    """Point each (claim, article id) identity at its article: SQLite updates the claimed
    rows (the driver's executemany); PostgreSQL writes the keys claimed under the lock with
    their article, in one COPY."""
    connection = session.connection()
    if is_sqlite(connection):
        session.execute(LINK_CLAIM, [{"claim_id": claim, "owner": owner} for claim, owner in links])
        return
    now = utcnow()
    copy_rows(connection, SeenEntry.__table__.name, ("key", "first_seen_at", "article_id"),
              [(key, now, owner) for key, owner in links])


def _insert_articles(session: Session, items: Sequence[tuple[int, ArticleToSave]]) -> list[int]:
    """Insert the articles; their ids, in order."""
    fetched_at = utcnow()
    rows = [dict(
        feed_id=feed_id,
        entry_key=clean_text(item.entry.entry_key, 2100),
        url=clean_text(item.article.url, 2000),
        title=clean_text(item.article.title or item.entry.title, 1000) or "",  # the page's, else the feed's
        text=clean_text(item.article.text) or "",
        published=as_utc(item.entry.published),
        language=clean_text(item.article.language, 20),
        language_source=clean_text(item.article.language_source, 20),
        author=clean_text(item.article.author, 300),
        flagged=clean_text(item.article.flagged, 200),
        fetched_at=fetched_at,
    ) for feed_id, item in items]
    return insert_rows(session, Article.__table__, rows, return_ids=True)


def _save_hits(session: Session, hits: Sequence[tuple[SavedBatch, int, int, RuleMatch, ArticleToSave]],
               config_hash: str, channels_for_rule: Callable[[str], Sequence[str]]) -> None:
    """Insert the hits; the first alerting hit of a rule in a story claims it and gets its
    outbox rows (one per channel), later copies are listed as such; baseline hits (and
    imported ones without --alert) only stored."""
    if not hits:
        return
    found_at = utcnow()
    hit_ids = insert_rows(session, Hit.__table__, [dict(
        rule=match.rule,
        rule_hash=match.rule_hash,
        config_hash=config_hash,
        article_id=article_id,
        terms=json.dumps([clean_text(t, 200) for t in match.terms], ensure_ascii=False),
        fields=json.dumps(list(match.fields)),
        snippet=clean_text(match.snippet, 2000) or "",
        marks=json.dumps([list(m) for m in match.marks]),
        baseline=item.baseline,
        imported=item.imported,
        found_at=_found_at(item, found_at),
    ) for _, article_id, _, match, item in hits], return_ids=True)
    claimed = claim_stories(session, [(match.rule, story_id, hit_id) for (_, _, story_id, match, item), hit_id
                                      in zip(hits, hit_ids) if item.alerts])
    deliveries = []
    for (saved, _, _, match, item), hit_id in zip(hits, hit_ids):
        if item.baseline:
            saved.baseline_hit_ids.append(hit_id)
            continue
        if not item.alerts:
            saved.quiet_hit_ids.append(hit_id)
            continue
        saved.hit_ids.append(hit_id)
        if hit_id in claimed:
            channels = channels_for_rule(match.rule)
            deliveries += [{"hit_id": hit_id, "channel": channel, "status": "pending", "attempts": 0,
                            "next_attempt_at": found_at, "created_at": found_at} for channel in channels]
            saved.deliveries += len(channels)
        else:
            saved.copy_hit_ids.append(hit_id)
    if deliveries:
        session.execute(INSERT_DELIVERY, deliveries)


def _found_at(item: ArticleToSave, now):
    """An imported hit is dated by its article's published time (history, not news)."""
    return (as_utc(item.entry.published) or now) if item.imported else now


# built once, values bound per row (a statement built per row is cache-keyed per row)
INSERT_DELIVERY = insert(Delivery.__table__)
UNCLAIM = SeenEntry.__table__.delete().where(SeenEntry.__table__.c.id.in_(bindparam("ids", expanding=True)))
LINK_CLAIM = (SeenEntry.__table__.update().where(SeenEntry.__table__.c.id == bindparam("claim_id"))
              .values(article_id=bindparam("owner")))
