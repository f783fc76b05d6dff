"""Retention on SQLite and PostgreSQL: articles past `retention_days` are purged at the end
of a pass with their hits and deliveries, their identities stay so a feed that still
lists them does not bring them back, and nothing pending or in a young story is purged."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, func, select

from config import load_config
from flows.run_pass import run_pass
from extractors.models import Article as CleanArticle
from store import count_rows, open_database, purge_expired_articles
from store.tables import Article, Delivery, DeliveryAttempt, SeenEntry, StoryMember, utcnow
from tests.alerts_support import add_feeds, numbered_article, simple_match, store_article
from tests.conftest import rss, write_config
from tests.test_concurrent_writers import story_text

PAGE = ("<html><body><article><h1>{0}</h1><p>{0}: North Korea shipped artillery shells and missiles to Russia, "
        "officials said, in a transfer that breaks sanctions.</p><p>Pyongyang denied supplying weapons.</p>"
        "</article></body></html>")


def age_articles(engine, days: int, ids=None) -> None:
    with Session(engine) as session:
        statement = update(Article).values(fetched_at=utcnow() - timedelta(days=days))
        session.execute(statement if ids is None else statement.where(Article.id.in_(ids)))
        session.commit()


def test_a_purged_article_stays_seen_and_its_feed_does_not_bring_it_back(database_url, site, webhook, tmp_path):
    link = site.add("/old.html", PAGE.format("Old arms story"))
    site.add("/feed.xml", rss([{"title": "Old arms story", "link": link}]), content_type="application/rss+xml")
    config_dir = write_config(tmp_path / "c", feeds=[{"url": site.url("/feed.xml")}], database_url=database_url,
                              channels={"hook": {"url": webhook.apprise_url()}}, settings={"retention_days": 30},
                              rules="rules:\n  - name: arms\n    query: missile* AND shells\n")
    config = load_config(config_dir)
    assert run_pass(config).alerts_sent == 1
    engine = open_database(database_url)
    age_articles(engine, 31)

    link2 = site.add("/new.html", PAGE.format("New arms story"))
    site.add("/feed.xml", rss([{"title": "Old arms story", "link": link}, {"title": "New arms story", "link": link2}]),
             content_type="application/rss+xml")
    summary = run_pass(config)  # purges the old article at its end
    assert summary.new_articles == 1 and summary.alerts_sent == 1
    assert count_rows(engine) == {"articles": 1, "hits": 1, "deliveries": 1}
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(DeliveryAttempt)).one() == 1
        identities = session.exec(select(SeenEntry.key, SeenEntry.article_id)).all()
    assert len(identities) == 4 and sum(article_id is None for _, article_id in identities) == 2

    assert run_pass(config).new_articles == 0  # the feed still lists it: not new, not alerted
    assert len(webhook.received) == 2
    engine.dispose()


def test_pending_alerts_and_young_copies_keep_old_articles(database_url):
    engine = open_database(database_url)
    feeds = add_feeds(engine, "Wire", "Daily")
    for number in range(3):  # articles 1, 2, 3, one hit each, its delivery pending
        article = numbered_article(number)
        store_article(engine, feeds["Wire"], article, [simple_match("Missiles", article.text, "missile")], ["hook"])
    for n, feed in enumerate(("Wire", "Daily")):  # articles 4, 5: two copies of one story
        store_article(engine, feeds[feed], CleanArticle(url=f"https://x.example.org/{n}", title="Copy",
                                                        text=story_text(7)), [], ["hook"])
    with Session(engine) as session:
        session.execute(update(Delivery).where(Delivery.hit_id.in_([1, 3])).values(status="sent"))
        session.commit()
    age_articles(engine, 40, [1, 2, 3, 4])  # 5, the later copy, is young

    assert purge_expired_articles(engine, None) == 0
    assert purge_expired_articles(engine, 30) == 2  # 1 and 3; 2 is pending, 4's story has a young copy
    with Session(engine) as session:
        assert sorted(session.exec(select(Article.id)).all()) == [2, 4, 5]
        assert sorted(session.exec(select(StoryMember.article_id)).all()) == [2, 4, 5]
    age_articles(engine, 40, [5])
    assert purge_expired_articles(engine, 30) == 2  # the whole story is old now
    assert purge_expired_articles(engine, 30) == 0
    engine.dispose()
