"""The database tables, written the way the SQLModel docs write them.

A `UniqueConstraint` stands wherever a duplicate would be a bug: one feed per URL,
one identity per entry key, one hit per (rule, article), one delivery per
(hit, channel). Those constraints are what make "new" and "sent" decided once,
even when two runs race.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.packed import PackedText


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """Naive datetimes are taken as UTC; aware ones are converted to it."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Feed(SQLModel, table=True):
    """A polled feed and how it is doing (health is shown in every run summary)."""

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(index=True, unique=True, max_length=2000)
    name: str = ""
    etag: str | None = None
    last_modified: str | None = None
    baseline_done: bool = False
    error_count: int = 0
    last_error_class: str | None = None
    last_error: str | None = None
    last_polled_at: datetime | None = None
    last_ok_at: datetime | None = None
    next_poll_at: datetime | None = None
    parked: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class SeenEntry(SQLModel, table=True):
    """An entry identity already taken in. Outlives the article (retention purges
    articles, not identities), so a feed that still lists an old item never brings it back."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=2100)
    article_id: int | None = Field(default=None, foreign_key="article.id", index=True, ondelete="SET NULL")
    first_seen_at: datetime = Field(default_factory=utcnow)


class Article(SQLModel, table=True):
    # a feed's newest items, for the silent-feed check (store.health): without it SQLite walked fetched_at
    __table_args__ = (Index("ix_article_feed_fetched", "feed_id", "fetched_at"),)
    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feed.id")  # indexed by ix_article_feed_fetched, which leads with it
    entry_key: str = Field(max_length=2100)  # identity is decided by SeenEntry.key; never looked up here
    url: str = Field(max_length=2000)
    title: str = ""
    text: str = Field(default="", sa_column=Column(PackedText, nullable=False, default=""))  # zlib (store.packed)
    published: datetime | None = Field(default=None, index=True)
    language: str | None = None
    author: str | None = None
    flagged: str | None = None
    fetched_at: datetime = Field(default_factory=utcnow, index=True)
    # how `language` was decided: text, metadata, text+metadata, undecided (extractors.language);
    # None for articles stored before it was recorded
    language_source: str | None = None


class Hit(SQLModel, table=True):
    """One rule matching one article, with the explanation shown to the user."""

    __table_args__ = (UniqueConstraint("rule", "article_id"),
                      Index("ix_hit_rule_found_at", "rule", "found_at"),  # hits --rule X --since, newest first
                      Index("ix_hit_rule_rule_hash", "rule", "rule_hash"))  # hits per rule version
    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(index=True)
    rule_hash: str = ""
    config_hash: str = ""
    article_id: int = Field(foreign_key="article.id", index=True)
    terms: str = "[]"  # JSON list of matched words as they appear in the text
    fields: str = "[]"  # JSON list: "title", "body"
    snippet: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    marks: str = "[]"  # JSON list of [start, end] offsets into snippet
    baseline: bool = False  # found on a feed's first poll: stored, never alerted
    backfilled: bool = False  # found by `newswatch backfill` among stored articles, not by a pass
    imported: bool = False  # found in an archive loaded by `newswatch import`; found_at is its published time
    found_at: datetime = Field(default_factory=utcnow, index=True)


class Delivery(SQLModel, table=True):
    """The outbox: one row per hit and destination channel, written with the hit.

    A relay claims rows before sending them (`sending`, with its claim token and time), so
    two relays never send one row; a claim whose process died returns to `pending`."""

    __table_args__ = (UniqueConstraint("hit_id", "channel"),)
    id: int | None = Field(default=None, primary_key=True)
    hit_id: int = Field(foreign_key="hit.id", index=True)
    channel: str = Field(index=True)
    status: str = Field(default="pending", index=True)  # pending | sending | sent | summarized | dead
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = None
    sent_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    claim_token: str | None = Field(default=None, max_length=200)  # while `sending`: which relay (store.claims)
    claimed_at: datetime | None = None


class DeliveryAttempt(SQLModel, table=True):
    """Every send attempt, kept for the record: when, how it went, what failed."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    ok: bool = False
    error: str | None = None


class StoryMember(SQLModel, table=True):
    """An article's place in a story: near-identical articles share `story_id`.

    `story_id` is the id of the story's first article. `signature` is the MinHash
    sketch of the text (None when the text is too short to group: a story of one).
    """

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", unique=True, ondelete="CASCADE")
    story_id: int = Field(index=True)
    size: int = 0
    signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class StoryBand(SQLModel, table=True):
    """The LSH index: one row per band of a sketch; articles sharing a band are candidates.

    Compact, as it is the largest table: an integer key, no row id (SQLite WITHOUT ROWID),
    and rows only for the articles of the story window (store.stories.prune_story_index
    drops older ones by article id: rows are written in article order, so on PostgreSQL a
    BRIN index of a few pages finds them, where a B-tree would cost a third of the table).
    No foreign key: checking each of an article's 8 to 64 rows against `article` was half
    the cost of writing them on PostgreSQL; a band whose article is gone finds no member, and
    retention deletes a purged article's bands (migration 0013)."""

    __table_args__ = (Index("ix_storyband_article_id", "article_id", postgresql_using="brin"),
                      {"sqlite_with_rowid": False})
    band: int = Field(primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False})
    article_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})


class StoryAlert(SQLModel, table=True):
    """A rule's claim on a story: the first alerting hit wins, later copies do not alert."""

    __table_args__ = (UniqueConstraint("rule", "story_id"),)
    id: int | None = Field(default=None, primary_key=True)
    rule: str
    story_id: int = Field(index=True)
    hit_id: int = Field(foreign_key="hit.id", index=True, ondelete="CASCADE")


class Notice(SQLModel, table=True):
    """A message for the operator channel (feed parked or recovered, deliveries given up).

    Written in the same transaction as the event, sent by the relay like any delivery:
    pending -> sending -> sent | dead, or `unrouted` when no `operator` channel is configured.
    """

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    subject: str = ""
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = None
    sent_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    claim_token: str | None = Field(default=None, max_length=200)
    claimed_at: datetime | None = None


class RuleEvent(SQLModel, table=True):
    """Something a rule saw beyond one hit: a volume `spike`, or a `story_update` (an alerted
    story carried by more outlets or languages). `(rule, kind, key)` is unique, so each is
    recorded, and alerted, once: a spike's key is its first window, an update's its story and day.
    `details` is JSON: the counts and top stories the message shows."""

    __table_args__ = (UniqueConstraint("rule", "kind", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(index=True)
    kind: str = Field(max_length=20)  # spike | story_update
    key: str = Field(max_length=200)
    story_id: int | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    stories: int = 0
    expected: float = 0.0
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class EventDelivery(SQLModel, table=True):
    """The outbox of rule events: one row per event and channel, written with the event and
    sent by the relay like a hit's delivery (claimed, retried, given up, held by cooldown)."""

    __table_args__ = (UniqueConstraint("event_id", "channel"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="ruleevent.id", index=True, ondelete="CASCADE")
    channel: str = Field(index=True)
    status: str = Field(default="pending", index=True)  # pending | sending | sent | summarized | dead
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = None
    sent_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    claim_token: str | None = Field(default=None, max_length=200)
    claimed_at: datetime | None = None
class CompletedPass(SQLModel, table=True):
    """A pass that got through polling and storing: what the dead-man's switch counts from."""

    id: int | None = Field(default=None, primary_key=True)
    shard: str = Field(default="0/1", max_length=40)
    started_at: datetime
    finished_at: datetime = Field(default_factory=utcnow, index=True)
    feeds_polled: int = 0
    feeds_failed: int = 0


class Incident(SQLModel, table=True):
    """One health condition the operator was told about (`stalled`, `all_feeds_failed`,
    `feed_silent:<feed id>`), one row per key, reopened when it recurs. Opening and
    closing are compare-and-set updates, so each incident and its recovery is told once."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    is_open: bool = Field(default=False, index=True)
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class MissedRun(SQLModel, table=True):
    """A pass that ran without the Prefect API (unreachable): its summary waits here until a
    run that reaches the API publishes it, so the UI's history has no hole."""

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(index=True)
    finished_at: datetime | None = None
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    summary: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    published_at: datetime | None = Field(default=None, index=True)
    flow_run_id: str | None = Field(default=None, max_length=64)


class Label(SQLModel, table=True):
    """The analyst's judgement of one article for one rule: relevant or not.

    One label per (rule, article); labelling again changes it. `rule_hash` is the content
    hash of the rule version the label was given under, so a label outlives rule edits and
    still says what it judged. Retention keeps a labelled article (store.retention)."""

    __table_args__ = (UniqueConstraint("rule", "article_id"),)
    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(index=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    relevant: bool
    rule_hash: str = ""
    labelled_at: datetime = Field(default_factory=utcnow)
