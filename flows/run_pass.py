"""A whole monitoring pass, top to bottom, without Prefect:

    due feeds -> poll -> parse -> new entries -> fetch pages -> extract -> match -> save -> relay -> purge

`run_pass(config)` is the pass; the `monitor` flow (`flows.monitor`) is the same sequence with
`process_feeds` and `deliver_alerts` called as Prefect tasks. The stages are plain functions of
`flows.stages`; what runs at once (poll and fetch threads, extraction processes) is decided by
`flows.streams.Lanes` alone, so following a feed from here to its stored hit means reading
`process_feeds` and the stages it names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from alerts import RelayReport, send_pending
from config.errors import ConfigError, Problem
from config.models import Config
from config.paths import find_left_behind_database
from extractors.articles import extract_fetched
from extractors.errors import ExtractCrashed, ExtractTimeout
from extractors.http import SafeClient
from extractors.netguard import AddressPolicy, refusal_without_dns
from extractors.process_memory import tune_malloc
from extractors.workers import WorkerPool
from flows.rule_events import record_events
from flows.stages import (FeedOutcome, FeedPoll, PassContext, fetch_page, finish_feeds, match_article, poll_feed,
                          save_articles_in_batches, to_article)
from flows.streams import Lanes, host_of
from flows.summary import PassSummary
from flows.watchdog import check_after_pass, check_before_pass
from matching import compile_rules, release_name_packs
from matching.cache import rules_cache_dir
from store import FeedState, delivery_counts, open_database, purge_expired_articles, sync_feeds
from store.feeds import SETTINGS_ERRORS

EXTRACTION_BUDGET_SECONDS = 30.0
POLL_BATCH = 250  # feeds per `process_feeds` call: one Prefect task run each under the monitor flow


def run_pass(config: Config, shard: Shard | None = None, *, notify_stalls: bool = True) -> PassSummary:
    """Poll every due feed of `shard`, store what is new, send pending alerts, purge articles past
    `retention_days`; return the summary. The dead-man's switch (`flows.watchdog`) is checked
    at the start and once the feeds are stored; `notify_stalls=False` when Prefect tells of stalls."""
    with PassRun(config, shard or Shard(), notify_stalls=notify_stalls) as run:  # database, rules, due feeds
        for feeds in run.batches():
            run.add_feeds(process_feeds(run.ctx, feeds))  # poll -> parse -> ... -> save
        run.queue_events()  # spike and story-update alerts; the watchdog's second look
        run.add_relay(deliver_alerts(run.ctx))
    return run.summary  # expired articles purged on the way out


def process_feeds(ctx: PassContext, feeds: Sequence[FeedState]) -> list[FeedOutcome]:
    """Feeds -> poll -> parse -> new entries -> fetch pages -> extract -> match -> save; each
    feed's outcome. Each stage takes the previous one's results as they come, so the pages of
    a feed polled early are fetched and extracted while slower feeds are still being polled."""
    lanes, now, polls = ctx.lanes, datetime.now(timezone.utc), []
    polled = lanes.on_threads(lambda feed: poll_feed(ctx, feed), feeds, host=lambda feed: host_of(feed.url))
    entries = ((poll, entry) for poll in kept(polled, polls) for entry in poll.new_entries)
    pages = lanes.on_threads(lambda job: fetch_page(ctx, job), entries, host=lambda job: host_of(job[1].link))
    extracted = lanes.in_workers(extract_fetched, ((job, (page,)) for job, page in pages),
                                 EXTRACTION_BUDGET_SECONDS, (ExtractTimeout, ExtractCrashed))
    matched = (match_article(ctx, job, to_article(job, result), now) for job, result in extracted)
    tallies = save_articles_in_batches(ctx, matched)
    return finish_feeds(ctx, polls, tallies)


def kept(polled: Iterator[tuple[FeedState, FeedPoll]], polls: list[FeedPoll]) -> Iterator[FeedPoll]:
    """Each poll as it comes, kept in `polls` for the feeds' outcomes."""
    for _, poll in polled:
        polls.append(poll)
        yield poll


def deliver_alerts(ctx: PassContext) -> RelayReport:
    return send_pending(ctx.engine, ctx.config.channels, ctx.config.settings.alerts, rules=ctx.config.rules)


class PassRun:
    """A pass from its start to its end: the database, rules and feeds it opens, the summary it
    fills, and the purge and clean-up on a clean exit (resources are released on any exit)."""

    def __init__(self, config: Config, shard: Shard, *, notify_stalls: bool = True) -> None:
        refuse_left_behind_database(config)
        self.config, self.shard, self.notify_stalls = config, shard, notify_stalls
        self.summary = PassSummary(started_at=datetime.now(timezone.utc))

    def __enter__(self) -> PassRun:
        config = self.config
        tune_malloc()  # before the pass's threads start
        self.engine = open_database(config.settings.database_url)
        try:
            ruleset = compile_rules(config.rules, config.aliases, rules_cache_dir(config.settings.data_dir))
            release_name_packs()  # only compiling needs them
            feeds = sync_feeds(self.engine, config.feeds)
            check_before_pass(self.engine, config, self.summary.started_at, notify_stalls=self.notify_stalls)
            fetch = config.settings.fetch
            policy = AddressPolicy(fetch.allow_private_networks, fetch.allowed_networks)
            self.due, self.skipped = select_feeds(feeds, self.summary.started_at, self.shard, policy)
            self.summary.feeds_total = len(self.due) + len(self.skipped)
            self.client = SafeClient(fetch)
            self.workers = WorkerPool()
            lanes = Lanes(threads=fetch.concurrency, per_host=fetch.per_host_concurrency, workers=self.workers)
        except BaseException:
            self.engine.dispose()
            raise
        self.ctx = PassContext(config=config, engine=self.engine, client=self.client, ruleset=ruleset, lanes=lanes)
        return self

    def batches(self) -> Iterator[list[FeedState]]:
        for start in range(0, len(self.due), POLL_BATCH):
            yield self.due[start:start + POLL_BATCH]

    def add_feeds(self, outcomes: list[FeedOutcome]) -> None:
        self.summary.add_feeds(outcomes)

    def queue_events(self) -> None:
        """Spikes and story updates go to the outbox; the watchdog records the finished pass."""
        due = {feed.url: feed for feed in self.due}
        polled = [(due[outcome.url], outcome.status) for outcome in self.summary.feeds if outcome.url in due]
        self.summary.add_feeds([skipped_outcome(feed) for feed in self.skipped])
        record_events(self.config, self.engine, self.summary.hit_ids)
        check_after_pass(self.engine, self.config, self.summary.started_at,
                         f"{self.shard.index}/{self.shard.count}", polled)

    def add_relay(self, report: RelayReport) -> None:
        summary = self.summary
        summary.alerts_sent, summary.alerts_failed, summary.alert_errors = report.sent, report.failed, report.errors

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.ctx.lanes.stop()
            self.workers.close()
            self.client.close()
            if exc_type is None:
                self.summary.alerts_pending = delivery_counts(self.engine).get("pending", 0)
                purge_expired_articles(self.engine, self.config.settings.retention_days)
        finally:
            self.engine.dispose()
        self.summary.finished_at = datetime.now(timezone.utc)


def skipped_outcome(feed: FeedState) -> FeedOutcome:
    return FeedOutcome(feed=feed.name, url=feed.url, status="skipped", error_class=feed.last_error_class,
                       error_count=feed.error_count, parked=feed.parked, next_poll_at=feed.next_poll_at)


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`: the feeds whose URL hashes to `index`. `Shard()` is every feed."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} of {self.count}: need count >= 1 and 0 <= shard < count")

    def owns(self, url: str) -> bool:
        return self.count == 1 or shard_of(url, self.count) == self.index


def shard_of(url: str, count: int) -> int:
    """The shard a feed belongs to: a stable hash of its URL (the same on every machine and run)."""
    return int.from_bytes(hashlib.sha256(url.encode("utf-8")).digest()[:8], "big") % count


def select_feeds(
    feeds: Sequence[FeedState], now: datetime, shard: Shard = Shard(), policy: AddressPolicy | None = None
) -> tuple[list[FeedState], list[FeedState]]:
    """Split this shard's feeds into (due, skipped): parked or waiting feeds are not due yet.
    Feeds of other shards are in neither list."""
    due, skipped = [], []
    for feed in feeds:
        if shard.owns(feed.url):
            (due if is_due(feed, now, policy) else skipped).append(feed)
    return due, skipped


def is_due(feed: FeedState, now: datetime, policy: AddressPolicy | None = None) -> bool:
    """Its time has come; or it waits only because the fetch settings refused its address and
    they no longer refuse it (the settings were fixed: a parked feed need not wait 6 h more).
    A host name is not resolved here: such a feed is tried, and the fetch decides."""
    if feed.due(now):
        return True
    if policy is None or feed.last_error_class not in SETTINGS_ERRORS:
        return False
    return refusal_without_dns(host_of(feed.url), policy) is None


def refuse_left_behind_database(config: Config) -> None:
    """A pass never starts over on a new, empty database while the old one, with its pending
    alerts, sits where relative paths used to point (a deployment loads its config without the
    CLI's check): ConfigError with the hint that says how to move it."""
    hint = find_left_behind_database(config.settings.database_url, config.settings.old_database)
    if hint:
        raise ConfigError([Problem(str(Path(config.directory) / "settings.yaml"), 0, "database_url", hint)])
