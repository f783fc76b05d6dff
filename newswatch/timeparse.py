"""`--since` and `--until` values: a date, a datetime, or a span back from now (`24h`, `7d`, `30m`)."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta, timezone

SPAN = re.compile(r"^(\d+)\s*([mhdw])$")
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> datetime:
    """An aware UTC datetime; naive dates and times are taken as UTC."""
    match = SPAN.match(text.strip().lower())
    if match:
        return datetime.now(timezone.utc) - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: use 2026-11-27, 2026-11-27T08:00 or a span like 24h or 7d"
        ) from None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def parse_until(text: str) -> datetime:
    """Like `parse_since`, but a bare date means the end of that day: `--until 2026-11-27` includes the 27th."""
    value = parse_since(text)
    if DATE_ONLY.match(text.strip()):
        value += timedelta(days=1)
    return value
