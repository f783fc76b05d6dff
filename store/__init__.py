"""The database: tables, engine setup, idempotent writes that return only what is new."""

from store.articles import ArticleToSave, SavedBatch, identity_keys, save_article_groups, save_articles, select_unseen
from store.engine import database, make_engine, open_database
from store.feeds import (FeedState, FeedSuccess, HealthChange, archive_feed_ids, record_feed_error,
                         record_feed_success, record_feed_successes, sync_feeds)
from store.notices import NoticeView, add_notice, claim_notices, mark_notices_unrouted, record_notices
from store.outbox import (
    DeliveryJob,
    ReleasedClaim,
    claim_deliveries,
    count_due,
    defer_deliveries,
    last_alert_at,
    pending_deliveries,
    record_deliveries,
    release_claims,
    release_stale_claims,
)
from store.retention import purge_expired_articles
from store.stories import StoryCopy
from store.queries import count_rows, delivery_counts, list_hits
from store.views import HitView

__all__ = [
    "ArticleToSave",
    "DeliveryJob",
    "FeedState",
    "FeedSuccess",
    "HealthChange",
    "HitView",
    "NoticeView",
    "ReleasedClaim",
    "claim_deliveries",
    "claim_notices",
    "count_due",
    "release_claims",
    "release_stale_claims",
    "StoryCopy",
    "add_notice",
    "archive_feed_ids",
    "defer_deliveries",
    "last_alert_at",
    "mark_notices_unrouted",
    "record_deliveries",
    "record_notices",
    "SavedBatch",
    "count_rows",
    "database",
    "delivery_counts",
    "identity_keys",
    "list_hits",
    "make_engine",
    "open_database",
    "pending_deliveries",
    "purge_expired_articles",
    "record_feed_error",
    "record_feed_success",
    "record_feed_successes",
    "save_article_groups",
    "save_articles",
    "select_unseen",
    "sync_feeds",
]
