"""Where a hit's alert stands: the one answer to "was this hit alerted, and if not, why?".

`decide_alert_state` reads a hit's outbox rows (one per channel) and its rule's story
claim, and returns exactly one `AlertState`; `newswatch hits`, `hits --json` (key
`alert`) and the Prefect artifacts all show this one answer.

States, checked in this order (the first that holds wins):
- `failed`: a channel's last attempt failed. `reason` is `retrying` (it is tried again
  at `at`) or `gave_up` (attempts exhausted); `error` is the last error, `channels` the
  failing ones. Other channels may have received it (see `deliveries`).
- `pending`: queued and not sent yet. `reason` is `queued` (due now, or waiting for a
  digest) or `cooldown` (held by the rule's cooldown until `at`).
- `sent`: every channel received it (alone, in a cooldown batch, or in a storm summary);
  `at` is when the last one went out, `channels` are the channels.
- `not_alerted`, no outbox row at all. `reason`: `first_poll` (found on a feed's first
  poll: old news), `grouped` (a copy of a story the rule already alerted; `grouped_with`
  is that hit's id), `backfilled` (stored by a quiet `newswatch backfill`), `imported`
  (loaded from an archive without `--alert`) or `no_channel` (the rule had no channel
  when the hit was stored).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from store.tables import as_utc

SENT = ("sent", "summarized")


@dataclass(frozen=True)
class ChannelDelivery:
    """One outbox row of a hit, as far as its alert state needs it."""

    channel: str
    status: str  # pending | sending | sent | summarized | dead
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class AlertState:
    state: str  # sent | pending | failed | not_alerted
    reason: str | None = None
    at: datetime | None = None
    channels: tuple[str, ...] = ()
    error: str | None = None
    grouped_with: int | None = None

    def to_json(self) -> dict:
        """The `alert` object of `hits --json`: every key always present (null when unused)."""
        at = as_utc(self.at)
        return {"state": self.state, "reason": self.reason,
                "at": at.isoformat().replace("+00:00", "Z") if at else None,
                "channels": list(self.channels), "error": self.error, "grouped_with": self.grouped_with}

    def describe(self) -> str:
        """One line for a person: the terminal list and the artifacts' `alerted` column."""
        channels = ", ".join(self.channels)
        when = as_utc(self.at).strftime("%Y-%m-%d %H:%M UTC") if self.at else ""
        if self.state == "sent":
            return f"sent {when} to {channels}"
        if self.state == "failed":
            then = f"retrying {when}" if self.reason == "retrying" else "gave up"
            return f"failed on {channels} ({then}): {self.error or 'unknown error'}"
        if self.state == "pending":
            return f"pending: cooldown until {when} ({channels})" if self.reason == "cooldown" \
                else f"pending ({channels})"
        return "not alerted: " + NOT_ALERTED_TEXT.get(self.reason or "", self.reason or "")


NOT_ALERTED_TEXT = {
    "first_poll": "first poll of the feed (old news)",
    "grouped": "copy of a story already alerted",
    "backfilled": "backfilled without --alert",
    "imported": "imported from an archive without --alert",
    "no_channel": "no channel configured for the rule",
}


def decide_alert_state(
    deliveries: Sequence[ChannelDelivery],
    *,
    hit_id: int,
    baseline: bool,
    backfilled: bool,
    story_claimed_by: int | None,
    imported: bool = False,
) -> AlertState:
    """The one alert state of a hit. `story_claimed_by`: the hit that holds the rule's claim
    on the hit's story (the one that alerts it), or None when nobody claimed it."""
    if not deliveries:
        return AlertState("not_alerted", not_alerted_reason(hit_id, baseline, backfilled, story_claimed_by, imported),
                          grouped_with=story_claimed_by if story_claimed_by not in (None, hit_id) else None)
    failed = [d for d in deliveries if d.status == "dead" or (d.status == "pending" and d.last_error)]
    if failed:
        retrying = [d for d in failed if d.status == "pending"]
        return AlertState("failed", "retrying" if retrying else "gave_up",
                          at=min(as_utc(d.next_attempt_at) for d in retrying) if retrying else None,
                          channels=names(failed), error=failed[-1].last_error)
    waiting = [d for d in deliveries if d.status not in SENT]
    if waiting:
        held = [d for d in waiting if is_held(d)]
        return AlertState("pending", "cooldown" if held else "queued",
                          at=max(as_utc(d.next_attempt_at) for d in held) if held else None, channels=names(waiting))
    return AlertState("sent", at=max((as_utc(d.sent_at) for d in deliveries if d.sent_at), default=None),
                      channels=names(deliveries))


def not_alerted_reason(hit_id: int, baseline: bool, backfilled: bool, story_claimed_by: int | None,
                       imported: bool = False) -> str:
    """Why a hit without any outbox row was not alerted. Only alerting hits claim their story
    (a pass's, `backfill --alert`'s), so a claim held by the hit itself means it was to alert
    but its rule had no channel."""
    if baseline:
        return "first_poll"
    if story_claimed_by is not None and story_claimed_by != hit_id:
        return "grouped"
    if story_claimed_by is None and (backfilled or imported):
        return "backfilled" if backfilled else "imported"
    return "no_channel"


def is_held(delivery: ChannelDelivery) -> bool:
    """Deferred without an attempt: only a rule's cooldown does that (`store.outbox.defer_deliveries`)."""
    due, created = as_utc(delivery.next_attempt_at), as_utc(delivery.created_at)
    return delivery.attempts == 0 and due is not None and created is not None and due > created


def names(deliveries: Sequence[ChannelDelivery]) -> tuple[str, ...]:
    return tuple(sorted({d.channel for d in deliveries}))
