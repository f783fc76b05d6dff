"""Operator notices: feeds parked or recovered, deliveries given up; sent once, together.

Notices are queued in the database by the event that causes them (`store.notices`).
`send_notices` claims (like the relay's deliveries) and sends every pending one to the channel named `operator` as ONE message
(however many there are), records the outcome, and retries later on failure. Without
an `operator` channel they are marked `unrouted` and stay in the database.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine

from alerts.deliver import channel_profile, send_message
from alerts.escape import defuse_mentions, escape_html, escape_markdown, truncate
from alerts.render import SUBJECT_PREFIX, Message, message_title
from config.models import AlertSettings, ChannelConfig
from store import (NoticeView, add_notice, claim_notices, mark_notices_unrouted, record_notices, release_claims,
                   release_stale_claims)
from store.tables import Notice

OPERATOR = "operator"
log = logging.getLogger("newswatch.alerts")


def report_dead_deliveries(engine: Engine, dead_by_channel: Counter, errors: Sequence[str]) -> None:
    """One notice per channel whose deliveries were given up in this run."""
    for channel, count in dead_by_channel.items():
        if not count:
            continue
        last_error = next((e for e in reversed(errors) if e.startswith(f"{channel}: ")), "")
        add_notice(engine, "deliveries_dead", f"{count} alert{'s' if count != 1 else ''} to {channel} given up",
                   f"{count} alert(s) to channel {channel} failed on every attempt and were given up. "
                   f"Last error: {last_error}. They stay in the history (newswatch hits).")


def render_notices(notices: Sequence[NoticeView], body_format: str, limit: int) -> Message:
    first = notices[0].subject
    more = f" (+{len(notices) - 1} more)" if len(notices) > 1 else ""
    title = f"{SUBJECT_PREFIX} operator: {first}{more}"
    if body_format == "html":
        body = "\n".join(f"<h3>{escape_html(n.subject)}</h3>\n<p>{escape_html(n.body)}</p>" for n in notices)
    elif body_format == "text":
        body = defuse_mentions("\n\n".join(f"{n.subject}\n{n.body}" for n in notices))
    else:
        body, body_format = "\n\n".join(f"**{escape_markdown(n.subject)}**\n\n{escape_markdown(n.body)}"
                                        for n in notices), "markdown"
    return Message(title=message_title(title, body_format), body=truncate(body, limit), body_format=body_format)


def send_notices(engine: Engine, channels: dict[str, ChannelConfig], settings: AlertSettings,
                 now: datetime | None = None) -> int:
    """Send the pending notices as one message; returns how many went out."""
    for claim in release_stale_claims(engine, Notice):
        log.warning("possible redelivery: operator notice %d was being sent by a relay that stopped (%s)",
                    claim.row_id, claim.reason)
    token, notices = claim_notices(engine, now)
    if not notices:
        return 0
    try:
        return _send_notices(engine, channels, settings, notices, now)
    finally:
        release_claims(engine, token, Notice)


def _send_notices(engine: Engine, channels: dict[str, ChannelConfig], settings: AlertSettings,
                  notices: Sequence[NoticeView], now: datetime | None) -> int:
    ids = [notice.notice_id for notice in notices]
    channel = channels.get(OPERATOR)
    if channel is None:
        mark_notices_unrouted(engine, ids)
        return 0
    body_format, limit = channel_profile(channel.url)
    outcome = send_message(channel.url, render_notices(notices, body_format, limit), settings.send_timeout_seconds)
    record_notices(engine, ids, ok=outcome.ok, error=outcome.error, max_attempts=settings.max_attempts, now=now)
    if not outcome.ok:
        log.warning("operator notice failed: %s", outcome.error)
    return len(notices) if outcome.ok else 0
