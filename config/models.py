"""Immutable configuration objects, loaded once per run.

Every later stage receives these frozen objects and never re-reads YAML. Each object
that a user can get wrong remembers where it came from (`source`: file and line), so
a later stage (the rule compiler, say) can still point at the right line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Source:
    """Where a value was written: the YAML file and 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Schedule:
    """When `newswatch serve` runs the monitor: an interval or a cron line, in a timezone."""

    interval_minutes: float | None = 15
    cron: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True)
class FetchSettings:
    """Limits for every outgoing request (feeds and pages share one client)."""

    allow_private_networks: bool = False
    allowed_networks: tuple[str, ...] = ()
    timeout_seconds: float = 20.0
    max_feed_bytes: int = 10 * 1024 * 1024
    max_page_bytes: int = 5 * 1024 * 1024
    max_redirects_feed: int = 10
    max_redirects_page: int = 5
    per_host_concurrency: int = 2
    concurrency: int = 16
    user_agent: str = "newswatch/0.1 (+https://github.com/newswatch/newswatch; news monitoring bot)"


@dataclass(frozen=True)
class AlertSettings:
    """Outbox relay limits."""

    max_per_channel_per_run: int = 20
    max_attempts: int = 8
    send_timeout_seconds: float = 20.0


@dataclass(frozen=True)
class WatchdogSettings:
    """The dead-man's switch: when the operator channel is told the monitor itself is failing."""

    missed_passes: int = 3  # no pass completed for this many scheduled intervals
    silent_feed_factor: float = 4.0  # a feed quiet for this many times its usual gap between items
    silent_feed_min_items: int = 6  # items of history a feed needs before its silence is judged
    prefect_notification_block: str | None = None  # "block-type/name": Prefect tells while nothing runs


@dataclass(frozen=True)
class Settings:
    """`database_url` and `data_dir` are absolute once loaded (see `config.paths`)."""

    database_url: str = "sqlite:///data/newswatch.db"
    data_dir: str = "data"
    schedule: Schedule = field(default_factory=Schedule)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    retention_days: int | None = None
    old_database: str | None = None  # where it was when relative paths followed the current directory
    instance: str = "newswatch"  # names this config's rule artifacts on a shared Prefect server
    watchdog: WatchdogSettings = field(default_factory=WatchdogSettings)


@dataclass(frozen=True)
class FeedConfig:
    url: str
    name: str
    tags: tuple[str, ...] = ()
    source: Source | None = None


@dataclass(frozen=True)
class RuleExamples:
    match: tuple[str, ...] = ()
    no_match: tuple[str, ...] = ()
    match_lines: tuple[int, ...] = ()  # the YAML line of each example, for error messages
    no_match_lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class SpikeConfig:
    """When a rule's volume is a spike (see `store.spikestats`): distinct stories in the last
    `window_hours`, at least `min_stories`, with a Poisson tail probability under the rule's
    baseline below `sensitivity`."""

    window_hours: int = 6
    min_stories: int = 5
    sensitivity: float = 0.001


@dataclass(frozen=True)
class RuleConfig:
    """One watch rule as the user wrote it. `query_source` is the line of `query:`."""

    name: str
    query: str
    channels: tuple[str, ...] | None = None  # None: every channel
    tags: tuple[str, ...] = ()  # only feeds carrying one of these tags
    languages: tuple[str, ...] = ()  # only articles in one of these languages
    examples: RuleExamples = field(default_factory=RuleExamples)
    source: Source | None = None
    query_source: Source | None = None
    content_hash: str = ""
    cooldown_minutes: int | None = None  # after an alert, the rule's next hits wait and go out together
    spikes: SpikeConfig | None = None  # None: no spike alerts
    story_updates: int | None = None  # an alerted story carried by this many more outlets: one update


@dataclass(frozen=True)
class ChannelConfig:
    """An alert destination. `url` is the apprise URL with ${ENV} already filled in."""

    name: str
    url: str
    mode: Literal["instant", "digest"] = "instant"
    digest_cron: str | None = None
    timezone: str = "UTC"
    max_per_run: int | None = None
    source: Source | None = None


@dataclass(frozen=True)
class AliasGroup:
    name: str
    entries: tuple[str, ...]
    source: Source | None = None


@dataclass(frozen=True)
class Config:
    """The whole configuration of one run; `config_hash` changes when any file does."""

    directory: str
    settings: Settings
    feeds: tuple[FeedConfig, ...]
    aliases: dict[str, AliasGroup]
    rules: tuple[RuleConfig, ...]
    channels: dict[str, ChannelConfig]
    config_hash: str = ""
    # a config read with problems (for `check` only) leaves out the entries that have one:
    # "rules" -> the file position of each rule kept; absent, every entry is in its place
    positions: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def position(self, kind: str, index: int) -> int:
        """The file position (`rules[3]`) of the entry at `index` of `rules` or `feeds`."""
        kept = self.positions.get(kind)
        return kept[index] if kept is not None and index < len(kept) else index

    def channels_for(self, rule: RuleConfig) -> tuple[str, ...]:
        """A rule without `channels` alerts every channel."""
        if rule.channels is None:
            return tuple(self.channels)
        return rule.channels
