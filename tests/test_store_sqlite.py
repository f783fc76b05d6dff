"""SQLite done right, checked on the app's own connections, and a full disk survived:
the pass fails loudly, nothing is marked sent that was not, the next pass catches up."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from config import load_config
from flows.run_pass import run_pass
from store import delivery_counts, list_hits, open_database
from tests.conftest import rss, write_config


def test_app_connections_use_wal_busy_timeout_foreign_keys_and_normal_sync(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'n.db'}")
    with engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") == 30000
        assert pragma("foreign_keys") == 1
        assert pragma("synchronous") == 1  # NORMAL
    engine.dispose()


def test_every_transaction_takes_the_write_lock_up_front(tmp_path):
    """BEGIN IMMEDIATE: even a transaction that has only read holds the write lock, so two
    writers queue at BEGIN instead of deadlocking on a lock upgrade."""
    path = tmp_path / "n.db"
    engine = open_database(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("SELECT count(*) FROM feed").scalar()
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    engine.dispose()


@pytest.fixture
def small_disk():
    """A 4 MiB tmpfs: a real 'disk full' (needs root, as CI has)."""
    mountpoint = Path(f"/tmp/newswatch-full-{uuid.uuid4().hex[:8]}")
    mountpoint.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mountpoint)], capture_output=True).returncode == 0
    if not mounted:
        mountpoint.rmdir()
        pytest.skip("a small tmpfs for the disk-full test needs root and mount(8)")
    yield mountpoint
    subprocess.run(["umount", str(mountpoint)], check=False)
    mountpoint.rmdir()


PAGE = ("<html><body><article><h1>{0}</h1><p>{0}: North Korea shipped artillery shells and missiles to Russia, "
        "officials said, in a transfer that breaks sanctions.</p><p>Pyongyang denied supplying weapons.</p>"
        "</article></body></html>")


def fill_disk(mountpoint: Path) -> Path:
    filler = mountpoint / "filler"
    with open(filler, "wb", buffering=0) as handle:  # unbuffered: nothing is left to flush (and fail) on close
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_full_disk_fails_the_pass_loudly_and_the_next_pass_catches_up(small_disk, site, webhook, tmp_path):
    items = []
    for n in range(3):
        items.append({"title": f"Arms story {n}", "link": site.add(f"/a{n}.html", PAGE.format(f"Arms story {n}"))})
    site.add("/feed.xml", rss(items[:1]), content_type="application/rss+xml")
    config_dir = write_config(tmp_path / "c", feeds=[{"url": site.url("/feed.xml")}],
                              database_url=f"sqlite:///{small_disk / 'newswatch.db'}",
                              channels={"hook": {"url": webhook.apprise_url()}},
                              rules="rules:\n  - name: arms\n    query: missile* AND shells\n")
    config = load_config(config_dir)
    assert run_pass(config).alerts_sent == 1

    site.add("/feed.xml", rss(items), content_type="application/rss+xml")
    filler = fill_disk(small_disk)
    with pytest.raises(OperationalError, match="full|disk I/O error"):
        run_pass(config)
    assert len(webhook.received) == 1  # nothing new was sent while nothing new could be stored

    filler.unlink()
    summary = run_pass(config)
    assert summary.new_articles == 2 and summary.alerts_sent == 2
    engine = open_database(config.settings.database_url)
    assert len(list_hits(engine)) == 3
    assert delivery_counts(engine) == {"sent": 3}
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
    assert len(webhook.received) == 3


def test_an_entry_known_under_one_of_its_keys_is_not_new_and_leaves_no_half_claim(database_url):
    """The same link under a new GUID in another feed is the same article: not stored again,
    and its own feed key is not left claimed (a later entry with that GUID and a new link is new)."""
    from sqlalchemy import text

    from config.models import FeedConfig
    from extractors.articles import fallback_article
    from extractors.models import FeedEntry
    from store import ArticleToSave, save_articles, sync_feeds

    def item(guid: str, link: str) -> ArticleToSave:
        entry = FeedEntry(entry_key=guid, link=link, title=f"Story {guid}", summary="", guid=guid)
        return ArticleToSave(entry=entry, article=fallback_article(entry, "test"))

    engine = open_database(database_url)
    try:
        one, two = sync_feeds(engine, [FeedConfig(url="http://127.0.0.1:9/one.xml", name="One"),
                                       FeedConfig(url="http://127.0.0.1:9/two.xml", name="Two")])
        save = lambda feed, items: save_articles(engine, feed.id, items, channels_for_rule=lambda rule: ())  # noqa: E731
        assert len(save(one, [item("g1", "http://127.0.0.1:9/a.html")]).article_ids) == 1
        again = save(two, [item("g2", "http://127.0.0.1:9/a.html")])
        assert again.article_ids == [] and again.already_stored == 1
        with engine.connect() as connection:
            keys = set(connection.execute(text("SELECT key FROM seenentry")).scalars())
        assert keys == {f"feed:{one.id}:g1", "link:http://127.0.0.1:9/a.html"}
        assert len(save(two, [item("g2", "http://127.0.0.1:9/b.html")]).article_ids) == 1
    finally:
        engine.dispose()


def test_feeds_sync_adds_new_feeds_and_renames_known_ones_keeping_their_state(database_url):
    from sqlalchemy import text

    from config.models import FeedConfig
    from store import sync_feeds

    engine = open_database(database_url)
    try:
        (first,) = sync_feeds(engine, [FeedConfig(url="http://127.0.0.1:9/a.xml", name="Old name")])
        with engine.begin() as connection:
            connection.execute(text("UPDATE feed SET etag = 'v1', error_count = 2 WHERE id = :id"), {"id": first.id})
        renamed, added = sync_feeds(engine, [FeedConfig(url="http://127.0.0.1:9/a.xml", name="New name"),
                                             FeedConfig(url="http://127.0.0.1:9/b.xml", name="B")])
        assert (renamed.id, renamed.name, renamed.etag, renamed.error_count) == (first.id, "New name", "v1", 2)
        assert added.name == "B" and added.id != first.id and added.etag is None
        with engine.connect() as connection:
            assert connection.execute(text("SELECT name FROM feed WHERE id = :id"), {"id": first.id}).scalar() \
                == "New name"
    finally:
        engine.dispose()
