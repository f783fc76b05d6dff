"""The story index without a foreign key (migration 0013): `newswatch db upgrade` keeps every
band row, a copy stored after it still joins its story, retention deletes a purged article's
bands itself, and the downgrade puts the key back. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from alembic import command
from sqlalchemy import inspect, text

from store import make_engine
from store.dialect import foreign_keys_off_for_migration
from store.engine import SCHEMA_HEAD
from store.migrate import alembic_config, current_revision, upgrade_database
from store.retention import purge_expired_articles
from tests.alerts_support import add_feeds, store_article
from tests.conftest import write_config
from tests.rules_support import run_cli
from tests.test_stories import FEEDS, seed_copies


def band_rows(engine) -> list[tuple[int, int]]:
    with engine.connect() as db:
        return [tuple(row) for row in db.execute(text("SELECT article_id, count(*) FROM storyband "
                                                      "GROUP BY article_id ORDER BY article_id"))]


def band_foreign_keys(engine) -> list[dict]:
    with engine.connect() as db:
        return inspect(db).get_foreign_keys("storyband")


def test_db_upgrade_keeps_the_band_index_without_its_foreign_key(database_url, tmp_path, capsys):
    first, copy = seed_copies()[:2]
    engine = make_engine(database_url)
    upgrade_database(engine, "0012")
    feeds = add_feeds(engine, *FEEDS[:2])
    store_article(engine, feeds[FEEDS[0]], first, (), {})
    assert band_rows(engine) == [(1, 64)] and len(band_foreign_keys(engine)) == 1
    config = write_config(tmp_path / "config", feeds=[], database_url=database_url)

    code, _, err = run_cli(capsys, "db", "upgrade", "--config", str(config))

    assert code == 0, err
    assert current_revision(engine) == SCHEMA_HEAD
    assert band_rows(engine) == [(1, 64)] and band_foreign_keys(engine) == []
    saved = store_article(engine, feeds[FEEDS[1]], copy, (), {})  # a copy after the upgrade joins the story
    with engine.connect() as db:
        assert db.execute(text("SELECT story_id FROM storymember WHERE article_id = :id"),
                          {"id": saved.article_ids[0]}).scalar_one() == 1
    engine.dispose()


def test_retention_deletes_a_purged_articles_bands_and_the_downgrade_restores_the_key(database_url):
    first, copy = seed_copies()[:2]
    engine = make_engine(database_url)
    upgrade_database(engine)
    feeds = add_feeds(engine, *FEEDS[:2])
    store_article(engine, feeds[FEEDS[0]], first, (), {})
    with engine.begin() as db:  # fetched 40 days ago, its story long closed
        db.execute(text("UPDATE article SET fetched_at = :at"), {"at": datetime.now(timezone.utc) - timedelta(days=40)})
        db.execute(text("UPDATE storymember SET created_at = :at"), {"at": datetime.now(timezone.utc) - timedelta(days=40)})
    store_article(engine, feeds[FEEDS[1]], copy, (), {})  # prunes the old article's bands
    with engine.begin() as db:  # one left behind (a racing batch's, say)
        db.execute(text("INSERT INTO storyband (band, article_id) VALUES (7, 1)"))
    assert band_rows(engine) == [(1, 1), (2, 64)]

    assert purge_expired_articles(engine, retention_days=30) == 1
    assert band_rows(engine) == [(2, 64)]

    with engine.begin() as db:  # a band left by an article gone: the downgrade must drop it to add the key
        db.execute(text("INSERT INTO storyband (band, article_id) VALUES (7, 99)"))
    with engine.connect() as connection, foreign_keys_off_for_migration(connection):
        command.downgrade(alembic_config(connection), "0012")
        connection.commit()
    assert current_revision(engine) == "0012"
    assert band_rows(engine) == [(2, 64)] and len(band_foreign_keys(engine)) == 1
    engine.dispose()
