"""The stages of a monitoring pass as plain functions on plain data; `flows.run_pass` chains them.

    poll_feed(ctx, feed) -> FeedPoll          conditional GET, parse under a time budget, unseen entries
    fetch_page(ctx, job) -> (job, FetchResult | None)            the entry's page (None: no link)
    to_article(job, extracted) -> Article     the extracted article, or the entry's own text flagged
    match_article(ctx, job, article) -> ArticleToSave            rules matched, baseline decided
    save_articles_in_batches(ctx, items) -> {feed id: Tally}     50 per transaction, with hits and outbox
    finish_feeds(ctx, polls, tallies) -> [FeedOutcome]           validators saved, outcomes built

A feed's own trouble (unreachable, bad status, unparsable) is recorded against it, never
raised; a page that cannot be fetched or extracted leaves its entry matched on the feed's
title and summary, flagged with why, so no hit is lost. A feed's validators (ETag,
Last-Modified) are saved only once its entries are stored: a crash before that refetches,
never loses.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine

from config.models import Config
from extractors.articles import fallback_article
from extractors.errors import WorkFailed
from extractors.feeds import parse_feed_with_budget
from extractors.http import FetchResult, SafeClient
from extractors.language import settle_language
from extractors.models import Article, FeedEntry
from flows.redaction import redact
from flows.streams import Lanes
from matching import RuleSet
from matching.models import MatchInput
from store import (ArticleToSave, FeedState, FeedSuccess, record_feed_error, record_feed_successes,
                   save_article_groups, select_unseen)

log = logging.getLogger("newswatch.pass")
FIRST_POLL_ALERT_WINDOW = timedelta(hours=24)
SAVE_BATCH = 50


class PassContext:
    """What every stage of a pass needs, built once: config, database, HTTP client, rules, lanes.
    A plain class, not a dataclass: Prefect walks a task's dataclass arguments field by field
    (the whole config) looking for futures, and this handle holds none."""

    def __init__(self, config: Config, engine: Engine, client: SafeClient, ruleset: RuleSet, lanes: Lanes) -> None:
        self.config, self.engine, self.client, self.ruleset, self.lanes = config, engine, client, ruleset, lanes
        self.tags_by_url = {feed.url: feed.tags for feed in config.feeds}  # looked up once per new article

    def channels_for_rule(self, rule_name: str) -> tuple[str, ...]:
        rule = next(rule for rule in self.config.rules if rule.name == rule_name)
        return self.config.channels_for(rule)

    def feed_tags(self, url: str) -> tuple[str, ...]:
        return self.tags_by_url.get(url, ())


@dataclass
class FeedOutcome:
    """What one feed's poll produced, for the run summary and the feed-health table."""

    feed: str
    url: str
    status: str  # ok | not_modified | failed | skipped
    error_class: str | None = None
    error: str | None = None
    error_count: int = 0
    parked: bool = False
    parked_now: bool = False
    recovered: bool = False
    entries: int = 0
    new_articles: int = 0
    flagged: int = 0
    first_poll: bool = False
    next_poll_at: datetime | None = None  # for feeds not due this pass
    hit_ids: list[int] = field(default_factory=list)
    baseline_hit_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class FeedPoll:
    """A polled feed: its outcome so far, and the entries not seen before."""

    feed: FeedState
    outcome: FeedOutcome
    new_entries: tuple[FeedEntry, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    ttl_seconds: float | None = None


@dataclass(frozen=True)
class Tally:
    """What saving a feed's new entries gave: counted per feed, added up batch by batch."""

    new_articles: int = 0
    flagged: int = 0
    hit_ids: tuple[int, ...] = ()
    baseline_hit_ids: tuple[int, ...] = ()

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.new_articles + other.new_articles, self.flagged + other.flagged,
                     self.hit_ids + other.hit_ids, self.baseline_hit_ids + other.baseline_hit_ids)


Job = tuple[FeedPoll, FeedEntry]  # a new entry, with the poll that found it


def poll_feed(ctx: PassContext, feed: FeedState) -> FeedPoll:
    """Fetch and parse one feed; keep its unseen entries. Never raises for the feed's own trouble."""
    outcome = FeedOutcome(feed=feed.name, url=feed.url, status="ok", first_poll=not feed.baseline_done)
    result = ctx.client.fetch(feed.url, kind="feed", etag=feed.etag, last_modified=feed.last_modified)
    if not result.ok:
        return record_failure(ctx, feed, outcome, result.error_class, result.error, retry_after=result.retry_after)
    if result.not_modified:
        return FeedPoll(feed, replace(outcome, status="not_modified"), etag=feed.etag, last_modified=feed.last_modified)
    # parsing gets the same budget as the fetch: one per-feed deadline each, whatever the feed does
    parsed = parse_feed_with_budget(result.body, result.headers, result.final_url,
                                    ctx.config.settings.fetch.timeout_seconds, ctx.lanes.workers)
    if parsed.error_class:
        return record_failure(ctx, feed, outcome, parsed.error_class, parsed.error or parsed.error_class)
    return FeedPoll(feed, replace(outcome, entries=len(parsed.entries)),
                    tuple(select_unseen(ctx.engine, feed.id, parsed.entries)),
                    result.headers.get("etag"), result.headers.get("last-modified"), parsed.ttl_seconds)


def record_failure(ctx: PassContext, feed: FeedState, outcome: FeedOutcome, error_class, error,
                   retry_after=None) -> FeedPoll:
    retry_at = datetime.now(timezone.utc) + timedelta(seconds=retry_after) if retry_after else None
    change = record_feed_error(ctx.engine, feed.id, error_class or "error", error or "", retry_at=retry_at)
    parked = feed.parked or change.parked_now
    # the warning reaches the run's logs in the Prefect UI: an error quoting the feed's URL loses its tokens
    log.warning("feed %s failed: %s: %s; %s", feed.name, error_class, redact(error or "").rstrip("."),
                describe_next_try(change, parked))
    return FeedPoll(feed, replace(outcome, status="failed", error_class=error_class, error=error,
                                  error_count=change.error_count, parked_now=change.parked_now,
                                  next_poll_at=change.next_poll_at, parked=parked))


def describe_next_try(change, parked: bool) -> str:
    """`next try: next pass`, or when a parked (or rate-limited) feed is tried again."""
    in_a_row = f" ({change.error_count} failures in a row)" if change.error_count > 1 else ""
    if change.next_poll_at is None:
        return f"next try: next pass{in_a_row}"
    state = ", parked: retried every 6 h until it answers" if parked else ""
    return f"next try: {change.next_poll_at:%Y-%m-%d %H:%M} UTC{in_a_row}{state}"


def fetch_page(ctx: PassContext, job: Job) -> FetchResult | None:
    entry = job[1]
    return ctx.client.fetch(entry.link, kind="page") if entry.link else None


def to_article(job: Job, extracted: Article | WorkFailed) -> Article:
    """The extracted article; for a page that failed, the entry's own title and summary."""
    return extracted if isinstance(extracted, Article) else fallback_article(job[1], extracted.error_class)


def match_article(ctx: PassContext, job: Job, article: Article, now: datetime) -> tuple[FeedPoll, ArticleToSave]:
    poll, entry = job
    article = settle_language(article, entry.language)  # the feed's language: a hint for an undecided page
    doc = MatchInput(title=article.title or entry.title, body=article.text, language=article.language,
                     feed_tags=ctx.feed_tags(poll.feed.url))
    baseline = poll.outcome.first_poll and is_old_news(entry, now)
    return poll, ArticleToSave(entry, article, ctx.ruleset.match(doc), baseline=baseline)


def is_old_news(entry: FeedEntry, now: datetime) -> bool:
    """On a feed's first poll, entries older than a day (or undated) are the baseline:
    stored and matched, never alerted, so adding a feed does not flood anyone with its archive."""
    if entry.published is None:
        return True
    published = entry.published if entry.published.tzinfo else entry.published.replace(tzinfo=timezone.utc)
    return now - published > FIRST_POLL_ALERT_WINDOW


def save_articles_in_batches(ctx: PassContext, items: Iterable[tuple[FeedPoll, ArticleToSave]]) -> dict[int, Tally]:
    """Store the matched articles SAVE_BATCH at a time (one transaction each, across feeds);
    what each feed gained, by feed id."""
    tallies: dict[int, Tally] = {}
    batch: list[tuple[FeedPoll, ArticleToSave]] = []
    for item in items:
        batch.append(item)
        if len(batch) == SAVE_BATCH:
            tallies = add_tallies(tallies, save_batch(ctx, batch))
            batch = []
    return add_tallies(tallies, save_batch(ctx, batch)) if batch else tallies


def add_tallies(tallies: dict[int, Tally], more: dict[int, Tally]) -> dict[int, Tally]:
    return {**tallies, **{key: tallies.get(key, Tally()) + tally for key, tally in more.items()}}


def save_batch(ctx: PassContext, batch: list[tuple[FeedPoll, ArticleToSave]]) -> dict[int, Tally]:
    """One transaction for the batch, grouped by feed; what each feed gained."""
    groups: dict[int, list[ArticleToSave]] = {}
    names = {}
    for poll, item in batch:
        groups.setdefault(poll.feed.id, []).append(item)
        names[poll.feed.id] = poll.feed.name
    results = save_article_groups(ctx.engine, list(groups.items()), channels_for_rule=ctx.channels_for_rule,
                                  config_hash=ctx.config.config_hash)
    for feed_id, items in groups.items():
        warn_skipped_pages(names[feed_id], items)
    return {feed_id: Tally(len(saved.article_ids), sum(1 for item in items if item.article.flagged),
                           tuple(saved.hit_ids), tuple(saved.baseline_hit_ids))
            for (feed_id, items), saved in zip(groups.items(), results)}


def warn_skipped_pages(feed: str, batch: list[ArticleToSave]) -> None:
    """One warning per feed and batch for the pages that could not be fetched or cleaned
    (their entries were matched on the feed's own title and summary), with why."""
    skipped = [item for item in batch if item.article.flagged]
    if not skipped:
        return
    reasons = Counter(item.article.flagged for item in skipped)
    why = ", ".join(f"{reason} x{count}" if count > 1 else reason for reason, count in reasons.most_common())
    log.warning("feed %s: %d page(s) skipped (%s); their entries were matched on the feed's title and "
                "summary only", feed, len(skipped), why)


def finish_feeds(ctx: PassContext, polls: list[FeedPoll], tallies: dict[int, Tally]) -> list[FeedOutcome]:
    """Save the validators of every feed polled fine (one transaction), now that their entries
    are stored; each poll's outcome with what its entries gave."""
    fine = [poll for poll in polls if poll.outcome.status in ("ok", "not_modified")]
    now = datetime.now(timezone.utc)
    changes = record_feed_successes(ctx.engine, [
        FeedSuccess(poll.feed.id, poll.etag, poll.last_modified,
                    now + timedelta(seconds=poll.ttl_seconds) if poll.ttl_seconds else None) for poll in fine])
    recovered = {poll.feed.id: change.recovered for poll, change in zip(fine, changes)}
    return [outcome_of(poll, tallies.get(poll.feed.id, Tally()), recovered.get(poll.feed.id, False))
            for poll in polls]


def outcome_of(poll: FeedPoll, tally: Tally, recovered: bool) -> FeedOutcome:
    return replace(poll.outcome, recovered=recovered, new_articles=tally.new_articles, flagged=tally.flagged,
                   hit_ids=list(tally.hit_ids), baseline_hit_ids=list(tally.baseline_hit_ids))
