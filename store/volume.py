"""A rule's volume over time, in distinct stories: the counts spikes and briefings are made of.

`story_times` answers "when did each of this rule's stories first appear?": every hit of the
rule (alerted, first-poll baseline or backfilled alike), its article's story (syndicated
copies count once), at the earliest of its copies' times. An article's time is its published
time, or the time it was found when it has none (and never later than that: a feed that
dates its items in the future does not push them out of the window). `story_outlines` says
what a story is: its first title and link, the outlets that carried it, their languages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlmodel import Session

from store.stories import in_chunks
from store.tables import Article, Feed, Hit, StoryMember, as_utc


@dataclass(frozen=True)
class StoryTime:
    story_id: int
    at: datetime
    imported: bool = False  # every hit of it came from `newswatch import`: history, not news


@dataclass(frozen=True)
class StoryOutline:
    """One story as a reader sees it: first title and link, every outlet and language carrying it."""

    story_id: int
    title: str
    url: str
    outlets: tuple[str, ...]  # first carrier first
    languages: tuple[str, ...]
    article_ids: tuple[int, ...]
    feed_of: dict[int, str]  # article id -> outlet
    language_of: dict[int, str]  # article id -> its language ("" unknown)

    def to_json(self) -> dict:
        return {"story": self.story_id, "title": self.title, "url": self.url, "outlets": list(self.outlets),
                "languages": list(self.languages)}


def story_times(session: Session, rule: str, since: datetime) -> list[StoryTime]:
    """The rule's stories that first appeared since `since`, oldest first."""
    rows = session.execute(
        select(Hit.article_id, Article.published, Hit.found_at, StoryMember.story_id, Hit.imported)
        .join(Article, Article.id == Hit.article_id)
        .outerjoin(StoryMember, StoryMember.article_id == Hit.article_id)
        .where(Hit.rule == rule, or_(Article.published >= since, Hit.found_at >= since))
    ).all()
    first: dict[int, datetime] = {}
    found_live: set[int] = set()
    for article_id, published, found_at, story_id, imported in rows:
        found = as_utc(found_at)
        at = min(as_utc(published), found) if published is not None else found
        story = story_id if story_id is not None else article_id
        if story not in first or at < first[story]:
            first[story] = at
        if not imported:
            found_live.add(story)
    stories = [StoryTime(story, at, story not in found_live) for story, at in first.items() if at >= since]
    return sorted(stories, key=lambda story: (story.at, story.story_id))


def daily_counts(times: Iterable[StoryTime], until: datetime, days: int = 30) -> list[tuple[datetime, int]]:
    """(day start, stories that first appeared that day) for the `days` UTC days up to `until`'s."""
    last = until.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [last - timedelta(days=days - 1 - n) for n in range(days)]
    counts = dict.fromkeys(starts, 0)
    for story in times:
        day = story.at.replace(hour=0, minute=0, second=0, microsecond=0)
        if day in counts:
            counts[day] += 1
    return list(counts.items())


def story_outlines(session: Session, stories: Iterable[int]) -> dict[int, StoryOutline]:
    """story id -> its outline (articles stored before stories existed are their own story)."""
    rows_by_story: dict[int, list] = {}
    for chunk in in_chunks(list(set(stories))):
        rows = session.execute(
            select(StoryMember.story_id, Article.id, Article.title, Article.url, Article.language, Feed.name)
            .join(Article, Article.id == StoryMember.article_id).join(Feed, Feed.id == Article.feed_id)
            .where(StoryMember.story_id.in_(chunk)).order_by(Article.id)).all()
        rows += session.execute(
            select(Article.id, Article.id, Article.title, Article.url, Article.language, Feed.name)
            .join(Feed, Feed.id == Article.feed_id).outerjoin(StoryMember, StoryMember.article_id == Article.id)
            .where(Article.id.in_(chunk), StoryMember.id.is_(None))).all()
        for row in rows:
            rows_by_story.setdefault(row[0], []).append(row)
    return {story: _outline(story, rows) for story, rows in rows_by_story.items()}


def _outline(story: int, rows: list) -> StoryOutline:
    rows = sorted(rows, key=lambda row: row[1])
    outlets = tuple(dict.fromkeys(row[5] for row in rows))
    language_of = {row[1]: (row[4] or "").split("-")[0].lower() for row in rows}
    first = rows[0]
    return StoryOutline(story, first[2] or first[3], first[3], outlets, tuple(sorted(set(language_of.values()) - {""})),
                        tuple(row[1] for row in rows), {row[1]: row[5] for row in rows}, language_of)
