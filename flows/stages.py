"""One monitoring pass as plain functions: the stages in order, no Prefect.

`flows/run_pass.py` calls them directly; `flows/monitor.py` wraps them in tasks.
A pass has three steps:

1. `poll_feed` (per feed): conditional GET, parse under a time budget, keep only
   entries not seen before. A feed's own trouble is recorded against it, never raised.
2. `process_entries` (all feeds' new entries as one stream): pages are fetched by a
   thread pool while a process pool extracts those already fetched, so fetching overlaps
   extraction; each clean article is matched at once and saved with its hits and outbox
   rows in batches of 50 (one transaction each, across feeds, by a writer thread).
   Only ids stay in memory, never the articles.
3. `finish_feeds` (all feeds, one transaction): save each feed's validators
   (ETag/Last-Modified) only now that its entries are stored, so a crash before this
   point refetches, never loses.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine

from config.models import Config
from extractors.articles import fallback_article
from extractors.feeds import parse_feed_with_budget
from extractors.http import SafeClient
from extractors.language import settle_language
from extractors.models import Article, FeedEntry
from extractors.pool import ExtractionPool
from flows.redaction import redact
from flows.streams import BatchWriter, fetch_pages
from matching import RuleSet
from matching.models import MatchInput
from store import (ArticleToSave, FeedState, FeedSuccess, record_feed_error, record_feed_successes,
                   save_article_groups, select_unseen)

log = logging.getLogger("newswatch.pass")
FIRST_POLL_ALERT_WINDOW = timedelta(hours=24)
SAVE_BATCH = 50


@dataclass(frozen=True)
class PassContext:
    """Everything a pass needs, built once: config, database, HTTP client, rules, extractors."""

    config: Config
    engine: Engine
    client: SafeClient
    ruleset: RuleSet
    extraction: ExtractionPool

    def channels_for_rule(self, rule_name: str) -> tuple[str, ...]:
        rule = next(rule for rule in self.config.rules if rule.name == rule_name)
        return self.config.channels_for(rule)

    def feed_tags(self, url: str) -> tuple[str, ...]:
        return next((feed.tags for feed in self.config.feeds if feed.url == url), ())


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


@dataclass
class FeedPoll:
    """A polled feed waiting for its new entries to be processed."""

    feed: FeedState
    outcome: FeedOutcome
    new_entries: list[FeedEntry] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    ttl_seconds: float | None = None

    @property
    def pending(self) -> bool:
        """Polled fine; validators still to be saved by `finish_feed`."""
        return self.outcome.status in ("ok", "not_modified")


def poll_feed(ctx: PassContext, feed: FeedState) -> FeedPoll:
    """Fetch and parse one feed; keep its unseen entries. Never raises for the feed's own trouble."""
    poll = FeedPoll(feed, FeedOutcome(feed=feed.name, url=feed.url, status="ok", first_poll=not feed.baseline_done))
    result = ctx.client.fetch(feed.url, kind="feed", etag=feed.etag, last_modified=feed.last_modified)
    if not result.ok:
        return _fail(ctx, poll, result.error_class, result.error, retry_after=result.retry_after)
    if result.not_modified:
        poll.outcome.status, poll.etag, poll.last_modified = "not_modified", feed.etag, feed.last_modified
        return poll
    # parsing gets the same budget as the fetch: one per-feed deadline each, whatever the feed does
    parsed = parse_feed_with_budget(result.body, result.headers, result.final_url,
                                    ctx.config.settings.fetch.timeout_seconds)
    if parsed.error_class:
        return _fail(ctx, poll, parsed.error_class, parsed.error or parsed.error_class)
    poll.outcome.entries = len(parsed.entries)
    poll.new_entries = select_unseen(ctx.engine, feed.id, parsed.entries)
    poll.etag, poll.last_modified = result.headers.get("etag"), result.headers.get("last-modified")
    poll.ttl_seconds = parsed.ttl_seconds
    return poll


def _fail(ctx: PassContext, poll: FeedPoll, error_class, error, retry_after=None) -> FeedPoll:
    retry_at = datetime.now(timezone.utc) + timedelta(seconds=retry_after) if retry_after else None
    change = record_feed_error(ctx.engine, poll.feed.id, error_class or "error", error or "", retry_at=retry_at)
    parked = poll.feed.parked or change.parked_now
    # the warning reaches the run's logs in the Prefect UI: an error quoting the feed's URL loses its tokens
    log.warning("feed %s failed: %s: %s; %s", poll.feed.name, error_class, redact(error or "").rstrip("."),
                describe_next_try(change, parked))
    outcome = poll.outcome
    outcome.status, outcome.error_class, outcome.error = "failed", error_class, error
    outcome.error_count, outcome.parked_now = change.error_count, change.parked_now
    outcome.next_poll_at = change.next_poll_at
    outcome.parked = parked
    return poll


def describe_next_try(change, parked: bool) -> str:
    """`next try: next pass`, or when a parked (or rate-limited) feed is tried again."""
    in_a_row = f" ({change.error_count} failures in a row)" if change.error_count > 1 else ""
    if change.next_poll_at is None:
        return f"next try: next pass{in_a_row}"
    state = ", parked: retried every 6 h until it answers" if parked else ""
    return f"next try: {change.next_poll_at:%Y-%m-%d %H:%M} UTC{in_a_row}{state}"


def finish_feed(ctx: PassContext, poll: FeedPoll) -> FeedOutcome:
    """Save validators and reset health, now that the feed's new entries are stored."""
    return finish_feeds(ctx, [poll])[0]


def finish_feeds(ctx: PassContext, polls: Sequence[FeedPoll]) -> list[FeedOutcome]:
    """`finish_feed` for every poll, in one transaction; their outcomes in the same order."""
    pending = [poll for poll in polls if poll.pending]
    now = datetime.now(timezone.utc)
    changes = record_feed_successes(ctx.engine, [
        FeedSuccess(poll.feed.id, poll.etag, poll.last_modified,
                    now + timedelta(seconds=poll.ttl_seconds) if poll.ttl_seconds else None)
        for poll in pending])
    for poll, change in zip(pending, changes):
        poll.outcome.recovered = change.recovered
    return [poll.outcome for poll in polls]


def process_entries(ctx: PassContext, polls: Iterable[FeedPoll]) -> None:
    """Fetch, extract, match and store the new entries of `polls`; fills their outcomes.

    `polls` may still be arriving (an iterator in completion order): pages of the feeds
    already polled are fetched and extracted while slow feeds are still being polled.
    Batches are saved by a writer thread, so the extraction workers are fed meanwhile.
    """
    polls_seen: list[FeedPoll] = []
    by_id: dict[int, FeedPoll] = {}
    now = datetime.now(timezone.utc)
    def save(groups: dict[int, list[ArticleToSave]]) -> None:
        save_batches(ctx, [(by_id[key], batch) for key, batch in groups.items()])

    with BatchWriter(save, batch_size=SAVE_BATCH) as writer:
        for (poll, entry), article in clean_articles(ctx, polls, polls_seen):
            by_id[id(poll)] = poll
            writer.put(id(poll), match_article(ctx, poll, entry, article, now))


def match_article(ctx: PassContext, poll: FeedPoll, entry: FeedEntry, article: Article, now: datetime) -> ArticleToSave:
    article = settle_language(article, entry.language)  # the feed's language: a hint for an undecided page
    doc = MatchInput(title=article.title or entry.title, body=article.text, language=article.language,
                     feed_tags=ctx.feed_tags(poll.feed.url))
    baseline = poll.outcome.first_poll and is_old_news(entry, now)
    return ArticleToSave(entry, article, ctx.ruleset.match(doc), baseline=baseline)


def save_batches(ctx: PassContext, batches: list[tuple[FeedPoll, list[ArticleToSave]]]) -> None:
    """Store several feeds' batches in one transaction; count what each feed gained."""
    results = save_article_groups(ctx.engine, [(poll.feed.id, batch) for poll, batch in batches],
                                  channels_for_rule=ctx.channels_for_rule, config_hash=ctx.config.config_hash)
    for (poll, batch), saved in zip(batches, results):
        outcome = poll.outcome
        outcome.new_articles += len(saved.article_ids)
        outcome.flagged += sum(1 for item in batch if item.article.flagged)
        outcome.hit_ids += saved.hit_ids
        outcome.baseline_hit_ids += saved.baseline_hit_ids
        warn_skipped_pages(poll.feed.name, batch)


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


def is_old_news(entry: FeedEntry, now: datetime) -> bool:
    """On a feed's first poll, entries older than a day (or undated) are the baseline:
    stored and matched, never alerted, so adding a feed does not flood anyone with its archive."""
    if entry.published is None:
        return True
    published = entry.published if entry.published.tzinfo else entry.published.replace(tzinfo=timezone.utc)
    return now - published > FIRST_POLL_ALERT_WINDOW


Job = tuple[FeedPoll, FeedEntry]


def clean_articles(
    ctx: PassContext, polls: Iterable[FeedPoll], polls_seen: list[FeedPoll]
) -> Iterator[tuple[Job, Article]]:
    """((poll, entry), clean article) for every new entry, in completion order.

    Pages are fetched by a thread pool, hosts taking turns (`flows.streams.fetch_pages`);
    fetched pages go to the extraction process pool as they arrive. An entry whose page
    cannot be fetched or extracted yields its own title and summary, flagged with why:
    no hit is lost.
    """
    fallbacks: list[tuple[Job, Article]] = []

    def fetched_pages() -> Iterator[tuple[Job, bytes, str, dict]]:
        for job, result in fetch_pages(ctx, polls, polls_seen):
            if result is not None and result.ok:
                yield job, result.body, result.final_url, result.headers
            else:
                reason = "no_link" if result is None else (result.error_class or "fetch_failed")
                fallbacks.append((job, fallback_article(job[1], reason)))

    for job, outcome in ctx.extraction.extract_many(fetched_pages()):
        yield job, outcome if isinstance(outcome, Article) else fallback_article(job[1], outcome)
        while fallbacks:
            yield fallbacks.pop()
    while fallbacks:
        yield fallbacks.pop()
