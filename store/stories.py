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

import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, func, select
from sqlmodel import Session

from store.bulk import bind_converter, copy_rows, insert_rows, values_table
from store.dialect import is_sqlite, lock_transaction, materialized, max_parameters, placeholder
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
    members and bands are written at the end. An article looks under the bands it is filed
    under (`_filed_bands`): all 64, or old news's sparse few, which every article has among
    its own, so old and recent news meet through those both ways, and old news looks at an
    eighth of the index. One query finds the stored candidates of the whole batch (bands
    counted and ranked in the database: syndicated copies share every band, so the raw band
    pairs would be many) and two statements write the batch.
    """
    now = now or utcnow()
    sketches = [text.sketch if isinstance(text, StorySketch) else sketch_text(text) for _, text in articles]
    bands = [_filed_bands(text, band_keys(sketch)) if sketch else [] for (_, text), sketch in zip(articles, sketches)]
    stored, batch = _stored_candidates(session, bands, now - STORY_WINDOW), _Batch()
    for (article_id, _), sketch, keys, found in zip(articles, sketches, bands, stored):
        story_id = (_find_story(sketch, keys, found, batch) if sketch else None) or article_id
        batch.add(article_id, story_id, sketch, keys)
    insert_rows(session, StoryMember.__table__, [dict(article_id=m.article_id, story_id=m.story_id, created_at=now,
                                                      size=m.sketch.size if m.sketch else 0,
                                                      signature=m.sketch.signature if m.sketch else None)
                                                 for m in batch.members])
    if batch.by_band:
        _insert_bands(session, [(band, m.article_id) for m in batch.members for band in m.bands])
    return [member.story_id for member in batch.members]


def _filed_bands(text: str | StorySketch, keys: list[int]) -> list[int]:
    """The bands an article is filed under, and looks under: all of them, or for old news (an
    import's history) every HISTORY_BAND_STEP-th, at an eighth of the index's size: copies of
    it still find it, through those."""
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


_MEMBER = StoryMember.__table__.c
MAX_PROBES_PER_QUERY = 100  # articles whose bands one query looks up, two parameters a band
MAX_PROBES_AS_ARRAYS = 5_000  # the same on PostgreSQL, where the bands go as two array parameters
MAX_PER_BAND = MAX_CANDIDATES  # the oldest articles of a band a probe looks at (see `_candidate_rows`)
LAST_ID = 2**63 - 1  # a band holding fewer than MAX_PER_BAND articles is read to its end


def _stored_candidates(session: Session, bands: list[list[int]], since: datetime) -> list[list[Candidate]]:
    """For each article of the batch (its band keys), the best `MAX_CANDIDATES` stored
    articles of the window by shared bands, then oldest first, with their sketches. The
    index holds (about) the window's articles only; their members' time decides exactly.
    Articles with the same sketch (verbatim copies of a text) share one `Sketch` object."""
    found: list[list[Candidate]] = [[] for _ in bands]
    probing = [probe for probe, keys in enumerate(bands) if keys]
    sketches: dict[tuple[bytes, int], Sketch] = {}
    step = _probes_per_query(session)
    for start in range(0, len(probing), step):
        for probe, article_id, shared, story_id, size, signature in _candidate_rows(
                session, [(probe, band) for probe in probing[start:start + step] for band in bands[probe]], since):
            sketch = None if signature is None else sketches.setdefault((bytes(signature), size),
                                                                        Sketch(bytes(signature), size))
            found[probe].append((shared, article_id, story_id, sketch))
    return found


def _probes_per_query(session: Session) -> int:
    """As many articles' bands as the backend takes parameters in one statement: SQLite's
    limit is 32,766 since 3.32 but may be built as low as 999. PostgreSQL takes them as two
    arrays (`values_table`): the whole batch in one query."""
    connection = session.connection()
    if not is_sqlite(connection):
        return MAX_PROBES_AS_ARRAYS
    limit = max_parameters(connection)
    return max(1, min(MAX_PROBES_PER_QUERY, (limit - 2) // (2 * NUM_BANDS)))


def _candidate_rows(session: Session, probes: list[tuple[int, int]], since: datetime) -> list[tuple]:
    """(probe, article id, bands shared, story id, size, signature) of each probe's best
    `MAX_CANDIDATES` stored articles (most bands shared, then oldest) filed since `since`, in
    one statement: the probes' bands as a table (`values_table`) joined to the band index,
    ranked, and joined to the members' sketches, all on the database's side. Written for the
    driver: built by SQLAlchemy, a batch's thousands of values cost more to compile than the
    query costs to run.

    A probe looks at the `MAX_PER_BAND` oldest articles of each of its bands only (an index
    range that stops there): a text that recurs through a long history (a wire story, a
    template) fills its bands with copies, and joining every one cost each new copy time in
    proportion to the whole history. The best candidates are the oldest copies anyway: an
    article only goes unseen when every band it shares with the probe holds that many older
    articles, which ranked before it."""
    if not probes:
        return []
    connection = session.connection()
    probe_table, params = values_table(connection, "probe", (("probe", "bigint"), ("band", "bigint")), probes)
    to_db = bind_converter(connection, StoryMember.__table__, "created_at")
    return connection.exec_driver_sql(_candidate_sql(connection, probe_table),
                                      (*params, to_db(since) if to_db else since)).all()


def _candidate_sql(connection: Connection, probe_table: str) -> str:
    """`_candidate_rows`' statement, given the probes' table expression."""
    band, member = StoryBand.__table__.name, StoryMember.__table__.name
    if is_sqlite(connection):  # no LATERAL: each band's last article looked at, found first, once (3.35+)
        indexed = (f"cut AS {materialized(connection)}(SELECT probe, band, coalesce((SELECT article_id FROM {band} "
                   f"WHERE {band}.band = probe.band ORDER BY article_id LIMIT 1 OFFSET {MAX_PER_BAND - 1}), "
                   f"{LAST_ID}) AS last FROM probe), "
                   f"shared AS (SELECT cut.probe, {band}.article_id, count(*) AS shared FROM cut JOIN {band} "
                   f"ON {band}.band = cut.band AND {band}.article_id <= cut.last GROUP BY cut.probe, {band}.article_id)")
    else:
        indexed = (f"shared AS (SELECT probe.probe, indexed.article_id, count(*) AS shared FROM probe "
                   f"CROSS JOIN LATERAL (SELECT article_id FROM {band} WHERE {band}.band = probe.band "
                   f"ORDER BY article_id LIMIT {MAX_PER_BAND}) AS indexed GROUP BY probe.probe, indexed.article_id)")
    return (f"WITH {probe_table}, {indexed}, "
            f"best AS (SELECT probe, article_id, shared FROM (SELECT probe, article_id, shared, row_number() OVER "
            f"(PARTITION BY probe ORDER BY shared DESC, article_id) AS rank FROM shared) AS ranked "
            f"WHERE rank <= {MAX_CANDIDATES}) "
            f"SELECT best.probe, best.article_id, best.shared, m.story_id, m.size, m.signature "
            f"FROM best JOIN {member} AS m ON m.article_id = best.article_id "
            f"WHERE m.created_at >= {placeholder(connection)}")


def _find_story(sketch: Sketch, bands: list[int], stored: list[Candidate], batch: _Batch) -> int | None:
    """The story of the earliest verified near-duplicate among the best LSH candidates,
    stored or earlier in the batch: the candidates tried in story order, each sketch once,
    until one is the same story."""
    candidates = sorted(stored + batch.candidates(bands), key=lambda c: (-c[0], c[1]))[:MAX_CANDIDATES]
    tried: dict[Sketch, bool] = {}
    for _shared, _article, story, other in sorted(candidates, key=lambda c: c[2]):
        if other is None:
            continue
        if other not in tried:
            tried[other] = is_same_story(sketch, other)
        if tried[other]:
            return story
    return None


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
    article id index. Ids follow filing time, so this is the window to within a racing batch.

    Skipped when this process pruned below the same article already (every batch of an
    import, while the window's first article stays): rows below it are only ever written by
    a racing batch, and on PostgreSQL the delete reads every page the BRIN index has not
    summarised yet, up to a fifth of the table between two vacuums, 150 µs an article in an
    import of 600,000. A band left over is harmless: candidates are read with their members'
    filing time (`_candidate_rows`)."""
    cutoff = (now or utcnow()) - STORY_WINDOW
    first_live = session.execute(FIRST_LIVE_MEMBER, {"cutoff": cutoff}).scalar()
    if first_live is None:
        first_live = (session.execute(select(func.max(_MEMBER.article_id))).scalar() or 0) + 1
    engine = session.get_bind()
    if _PRUNED_BELOW.get(engine) == first_live:
        return 0
    _PRUNED_BELOW[engine] = first_live
    return session.execute(delete(StoryBand).where(StoryBand.article_id < first_live)).rowcount or 0


_PRUNED_BELOW: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> the first live article pruned below


FIRST_LIVE_MEMBER = (select(_MEMBER.article_id).where(_MEMBER.created_at >= bindparam("cutoff"))
                     .order_by(_MEMBER.created_at, _MEMBER.article_id).limit(1))
