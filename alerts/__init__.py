"""Alerts: render messages, deliver them through apprise, record each attempt."""

from alerts.digest import DigestOutcome, latest_tick, send_channel_digest
from alerts.notices import send_notices
from alerts.relay import RelayReport, send_pending
from alerts.render import Message, render_hit

__all__ = ["DigestOutcome", "Message", "RelayReport", "latest_tick", "render_hit", "send_channel_digest",
           "send_notices", "send_pending"]
