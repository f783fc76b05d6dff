"""A whole monitoring pass, written once and run two ways.

`run_pass(config)` calls the stages directly; the Prefect flow calls the same function
with the steps swapped for task-wrapped versions. So the code path a user runs under
Prefect is the one tests and benchmarks run without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

from alerts import RelayReport, send_pending
from config.models import Config
from extractors.http import SafeClient
from extractors.pool import ExtractionPool
from flows.stages import FeedOutcome, FeedPoll, PassContext, finish_feed, poll_feed, process_entries
from flows.summary import PassSummary
from matching import compile_rules
from store import FeedState, delivery_counts, open_database, sync_feeds

EXTRACTION_BUDGET_SECONDS = 30.0


def poll_feeds_threaded(ctx: PassContext, feeds: Sequence[FeedState]) -> list[FeedPoll]:
    """Poll feeds a few at a time (the client also caps requests per host)."""
    workers = max(1, min(ctx.config.settings.fetch.concurrency, len(feeds)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="feed") as pool:
        return list(pool.map(lambda feed: poll_feed(ctx, feed), feeds))


def deliver_alerts(ctx: PassContext) -> RelayReport:
    return send_pending(ctx.engine, ctx.config.channels, ctx.config.settings.alerts, rules=ctx.config.rules)


@dataclass(frozen=True)
class PassSteps:
    """The three steps of a pass that Prefect wraps in tasks; plain functions by default."""

    poll_feeds: Callable[[PassContext, Sequence[FeedState]], list[FeedPoll]] = poll_feeds_threaded
    process_entries: Callable[[PassContext, Sequence[FeedPoll]], None] = process_entries
    deliver: Callable[[PassContext], RelayReport] = deliver_alerts


def select_feeds(feeds: Sequence[FeedState], now: datetime) -> tuple[list[FeedState], list[FeedState]]:
    """Split configured feeds into (due, skipped): parked or waiting feeds are not due yet."""
    due, skipped = [], []
    for feed in feeds:
        (due if feed.due(now) else skipped).append(feed)
    return due, skipped


def run_pass(config: Config, steps: PassSteps = PassSteps()) -> PassSummary:
    """Poll every due feed, store what is new, send pending alerts; return the summary."""
    summary = PassSummary(started_at=datetime.now(timezone.utc))
    engine = open_database(config.settings.database_url)
    try:
        ruleset = compile_rules(config.rules, config.aliases)
        feeds = sync_feeds(engine, config.feeds)
        due, skipped = select_feeds(feeds, summary.started_at)
        summary.feeds_total = len(feeds)
        with SafeClient(config.settings.fetch) as client, \
                ExtractionPool(budget_seconds=EXTRACTION_BUDGET_SECONDS) as extraction:
            ctx = PassContext(config=config, engine=engine, client=client, ruleset=ruleset, extraction=extraction)
            polls = steps.poll_feeds(ctx, due)
            steps.process_entries(ctx, [poll for poll in polls if poll.new_entries])
            summary.add_feeds([finish_feed(ctx, poll) for poll in polls] + [_skipped(feed) for feed in skipped])
            report = steps.deliver(ctx)
        summary.alerts_sent, summary.alerts_failed = report.sent, report.failed
        summary.alert_errors = report.errors
        summary.alerts_pending = delivery_counts(engine).get("pending", 0)
    finally:
        engine.dispose()
    summary.finished_at = datetime.now(timezone.utc)
    return summary


def _skipped(feed: FeedState) -> FeedOutcome:
    return FeedOutcome(feed=feed.name, url=feed.url, status="skipped", error_class=feed.last_error_class,
                       error_count=feed.error_count, parked=feed.parked)
