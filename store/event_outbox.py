"""The outbox of rule events (spikes, story updates): claimed, recorded and held like a hit's.

Each `EventDelivery` is `pending` until a send succeeds (`sent`, or `summarized` when it went
out in a storm summary) or has failed `max_attempts` times (`dead`), with the backoff of
`store.outbox.retry_delay`. `claim_event_deliveries` marks the due rows `sending` with a claim
token in one committed transaction before anything is sent (PostgreSQL: `FOR UPDATE SKIP
LOCKED`), so two relays never send one row; `store.outbox.release_stale_claims` and
`release_claims` work on this table too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, update
from sqlmodel import Session, select

from store.claims import new_claim_token
from store.outbox import FINAL, apply_attempt
from store.stories import in_chunks
from store.tables import EventDelivery, RuleEvent, as_utc, utcnow
from store.text import clean_text


@dataclass(frozen=True)
class EventView:
    event_id: int
    rule: str
    kind: str
    window_start: datetime | None
    window_end: datetime | None
    stories: int
    expected: float
    details: dict
    created_at: datetime


@dataclass(frozen=True)
class EventJob:
    delivery_id: int
    channel: str
    attempts: int
    event: EventView


def view_event(event: RuleEvent) -> EventView:
    return EventView(event.id, event.rule, event.kind, as_utc(event.window_start), as_utc(event.window_end),
                     event.stories, event.expected, json.loads(event.details or "{}"), as_utc(event.created_at))


def claim_event_deliveries(engine: Engine, channels: Sequence[str], now: datetime | None = None
                           ) -> tuple[str, list[EventJob]]:
    """Claim the due pending event deliveries of `channels` (committed as `sending` first)."""
    token, now = new_claim_token(), now or utcnow()
    with Session(engine) as session:
        query = (select(EventDelivery.id).where(EventDelivery.status == "pending", EventDelivery.next_attempt_at <= now,
                                                EventDelivery.channel.in_(list(channels)))
                 .order_by(EventDelivery.id).with_for_update(skip_locked=True))
        ids = list(session.exec(query))
        for chunk in in_chunks(ids):
            session.execute(update(EventDelivery).where(EventDelivery.id.in_(chunk))
                            .values(status="sending", claim_token=token, claimed_at=utcnow()))
        session.commit()
        jobs = []
        for chunk in in_chunks(ids):
            rows = session.exec(select(EventDelivery, RuleEvent).join(RuleEvent, RuleEvent.id == EventDelivery.event_id)
                                .where(EventDelivery.id.in_(chunk)).order_by(EventDelivery.id))
            jobs += [EventJob(delivery.id, delivery.channel, delivery.attempts, view_event(event))
                     for delivery, event in rows]
        return token, jobs


def record_event_deliveries(engine: Engine, delivery_ids: Sequence[int], *, ok: bool, error: str | None,
                            max_attempts: int, now: datetime | None = None, sent_status: str = "sent",
                            claim_token: str | None = None) -> dict[int, str]:
    """One attempt for each event delivery that went out in one message; id -> new status.
    A failure never touches a row another relay has claimed since; a success is recorded."""
    now, error, statuses = now or utcnow(), None if ok else clean_text(error, 1000), {}
    with Session(engine) as session:
        for chunk in in_chunks(list(delivery_ids)):
            for row in session.exec(select(EventDelivery).where(EventDelivery.id.in_(chunk))):
                taken = bool(claim_token) and row.status == "sending" and row.claim_token != claim_token
                if row.status not in FINAL and not (taken and not ok):
                    apply_attempt(row, ok, error, max_attempts, now, sent_status)
                    session.add(row)
                statuses[row.id] = row.status
        session.commit()
    return statuses


def defer_event_deliveries(engine: Engine, delivery_ids: Sequence[int], until: datetime) -> None:
    """Hold event deliveries until `until` (a rule's cooldown) without counting an attempt."""
    with Session(engine) as session:
        for chunk in in_chunks(list(delivery_ids)):
            session.execute(update(EventDelivery).where(EventDelivery.id.in_(chunk))
                            .values(next_attempt_at=until, status="pending", claim_token=None, claimed_at=None))
        session.commit()


def last_event_alert_at(engine: Engine, channel: str, rule: str) -> datetime | None:
    """When an event of the rule last reached the channel."""
    with Session(engine) as session:
        value = session.exec(select(func.max(EventDelivery.sent_at))
                             .join(RuleEvent, RuleEvent.id == EventDelivery.event_id)
                             .where(EventDelivery.channel == channel, RuleEvent.rule == rule,
                                    EventDelivery.status.in_(["sent", "summarized"]))).one()
    return as_utc(value)
