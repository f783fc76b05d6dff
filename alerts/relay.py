"""The outbox relay: send every due delivery once, record every attempt.

It first returns to `pending` the rows a stopped relay left `sending` (its process is
gone, or its lease is over), logging each as a possible redelivery: they may have
reached the receiver just before the stop. Then it claims the due rows of its instant
channels (`store.claim_deliveries`: committed as `sending` before anything is sent, so
two relays running at once never send one row twice), and hands back, when it ends,
whatever it claimed but did not send. For each instant channel (in parallel, so a slow one never delays the others) it plans
the run with `alerts.plan` (at most N messages, a rule's cooldown honoured, the rest in
ONE summary message whose deliveries are marked `summarized`), sends each message with
its own apprise object and deadline (email a few at a time: each SMTP connection waits
mostly on its TLS handshake, and those waits can overlap), and records each outcome as
soon as it is known, so a crash loses at most the ones in flight (redelivered, never
lost). A channel that times out is left for the next run. Deliveries that die are reported to the operator once,
per channel and run, and pending operator notices are sent as one message at the end.
Digest channels are left for the digest flow. Spike and story-update alerts
(`alerts.events`) go out after the hits, under the same cooldowns and caps.
"""

from __future__ import annotations

import contextvars
import logging
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from alerts.deliver import SendOutcome, channel_profile, parallel_sends, send_message
from alerts.events import EventSends, send_event_alerts
from alerts.grouped import render_batch, render_summary
from alerts.notices import report_dead_deliveries, send_notices
from alerts.plan import Plan, plan_channel
from alerts.render import Message, render_hit
from config.models import AlertSettings, ChannelConfig, RuleConfig
from store import (DeliveryJob, ReleasedClaim, claim_deliveries, count_due, defer_deliveries, last_alert_at,
                   record_deliveries, release_claims, release_stale_claims)
from store.tables import utcnow

log = logging.getLogger("newswatch.alerts")
MAX_PARALLEL_CHANNELS = 8


@dataclass
class RelayReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0
    summarized: int = 0
    held: int = 0
    notices: int = 0
    errors: list[str] = field(default_factory=list)
    by_channel: Counter = field(default_factory=Counter)
    dead_by_channel: Counter = field(default_factory=Counter)

    def merge(self, other: "RelayReport") -> None:
        for name in ("sent", "failed", "dead", "deferred", "summarized", "held", "notices"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors
        self.by_channel.update(other.by_channel)
        self.dead_by_channel.update(other.dead_by_channel)


@dataclass(frozen=True)
class RelayContext:
    engine: Engine
    settings: AlertSettings
    now: datetime
    cooldowns: dict[str, timedelta]
    claim_token: str = ""


def send_pending(
    engine: Engine,
    channels: dict[str, ChannelConfig],
    settings: AlertSettings,
    *,
    rules: Sequence[RuleConfig] = (),
    now: datetime | None = None,
) -> RelayReport:
    """Send every due instant delivery, then the operator notices; digest channels wait."""
    now = now or utcnow()
    log_redeliveries(release_stale_claims(engine), "alert")
    instant = [name for name, channel in channels.items() if _is_instant(channel)]
    report = RelayReport(deferred=count_due(engine, now, excluding=instant))
    token, jobs = claim_deliveries(engine, now, channels=instant)
    ctx = RelayContext(engine, settings, now, rule_cooldowns(rules), token)
    try:
        by_channel: dict[str, list[DeliveryJob]] = {}
        for job in jobs:
            by_channel.setdefault(job.channel, []).append(job)
        # each channel's thread runs in a copy of this context, so its log lines (a failed
        # alert) belong to the caller's run (a Prefect flow run shows them in its logs)
        contexts = {name: contextvars.copy_context() for name in by_channel}
        with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_CHANNELS, len(by_channel))),
                                thread_name_prefix="relay") as pool:
            for channel_report in pool.map(
                    lambda name: contexts[name].run(relay_channel, ctx, channels[name], by_channel[name]), by_channel):
                report.merge(channel_report)
    finally:
        release_claims(engine, token)
    report.merge(event_report(send_event_alerts(engine, channels, settings, rules, now)))
    report_dead_deliveries(engine, report.dead_by_channel, report.errors)
    report.notices = send_notices(engine, channels, settings, ctx.now)
    return report


def event_report(sends: EventSends) -> RelayReport:
    """The spike and story-update alerts of this run (`alerts.events`), counted like hits."""
    return RelayReport(sent=sends.sent, failed=sends.failed, dead=sum(sends.dead_by_channel.values()),
                       dead_by_channel=Counter(sends.dead_by_channel))


def log_redeliveries(released: Sequence[ReleasedClaim], what: str) -> None:
    """One warning per channel for the rows a stopped relay left `sending`: they go out again."""
    by_channel: dict[str, list[ReleasedClaim]] = {}
    for claim in released:
        by_channel.setdefault(claim.channel, []).append(claim)
    for channel, claims in by_channel.items():
        reasons = ", ".join(sorted({claim.reason for claim in claims}))
        log.warning("possible redelivery: %d %s(s) to %s were being sent by a relay that stopped (%s); "
                    "they go out again, and one that had reached the receiver arrives twice (ids %s)",
                    len(claims), what, channel, reasons, ", ".join(str(claim.row_id) for claim in claims))


def rule_cooldowns(rules: Sequence[RuleConfig]) -> dict[str, timedelta]:
    return {rule.name: timedelta(minutes=rule.cooldown_minutes) for rule in rules if rule.cooldown_minutes}


def _is_instant(channel: ChannelConfig | None) -> bool:
    return channel is not None and channel.mode != "digest"


def relay_channel(ctx: RelayContext, channel: ChannelConfig, jobs: list[DeliveryJob]) -> RelayReport:
    """Send one channel's due jobs as planned; stop the channel at its first timeout."""
    report = RelayReport()
    plan = _plan(ctx, channel, jobs)
    for until, held in plan.held.items():
        defer_deliveries(ctx.engine, [job.delivery_id for job in held], until)
        report.held += len(held)
    body_format, limit = channel_profile(channel.url)
    width = parallel_sends(channel.url)
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix=f"send-{channel.name}") as pool:
        for start in range(0, len(plan.messages), width):
            wave = plan.messages[start:start + width]
            work = [(group, _render(group, body_format, limit), "sent") for group in wave]
            if not _send_wave(ctx, channel, pool, work, report):
                return report
    if plan.overflow:
        summary = render_summary(channel.name, [job.hit for job in plan.overflow], body_format, limit)
        _send_wave(ctx, channel, None, [(plan.overflow, summary, "summarized")], report)
    return report


def _send_wave(ctx: RelayContext, channel: ChannelConfig, pool: ThreadPoolExecutor | None, work: list,
               report: RelayReport) -> bool:
    """Send a few messages at once (each recorded as soon as it is done); False: the channel timed out."""
    def deliver(item):
        group, message, sent_status = item
        return group, _deliver(ctx, channel, group, message, sent_status)

    results = pool.map(deliver, work) if pool else map(deliver, work)
    timed_out = False
    for group, (statuses, outcome) in results:
        _count(report, channel.name, list(statuses.values()), outcome.error)
        timed_out = timed_out or outcome.timed_out
    return not timed_out


def _plan(ctx: RelayContext, channel: ChannelConfig, jobs: list[DeliveryJob]) -> Plan:
    cap = channel.max_per_run or ctx.settings.max_per_channel_per_run
    rules = {job.hit.rule for job in jobs if job.hit.rule in ctx.cooldowns}
    last = {rule: last_alert_at(ctx.engine, channel.name, rule) for rule in rules}
    return plan_channel(jobs, cap, now=ctx.now, cooldowns=ctx.cooldowns, last_alerts=last)


def _render(group: list[DeliveryJob], body_format: str, limit: int) -> Message:
    if len(group) == 1:
        return render_hit(group[0].hit, body_format, limit)
    return render_batch(group[0].hit.rule, [job.hit for job in group], body_format, limit)


def _deliver(ctx: RelayContext, channel: ChannelConfig, group: list[DeliveryJob], message: Message,
             sent_status: str) -> tuple[dict[int, str], SendOutcome]:
    """Send one message for `group` and record the attempt on every delivery in it."""
    outcome = send_message(channel.url, message, ctx.settings.send_timeout_seconds)
    statuses = record_deliveries(ctx.engine, [job.delivery_id for job in group], ok=outcome.ok,
                                 error=outcome.error, max_attempts=ctx.settings.max_attempts, now=ctx.now,
                                 sent_status=sent_status, claim_token=ctx.claim_token)
    return statuses, outcome


def _count(report: RelayReport, channel: str, statuses: list[str], error: str | None) -> None:
    sent = sum(status == "sent" for status in statuses)
    report.sent += sent
    report.summarized += sum(status == "summarized" for status in statuses)
    report.by_channel[channel] += sent
    failed = [status for status in statuses if status in ("pending", "dead")]
    if not failed:
        return
    report.failed += len(failed)
    dead = failed.count("dead")
    report.dead += dead
    report.dead_by_channel[channel] += dead
    report.errors.append(f"{channel}: {error}")
    log.warning("alert to channel %s failed (%d deliveries, %d given up): %s", channel, len(failed), dead, error)
