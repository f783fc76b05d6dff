"""The outbox: pending deliveries, who is sending them, and the record of every attempt.

A delivery is `pending` until a send succeeds (`sent`, or `summarized` when it went out
as a line of a storm summary) or it has failed `max_attempts` times (`dead`). Each
failure pushes `next_attempt_at` back exponentially, with jitter so a recovered service
is not hit by every row at once. Every attempt is kept as a `DeliveryAttempt` row.

Sending is claimed: `claim_deliveries` marks the due rows `sending` with a claim token
and the time, in one transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two relays
take disjoint rows; SQLite: BEGIN IMMEDIATE serialises the claims), and commits before
anything is sent. Recording an attempt ends the claim; `release_claims` hands back what
was claimed but not sent. `release_stale_claims` returns the claims of a relay that
stopped (lease over, or its process gone: `store.claims`) to `pending`: those rows may
have reached the receiver just before it stopped, so the caller logs a possible
redelivery. Only a recorded success marks a row sent: a crash or a full disk between
send and record leaves it `sending`, to be sent again, never lost.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, update
from sqlmodel import Session, select

from store.claims import CLAIM_LEASE, claimer_is_gone, new_claim_token
from store.stories import in_chunks
from store.tables import Delivery, DeliveryAttempt, EventDelivery, Hit, as_utc, utcnow
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
    """Pending deliveries, oldest first (read only: to send them, `claim_deliveries`)."""
    query = _due_query(select(Delivery.id), now or utcnow(), channel, created_before, due_only)
    with Session(engine) as session:
        return _jobs(session, list(session.exec(query)))


def claim_deliveries(
    engine: Engine,
    now: datetime | None = None,
    *,
    channels: Sequence[str] | None = None,
    channel: str | None = None,
    created_before: datetime | None = None,
    due_only: bool = True,
) -> tuple[str, list[DeliveryJob]]:
    """Claim the due pending deliveries (of `channels`, or of one `channel`): (token, jobs).

    One transaction marks them `sending` and commits before the caller sends anything; a
    row another relay is claiming at the same moment is skipped, never taken twice.
    """
    token = new_claim_token()
    query = _due_query(select(Delivery.id), now or utcnow(), channel, created_before, due_only)
    if channels is not None:
        query = query.where(Delivery.channel.in_(list(channels)))
    with Session(engine) as session:
        ids = list(session.exec(query.with_for_update(skip_locked=True)))
        for chunk in in_chunks(ids):
            session.execute(update(Delivery).where(Delivery.id.in_(chunk))
                            .values(status="sending", claim_token=token, claimed_at=utcnow()))
        session.commit()
        return token, _jobs(session, ids)


def _due_query(query, now: datetime, channel: str | None, created_before: datetime | None, due_only: bool):
    query = query.where(Delivery.status == "pending").order_by(Delivery.id)
    if due_only:
        query = query.where(Delivery.next_attempt_at <= now)
    if channel is not None:
        query = query.where(Delivery.channel == channel)
    if created_before is not None:
        query = query.where(Delivery.created_at < created_before)
    return query


def _jobs(session: Session, delivery_ids: list[int]) -> list[DeliveryJob]:
    jobs = []
    for chunk in in_chunks(delivery_ids):
        query = (hit_view_query().add_columns(Delivery).join(Delivery, Delivery.hit_id == Hit.id)
                 .where(Delivery.id.in_(chunk)).order_by(Delivery.id))
        rows = session.execute(query).all()
        views = add_context(session, [to_hit_view(hit, article, feed) for hit, article, feed, _ in rows])
        jobs += [DeliveryJob(row[3].id, row[3].channel, row[3].attempts, view) for row, view in zip(rows, views)]
    return jobs


def count_due(engine: Engine, now: datetime, *, excluding: Sequence[str] = ()) -> int:
    """How many pending deliveries are due, leaving out some channels (the relay's digests)."""
    with Session(engine) as session:
        query = select(func.count()).select_from(Delivery).where(
            Delivery.status == "pending", Delivery.next_attempt_at <= now)
        if excluding:
            query = query.where(Delivery.channel.not_in(list(excluding)))
        return session.exec(query).one()


@dataclass(frozen=True)
class ReleasedClaim:
    """A row a stopped relay had claimed: it may have been delivered before the stop."""

    row_id: int
    channel: str
    claimed_at: datetime | None
    reason: str  # "process gone" | "lease expired"


def release_stale_claims(engine: Engine, table=Delivery, lease: timedelta = CLAIM_LEASE) -> list[ReleasedClaim]:
    """Return the claims of relays that stopped to `pending`; what was released, for the log."""
    now, released = utcnow(), []
    with Session(engine) as session:
        for row in session.exec(select(table).where(table.status == "sending").order_by(table.id)).all():
            claimed_at = as_utc(row.claimed_at)
            reason = ("process gone" if claimer_is_gone(row.claim_token)
                      else "lease expired" if claimed_at is None or claimed_at < now - lease else None)
            if reason is None:
                continue
            changed = session.execute(update(table).where(table.id == row.id, table.status == "sending",
                                                          table.claim_token == row.claim_token)
                                      .values(status="pending", claim_token=None, claimed_at=None)).rowcount
            if changed:
                released.append(ReleasedClaim(row.id, getattr(row, "channel", "operator"), claimed_at, reason))
        session.commit()
    return released


def release_claims(engine: Engine, token: str, table=Delivery) -> int:
    """Hand back the rows of this claim that were not sent (a channel timed out, the relay ended)."""
    with Session(engine) as session:
        count = session.execute(update(table).where(table.status == "sending", table.claim_token == token)
                                .values(status="pending", claim_token=None, claimed_at=None)).rowcount
        session.commit()
    return count or 0


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff (1 min, 2, 4 ... capped at 6 h) with +-20% jitter."""
    base = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)
    return base * (rng or random).uniform(0.8, 1.2)


FINAL = ("sent", "summarized", "dead")


def record_deliveries(
    engine: Engine, delivery_ids: Sequence[int], *, ok: bool, error: str | None, max_attempts: int,
    now: datetime | None = None, sent_status: str = "sent", claim_token: str | None = None,
) -> dict[int, str]:
    """Record one attempt for each delivery that went out in one message; id -> new status.

    The attempt ends the claim. A failure never touches a row another relay has claimed
    since (our lease ran out); a success is recorded whoever holds the row, since it arrived.
    """
    now, error = now or utcnow(), None if ok else clean_text(error, 1000)
    statuses: dict[int, str] = {}
    with Session(engine) as session:
        for chunk in in_chunks(list(delivery_ids)):
            for delivery in session.exec(select(Delivery).where(Delivery.id.in_(chunk))):
                taken = bool(claim_token) and delivery.status == "sending" and delivery.claim_token != claim_token
                if delivery.status not in FINAL and not (taken and not ok):
                    apply_attempt(delivery, ok, error, max_attempts, now, sent_status)
                    session.add(delivery)
                statuses[delivery.id] = delivery.status
                session.add(DeliveryAttempt(delivery_id=delivery.id, at=now, ok=ok, error=error))
        session.commit()
    return statuses


def apply_attempt(delivery: Delivery | EventDelivery, ok: bool, error: str | None, max_attempts: int,
                  now: datetime, sent_status: str) -> str:
    """Count one send attempt on an outbox row (a hit's or a rule event's): sent, dead after
    `max_attempts`, else pending again after the retry delay; its claim ends either way."""
    delivery.attempts += 1
    delivery.claim_token = delivery.claimed_at = None
    if ok:
        delivery.status, delivery.sent_at, delivery.last_error = sent_status, now, None
    elif delivery.attempts >= max_attempts:
        delivery.status, delivery.last_error = "dead", error
    else:
        delivery.status = "pending"
        delivery.last_error, delivery.next_attempt_at = error, now + retry_delay(delivery.attempts)
    return delivery.status


def defer_deliveries(engine: Engine, delivery_ids: Sequence[int], until: datetime) -> None:
    """Hold deliveries until `until` without counting an attempt (a rule's cooldown); ends their claim."""
    with Session(engine) as session:
        for chunk in in_chunks(list(delivery_ids)):
            session.execute(update(Delivery).where(Delivery.id.in_(chunk), Delivery.status.in_(["pending", "sending"]))
                            .values(next_attempt_at=until, status="pending", claim_token=None, claimed_at=None))
        session.commit()


def last_alert_at(engine: Engine, channel: str, rule: str) -> datetime | None:
    """When the rule last reached the channel (sent alone or in a summary)."""
    with Session(engine) as session:
        value = session.exec(
            select(func.max(Delivery.sent_at)).join(Hit, Hit.id == Delivery.hit_id)
            .where(Delivery.channel == channel, Hit.rule == rule, Delivery.status.in_(["sent", "summarized"]))
        ).one()
    return as_utc(value)
