"""How long a server asked us to wait, and how often a feed should be polled.

Contract: `parse_retry_after(value)` reads a Retry-After header (delta-seconds or an
HTTP date) into seconds >= 0, capped at a day, or None. `clamp_ttl(seconds)` bounds a
feed's advertised refresh interval to [MIN_TTL, MAX_TTL]; None stays None.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

MIN_TTL = 5 * 60
MAX_TTL = 24 * 60 * 60


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), MAX_TTL))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = (when - datetime.now(timezone.utc)).total_seconds()
    return float(min(max(seconds, 0.0), MAX_TTL))


def clamp_ttl(seconds: float | None) -> int | None:
    if seconds is None:
        return None
    return int(min(max(seconds, MIN_TTL), MAX_TTL))
