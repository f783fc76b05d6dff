"""Retention: articles older than `retention_days` are purged, their identities stay.

`purge_expired_articles` deletes, in batches of one transaction each, the articles
stored (fetched) before the cutoff together with their hits, deliveries, delivery
attempts and story rows, but never an article with a delivery still pending or being
sent, never part of a story while any copy of it is younger than the cutoff (so a
late copy of an old story still finds it and does not alert again), and never an article
the analyst labelled for a rule (its text is what `rules suggest` learns from). The `SeenEntry`
identities of a purged article stay (their `article_id` becomes NULL), so a feed that
still lists the item does not bring it back as new. With nothing to purge it costs one
indexed query.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, delete, exists, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from store.tables import Article, Delivery, DeliveryAttempt, Hit, Label, StoryBand, StoryMember, utcnow

PURGE_BATCH = 500


def purge_expired_articles(engine: Engine, retention_days: int | None, now: datetime | None = None) -> int:
    """Purge the articles older than `retention_days` (None: keep everything); how many went."""
    if not retention_days:
        return 0
    cutoff, purged = (now or utcnow()) - timedelta(days=retention_days), 0
    while True:
        with Session(engine) as session:
            ids = list(session.execute(_expired(cutoff).limit(PURGE_BATCH)).scalars())
            if ids:
                _delete_articles(session, ids)
            session.commit()
        purged += len(ids)
        if len(ids) < PURGE_BATCH:
            return purged


def _expired(cutoff: datetime):
    """Articles older than the cutoff, with nothing pending and no younger copy in their story."""
    unsent = (select(Hit.article_id).join(Delivery, Delivery.hit_id == Hit.id)
              .where(Delivery.status.in_(("pending", "sending"))))
    own, other, other_article = aliased(StoryMember), aliased(StoryMember), aliased(Article)
    young_copy = exists(
        select(other.id)
        .join(own, own.story_id == other.story_id)
        .join(other_article, other_article.id == other.article_id)
        .where(and_(own.article_id == Article.id, other_article.fetched_at >= cutoff))
    )
    labelled = select(Label.article_id)
    return (select(Article.id).where(Article.fetched_at < cutoff, Article.id.not_in(unsent),
                                     Article.id.not_in(labelled), ~young_copy)
            .order_by(Article.id))


def _delete_articles(session: Session, article_ids: list[int]) -> None:
    """Children first; story members go by cascade, their bands (no foreign key) here,
    identities are kept (SET NULL)."""
    hit, delivery, attempt, article, band = (Hit.__table__, Delivery.__table__, DeliveryAttempt.__table__,
                                             Article.__table__, StoryBand.__table__)
    hit_ids = select(hit.c.id).where(hit.c.article_id.in_(article_ids))
    delivery_ids = select(delivery.c.id).where(delivery.c.hit_id.in_(hit_ids))
    session.execute(delete(attempt).where(attempt.c.delivery_id.in_(delivery_ids)))
    session.execute(delete(delivery).where(delivery.c.hit_id.in_(hit_ids)))
    session.execute(delete(hit).where(hit.c.article_id.in_(article_ids)))
    session.execute(delete(band).where(band.c.article_id.in_(article_ids)))
    session.execute(delete(article).where(article.c.id.in_(article_ids)))
