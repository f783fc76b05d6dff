"""Stories: near-identical articles (syndicated copies) grouped, so a rule alerts a story once.

`assign_stories` runs inside `save_articles`' transaction: it sketches each new article's
text, looks up candidates that share an LSH band among the articles of the last
`STORY_WINDOW` (stored, or earlier in the batch), verifies the best few with
`is_same_story`, and files the article under the story of the earliest match (or starts
a new story, whose id is the article's own id). `claim_stories` is the one decision "does
this hit alert?": the first alerting hit of a rule in a story claims it through a unique
key, later copies do not alert.
`story_copies` answers "who else reported this?" for the history and the messages.

Two runs saving near-identical copies at the same moment must not each start a story
(two alerts): `lock_story_index` serialises story assignment. SQLite's writers are
serialised already (BEGIN IMMEDIATE); on PostgreSQL a transaction-scoped advisory lock
does it, taken before the first lookup, so the second saver sees the first one's copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select
from sqlmodel import Session

from store.bulk import copy_rows, insert_rows, integer_array, values_table
from store.dialect import is_sqlite, lock_transaction, max_parameters
from store.similarity import (BAND_ROWS, HISTORY_BAND_STEP, NUM_PERM, Sketch, StorySketch, band_keys, is_same_story,
                              sketch_text)
from store.tables import Article, Feed, StoryAlert, StoryBand, StoryMember, utcnow
from store.upsert import insert_ignore_returning

STORY_WINDOW = timedelta(days=7)
MAX_CANDIDATES = 20
NUM_BANDS = NUM_PERM // BAND_ROWS
STORY_LOCK = 7_460_014  # a constant shared by every newswatch process (store/migrations/env.py has 7_460_013)


def lock_story_index(session: Session) -> None:
    """Hold the story index until the transaction ends (PostgreSQL; SQLite holds it already)."""
    lock_transaction(session, STORY_LOCK)


@dataclass(frozen=True)
class StoryCopy:
    """Another article of the same story: where it ran."""

    article_id: int
    feed: str
    url: str
    title: str


def assign_stories(session: Session, articles: Sequence[tuple[int, str | StorySketch]],
                   now: datetime | None = None) -> list[int]:
    """File each (article id, text or its sketch computed ahead) under its story, in order;
    their story ids.

    The same stories as filing them one by one: an article's candidates are the best
    `MAX_CANDIDATES` among the stored ones and the earlier ones of this batch, whose
    members and bands are written at the end. Two queries find the stored candidates of the
    whole batch (bands counted in the database: syndicated copies share all 64 bands, so
    the raw band pairs would be many) and two statements write the batch.
    """
    now = now or utcnow()
    sketches = [text.sketch if isinstance(text, StorySketch) else sketch_text(text) for _, text in articles]
    bands = [band_keys(sketch) if sketch else [] for sketch in sketches]
    stored, batch = _stored_candidates(session, bands, now - STORY_WINDOW), _Batch()
    for (article_id, text), sketch, keys, found in zip(articles, sketches, bands, stored):
        story_id = (_find_story(sketch, keys, found, batch) if sketch else None) or article_id
        batch.add(article_id, story_id, sketch, _filed_bands(text, keys))
    insert_rows(session, StoryMember.__table__, [dict(article_id=m.article_id, story_id=m.story_id, created_at=now,
                                                      size=m.sketch.size if m.sketch else 0,
                                                      signature=m.sketch.signature if m.sketch else None)
                                                 for m in batch.members])
    if batch.by_band:
        _insert_bands(session, [(band, m.article_id) for m in batch.members for band in m.bands])
    return [member.story_id for member in batch.members]


def _filed_bands(text: str | StorySketch, keys: list[int]) -> list[int]:
    """The bands an article is filed under: all of them, or for old news (an import's
    history) every HISTORY_BAND_STEP-th: copies of it still find it (they probe every band),
    at an eighth of the index's size."""
    return keys[::HISTORY_BAND_STEP] if isinstance(text, StorySketch) and text.history else keys


def _insert_bands(session: Session, rows: list[tuple[int, int]]) -> None:
    """Up to 64 rows an article, handed to the driver as they are (executemany on SQLite,
    COPY on PostgreSQL): through SQLAlchemy each row's values went through its bind
    processors one by one, half the cost of the insert."""
    copy_rows(session.connection(), StoryBand.__table__.name, ("band", "article_id"), rows)


Candidate = tuple[int, int, int, "Sketch | None"]  # (shared bands, article id, story id, sketch)


@dataclass(frozen=True)
class _Member:
    article_id: int
    story_id: int
    sketch: Sketch | None
    bands: list[int]


@dataclass
class _Batch:
    """The articles of this batch filed so far, and their bands: candidates not yet in the index."""

    members: list[_Member] = field(default_factory=list)
    by_band: dict[int, list[int]] = field(default_factory=dict)

    def add(self, article_id: int, story_id: int, sketch: Sketch | None, bands: list[int]) -> None:
        for band in bands:
            self.by_band.setdefault(band, []).append(len(self.members))
        self.members.append(_Member(article_id, story_id, sketch, bands))

    def candidates(self, bands: list[int]) -> list[Candidate]:
        shared = Counter(i for band in bands for i in self.by_band.get(band, ()))
        return [(count, self.members[i].article_id, self.members[i].story_id, self.members[i].sketch)
                for i, count in shared.items()]


# Built once, with an expanding IN parameter: a statement built per batch is cache-keyed per batch.
_MEMBER = StoryMember.__table__.c
MAX_PROBES_PER_QUERY = 100  # articles whose bands one query looks up, two parameters a band
MAX_PROBES_AS_ARRAYS = 5_000  # the same on PostgreSQL, where the bands go as two array parameters
MEMBER_SKETCHES = select(_MEMBER.article_id, _MEMBER.story_id, _MEMBER.size, _MEMBER.signature).where(
    _MEMBER.article_id.in_(bindparam("ids", expanding=True)), _MEMBER.created_at >= bindparam("since"))


def _stored_candidates(session: Session, bands: list[list[int]], since: datetime) -> list[list[Candidate]]:
    """For each article of the batch (its band keys), the best `MAX_CANDIDATES` stored
    articles of the window by shared bands, then oldest first, with their sketches. The
    index holds (about) the window's articles only; their members' time decides exactly."""
    shared: list[list[tuple[int, int]]] = [[] for _ in bands]  # per probe: (shared, article id)
    probes = [(probe, band) for probe, keys in enumerate(bands) for band in keys]
    step = _probes_per_query(session) * NUM_BANDS
    for start in range(0, len(probes), step):
        for probe, article_id, count in _shared_bands(session, probes[start:start + step]):
            shared[probe].append((count, article_id))
    best = [sorted(found, key=lambda c: (-c[0], c[1]))[:MAX_CANDIDATES] for found in shared]
    members: dict[int, tuple[int, Sketch | None]] = {}
    for article_id, story_id, size, signature in _member_sketches(session, list({article_id for found in best
                                                                                for _, article_id in found}), since):
        members[article_id] = (story_id, Sketch(signature, size) if signature else None)
    return [[(count, article_id, *members[article_id]) for count, article_id in found if article_id in members]
            for found in best]


def _member_sketches(session: Session, article_ids: list[int], since: datetime) -> Iterable[tuple]:
    """(article id, story id, size, signature) of those articles filed since `since`: 500 ids
    a statement on SQLite; on PostgreSQL one statement, the ids as an array (an IN list of
    500 is a statement psycopg parses anew each time)."""
    connection = session.connection()
    if is_sqlite(connection):
        for chunk in in_chunks(article_ids):
            yield from session.execute(MEMBER_SKETCHES, {"ids": chunk, "since": since})
        return
    if article_ids:
        yield from connection.exec_driver_sql(
            f"SELECT article_id, story_id, size, signature FROM {StoryMember.__table__.name} "
            f"WHERE article_id = ANY(%s::bigint[]) AND created_at >= %s", (integer_array(article_ids), since))


def _probes_per_query(session: Session) -> int:
    """As many articles' bands as the backend takes parameters in one statement: SQLite's
    limit is 32,766 since 3.32 but may be built as low as 999. PostgreSQL takes them as two
    arrays (`values_table`): the whole batch in one query."""
    connection = session.connection()
    if not is_sqlite(connection):
        return MAX_PROBES_AS_ARRAYS
    limit = max_parameters(connection)
    return max(1, min(MAX_PROBES_PER_QUERY, (limit - 1) // (2 * NUM_BANDS)))


def _shared_bands(session: Session, probes: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(probe, stored article, bands shared) for every stored article in the index sharing
    a band with a probe (on PostgreSQL only each probe's best: `_best_per_probe`): the
    probes' bands as a table (`values_table`) joined to the band index. Written for the driver: built by SQLAlchemy, the 3,200 values of a batch cost
    more to compile than the query costs to run."""
    if not probes:
        return []
    connection = session.connection()
    table = StoryBand.__table__.name
    probe_table, params = values_table(connection, "probe", (("probe", "bigint"), ("band", "bigint")), probes)
    sql = (f"WITH {probe_table} "
           f"SELECT probe.probe, {table}.article_id, count(*) FROM probe "
           f"JOIN {table} ON {table}.band = probe.band "
           f"GROUP BY probe.probe, {table}.article_id")
    if not is_sqlite(connection):
        sql = _best_per_probe(sql)
    return connection.exec_driver_sql(sql, params).all()


def _best_per_probe(sql: str) -> str:
    """The (probe, article, shared) rows of `sql` cut to each probe's best `MAX_CANDIDATES`
    (most bands shared, then oldest), the order `_stored_candidates` keeps: on PostgreSQL the
    server ranks them, and the storing process no longer fetches and sorts every copy of a
    syndicated text (in a long import, most of its time)."""
    return (f"SELECT probe, article_id, shared FROM (SELECT probe, article_id, shared, row_number() OVER "
            f"(PARTITION BY probe ORDER BY shared DESC, article_id) AS rank FROM ({sql}) AS found(probe, article_id, "
            f"shared)) AS ranked WHERE rank <= {MAX_CANDIDATES}")


def _find_story(sketch: Sketch, bands: list[int], stored: list[Candidate], batch: _Batch) -> int | None:
    """The story of the earliest verified near-duplicate among the best LSH candidates,
    stored or earlier in the batch."""
    candidates = sorted(stored + batch.candidates(bands), key=lambda c: (-c[0], c[1]))
    matches = [story for _shared, _article, story, other in candidates[:MAX_CANDIDATES]
               if other and is_same_story(sketch, other)]
    return min(matches, default=None)


def claim_stories(session: Session, candidates: Sequence[tuple[str, int, int]]) -> set[int]:
    """The one decision "does this hit alert?": of the (rule, story id, hit id) candidates,
    in order, the hits that hold their rule's claim on their story. The rule's first
    alerting hit in a story claims it (a unique key, so two racing savers never both win);
    later copies lose. A hit that holds the claim already (stored while the rule had no
    channel, alerted now by `backfill --alert`) keeps it."""
    firsts: dict[tuple[str, int], int] = {}
    for rule, story_id, hit_id in candidates:
        firsts.setdefault((rule, story_id), hit_id)
    table = StoryAlert.__table__
    won = set(insert_ignore_returning(session, table, [{"rule": rule, "story_id": story, "hit_id": hit_id}
                                                       for (rule, story), hit_id in firsts.items()], table.c.hit_id))
    lost = [hit_id for hit_id in firsts.values() if hit_id not in won]
    for chunk in in_chunks(lost):
        won.update(session.execute(select(table.c.hit_id).where(table.c.hit_id.in_(chunk))).scalars())
    return won


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
    """Drop the LSH bands of articles filed before the window (the members stay, for the
    history): every band row below the first article id filed inside it, a range of the
    article id index. Ids follow filing time, so this is the window to within a racing batch."""
    cutoff = (now or utcnow()) - STORY_WINDOW
    first_live = session.execute(FIRST_LIVE_MEMBER, {"cutoff": cutoff}).scalar()
    if first_live is None:
        first_live = (session.execute(select(func.max(_MEMBER.article_id))).scalar() or 0) + 1
    return session.execute(delete(StoryBand).where(StoryBand.article_id < first_live)).rowcount or 0


FIRST_LIVE_MEMBER = (select(_MEMBER.article_id).where(_MEMBER.created_at >= bindparam("cutoff"))
                     .order_by(_MEMBER.created_at, _MEMBER.article_id).limit(1))
