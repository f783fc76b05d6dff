"""The outbox relay: send every due delivery once, record every attempt.

Reads pending rows from the store, renders each for its channel, sends it, and records
the outcome before moving on, so a crash loses at most the one in flight (which is
then redelivered, never lost). Deliveries for digest channels wait for the digest flow.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine

from alerts.deliver import body_limit, preferred_format, send_message
from alerts.render import render_hit
from config.models import AlertSettings, ChannelConfig
from store import pending_deliveries, record_delivery

log = logging.getLogger("newswatch.alerts")


@dataclass
class RelayReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)
    by_channel: Counter = field(default_factory=Counter)


def send_pending(engine: Engine, channels: dict[str, ChannelConfig], settings: AlertSettings) -> RelayReport:
    """Send every due instant delivery; digest channels are left for the digest flow."""
    report = RelayReport()
    formats: dict[str, tuple[str, int]] = {}
    for job in pending_deliveries(engine):
        channel = channels.get(job.channel)
        if channel is None or channel.mode == "digest":
            report.deferred += 1
            continue
        if channel.name not in formats:
            formats[channel.name] = (preferred_format(channel.url), body_limit(channel.url))
        body_format, limit = formats[channel.name]
        message = render_hit(job.hit, body_format, limit)
        outcome = send_message(channel.url, message, settings.send_timeout_seconds)
        status = record_delivery(
            engine, job.delivery_id, ok=outcome.ok, error=outcome.error, max_attempts=settings.max_attempts
        )
        _count(report, job.channel, status, outcome.error)
    return report


def _count(report: RelayReport, channel: str, status: str, error: str | None) -> None:
    if status == "sent":
        report.sent += 1
        report.by_channel[channel] += 1
        return
    report.failed += 1
    report.dead += status == "dead"
    message = f"{channel}: {error}"
    report.errors.append(message)
    log.warning("alert to channel %s failed (%s): %s", channel, status, error)
