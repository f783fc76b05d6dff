"""Feeds through the whole pass, without Prefect: the corpus lands in the store intact,
an unchanged feed costs one conditional request and no parse, a dead feed is parked
and says so, and one feed's failure never stops the others."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import zlib
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.wrappers import Response

from config import load_config
from config.models import FeedConfig, FetchSettings
from extractors.articles import fallback_article
from extractors.http import SafeClient
from flows.run_pass import run_pass
from flows.stages import FeedOutcome
from store import ArticleToSave, list_hits, open_database, save_articles, sync_feeds
from tests.conftest import SHARED, rss, write_config
from tests.servers import fetch_corpus, serve_feed_corpus

CORPUS = SHARED / "data" / "feedparser-tests"
ARTICLE = "<html><body><article><h1>{0}</h1><p>{0} is a story about the weather in Seoul. " \
          "It has several sentences so that the extractor keeps it as an article body.</p>" \
          "<p>Forecasters expect snow in the east by Thursday, and colder nights after that.</p></article></body></html>"


def test_every_corpus_feed_is_stored_as_valid_utf8(httpserver, tmp_path):
    """SQLite keeps whatever bytes it is given, so this is where invalid text would show."""
    if not CORPUS.is_dir():
        pytest.skip(f"feedparser corpus not found: {CORPUS}")
    serve_feed_corpus(httpserver, CORPUS)
    engine = open_database(f"sqlite:///{tmp_path / 'corpus.db'}")
    settings = FetchSettings(allowed_networks=("127.0.0.0/8",), timeout_seconds=10)
    stored = 0
    with SafeClient(settings) as client:
        results = fetch_corpus(client, httpserver.url_for("/"), CORPUS)
        feeds = sync_feeds(engine, [FeedConfig(url=fetched.url, name=path.name) for path, fetched, _ in results])
        for (path, fetched, parsed), feed in zip(results, feeds):
            if parsed is None or parsed.error_class:
                continue
            items = [ArticleToSave(entry, fallback_article(entry, "test")) for entry in parsed.entries]
            stored += len(save_articles(engine, feed.id, items, channels_for_rule=lambda rule: ()).article_ids)
    engine.dispose()
    assert len(results) > 2000 and stored > 1000
    connection = sqlite3.connect(tmp_path / "corpus.db")
    connection.text_factory = bytes
    for column in ("url", "title", "text", "entry_key", "author"):
        for (value,) in connection.execute(f"select {column} from article"):
            if value is not None:
                if column == "text" and value[:1] == b"\x00":  # stored packed: a NUL, then zlib (store.packed)
                    value = zlib.decompress(value[1:])
                text = value.decode("utf-8")  # raises if the database holds invalid UTF-8
                assert "\x00" not in text


def feed_site(httpserver, items):
    """A feed served with an ETag; answers 304 to a matching If-None-Match. Counts full bodies sent."""
    body = rss(items)
    sent = {"full": 0, "not_modified": 0}

    def respond(request):
        if request.headers.get("If-None-Match") == '"v1"':
            sent["not_modified"] += 1
            return Response(status=304, headers={"ETag": '"v1"'})
        sent["full"] += 1
        return Response(body, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    httpserver.expect_request("/feed.xml").respond_with_handler(respond)
    return sent


def test_unchanged_feed_is_one_conditional_request_and_no_parse(httpserver, tmp_path, database_url, monkeypatch):
    for name in ("a", "b"):
        httpserver.expect_request(f"/{name}.html").respond_with_data(ARTICLE.format(name), content_type="text/html")
    sent = feed_site(httpserver, [{"title": "a", "link": httpserver.url_for("/a.html")},
                                  {"title": "b", "link": httpserver.url_for("/b.html")}])
    config = load_config(write_config(tmp_path / "c", database_url=database_url,
                                      feeds=[{"url": httpserver.url_for("/feed.xml")}]))
    first = run_pass(config)
    assert first.new_articles == 2 and sent == {"full": 1, "not_modified": 0}

    import flows.stages

    def no_parse(*args, **kwargs):
        raise AssertionError("a 304 must not be parsed")

    monkeypatch.setattr(flows.stages, "parse_feed_with_budget", no_parse)
    second = run_pass(config)
    assert sent == {"full": 1, "not_modified": 1}
    assert second.feeds_not_modified == 1 and second.new_articles == 0 and second.feeds_failed == 0


def gone_and_healthy_feeds(httpserver, tmp_path, database_url):
    """A config of two feeds: "Gone" answers 410, "Healthy" lists one article."""
    httpserver.expect_request("/a.html").respond_with_data(ARTICLE.format("a"), content_type="text/html")
    feed_site(httpserver, [{"title": "a", "link": httpserver.url_for("/a.html")}])
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=410)
    config = load_config(write_config(tmp_path / "c", database_url=database_url, feeds=[
        {"url": httpserver.url_for("/gone.xml"), "name": "Gone"},
        {"url": httpserver.url_for("/feed.xml"), "name": "Healthy"},
    ]))
    return config


def test_dead_feed_is_parked_after_three_errors_and_the_healthy_feed_goes_on(httpserver, tmp_path, database_url):
    config = gone_and_healthy_feeds(httpserver, tmp_path, database_url)
    summaries = [run_pass(config) for _ in range(4)]
    assert summaries[0].new_articles == 1
    gone = [next(o for o in s.feeds if o.feed == "Gone") for s in summaries]
    assert [o.status for o in gone] == ["failed", "failed", "failed", "skipped"]
    assert [o.error_class for o in gone] == ["http_410"] * 4
    assert [o.parked for o in gone] == [False, False, True, True]
    assert gone[2].parked_now and summaries[3].feeds_parked == 1
    gone_url = config.feeds[0].url
    assert f"parked in this pass: Gone ({gone_url}): http_410, 3 failures in a row; next try" in summaries[2].to_text()
    assert f"parked: Gone ({gone_url}): http_410" in summaries[3].to_text()
    assert "Gone" not in summaries[1].to_text()
    assert all(next(o for o in s.feeds if o.feed == "Healthy").status in ("ok", "not_modified") for s in summaries)


def test_json_summary_lists_every_feed_with_every_field_as_a_copy(httpserver, tmp_path, database_url):
    """What `newswatch run --json` prints per feed: every FeedOutcome field, read back as JSON,
    with lists the caller may change without changing the pass's own summary."""
    config = gone_and_healthy_feeds(httpserver, tmp_path, database_url)
    summary = run_pass(config)
    data = summary.to_json()
    assert [feed["feed"] for feed in data["feeds"]] == [outcome.feed for outcome in summary.feeds]
    for feed, outcome in zip(data["feeds"], summary.feeds):
        assert feed == dataclasses.asdict(outcome)
        assert list(feed) == [f.name for f in dataclasses.fields(FeedOutcome)]
    gone = next(feed for feed in data["feeds"] if feed["feed"] == "Gone")
    assert gone["status"] == "failed" and gone["error_count"] == 1
    next(feed for feed in data["feeds"] if feed["feed"] == "Healthy")["hit_ids"].append(-1)
    assert -1 not in next(outcome for outcome in summary.feeds if outcome.feed == "Healthy").hit_ids
    printed = json.loads(json.dumps(data, default=str))["feeds"]
    assert next(feed for feed in printed if feed["feed"] == "Gone")["url"] == httpserver.url_for("/gone.xml")


def test_unreachable_page_falls_back_to_the_entry_text_and_still_hits(httpserver, tmp_path, database_url):
    httpserver.expect_request("/paywalled.html").respond_with_data("no", status=403)
    feed_site(httpserver, [{"title": "North Korea shipped artillery shells to Russia",
                            "link": httpserver.url_for("/paywalled.html"),
                            "description": "Pyongyang has provided Moscow with munitions, officials said."}])
    config = load_config(write_config(tmp_path / "c", database_url=database_url,
                                      feeds=[{"url": httpserver.url_for("/feed.xml")}]))
    summary = run_pass(config)
    assert summary.new_articles == 1 and summary.flagged_articles == 1
    engine = open_database(config.settings.database_url)
    hits = list_hits(engine)
    engine.dispose()
    assert [hit.rule for hit in hits] == ["DPRK arms transfer"]
    assert hits[0].flagged == "http_403"


def test_feeds_listed_outlet_by_outlet_are_polled_across_outlets_at_once(tmp_path):
    """Configs list feeds outlet by outlet. With one connection per host, the busy outlet's
    feeds must not hold every poll thread while another outlet's feed waits behind them:
    the other outlet is asked while the first one's answer is still pending."""
    import threading

    from tests.localservers import FeedServer

    other_asked = threading.Event()
    held_until_other_asked = []
    busy = FeedServer(rss([]).encode(), lambda: held_until_other_asked.append(other_asked.wait(timeout=10)),
                      host="127.0.0.2")
    other = FeedServer(rss([]).encode(), other_asked.set, host="127.0.0.3")
    try:
        feeds = [{"url": busy.url(f"/f{n}.xml"), "name": f"Busy {n}"} for n in range(6)] + [
            {"url": other.url("/f.xml"), "name": "Other"}]
        config = load_config(write_config(tmp_path / "c", feeds=feeds, settings={"fetch": {
            "timeout_seconds": 20, "concurrency": 4, "per_host_concurrency": 1}}))
        summary = run_pass(config)
    finally:
        busy.close()
        other.close()
    assert summary.feeds_failed == 0
    assert held_until_other_asked[0] is True, "the other outlet's feed waited behind the busy outlet's"


def test_page_fetches_start_with_the_host_with_most_pages_left_so_hosts_finish_together():
    """Extraction takes pages more slowly than 16 connections fetch them, so the order of
    fetches decides the end of a pass: hosts strictly in turn finished the small outlets
    first and left the big one alone, fetching two pages at a time while the workers
    waited. The outlet with most pages left goes first, within its per-host cap."""
    from flows.streams import HostQueue

    queue = HostQueue(window=1, per_host=1)
    queue.add("big.example", range(6))
    queue.add("small.example", range(2))
    queue.close()
    order = []
    while (picked := queue.next_job()) is not None:
        order.append(picked[0])
        queue.finished(picked[0])
        queue.taken()
    assert order.count("big.example") == 6 and order.count("small.example") == 2
    assert set(order[-2:]) == {"big.example", "small.example"}, order

    capped = HostQueue(window=4, per_host=1)  # the big host's cap leaves room for the others
    capped.add("big.example", range(6))
    capped.add("small.example", range(2))
    assert [capped.next_job()[0], capped.next_job()[0]] == ["big.example", "small.example"]


def test_matched_articles_are_saved_in_full_batches_and_the_rest_on_a_clean_end_only(tmp_path, monkeypatch):
    import flows.stages
    from extractors.models import FeedEntry
    from flows.run_pass import PassRun, Shard
    from flows.stages import FeedPoll, save_articles_in_batches

    monkeypatch.setattr(flows.stages, "SAVE_BATCH", 3)
    config = load_config(write_config(tmp_path / "c", feeds=[{"url": "https://feeds.example/rss.xml", "name": "F"}]))

    def matched(poll, names, broken_at=None):
        for n, name in enumerate(names):
            if n == broken_at:
                raise RuntimeError("extraction broke")
            entry = FeedEntry(entry_key=name, link=f"https://feeds.example/{name}", title=name, summary="Snow in Seoul")
            yield poll, ArticleToSave(entry, fallback_article(entry, "test"))

    with PassRun(config, Shard()) as run:
        (feed,) = run.due
        poll = FeedPoll(feed, FeedOutcome(feed=feed.name, url=feed.url, status="ok"))
        with pytest.raises(RuntimeError):
            save_articles_in_batches(run.ctx, matched(poll, ["a", "b", "c", "d", "e"], broken_at=4))
        tallies = save_articles_in_batches(run.ctx, matched(poll, ["a", "b", "c", "d", "e", "f", "g"]))
    # the first call stored its full batch (a, b, c) but not the unfinished one (d)
    assert tallies[feed.id].new_articles == 4


def test_a_save_error_ends_the_pass_and_the_feed_is_read_again_next_time(httpserver, tmp_path, database_url,
                                                                          monkeypatch):
    import flows.stages

    for name in ("a", "b"):
        httpserver.expect_request(f"/{name}.html").respond_with_data(ARTICLE.format(name), content_type="text/html")
    sent = feed_site(httpserver, [{"title": "a", "link": httpserver.url_for("/a.html")},
                                  {"title": "b", "link": httpserver.url_for("/b.html")}])
    config = load_config(write_config(tmp_path / "c", database_url=database_url,
                                      feeds=[{"url": httpserver.url_for("/feed.xml")}]))

    def locked(*args, **kwargs):
        raise OSError("database is locked")

    with monkeypatch.context() as broken:
        broken.setattr(flows.stages, "save_article_groups", locked)
        with pytest.raises(OSError, match="locked"):
            run_pass(config)
    again = run_pass(config)  # the validators were not saved: the feed is fetched in full again
    assert sent == {"full": 2, "not_modified": 0} and again.new_articles == 2


def test_every_fetch_thread_ends_once_the_last_jobs_are_taken():
    """Threads waiting for a capped host's last jobs must all end when those are taken:
    wake-ups are one at a time, so each ending thread wakes the others."""
    import threading
    import time

    from flows.streams import HostQueue

    queue = HostQueue(window=32, per_host=2)
    done: list = []

    def fetch_thread():
        while (picked := queue.next_job()) is not None:
            time.sleep(0.005)
            done.append(picked[1])
            queue.finished(picked[0])
            queue.taken()

    threads = [threading.Thread(target=fetch_thread, daemon=True) for _ in range(16)]
    for thread in threads:
        thread.start()
    queue.add("one.example", range(5))
    queue.close()
    for thread in threads:
        thread.join(timeout=5)
    assert sorted(done) == list(range(5))
    assert not any(thread.is_alive() for thread in threads)


def test_a_feed_refused_by_the_fetch_settings_is_named_by_check_never_parked_and_polled_once_allowed(
        tmp_path, capsys):
    """A feed on 127.0.0.2 while fetch.allowed_networks covers only 127.0.0.1: `check` names it at
    its line; passes fail it (ssrf_blocked) but never park it, it is the settings' fault; and once
    the settings allow it, the very next pass polls it, even if an older version had parked it."""
    from sqlalchemy import update
    from sqlmodel import Session

    from newswatch.cli import main
    from store.tables import Feed
    from tests.localservers import FeedServer

    server = FeedServer(rss([{"title": "Missile test", "link": "http://127.0.0.2/a.html"}]).encode(), host="127.0.0.2")
    try:
        def configured(networks):
            return write_config(tmp_path / "config", feeds=[{"url": server.url("/feed.xml"), "name": "Local"}],
                                rules="rules: []\n", settings={"fetch": {"allowed_networks": networks}})

        directory = configured(["127.0.0.1/32"])
        assert main(["check", "--config", str(directory)]) == 1
        err = capsys.readouterr().err
        assert (f"{directory / 'feeds.yaml'}:2: feeds[0].url: every fetch of this feed would be refused: "
                f"refused to connect to 127.0.0.2: not a public address") in err, err
        assert "fetch.allowed_networks" in err

        refused = [run_pass(load_config(directory)) for _ in range(4)]
        outcomes = [summary.feeds[0] for summary in refused]
        assert [(o.status, o.error_class, o.parked) for o in outcomes] == [("failed", "ssrf_blocked", False)] * 4
        assert all(summary.feeds_parked == 0 and "  parked" not in summary.to_text() for summary in refused)

        directory = configured(["127.0.0.0/8"])
        assert main(["check", "--config", str(directory)]) == 0
        capsys.readouterr()
        assert run_pass(load_config(directory)).feeds[0].status == "ok"

        config = load_config(configured(["127.0.0.1/32"]))  # an older version parked such a feed for 6 h
        engine = open_database(config.settings.database_url)
        with Session(engine) as session:
            session.execute(update(Feed).values(parked=True, error_count=3, last_error_class="ssrf_blocked",
                                                next_poll_at=datetime.now(timezone.utc) + timedelta(hours=6)))
            session.commit()
        engine.dispose()
        still_refused = run_pass(config).feeds[0]
        assert (still_refused.status, still_refused.parked) == ("skipped", True)
        allowed = run_pass(load_config(configured(["127.0.0.0/8"]))).feeds[0]
        assert allowed.status in ("ok", "not_modified") and not allowed.parked
    finally:
        server.close()
