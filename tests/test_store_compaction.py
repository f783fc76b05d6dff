"""Compact history (migration 0012): a database with articles, upgraded by `newswatch db upgrade`,
keeps every text as it was (now stored packed) and its story window's band index (now integer
keys), so a copy stored after the upgrade still joins its story. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import text
from sqlmodel import Session, select

from store import make_engine
from store.migrate import current_revision, upgrade_database
from store.engine import SCHEMA_HEAD
from store.similarity import sketch_text
from store.tables import Article
from tests.alerts_support import store_article
from tests.conftest import write_config
from tests.rules_support import run_cli
from tests.test_stories import seed_copies

SHORT = "Pyongyang denied it."


def write_0010_rows(engine, first) -> None:
    """A feed, a long article filed in the story window with its (old-style) bands, a short
    one, and one filed a month ago, as schema 0010 held them."""
    now = datetime.now(timezone.utc)
    sketch = sketch_text(f"{first.title}\n{first.text}")
    with engine.begin() as db:
        db.execute(text("INSERT INTO feed (id, url, name, baseline_done, error_count, parked, created_at) "
                        "VALUES (1, 'https://wire.example/feed', 'Wire One', :yes, 0, :no, :at)"),
                   {"yes": True, "no": False, "at": now})
        rows = [(first.text, now), (SHORT, now), (first.text, now - timedelta(days=30))]
        for number, (body, filed) in enumerate(rows, start=1):
            db.execute(text("INSERT INTO article (id, feed_id, entry_key, url, title, text, fetched_at) "
                            "VALUES (:id, 1, :url, :url, :title, :body, :at)"),
                       {"id": number, "url": f"https://wire.example/{number}", "title": first.title, "body": body,
                        "at": filed})
            db.execute(text("INSERT INTO storymember (article_id, story_id, size, signature, created_at) "
                            "VALUES (:id, :id, :size, :signature, :at)"),
                       {"id": number, "size": sketch.size if body != SHORT else 0, "at": filed,
                        "signature": sketch.signature if body != SHORT else None})
        db.execute(text("INSERT INTO storyband (band, article_id, created_at) VALUES ('00:abcdef', 1, :at)"),
                   {"at": now})
        if engine.dialect.name == "postgresql":
            db.execute(text("SELECT setval(pg_get_serial_sequence('article', 'id'), 3)"))
            db.execute(text("SELECT setval(pg_get_serial_sequence('feed', 'id'), 1)"))


def test_db_upgrade_packs_every_text_and_rebuilds_the_story_window(database_url, tmp_path, capsys):
    first, copy = seed_copies()[:2]
    engine = make_engine(database_url)
    upgrade_database(engine, "0010")
    write_0010_rows(engine, first)
    config = write_config(tmp_path / "config", feeds=[], database_url=database_url)

    code, out, err = run_cli(capsys, "db", "upgrade", "--config", str(config))

    assert code == 0, err
    assert current_revision(engine) == SCHEMA_HEAD
    with Session(engine) as session:
        assert list(session.exec(select(Article.text).order_by(Article.id))) == [first.text, SHORT, first.text]
    with engine.connect() as db:
        stored = [bytes(value) for value in db.execute(text("SELECT text FROM article ORDER BY id")).scalars()]
        assert len(stored[0]) < len(first.text.encode()) / 2 and stored[1] == SHORT.encode()
        # the window's long article, under 64 integer keys; the month-old one and the short one under none
        assert db.execute(text("SELECT article_id, count(*) FROM storyband GROUP BY article_id")).all() == [(1, 64)]

    saved = store_article(engine, 1, copy, (), {})  # a copy after the upgrade joins the story filed before it
    with engine.connect() as db:
        assert db.execute(text("SELECT story_id FROM storymember WHERE article_id = :id"),
                          {"id": saved.article_ids[0]}).scalar_one() == 1
    engine.dispose()
