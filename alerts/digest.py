"""Digests: a `mode: digest` channel gets its pending hits as ONE message per schedule tick.

`latest_tick(cron, timezone, now)` is the most recent time the channel's `digest_cron`
fired. `send_channel_digest` claims every pending delivery of the channel created
before that tick (so a daily 08:00 digest holds the hits found since the previous
08:00), renders them grouped by rule and story, sends one message, and records it on
each delivery. Nothing pending before the tick: nothing is sent, so running it twice,
or more often than the schedule, never sends a second digest for the same period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim
from sqlalchemy import Engine

from alerts.deliver import channel_profile, send_message
from alerts.grouped import render_digest
from config.models import AlertSettings, ChannelConfig
from store import claim_deliveries, record_deliveries, release_claims
from store.tables import as_utc, utcnow

LOOKBACK = timedelta(days=366)


@dataclass(frozen=True)
class DigestOutcome:
    channel: str
    hits: int = 0
    sent: bool = False
    error: str | None = None

    def describe(self) -> str:
        if not self.hits:
            return f"{self.channel}: nothing to send"
        return f"{self.channel}: {self.hits} hits " + ("sent in one digest" if self.sent else f"failed: {self.error}")


def latest_tick(cron: str, timezone: str, now: datetime) -> datetime | None:
    """The last time at or before `now` that `cron` fired, in UTC (None: not in the past year)."""
    local_now = as_utc(now).astimezone(ZoneInfo(timezone))
    start = local_now.replace(second=0, microsecond=0) + timedelta(minutes=1)  # reverse search is exclusive
    tick = next(iter(CronSim(cron, start, reverse=True)), None)
    return as_utc(tick) if tick and tick > local_now - LOOKBACK else None


def send_channel_digest(engine: Engine, channel: ChannelConfig, settings: AlertSettings,
                        now: datetime | None = None) -> DigestOutcome:
    """Send the channel's digest for its latest schedule tick, if anything is waiting."""
    now = now or utcnow()
    tick = latest_tick(channel.digest_cron or "0 8 * * *", channel.timezone, now)
    if tick is None:
        return DigestOutcome(channel.name)
    token, jobs = claim_deliveries(engine, now, channel=channel.name, created_before=tick, due_only=False)
    try:
        if not jobs:
            return DigestOutcome(channel.name)
        body_format, limit = channel_profile(channel.url)
        message = render_digest(channel.name, [job.hit for job in jobs], body_format, limit)
        outcome = send_message(channel.url, message, settings.send_timeout_seconds)
        record_deliveries(engine, [job.delivery_id for job in jobs], ok=outcome.ok, error=outcome.error,
                          max_attempts=settings.max_attempts, now=now, claim_token=token)
    finally:
        release_claims(engine, token)
    return DigestOutcome(channel.name, len(jobs), outcome.ok, outcome.error)
