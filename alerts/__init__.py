"""Alerts: render messages, deliver them through apprise, record each attempt."""

from alerts.relay import RelayReport, send_pending
from alerts.render import Message, render_hit

__all__ = ["Message", "RelayReport", "render_hit", "send_pending"]
