"""The history queries use indexes, on SQLite and on PostgreSQL, as their query plans show.

`hits --rule X --since 7d` (and --until, --limit) walks ix_hit_rule_found_at, newest first;
counting each rule's hits per version (`rules stats`, `rules preview`, `backfill`) reads
ix_hit_rule_rule_hash alone. PostgreSQL prefers a sequential scan of a small table, so
its session is told not to (enable_seqscan=off): the plan then shows whether an index
*can* serve the query, which is what a million rows need.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from store import database
from store.history import rule_versions_query
from store.queries import hits_query
from store.tables import Article, Feed, Hit, utcnow


def fill(engine: Engine) -> None:
    """A few feeds, articles and hits, so the planner has statistics to go by."""
    with Session(engine) as session:
        feed = Feed(url="https://news.example/rss.xml", name="news")
        session.add(feed)
        session.flush()
        for number in range(40):
            article = Article(feed_id=feed.id, entry_key=f"k{number}", url=f"https://news.example/{number}",
                              title=f"Story {number}", text="text")
            session.add(article)
            session.flush()
            for rule in ("korea", "sanctions"):
                session.add(Hit(rule=rule, rule_hash=f"h{number % 3}", article_id=article.id,
                                found_at=utcnow() - timedelta(days=number)))
        session.commit()
        if engine.dialect.name == "sqlite":
            session.execute(text("ANALYZE"))
        else:
            session.execute(text("ANALYZE hit"))
        session.commit()


def query_plan(engine: Engine, query) -> str:
    """The plan the database chooses for `query`, as one lower-case text."""
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
            return "\n".join(str(row[-1]) for row in rows).lower()
        connection.exec_driver_sql("SET enable_seqscan = off")
        return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}").all()).lower()


@pytest.fixture
def engine(database_url):
    with database(database_url) as opened:
        fill(opened)
        yield opened


@pytest.mark.parametrize("filters", [
    {"rule": "korea", "since": "7d"},
    {"rule": "korea", "since": "7d", "until": "1d", "limit": 20},
    {"rule": "korea"},
])
def test_hits_of_a_rule_in_a_window_use_the_rule_and_time_index(engine, filters) -> None:
    now = utcnow()
    window = {key: now - timedelta(days=int(value[:-1])) if key in ("since", "until") else value
              for key, value in filters.items()}
    plan = query_plan(engine, hits_query(**window))
    assert "ix_hit_rule_found_at" in plan, plan
    assert not sorts_everything(plan), plan  # read in time order, not all fetched and then sorted


def sorts_everything(plan: str) -> bool:
    """A sort of the whole result (SQLite's temp b-tree, PostgreSQL's Sort node); PostgreSQL's
    incremental sort over rows read in time order only breaks ties of the same found_at."""
    steps = [line.strip().removeprefix("->").strip() for line in plan.splitlines()]
    return any("temp b-tree for order by" in step or step.startswith("sort  (") for step in steps)


def test_hits_since_a_date_use_the_time_index(engine) -> None:
    plan = query_plan(engine, hits_query(since=utcnow() - timedelta(days=7)))
    assert "ix_hit_found_at" in plan, plan


def test_hits_per_rule_version_are_counted_from_an_index(engine) -> None:
    plan = query_plan(engine, rule_versions_query())
    assert "ix_hit_rule_rule_hash" in plan, plan
    if engine.dialect.name == "sqlite":
        assert "covering index" in plan, plan  # the hit rows themselves are never read
