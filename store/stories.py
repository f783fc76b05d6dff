"""Stories: near-identical articles (syndicated copies) grouped, so a rule alerts a story once.

`assign_story` runs inside `save_articles`' transaction: it sketches the new article's
text, looks up candidates that share an LSH band among the articles of the last
`STORY_WINDOW`, verifies the best few with `is_same_story`, and files the article
under the story of the first match (or starts a new story, whose id is the article's
own id). `claim_story` is the one decision "does this hit alert?": the first alerting
hit of a rule in a story claims it through a unique key, later copies do not alert.
`story_copies` answers "who else reported this?" for the history and the messages.

Two runs saving near-identical copies at the same moment must not each start a story
(two alerts): `lock_story_index` serialises story assignment. SQLite's writers are
serialised already (BEGIN IMMEDIATE); on PostgreSQL a transaction-scoped advisory lock
does it, taken before the first lookup, so the second saver sees the first one's copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, insert, select, text
from sqlmodel import Session

from store.similarity import Sketch, band_keys, is_same_story, sketch_text
from store.tables import Article, Feed, StoryAlert, StoryBand, StoryMember, utcnow
from store.upsert import insert_ignore

STORY_WINDOW = timedelta(days=7)
MAX_CANDIDATES = 20
STORY_LOCK = 7_460_014  # a constant shared by every newswatch process (store/migrations/env.py has 7_460_013)


def lock_story_index(session: Session) -> None:
    """Hold the story index until the transaction ends (PostgreSQL; SQLite holds it already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_LOCK})


@dataclass(frozen=True)
class StoryCopy:
    """Another article of the same story: where it ran."""

    article_id: int
    feed: str
    url: str
    title: str


def assign_story(session: Session, article_id: int, text: str, now: datetime | None = None) -> int:
    """File the article under its story and return the story id."""
    now = now or utcnow()
    sketch = sketch_text(text)
    bands = band_keys(sketch) if sketch else []
    story_id = _find_story(session, sketch, bands, now) if sketch else None
    story_id = story_id or article_id
    # Core inserts (one executemany for the bands): ORM objects cost ~15 ms per article here
    session.execute(INSERT_MEMBER, dict(
        article_id=article_id, story_id=story_id, size=sketch.size if sketch else 0,
        signature=sketch.signature if sketch else None, created_at=now))
    if bands:
        session.execute(INSERT_BAND, [{"band": key, "article_id": article_id, "created_at": now} for key in bands])
    return story_id


# Built once, with expanding IN parameters: statements built per article (64 band keys
# coerced one by one, then cache-keyed) cost more than the queries themselves.
INSERT_MEMBER = insert(StoryMember.__table__)
INSERT_BAND = insert(StoryBand.__table__)
_SHARED = func.count(StoryBand.id).label("shared")
_CANDIDATES = (
    select(StoryBand.article_id, _SHARED)
    .where(StoryBand.band.in_(bindparam("bands", expanding=True)), StoryBand.created_at >= bindparam("since"))
    .group_by(StoryBand.article_id)
    .order_by(_SHARED.desc(), StoryBand.article_id)
    .limit(MAX_CANDIDATES)
    .subquery()
)
CANDIDATE_SKETCHES = select(StoryMember.story_id, StoryMember.size, StoryMember.signature).join(
    _CANDIDATES, StoryMember.article_id == _CANDIDATES.c.article_id)


def _find_story(session: Session, sketch: Sketch, bands: list[str], now: datetime) -> int | None:
    """The story of the earliest verified near-duplicate among the best LSH candidates
    (one query: candidates and their sketches together)."""
    members = session.execute(CANDIDATE_SKETCHES, {"bands": bands, "since": now - STORY_WINDOW}).all()
    matches = [story for story, size, signature in members
               if signature and is_same_story(sketch, Sketch(signature, size))]
    return min(matches, default=None)


def claim_story(session: Session, rule: str, story_id: int, hit_id: int) -> bool:
    """True for the rule's first alerting hit in this story (it alerts); False for a copy."""
    return insert_ignore(session, StoryAlert.__table__, {"rule": rule, "story_id": story_id, "hit_id": hit_id}) \
        is not None


def story_ids(session: Session, article_ids: Iterable[int]) -> dict[int, int]:
    """article id -> story id (articles stored before stories existed are their own story)."""
    ids = list(set(article_ids))
    found = {}
    for chunk in in_chunks(ids):
        found.update(session.execute(select(StoryMember.article_id, StoryMember.story_id)
                                     .where(StoryMember.article_id.in_(chunk))).all())
    return {article_id: found.get(article_id, article_id) for article_id in ids}


def story_copies(session: Session, stories: Iterable[int]) -> dict[int, list[StoryCopy]]:
    """story id -> every article in it, first reported first."""
    copies: dict[int, list[StoryCopy]] = {}
    for chunk in in_chunks(list(set(stories))):
        rows = session.execute(
            select(StoryMember.story_id, Article.id, Feed.name, Article.url, Article.title)
            .join(Article, Article.id == StoryMember.article_id).join(Feed, Feed.id == Article.feed_id)
            .where(StoryMember.story_id.in_(chunk)).order_by(Article.id)
        ).all()
        for story, article_id, feed, url, title in rows:
            copies.setdefault(story, []).append(StoryCopy(article_id, feed, url, title))
    return copies


def in_chunks(values: list, size: int = 500) -> Iterable[list]:
    """Slices short enough for any backend's limit on bound parameters."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def others(copies: list[StoryCopy], article_id: int, feed: str) -> tuple[StoryCopy, ...]:
    """The other outlets that ran the story: one entry per feed, never the article's own feed."""
    seen, result = {feed}, []
    for copy in copies:
        if copy.article_id != article_id and copy.feed not in seen:
            seen.add(copy.feed)
            result.append(copy)
    return tuple(result)


def prune_story_index(session: Session, now: datetime | None = None) -> int:
    """Drop LSH bands older than the window (the members stay, for the history)."""
    cutoff = (now or utcnow()) - STORY_WINDOW
    return session.execute(delete(StoryBand).where(StoryBand.created_at < cutoff)).rowcount or 0
