"""Spike alerts and story updates: rendered and sent from their outbox like a hit's alert.

`send_event_alerts` is called by the relay (`alerts.relay.send_pending`) after the hits:
it returns to `pending` what a stopped relay left `sending`, claims the due event
deliveries of the instant channels, and per channel honours the rule's cooldown (an event
of a rule that alerted the channel less than `cooldown_minutes` ago waits until the
cooldown ends) and storm control (at most the channel's per-run cap of event messages; the
rest go out as ONE summary, marked `summarized`). Every attempt is recorded at once; a
failure is retried with backoff, then given up (`dead`) and reported to the operator.

A spike message names the rule, the window, the count of distinct stories against the
expected count, and the top stories with their outlets and languages; a story update names
the story, the outlets and languages it reached.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from alerts.deliver import channel_profile, send_message
from alerts.escape import escape_html, escape_markdown, html_link, markdown_link, truncate
from alerts.render import Format, Message, message_title
from config.models import AlertSettings, ChannelConfig, RuleConfig
from store import last_alert_at, release_claims, release_stale_claims
from store.event_outbox import (EventJob, EventView, claim_event_deliveries, defer_event_deliveries,
                                last_event_alert_at, record_event_deliveries)
from store.tables import EventDelivery, utcnow

log = logging.getLogger("newswatch.alerts")


def event_headline(event: EventView) -> str:
    """One line: what happened to the rule."""
    if event.kind == "spike":
        return (f"spike: {event.stories} stories in {event.details.get('window_hours', '?')} h "
                f"(expected {event.expected:g})")
    details = event.details
    reach = f"{len(details.get('outlets', []))} outlets"
    languages = details.get("languages") or []
    return f"story spreading: now {reach}" + (f" in {len(languages)} languages" if len(languages) > 1 else "")


def event_title(event: EventView) -> str:
    return f"[newswatch] {event.rule}: {event_headline(event)}"


def _window_text(event: EventView) -> str:
    if event.window_start is None or event.window_end is None:
        return ""
    return f"{event.window_start:%Y-%m-%d %H:%M} to {event.window_end:%Y-%m-%d %H:%M} UTC"


def event_lines(event: EventView) -> list[tuple[str, str]]:
    """(label, value) facts of the event, plain text."""
    if event.kind == "spike":
        return [("Rule", event.rule), ("Window", f"last {event.details.get('window_hours', '?')} h: "
                                                 f"{_window_text(event)}"),
                ("Distinct stories", f"{event.stories} against {event.expected:g} expected "
                                     f"(chance under the baseline: {event.details.get('probability', 0):.1e})")]
    details = event.details
    return [("Rule", event.rule),
            ("Outlets", ", ".join(details.get("outlets", []))),
            ("Languages", ", ".join(details.get("languages", [])) or "unknown"),
            ("New since the alert", ", ".join(details.get("new_outlets", []) + details.get("new_languages", [])))]


def event_stories(event: EventView) -> list[dict]:
    return event.details.get("top", []) if event.kind == "spike" else [event.details]


def render_event(event: EventView, body_format: Format, limit: int) -> Message:
    """The message of one event, in the channel's format, cut to `limit`."""
    stories = event_stories(event)
    if body_format == "html":
        facts = "".join(f"<p><b>{escape_html(k)}:</b> {escape_html(v)}</p>" for k, v in event_lines(event))
        items = "".join(f"<li>{html_link(s.get('title') or s.get('url', ''), s.get('url', ''))}: "
                        f"{escape_html(_carriers(s))}</li>" for s in stories)
        body = facts + (f"<h3>{'Top stories' if event.kind == 'spike' else 'Story'}</h3><ul>{items}</ul>"
                        if stories else "")
    else:
        body_format = "markdown"
        facts = "\n\n".join(f"**{escape_markdown(k)}:** {escape_markdown(v)}" for k, v in event_lines(event))
        items = "\n".join(f"- {markdown_link(s.get('title') or s.get('url', ''), s.get('url', ''))}: "
                          f"{escape_markdown(_carriers(s))}" for s in stories)
        body = facts + (f"\n\n**{'Top stories' if event.kind == 'spike' else 'Story'}:**\n\n{items}" if stories else "")
    return Message(title=message_title(event_title(event), body_format), body=truncate(body, limit),
                   body_format=body_format)


def _carriers(story: dict) -> str:
    outlets = story.get("outlets", [])
    languages = story.get("languages", [])
    return f"{len(outlets)} outlet{'s' if len(outlets) != 1 else ''} ({', '.join(outlets)})" + \
        (f", {', '.join(languages)}" if languages else "")


def render_event_summary(channel: str, events: Sequence[EventView], body_format: Format, limit: int) -> Message:
    """The storm summary: one line per event past the channel's cap."""
    title = f"[newswatch] +{len(events)} more rule events this run ({channel})"
    lines = [f"{event.rule}: {event_headline(event)}" for event in events]
    if body_format == "html":
        body = "<ul>" + "".join(f"<li>{escape_html(line)}</li>" for line in lines) + "</ul>"
    else:
        body_format, body = "markdown", "\n".join(f"- {escape_markdown(line)}" for line in lines)
    return Message(title=message_title(title, body_format), body=truncate(body, limit), body_format=body_format)


@dataclass
class EventSends:
    """What the relay did with the event deliveries of this run, per channel where it matters."""

    sent: int = 0
    failed: int = 0
    dead_by_channel: Counter = field(default_factory=Counter)


def send_event_alerts(engine: Engine, channels: dict[str, ChannelConfig], settings: AlertSettings,
                      rules: Sequence[RuleConfig] = (), now: datetime | None = None) -> EventSends:
    """Send the due event deliveries of the instant channels."""
    now = now or utcnow()
    for claim in release_stale_claims(engine, EventDelivery):
        log.warning("possible redelivery: rule event delivery %d to %s was being sent by a relay that stopped (%s)",
                    claim.row_id, claim.channel, claim.reason)
    instant = [name for name, channel in channels.items() if channel.mode != "digest"]
    token, jobs = claim_event_deliveries(engine, instant, now)
    cooldowns = {rule.name: timedelta(minutes=rule.cooldown_minutes) for rule in rules if rule.cooldown_minutes}
    result = EventSends()
    try:
        by_channel: dict[str, list[EventJob]] = {}
        for job in jobs:
            by_channel.setdefault(job.channel, []).append(job)
        for name, channel_jobs in by_channel.items():
            sent, failed, dead = _send_channel(engine, channels[name], settings, channel_jobs, cooldowns, now, token)
            result.sent, result.failed = result.sent + sent, result.failed + failed
            result.dead_by_channel[name] += dead
    finally:
        release_claims(engine, token, EventDelivery)
    return result


def _send_channel(engine: Engine, channel: ChannelConfig, settings: AlertSettings, jobs: list[EventJob],
                  cooldowns: dict[str, timedelta], now: datetime, token: str) -> tuple[int, int, int]:
    due = []
    for job in jobs:
        until = _cooldown_end(engine, channel.name, job.event.rule, cooldowns, now)
        if until is not None:
            defer_event_deliveries(engine, [job.delivery_id], until)
        else:
            due.append(job)
    cap = channel.max_per_run or settings.max_per_channel_per_run
    body_format, limit = channel_profile(channel.url)
    sent = failed = dead = 0
    batches = [([job], render_event(job.event, body_format, limit), "sent") for job in due[:cap]]
    if due[cap:]:
        batches.append((due[cap:], render_event_summary(channel.name, [j.event for j in due[cap:]], body_format,
                                                        limit), "summarized"))
    for group, message, status in batches:
        outcome = send_message(channel.url, message, settings.send_timeout_seconds)
        statuses = record_event_deliveries(engine, [job.delivery_id for job in group], ok=outcome.ok,
                                           error=outcome.error, max_attempts=settings.max_attempts, now=now,
                                           sent_status=status, claim_token=token)
        sent += sum(value == "sent" for value in statuses.values())
        failed += sum(value in ("pending", "dead") for value in statuses.values())
        dead += sum(value == "dead" for value in statuses.values())
        if not outcome.ok:
            log.warning("rule event alert to channel %s failed: %s", channel.name, outcome.error)
            if outcome.timed_out:
                break
    return sent, failed, dead


def _cooldown_end(engine: Engine, channel: str, rule: str, cooldowns: dict[str, timedelta],
                  now: datetime) -> datetime | None:
    """When the rule's cooldown on this channel ends, if it has not yet (hits and events both count)."""
    if rule not in cooldowns:
        return None
    times = [t for t in (last_alert_at(engine, channel, rule), last_event_alert_at(engine, channel, rule)) if t]
    if not times or now >= max(times) + cooldowns[rule]:
        return None
    return max(times) + cooldowns[rule]
