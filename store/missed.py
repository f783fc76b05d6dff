"""Passes the Prefect UI missed: recorded when a pass runs without the API, published later.

`record_missed_run` stores a pass's summary (plain JSON) and why Prefect was not reached.
`claim_missed_runs` hands the unpublished ones, oldest first, to one publisher: each row is
claimed by a conditional update (its `published_at` set while it is still empty), so two
processes catching the UI up at once never publish the same pass twice. The publisher then
`finish_missed_run` (the Prefect flow run that shows it) or `release_missed_run` (publishing
failed: the next run tries again).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, or_, update
from sqlmodel import Session, select

from store.tables import MissedRun, as_utc, utcnow


STALE_CLAIM = timedelta(minutes=10)  # a claim this old without a flow run: its publisher died


@dataclass(frozen=True)
class MissedRunView:
    missed_id: int
    started_at: datetime
    finished_at: datetime | None
    reason: str
    summary: dict


def record_missed_run(engine: Engine, started_at: datetime, finished_at: datetime | None, reason: str,
                      summary: dict) -> int:
    """Store a pass that ran without Prefect; its id."""
    with Session(engine) as session:
        row = MissedRun(started_at=started_at, finished_at=finished_at, reason=reason[:2000],
                        summary=json.dumps(summary, ensure_ascii=False, default=str))
        session.add(row)
        session.commit()
        return row.id


def _unpublished(now: datetime):
    """Never published, or claimed by a publisher that died before it finished."""
    stale = now - STALE_CLAIM
    return or_(MissedRun.published_at.is_(None),
               (MissedRun.flow_run_id.is_(None)) & (MissedRun.published_at < stale))


def count_unpublished(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(MissedRun).where(_unpublished(utcnow()))).one()


def claim_missed_runs(engine: Engine, limit: int = 100) -> list[MissedRunView]:
    """The unpublished missed runs (oldest first, at most `limit`), each claimed for this caller."""
    claimed = []
    with Session(engine) as session:
        ids = list(session.exec(select(MissedRun.id).where(_unpublished(utcnow()))
                                .order_by(MissedRun.started_at, MissedRun.id).limit(limit)))
    for missed_id in ids:
        with Session(engine) as session:
            now = utcnow()
            taken = session.execute(update(MissedRun).where(MissedRun.id == missed_id, _unpublished(now))
                                    .values(published_at=now))
            session.commit()
        if taken.rowcount == 1:  # else another process publishes this one
            claimed.append(read_missed_run(engine, missed_id))
    return claimed


def read_missed_run(engine: Engine, missed_id: int) -> MissedRunView:
    with Session(engine) as session:
        row = session.get(MissedRun, missed_id)
        return MissedRunView(row.id, as_utc(row.started_at), as_utc(row.finished_at), row.reason,
                             json.loads(row.summary or "{}"))


def finish_missed_run(engine: Engine, missed_id: int, flow_run_id: str) -> None:
    """Mark the run published (the first publisher to finish keeps its flow run id)."""
    with Session(engine) as session:
        session.execute(update(MissedRun).where(MissedRun.id == missed_id, MissedRun.flow_run_id.is_(None))
                        .values(flow_run_id=flow_run_id, published_at=utcnow()))
        session.commit()


def release_missed_run(engine: Engine, missed_id: int) -> None:
    """Publishing failed: leave the run for the next one that reaches the API."""
    with Session(engine) as session:
        session.execute(update(MissedRun).where(MissedRun.id == missed_id).values(published_at=None))
        session.commit()
