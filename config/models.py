"""Immutable configuration objects, loaded once per run.

Every later stage receives these frozen objects and never re-reads YAML. Each object
that a user can get wrong remembers where it came from (`source`: file and line), so
a later stage (the rule compiler, say) can still point at the right line.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, ConfigDict, Field, field_validator
from pydantic.dataclasses import dataclass as section


@dataclass(frozen=True)
class Source:
    """Where a value was written: the YAML file and 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


DEFAULT_INTERVAL_MINUTES = 15
DEFAULT_USER_AGENT = "newswatch/0.1 (+https://github.com/newswatch/newswatch; news monitoring bot)"
# The sections a user writes in settings.yaml (and a rule's `spikes:`) are validated and used
# as these same objects: extra keys are errors, each constraint and default is written once.
SECTION = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r} (use an IANA name such as 'Asia/Seoul')") from None
    return value


def check_cron(value: str | None) -> str | None:
    if value is not None and len(value.split()) != 5:
        raise ValueError(f"cron {value!r} must have 5 fields: minute hour day month weekday")
    return value


@section(frozen=True, config=SECTION)
class Schedule:
    """When `newswatch serve` runs the monitor: an interval or a cron line, in a timezone
    (neither: every DEFAULT_INTERVAL_MINUTES)."""

    interval_minutes: float | None = Field(default=None, ge=0.1, le=7 * 24 * 60)  # 0.5 = every 30 s
    cron: str | None = None
    timezone: str = "UTC"

    _timezone = field_validator("timezone")(check_timezone)
    _cron = field_validator("cron")(check_cron)

    def __post_init__(self) -> None:
        if self.interval_minutes is not None and self.cron is not None:
            raise ValueError("give either interval_minutes or cron, not both")
        if self.interval_minutes is None and self.cron is None:
            object.__setattr__(self, "interval_minutes", DEFAULT_INTERVAL_MINUTES)  # still being built


@section(frozen=True, config=SECTION)
class FetchSettings:
    """Limits for every outgoing request (feeds and pages share one client)."""

    allow_private_networks: bool = False
    allowed_networks: tuple[str, ...] = ()
    timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    max_feed_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_redirects_feed: int = Field(default=10, ge=0, le=20)
    max_redirects_page: int = Field(default=5, ge=0, le=20)
    per_host_concurrency: int = Field(default=2, ge=1, le=64)
    concurrency: int = Field(default=16, ge=1, le=256)
    user_agent: str = DEFAULT_USER_AGENT

    @field_validator("allowed_networks")
    @classmethod
    def _cidrs(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not a network in CIDR form, e.g. 127.0.0.0/8") from None
        return values

    @field_validator("user_agent", mode="before")
    @classmethod
    def _default_agent(cls, value: str | None) -> str:
        return DEFAULT_USER_AGENT if value is None else value


@section(frozen=True, config=SECTION)
class AlertSettings:
    """Outbox relay limits."""

    max_per_channel_per_run: int = Field(default=20, ge=1)
    max_attempts: int = Field(default=8, ge=1, le=100)
    send_timeout_seconds: float = Field(default=20.0, gt=0, le=600)


@section(frozen=True, config=SECTION)
class WatchdogSettings:
    """The dead-man's switch: when the operator channel is told the monitor itself is failing."""

    missed_passes: int = Field(default=3, ge=1, le=1000)  # no pass completed for this many scheduled intervals
    # a feed quiet for this many times its usual gap between items
    silent_feed_factor: float = Field(default=4.0, gt=1, le=1000)
    silent_feed_min_items: int = Field(default=6, ge=3, le=1000)  # items of history a feed needs before its silence is judged
    prefect_notification_block: str | None = None  # "block-type/name": Prefect tells while nothing runs

    @field_validator("prefect_notification_block")
    @classmethod
    def _block(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z0-9-]+/[^/]+$", value):
            raise ValueError(f"{value!r} is not a Prefect block name: write block-type/name, e.g. slack-webhook/ops")
        return value


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


def window_hours(value: str | int) -> int:
    """`6h`, `2d` or a number of hours -> hours (1 h to 7 days)."""
    match = re.fullmatch(r"\s*(\d+)\s*([hd]?)\s*", str(value).lower())
    hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1) if match else 0
    if not 1 <= hours <= 7 * 24:
        raise ValueError(f"window {value!r} must be hours or days between 1h and 7d, e.g. '6h' or '1d'")
    return hours


@section(frozen=True, config=SECTION)
class SpikeConfig:
    """When a rule's volume is a spike (see `store.spikestats`): distinct stories in the last
    `window_hours` (written `window: 6h` in rules.yaml), at least `min_stories`, with a Poisson
    tail probability under the rule's baseline below `sensitivity` (larger is more sensitive)."""

    window_hours: int = Field(default=6, validation_alias=AliasChoices("window", "window_hours"))
    min_stories: int = Field(default=5, ge=2, le=10_000)
    sensitivity: float = Field(default=0.001, gt=0, le=0.2)

    @field_validator("window_hours", mode="before")
    @classmethod
    def _window(cls, value: str | int) -> int:
        return window_hours(value)


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
