"""The outbox: pending deliveries, and the record of every attempt to send them.

A delivery is `pending` until a send succeeds (`sent`, or `summarized` when it went out
as a line of a storm summary) or it has failed `max_attempts` times (`dead`). Each
failure pushes `next_attempt_at` back exponentially, with jitter so a recovered service
is not hit by every row at once. Every attempt is kept as a `DeliveryAttempt` row.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, update
from sqlmodel import Session, select

from store.stories import in_chunks
from store.tables import Delivery, DeliveryAttempt, Hit, as_utc, utcnow
from store.text import clean_text
from store.views import HitView, add_context, hit_view_query, to_hit_view

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)


@dataclass(frozen=True)
class DeliveryJob:
    delivery_id: int
    channel: str
    attempts: int
    hit: HitView


def pending_deliveries(
    engine: Engine,
    now: datetime | None = None,
    *,
    channel: str | None = None,
    created_before: datetime | None = None,
    due_only: bool = True,
) -> list[DeliveryJob]:
    """Pending deliveries, oldest first: those due now, or (digests) all created before a time."""
    now = now or utcnow()
    query = (hit_view_query().add_columns(Delivery).join(Delivery, Delivery.hit_id == Hit.id)
             .where(Delivery.status == "pending").order_by(Delivery.id))
    if due_only:
        query = query.where(Delivery.next_attempt_at <= now)
    if channel is not None:
        query = query.where(Delivery.channel == channel)
    if created_before is not None:
        query = query.where(Delivery.created_at < created_before)
    with Session(engine) as session:
        rows = session.execute(query).all()
        views = add_context(session, [to_hit_view(hit, article, feed) for hit, article, feed, _ in rows])
    return [DeliveryJob(row[3].id, row[3].channel, row[3].attempts, view) for row, view in zip(rows, views)]


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff (1 min, 2, 4 ... capped at 6 h) with +-20% jitter."""
    base = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)
    return base * (rng or random).uniform(0.8, 1.2)


def record_delivery(
    engine: Engine, delivery_id: int, *, ok: bool, error: str | None, max_attempts: int,
    now: datetime | None = None, sent_status: str = "sent",
) -> str:
    """Record one attempt and return the delivery's new status."""
    return record_deliveries(engine, [delivery_id], ok=ok, error=error, max_attempts=max_attempts, now=now,
                             sent_status=sent_status)[delivery_id]


def record_deliveries(
    engine: Engine, delivery_ids: Sequence[int], *, ok: bool, error: str | None, max_attempts: int,
    now: datetime | None = None, sent_status: str = "sent",
) -> dict[int, str]:
    """Record one attempt for each delivery that went out in one message; id -> new status."""
    now, error = now or utcnow(), None if ok else clean_text(error, 1000)
    statuses: dict[int, str] = {}
    with Session(engine) as session:
        for chunk in in_chunks(list(delivery_ids)):
            for delivery in session.exec(select(Delivery).where(Delivery.id.in_(chunk))):
                statuses[delivery.id] = _apply_attempt(delivery, ok, error, max_attempts, now, sent_status)
                session.add(delivery)
                session.add(DeliveryAttempt(delivery_id=delivery.id, at=now, ok=ok, error=error))
        session.commit()
    return statuses


def _apply_attempt(delivery: Delivery, ok: bool, error: str | None, max_attempts: int, now: datetime,
                   sent_status: str) -> str:
    delivery.attempts += 1
    if ok:
        delivery.status, delivery.sent_at, delivery.last_error = sent_status, now, None
    elif delivery.attempts >= max_attempts:
        delivery.status, delivery.last_error = "dead", error
    else:
        delivery.last_error, delivery.next_attempt_at = error, now + retry_delay(delivery.attempts)
    return delivery.status


def defer_deliveries(engine: Engine, delivery_ids: Sequence[int], until: datetime) -> None:
    """Hold deliveries until `until` without counting an attempt (a rule's cooldown)."""
    with Session(engine) as session:
        for chunk in in_chunks(list(delivery_ids)):
            session.execute(update(Delivery).where(Delivery.id.in_(chunk)).values(next_attempt_at=until))
        session.commit()


def last_alert_at(engine: Engine, channel: str, rule: str) -> datetime | None:
    """When the rule last reached the channel (sent alone or in a summary)."""
    with Session(engine) as session:
        value = session.exec(
            select(func.max(Delivery.sent_at)).join(Hit, Hit.id == Delivery.hit_id)
            .where(Delivery.channel == channel, Hit.rule == rule, Delivery.status.in_(["sent", "summarized"]))
        ).one()
    return as_utc(value)
