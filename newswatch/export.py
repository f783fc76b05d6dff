"""`newswatch hits --csv`: the `hits --json` objects as CSV rows (stdlib csv).

The columns are the JSON keys, in the same order, so a script can switch between the
two. A list becomes one cell, its items joined with "; " (a pair of offsets as
`start-end`, another outlet as `feed <url>`); `deliveries` reads `channel: status`.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TextIO

from store.views import HitView

SEPARATOR = "; "


def write_hits_csv(rows: Sequence[dict], out: TextIO) -> None:
    """Write a header and one row per `hits --json` object (the header alone when there are none)."""
    names = list(rows[0]) if rows else hit_columns()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([format_cell(row.get(name)) for name in names])


def format_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return SEPARATOR.join(f"{key}: {format_cell(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return SEPARATOR.join(format_item(item) for item in value)
    return str(value)


def format_item(item) -> str:
    if isinstance(item, dict) and "feed" in item:
        return f"{item['feed']} <{item.get('url', '')}>"
    if isinstance(item, (list, tuple)):
        return "-".join(str(part) for part in item)
    return format_cell(item)


def hit_columns() -> list[str]:
    """The keys of a `hits --json` object, in order."""
    empty = HitView(hit_id=0, rule="", rule_hash="", url="", title="", feed="", feed_url="", published=None,
                    found_at=datetime.now(timezone.utc), terms=(), fields=(), snippet="", marks=(),
                    baseline=False, language=None, flagged=None)
    return list(empty.to_json())
