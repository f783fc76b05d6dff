"""One monitoring pass as plain functions: the stages in order, no Prefect.

`flows/monitor.py` wraps these in tasks; remove the decorators and the pipeline still
runs (the benchmarks do exactly that to measure Prefect's share). Each feed is one
unit of work: poll -> keep only unseen entries -> fetch and clean their pages ->
match -> store articles, hits and outbox rows in one transaction -> save the feed's
validators. A failure in one feed is recorded against that feed and the pass goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine

from config.models import Config, FeedConfig
from extractors.articles import extract_article, fallback_article
from extractors.feeds import parse_feed_with_budget
from extractors.http import FetchResult, SafeClient
from extractors.models import Article, FeedEntry
from matching import RuleSet
from matching.models import MatchInput
from store import (
    ArticleToSave,
    FeedState,
    record_feed_error,
    record_feed_success,
    save_articles,
    select_unseen,
)

log = logging.getLogger("newswatch.pass")
PARSE_BUDGET_SECONDS = 20.0
FIRST_POLL_ALERT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class PassContext:
    """Everything a pass needs, built once: config, database, HTTP client, compiled rules."""

    config: Config
    engine: Engine
    client: SafeClient
    ruleset: RuleSet

    def feed_config(self, url: str) -> FeedConfig | None:
        return next((feed for feed in self.config.feeds if feed.url == url), None)

    def channels_for_rule(self, rule_name: str) -> tuple[str, ...]:
        rule = next(rule for rule in self.config.rules if rule.name == rule_name)
        return self.config.channels_for(rule)


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
    hit_ids: list[int] = field(default_factory=list)
    baseline_hit_ids: list[int] = field(default_factory=list)


def process_feed(ctx: PassContext, feed: FeedState) -> FeedOutcome:
    """Poll one feed and store what is new; never raises for a feed's own trouble."""
    outcome = FeedOutcome(feed=feed.name, url=feed.url, status="ok", first_poll=not feed.baseline_done)
    result = ctx.client.fetch(feed.url, kind="feed", etag=feed.etag, last_modified=feed.last_modified)
    if not result.ok:
        return _fail(ctx, feed, outcome, result.error_class, result.error, retry_after=result.retry_after)
    if result.not_modified:
        outcome.status = "not_modified"
        return _succeed(ctx, feed, outcome, feed.etag, feed.last_modified, None)
    parsed = parse_feed_with_budget(result.body, result.headers, result.final_url, PARSE_BUDGET_SECONDS)
    if parsed.error_class:
        return _fail(ctx, feed, outcome, parsed.error_class, parsed.error or parsed.error_class)
    outcome.entries = len(parsed.entries)
    new_entries = select_unseen(ctx.engine, feed.id, parsed.entries)
    items = list(_clean_and_match(ctx, feed, new_entries, first_poll=outcome.first_poll))
    saved = save_articles(
        ctx.engine, feed.id, items, channels_for_rule=ctx.channels_for_rule, config_hash=ctx.config.config_hash
    )
    outcome.new_articles = len(saved.article_ids)
    outcome.flagged = sum(1 for item in items if item.article.flagged)
    outcome.hit_ids, outcome.baseline_hit_ids = saved.hit_ids, saved.baseline_hit_ids
    return _succeed(ctx, feed, outcome, result.headers.get("etag"), result.headers.get("last-modified"),
                    parsed.ttl_seconds)


def _succeed(ctx, feed, outcome, etag, last_modified, ttl_seconds) -> FeedOutcome:
    next_poll = datetime.now(timezone.utc) + timedelta(seconds=ttl_seconds) if ttl_seconds else None
    change = record_feed_success(ctx.engine, feed.id, etag=etag, last_modified=last_modified, next_poll_at=next_poll)
    outcome.recovered = change.recovered
    return outcome


def _fail(ctx, feed, outcome, error_class, error, retry_after=None) -> FeedOutcome:
    retry_at = datetime.now(timezone.utc) + timedelta(seconds=retry_after) if retry_after else None
    change = record_feed_error(ctx.engine, feed.id, error_class or "error", error or "", retry_at=retry_at)
    log.warning("feed %s failed: %s: %s", feed.name, error_class, error)
    outcome.status, outcome.error_class, outcome.error = "failed", error_class, error
    outcome.error_count, outcome.parked_now = change.error_count, change.parked_now
    outcome.parked = feed.parked or change.parked_now
    return outcome


def _clean_and_match(
    ctx: PassContext, feed: FeedState, entries: Sequence[FeedEntry], *, first_poll: bool
) -> Iterator[ArticleToSave]:
    config = ctx.feed_config(feed.url)
    tags = config.tags if config else ()
    now = datetime.now(timezone.utc)
    for entry, article in fetch_articles(ctx, entries):
        doc = MatchInput(title=article.title or entry.title, body=article.text, language=article.language,
                         feed_tags=tags)
        yield ArticleToSave(entry, article, ctx.ruleset.match(doc), baseline=first_poll and is_old_news(entry, now))


def is_old_news(entry: FeedEntry, now: datetime) -> bool:
    """On a feed's first poll, entries older than a day (or undated) are the baseline:
    stored and matched, never alerted, so adding a feed does not flood anyone with its archive."""
    if entry.published is None:
        return True
    published = entry.published if entry.published.tzinfo else entry.published.replace(tzinfo=timezone.utc)
    return now - published > FIRST_POLL_ALERT_WINDOW


def fetch_articles(ctx: PassContext, entries: Sequence[FeedEntry]) -> Iterator[tuple[FeedEntry, Article]]:
    """Fetch entries' pages concurrently and clean each; fall back to the entry's own text."""
    if not entries:
        return
    workers = max(1, min(ctx.config.settings.fetch.concurrency, len(entries)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
        results = pool.map(lambda entry: _fetch_page(ctx, entry), entries)
        for entry, result in zip(entries, results):
            yield entry, clean_page(entry, result)


def _fetch_page(ctx: PassContext, entry: FeedEntry) -> FetchResult | None:
    if not entry.link:
        return None
    return ctx.client.fetch(entry.link, kind="page")


def clean_page(entry: FeedEntry, result: FetchResult | None) -> Article:
    """The page's clean article, or the entry's own title and summary, flagged with why."""
    if result is None:
        return fallback_article(entry, "no_link")
    if not result.ok:
        return fallback_article(entry, result.error_class or "fetch_failed")
    try:
        article = extract_article(result.body, result.final_url, result.headers)
    except Exception as exc:  # a page that breaks the extractor must not lose the entry
        log.warning("extraction failed for %s: %s", entry.link, exc)
        return fallback_article(entry, "extract_failed")
    if not article.text.strip():
        return fallback_article(entry, "empty_extraction")
    return article
