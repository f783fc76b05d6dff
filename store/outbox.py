"""The outbox: pending deliveries, and the record of every attempt to send them.

A delivery is `pending` until a send succeeds (`sent`) or it has failed
`max_attempts` times (`dead`). Each failure pushes `next_attempt_at` back
exponentially, with jitter so a recovered service is not hit by every row at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from store.tables import Article, Delivery, DeliveryAttempt, Feed, Hit, utcnow
from store.text import clean_text
from store.views import HitView, hit_view_query, to_hit_view

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)


@dataclass(frozen=True)
class DeliveryJob:
    delivery_id: int
    channel: str
    attempts: int
    hit: HitView


def pending_deliveries(engine: Engine, now: datetime | None = None) -> list[DeliveryJob]:
    """Deliveries due now, oldest first."""
    now = now or utcnow()
    query = (
        hit_view_query()
        .add_columns(Delivery)
        .join(Delivery, Delivery.hit_id == Hit.id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.id)
    )
    with Session(engine) as session:
        return [
            DeliveryJob(delivery.id, delivery.channel, delivery.attempts, to_hit_view(hit, article, feed))
            for hit, article, feed, delivery in session.execute(query)
        ]


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff (1 min, 2, 4 ... capped at 6 h) with +-20% jitter."""
    base = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)
    return base * (rng or random).uniform(0.8, 1.2)


def record_delivery(engine: Engine, delivery_id: int, *, ok: bool, error: str | None, max_attempts: int) -> str:
    """Record one attempt and return the delivery's new status."""
    with Session(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        now = utcnow()
        delivery.attempts += 1
        session.add(DeliveryAttempt(delivery_id=delivery_id, at=now, ok=ok, error=clean_text(error, 1000)))
        if ok:
            delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
        else:
            delivery.last_error = clean_text(error, 1000)
            if delivery.attempts >= max_attempts:
                delivery.status = "dead"
            else:
                delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        session.add(delivery)
        session.commit()
        return delivery.status
