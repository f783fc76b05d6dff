"""A whole monitoring pass, written once and run two ways.

`run_pass(config)` calls the stages directly; the Prefect flow calls the same function
with `map_feeds` and `deliver` swapped for task-wrapped versions. So the code path a
user runs under Prefect is the one tests and benchmarks run without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from alerts import RelayReport, send_pending
from config.models import Config
from extractors.http import SafeClient
from flows.stages import FeedOutcome, PassContext, process_feed
from flows.summary import PassSummary
from matching import compile_rules
from store import FeedState, delivery_counts, open_database, sync_feeds

MapFeeds = Callable[[PassContext, Sequence[FeedState]], list[FeedOutcome]]
Deliver = Callable[[PassContext], RelayReport]


def map_feeds_threaded(ctx: PassContext, feeds: Sequence[FeedState]) -> list[FeedOutcome]:
    """Poll feeds a few at a time (the client caps requests per host)."""
    workers = max(1, min(4, len(feeds)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="feed") as pool:
        return list(pool.map(lambda feed: process_feed(ctx, feed), feeds))


def deliver_alerts(ctx: PassContext) -> RelayReport:
    return send_pending(ctx.engine, ctx.config.channels, ctx.config.settings.alerts)


def select_feeds(feeds: Sequence[FeedState], now: datetime):
    """Split configured feeds into (due, skipped): parked or waiting feeds are not due yet."""
    due, skipped = [], []
    for feed in feeds:
        (due if feed.due(now) else skipped).append(feed)
    return due, skipped


def run_pass(
    config: Config,
    *,
    map_feeds: MapFeeds = map_feeds_threaded,
    deliver: Deliver = deliver_alerts,
) -> PassSummary:
    """Poll every due feed, store what is new, send pending alerts; return the summary."""
    summary = PassSummary(started_at=datetime.now(timezone.utc))
    engine = open_database(config.settings.database_url)
    try:
        ruleset = compile_rules(config.rules, config.aliases)
        feeds = sync_feeds(engine, config.feeds)
        due, skipped = select_feeds(feeds, summary.started_at)
        summary.feeds_total = len(feeds)
        with SafeClient(config.settings.fetch) as client:
            ctx = PassContext(config=config, engine=engine, client=client, ruleset=ruleset)
            summary.add_feeds(map_feeds(ctx, due))
            summary.add_feeds([_skipped(feed) for feed in skipped])
            report = deliver(ctx)
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
