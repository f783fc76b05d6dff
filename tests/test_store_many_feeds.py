"""Feed state at the scale of a large deployment: 70,000 feeds (past PostgreSQL's 65,535
parameters in one statement) are inserted, read back and marked polled, on both backends."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from config.models import FeedConfig
from store import FeedSuccess, open_database, record_feed_error, record_feed_successes, sync_feeds
from store.tables import Feed, Notice

FEEDS = 70_000


@pytest.mark.slow
def test_seventy_thousand_feeds_are_synced_and_marked_polled(database_url):
    engine = open_database(database_url)
    try:
        feeds = [FeedConfig(url=f"https://outlet{i % 200}.example/feeds/{i}.xml", name=f"Feed {i}")
                 for i in range(FEEDS)]
        states = sync_feeds(engine, feeds)
        assert [state.url for state in states] == [feed.url for feed in feeds]
        assert len({state.id for state in states}) == FEEDS
        assert not any(state.baseline_done for state in states)

        for _ in range(3):  # the last feed fails three times in a row: parked
            record_feed_error(engine, states[-1].id, "http_404", "gone")
        changes = record_feed_successes(engine, [FeedSuccess(s.id, f'"e{s.id}"', None, None) for s in states])
        assert [change.recovered for change in changes] == [False] * (FEEDS - 1) + [True]

        again = sync_feeds(engine, [*feeds[:-1], FeedConfig(url=feeds[-1].url, name="Renamed")])
        assert all(state.baseline_done and state.etag == f'"e{state.id}"' for state in again)
        assert not any(state.parked or state.error_count for state in again)
        assert again[-1].name == "Renamed"
        with Session(engine) as session:
            assert session.exec(select(func.count()).select_from(Feed)).one() == FEEDS
            assert session.exec(select(Notice.kind).order_by(Notice.id)).all() == ["feed_parked", "feed_recovered"]
    finally:
        engine.dispose()
