"""Operator notices: written with the event that causes them, sent once by the relay.

`queue_notice` runs inside the caller's transaction (a feed parked or recovered, a
batch of deliveries given up), so a notice exists exactly when its event does and is
never repeated per failed poll. The relay claims the pending ones (`claim_notices`,
like `store.outbox.claim_deliveries`), sends them to the `operator` channel and records
the outcome like a delivery (backoff, then `dead`); with no operator channel they are
marked `unrouted` and stay in the database for the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, update
from sqlmodel import Session, select

from store.claims import new_claim_token
from store.outbox import retry_delay
from store.tables import Notice, utcnow
from store.text import clean_text


@dataclass(frozen=True)
class NoticeView:
    notice_id: int
    kind: str
    subject: str
    body: str
    created_at: datetime


def queue_notice(session: Session, kind: str, subject: str, body: str) -> None:
    """Add a pending notice to the caller's transaction."""
    session.add(Notice(kind=kind, subject=clean_text(subject, 300) or "", body=clean_text(body, 4000) or ""))


def add_notice(engine: Engine, kind: str, subject: str, body: str) -> None:
    with Session(engine) as session:
        queue_notice(session, kind, subject, body)
        session.commit()


def claim_notices(engine: Engine, now: datetime | None = None) -> tuple[str, list[NoticeView]]:
    """Claim the due pending notices (marked `sending`, committed before any send): (token, notices)."""
    token, now = new_claim_token(), now or utcnow()
    with Session(engine) as session:
        query = (select(Notice.id).where(Notice.status == "pending", Notice.next_attempt_at <= now)
                 .order_by(Notice.id).with_for_update(skip_locked=True))
        ids = list(session.exec(query))
        if ids:
            session.execute(update(Notice).where(Notice.id.in_(ids))
                            .values(status="sending", claim_token=token, claimed_at=utcnow()))
        session.commit()
        rows = session.exec(select(Notice).where(Notice.id.in_(ids)).order_by(Notice.id)) if ids else []
        return token, [NoticeView(n.id, n.kind, n.subject, n.body, n.created_at) for n in rows]


def record_notices(engine: Engine, notice_ids: Sequence[int], *, ok: bool, error: str | None, max_attempts: int,
                   now: datetime | None = None) -> None:
    """One attempt for the notices that went out together in one message."""
    now = now or utcnow()
    with Session(engine) as session:
        for notice in session.exec(select(Notice).where(Notice.id.in_(list(notice_ids)))):
            notice.attempts += 1
            notice.claim_token = notice.claimed_at = None
            if ok:
                notice.status, notice.sent_at, notice.last_error = "sent", now, None
            else:
                notice.last_error = clean_text(error, 1000)
                notice.status = "dead" if notice.attempts >= max_attempts else "pending"
                notice.next_attempt_at = now + retry_delay(notice.attempts)
            session.add(notice)
        session.commit()


def mark_notices_unrouted(engine: Engine, notice_ids: Sequence[int]) -> None:
    with Session(engine) as session:
        session.execute(update(Notice).where(Notice.id.in_(list(notice_ids)))
                        .values(status="unrouted", claim_token=None, claimed_at=None))
        session.commit()
