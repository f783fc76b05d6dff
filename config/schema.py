"""What each YAML file may contain, as pydantic models.

The loader validates raw YAML data against these. The settings' sections and a rule's
`spikes:` are `config.models`' own objects, validated here and used as they are; feeds,
rules and channels are turned into the frozen records of `config.models`, which add where
each was written and what is derived (hashes, filled-in secrets). `extra="forbid"`
everywhere: a typo in a key is an error, not a silently ignored setting.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.models import (AlertSettings, FetchSettings, Schedule, SpikeConfig, WatchdogSettings, check_cron,
                           check_timezone)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SettingsSchema(Strict):
    database_url: str | None = None  # None: newswatch.db in data_dir
    data_dir: str | None = None  # None: `data` in the config directory
    schedule: Schedule = Schedule()
    fetch: FetchSettings = FetchSettings()
    alerts: AlertSettings = AlertSettings()
    retention_days: int | None = Field(default=None, ge=1)
    instance: str | None = Field(default=None, min_length=1, max_length=40)

    @field_validator("instance")
    @classmethod
    def _instance(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value):
            raise ValueError(f"{value!r} is not an instance name: use lowercase letters, digits and dashes, "
                             "e.g. 'ukraine-desk'")
        return value
    watchdog: WatchdogSettings = WatchdogSettings()


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


class RuleSchema(Strict):
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(min_length=1)
    channels: list[str] | None = None
    tags: list[str] = []
    languages: list[str] = []
    examples: ExamplesSchema = Field(default_factory=ExamplesSchema)  # a default instance would be deep-copied per rule
    cooldown_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    spikes: SpikeConfig | None = None
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

    _tz = field_validator("timezone")(check_timezone)
    _cron = field_validator("digest_cron")(check_cron)

    @model_validator(mode="after")
    def _digest_needs_cron(self) -> "ChannelSchema":
        if self.mode == "digest" and not self.digest_cron:
            raise ValueError("mode: digest needs digest_cron, e.g. '0 8 * * *' for 08:00 daily")
        return self


class ChannelsFile(Strict):
    channels: dict[str, ChannelSchema] | None = None
