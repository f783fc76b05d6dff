"""Upgrades on SQLite and PostgreSQL: a database written by the first released schema
(0001), with articles, hits and deliveries sent and pending, is migrated to the current
schema losing nothing, and the next pass sends only what was pending: no re-alerts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from config import load_config
from extractors.feeds import parse_feed
from flows.run_pass import run_pass
from store import count_rows, delivery_counts, identity_keys, list_hits, make_engine, open_database
from store.engine import SCHEMA_HEAD
from store.migrate import current_revision, upgrade_database
from store.packed import unpack_text
from tests.conftest import rss, write_config

PAGE = ("<html><body><article><h1>{0}</h1><p>{0}: North Korea shipped artillery shells and missiles to Russia, "
        "officials said, in a transfer that breaks sanctions.</p><p>Pyongyang denied supplying weapons.</p>"
        "</article></body></html>")
TABLES = ("feed", "article", "seenentry", "hit", "delivery", "deliveryattempt")


def write_first_release_data(engine, feed_url: str, feed_body: str) -> None:
    """Rows as the first release wrote them: two articles with a hit each, one alert sent, one pending."""
    when = datetime.now(timezone.utc) - timedelta(hours=2)
    entries = parse_feed(feed_body.encode(), {"content-type": "application/rss+xml"}, feed_url).entries
    with engine.begin() as db:
        db.execute(text("INSERT INTO feed (id, url, name, baseline_done, error_count, parked, created_at) "
                        "VALUES (1, :url, 'Old Wire', :yes, 0, :no, :at)"),
                   {"url": feed_url, "yes": True, "no": False, "at": when})
        for number, entry in enumerate(entries, start=1):
            db.execute(text("INSERT INTO article (id, feed_id, entry_key, url, title, text, published, fetched_at) "
                            "VALUES (:id, 1, :key, :url, :title, :body, :at, :at)"),
                       {"id": number, "key": entry.entry_key, "url": entry.link, "title": entry.title,
                        "body": f"{entry.title}: North Korea shipped artillery shells and missiles.", "at": when})
            for key in identity_keys(entry, 1):
                db.execute(text("INSERT INTO seenentry (key, article_id, first_seen_at) VALUES (:key, :id, :at)"),
                           {"key": key, "id": number, "at": when})
            db.execute(text("INSERT INTO hit (id, rule, rule_hash, config_hash, article_id, terms, fields, snippet, "
                            "marks, baseline, found_at) VALUES (:id, 'arms', 'h', 'c', :id, '[\"missiles\"]', "
                            "'[\"body\"]', 'shells and missiles', '[]', :no, :at)"),
                       {"id": number, "no": False, "at": when})
            sent = number == 1
            db.execute(text("INSERT INTO delivery (id, hit_id, channel, status, attempts, next_attempt_at, sent_at, "
                            "created_at) VALUES (:id, :id, 'hook', :status, :attempts, :at, :sent_at, :at)"),
                       {"id": number, "status": "sent" if sent else "pending", "attempts": int(sent), "at": when,
                        "sent_at": when if sent else None})
            if sent:
                db.execute(text("INSERT INTO deliveryattempt (delivery_id, at, ok) VALUES (1, :at, :yes)"),
                           {"at": when, "yes": True})
        if engine.dialect.name == "postgresql":  # rows written with explicit ids: move the sequences on
            for table in TABLES:
                db.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT max(id) FROM {table}))"))


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row; an article's text as the store reads it (stored packed as bytes since 0012)."""
    with engine.connect() as db:
        return {table: [tuple(unpack_text(value) if isinstance(value, (bytes, memoryview)) else value
                              for value in row) for row in db.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
                for table in TABLES}


def test_a_first_release_database_upgrades_losing_nothing_and_realerting_nothing(database_url, site, webhook,
                                                                                   tmp_path):
    items = [{"title": f"Arms story {n}", "link": site.add(f"/a{n}.html", PAGE.format(f"Arms story {n}"))}
             for n in (1, 2)]
    feed_body = rss(items)
    site.add("/feed.xml", feed_body, content_type="application/rss+xml")
    engine = make_engine(database_url)
    upgrade_database(engine, "0001")
    assert current_revision(engine) == "0001"
    write_first_release_data(engine, site.url("/feed.xml"), feed_body)
    before = snapshot(engine)

    open_database(database_url).dispose()  # what every command does first
    assert current_revision(engine) == SCHEMA_HEAD
    after = snapshot(engine)
    for table in TABLES:  # every row kept, its old columns unchanged (new columns are appended)
        assert [row[:len(old)] for row, old in zip(after[table], before[table])] == before[table], table
        assert len(after[table]) == len(before[table]), table

    config = load_config(write_config(tmp_path / "c", feeds=[{"url": site.url("/feed.xml"), "name": "Old Wire"}],
                                      database_url=database_url, channels={"hook": {"url": webhook.apprise_url()}},
                                      rules="rules:\n  - name: arms\n    query: missile* AND shells\n"))
    summary = run_pass(config)
    assert summary.new_articles == 0 and summary.alerts_sent == 1
    assert len(webhook.received) == 1 and "Arms story 2" in webhook.received[0]["title"]
    assert run_pass(config).alerts_sent == 0 and len(webhook.received) == 1
    assert delivery_counts(engine) == {"sent": 2}
    assert count_rows(engine) == {"articles": 2, "hits": 2, "deliveries": 2}
    assert sorted(hit.title for hit in list_hits(engine)) == ["Arms story 1", "Arms story 2"]
    engine.dispose()
