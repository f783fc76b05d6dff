"""What each YAML file may contain, as pydantic models (validation only).

The loader validates raw YAML data against these, then turns them into the frozen
objects of `config.models`. `extra="forbid"` everywhere: a typo in a key is an error,
not a silently ignored setting.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r} (use an IANA name such as 'Asia/Seoul')") from None
    return value


def _check_cron(value: str) -> str:
    if len(value.split()) != 5:
        raise ValueError(f"cron {value!r} must have 5 fields: minute hour day month weekday")
    return value


class ScheduleSchema(Strict):
    interval_minutes: float | None = Field(default=None, ge=0.1, le=7 * 24 * 60)  # 0.5 = every 30 s
    cron: str | None = None
    timezone: str = "UTC"

    _tz = field_validator("timezone")(_check_timezone)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else _check_cron(value)

    @model_validator(mode="after")
    def _one_of(self) -> "ScheduleSchema":
        if self.interval_minutes is not None and self.cron is not None:
            raise ValueError("give either interval_minutes or cron, not both")
        return self


class FetchSchema(Strict):
    allow_private_networks: bool = False
    allowed_networks: list[str] = []
    timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    max_feed_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_redirects_feed: int = Field(default=10, ge=0, le=20)
    max_redirects_page: int = Field(default=5, ge=0, le=20)
    per_host_concurrency: int = Field(default=2, ge=1, le=64)
    concurrency: int = Field(default=16, ge=1, le=256)
    user_agent: str | None = None

    @field_validator("allowed_networks")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not a network in CIDR form, e.g. 127.0.0.0/8") from None
        return values


class AlertsSchema(Strict):
    max_per_channel_per_run: int = Field(default=20, ge=1)
    max_attempts: int = Field(default=8, ge=1, le=100)
    send_timeout_seconds: float = Field(default=20.0, gt=0, le=600)


class WatchdogSchema(Strict):
    missed_passes: int = Field(default=3, ge=1, le=1000)
    silent_feed_factor: float = Field(default=4.0, gt=1, le=1000)
    silent_feed_min_items: int = Field(default=6, ge=3, le=1000)
    prefect_notification_block: str | None = None

    @field_validator("prefect_notification_block")
    @classmethod
    def _block(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z0-9-]+/[^/]+$", value):
            raise ValueError(f"{value!r} is not a Prefect block name: write block-type/name, e.g. slack-webhook/ops")
        return value


class SettingsSchema(Strict):
    database_url: str | None = None  # None: newswatch.db in data_dir
    data_dir: str | None = None  # None: `data` in the config directory
    schedule: ScheduleSchema = ScheduleSchema()
    fetch: FetchSchema = FetchSchema()
    alerts: AlertsSchema = AlertsSchema()
    retention_days: int | None = Field(default=None, ge=1)
    instance: str | None = Field(default=None, min_length=1, max_length=40)

    @field_validator("instance")
    @classmethod
    def _instance(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value):
            raise ValueError(f"{value!r} is not an instance name: use lowercase letters, digits and dashes, "
                             "e.g. 'ukraine-desk'")
        return value
    watchdog: WatchdogSchema = WatchdogSchema()


class FeedSchema(Strict):
    url: str
    name: str | None = None
    tags: list[str] = []

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value, re.IGNORECASE):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class FeedsFile(Strict):
    feeds: list[FeedSchema]


class ExamplesSchema(Strict):
    match: list[str] = []
    no_match: list[str] = []


class SpikeSchema(Strict):
    """`spikes:` as a mapping: the window counted, the fewest distinct stories that can be a
    spike, and the sensitivity (the tail probability under the baseline below which a count
    is a spike: larger is more sensitive)."""

    window: str | int = "6h"
    min_stories: int = Field(default=5, ge=2, le=10_000)
    sensitivity: float = Field(default=0.001, gt=0, le=0.2)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | int) -> str | int:
        window_hours(value)
        return value


def window_hours(value: str | int) -> int:
    """`6h`, `2d` or a number of hours -> hours (1 h to 7 days)."""
    match = re.fullmatch(r"\s*(\d+)\s*([hd]?)\s*", str(value).lower())
    hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1) if match else 0
    if not 1 <= hours <= 7 * 24:
        raise ValueError(f"window {value!r} must be hours or days between 1h and 7d, e.g. '6h' or '1d'")
    return hours


class RuleSchema(Strict):
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(min_length=1)
    channels: list[str] | None = None
    tags: list[str] = []
    languages: list[str] = []
    examples: ExamplesSchema = Field(default_factory=ExamplesSchema)  # a default instance would be deep-copied per rule
    cooldown_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    spikes: SpikeSchema | None = None
    story_updates: int | None = Field(default=None, ge=1, le=1000)

    @field_validator("spikes", mode="before")
    @classmethod
    def _spikes(cls, value):
        """`spikes: true` is the defaults, `false` none; a mapping is validated field by field."""
        if value is True:
            return {}
        if value is False or value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError("spikes must be true, false or a mapping of window, min_stories, sensitivity")
        return value


class RulesFile(Strict):
    aliases: dict[str, list[str]] = {}
    rules: list[RuleSchema]


class ChannelSchema(Strict):
    url: str = Field(min_length=1)
    mode: Literal["instant", "digest"] = "instant"
    digest_cron: str | None = None
    timezone: str = "UTC"
    max_per_run: int | None = Field(default=None, ge=1)

    _tz = field_validator("timezone")(_check_timezone)

    @field_validator("digest_cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else _check_cron(value)

    @model_validator(mode="after")
    def _digest_needs_cron(self) -> "ChannelSchema":
        if self.mode == "digest" and not self.digest_cron:
            raise ValueError("mode: digest needs digest_cron, e.g. '0 8 * * *' for 08:00 daily")
        return self


class ChannelsFile(Strict):
    channels: dict[str, ChannelSchema] | None = None
