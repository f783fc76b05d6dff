"""The dead-man's switch, through whole passes (`run_pass`, no Prefect), told on a real
webhook receiver standing for the operator channel.

Each condition is told once when it starts and once when it is over, however many passes
see it: no pass completed for `missed_passes` intervals (the last completed pass is moved
back in time, as after a scheduler that died), every feed failing in a pass, and a feed
whose history says it publishes hourly falling silent (its history is written into the
database, as a feed with months of items would have it).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import update
from sqlmodel import Session
from werkzeug.wrappers import Response

from config import load_config
from flows.run_pass import run_pass
from flows.watchdog import scheduled_times, stall_deadline, usual_gap
from config.models import Schedule
from store import open_database
from store.tables import Article, CompletedPass
from tests.alerts_support import numbered_article, store_article
from tests.conftest import rss, write_config

ARTICLE = ("<html><body><article><h1>{0}</h1><p>{0} is a story about the weather in Seoul. It has several "
           "sentences so that the extractor keeps it as an article body.</p><p>Forecasters expect snow in the "
           "east by Thursday, and colder nights after that.</p></article></body></html>")


def told(webhook) -> list[str]:
    """Every notice subject the operator channel received, in order (several may share a message)."""
    subjects = []
    for message in webhook.received:  # json:// gets plain text: each notice is its subject line, its text, a blank line
        subjects += [block.splitlines()[0] for block in message["message"].split("\n\n") if block.strip()]
    return subjects


def unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def matching(subjects: list[str], start: str) -> list[str]:
    return [subject for subject in subjects if subject.startswith(start)]


def config_for(tmp_path, webhook, feeds, database_url=None, **watchdog):
    return load_config(write_config(
        tmp_path / "config", feeds=feeds, database_url=database_url,
        channels={"operator": {"url": webhook.apprise_url()}}, rules="rules: []\n",
        settings={"schedule": {"interval_minutes": 1}, "watchdog": {"missed_passes": 2, **watchdog}}))


def switchable_feed(httpserver, items_of):
    """/feed.xml answers 500 while `state['down']`, else the RSS of `items_of()`."""
    state = {"down": False}

    def respond(request):
        if state["down"]:
            return Response("down for maintenance", status=500)
        return Response(rss(items_of()), content_type="application/rss+xml")

    httpserver.expect_request("/feed.xml").respond_with_handler(respond)
    return state


def test_no_completed_pass_for_n_intervals_is_told_once_and_its_end_once(httpserver, tmp_path, webhook, database_url):
    switchable_feed(httpserver, lambda: [])
    config = config_for(tmp_path, webhook, [{"url": httpserver.url_for("/feed.xml"), "name": "Quiet"}], database_url)
    run_pass(config)
    assert told(webhook) == []
    engine = open_database(config.settings.database_url)
    with Session(engine) as session:  # the scheduler died 10 minutes ago: 2 one-minute intervals long gone
        session.execute(update(CompletedPass).values(finished_at=datetime.now(timezone.utc) - timedelta(minutes=10)))
        session.commit()
    run_pass(config)
    run_pass(config)
    run_pass(config)
    subjects = told(webhook)
    assert len(matching(subjects, "monitor stalled: no pass completed for")) == 1
    assert len(matching(subjects, "monitor running again")) == 1
    assert len(subjects) == 2
    assert "No newswatch pass completed between" in unescaped(webhook.received[0]["message"])


def test_a_pass_where_every_feed_failed_is_told_once_and_the_recovery_once(httpserver, tmp_path, webhook, database_url):
    state = switchable_feed(httpserver, lambda: [])
    httpserver.expect_request("/other.xml").respond_with_handler(
        lambda request: Response("gone", status=500) if state["down"] else Response(rss([]), content_type="text/xml"))
    config = config_for(tmp_path, webhook, [{"url": httpserver.url_for("/feed.xml"), "name": "One"},
                                            {"url": httpserver.url_for("/other.xml"), "name": "Two"}], database_url)
    run_pass(config)
    state["down"] = True
    first, second = run_pass(config), run_pass(config)
    assert first.feeds_failed == second.feeds_failed == 2
    assert matching(told(webhook), "every feed failed") == ["every feed failed: 2 of 2"]
    state["down"] = False
    run_pass(config)
    run_pass(config)
    subjects = told(webhook)
    assert len(matching(subjects, "every feed failed")) == 1
    assert matching(subjects, "feeds working again") == ["feeds working again"]
    assert len(subjects) == 2


def test_a_feed_silent_for_four_times_its_usual_gap_is_told_once_and_again_when_it_publishes(
        httpserver, tmp_path, webhook, database_url):
    items: list[dict] = []
    switchable_feed(httpserver, lambda: items)
    httpserver.expect_request("/fresh.html").respond_with_data(ARTICLE.format("Fresh"), content_type="text/html")
    config = config_for(tmp_path, webhook, [{"url": httpserver.url_for("/feed.xml"), "name": "Hourly Herald"}],
                        database_url, silent_feed_factor=4)
    run_pass(config)  # the feed is known, answers, and has nothing yet
    engine = open_database(config.settings.database_url)
    now = datetime.now(timezone.utc)
    write_history(engine, now - timedelta(hours=5), every=timedelta(hours=1), count=12)
    run_pass(config)  # quiet for 5 hours, usually hourly: 5 > 4 x 1 hour
    run_pass(config)
    assert matching(told(webhook), "feed silent: Hourly Herald") == \
        ["feed silent: Hourly Herald (nothing new for 5.0 hours)"]
    assert "usually publishes every 1.0 hours" in unescaped(webhook.received[0]["message"])

    items.append({"title": "Fresh", "link": httpserver.url_for("/fresh.html")})
    run_pass(config)
    run_pass(config)
    subjects = told(webhook)
    assert matching(subjects, "feed publishing again") == ["feed publishing again: Hourly Herald"]
    assert len(subjects) == 2


def test_a_feed_with_little_history_or_a_shorter_silence_is_not_told(httpserver, tmp_path, webhook):
    switchable_feed(httpserver, lambda: [])
    config = config_for(tmp_path, webhook, [{"url": httpserver.url_for("/feed.xml"), "name": "Hourly Herald"}],
                        silent_feed_min_items=6)
    run_pass(config)
    engine = open_database(config.settings.database_url)
    write_history(engine, datetime.now(timezone.utc) - timedelta(hours=3), every=timedelta(hours=1), count=12)
    run_pass(config)  # 3 hours < 4 x 1 hour
    with Session(engine) as session:
        session.execute(Article.__table__.delete())
        session.commit()
    write_history(engine, datetime.now(timezone.utc) - timedelta(hours=30), every=timedelta(hours=1), count=4,
                  first_number=2000)
    run_pass(config)  # silent for long, but 4 items are too few to know its rhythm
    assert told(webhook) == []


def write_history(engine, newest: datetime, every: timedelta, count: int, first_number: int = 1000) -> None:
    """`count` articles of the config's only feed (id 1), one per `every`, the newest at
    `newest`, each fetched when it was published."""
    for number in range(count):
        at = newest - every * number
        article = numbered_article(first_number + number)
        store_article(engine, 1, article, [], [], key=f"history-{at.isoformat()}", published=at)
        with Session(engine) as session:
            session.execute(update(Article).where(Article.entry_key == f"history-{at.isoformat()}")
                            .values(fetched_at=at))
            session.commit()


def test_stall_deadline_counts_scheduled_runs_after_the_last_completed_pass():
    last = datetime(2026, 12, 7, 10, 0, 30, tzinfo=timezone.utc)
    every_15 = Schedule(interval_minutes=15, timezone="Asia/Seoul")
    assert next(scheduled_times(every_15, last)) == datetime(2026, 12, 7, 10, 15, tzinfo=timezone.utc)
    # 3 runs (10:15, 10:30, 10:45) came and went: stalled when the 11:00 run starts
    assert stall_deadline(every_15, last, 3) == datetime(2026, 12, 7, 11, 0, tzinfo=timezone.utc)
    weekdays = Schedule(interval_minutes=None, cron="0 8 * * 1-5", timezone="UTC")
    friday = datetime(2026, 12, 4, 8, 5, tzinfo=timezone.utc)
    assert stall_deadline(weekdays, friday, 1) == datetime(2026, 12, 8, 8, 0, tzinfo=timezone.utc)


def test_usual_gap_is_the_median_gap_and_needs_enough_history():
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    times = [start + timedelta(hours=h) for h in (0, 1, 2, 3, 10, 11)]
    assert usual_gap(times, min_items=6) == timedelta(hours=1)
    assert usual_gap(times, min_items=7) is None


def test_a_misspelt_prefect_block_name_is_a_config_error_that_says_how_to_write_it(tmp_path):
    from newswatch.validation import load_valid_config

    directory = write_config(tmp_path / "config", feeds=[{"url": "https://example.org/rss"}], rules="rules: []\n",
                             settings={"watchdog": {"prefect_notification_block": "ops"}})
    _, problems = load_valid_config(directory)
    assert any("settings.yaml" in str(p) and "watchdog.prefect_notification_block" in str(p)
               and "block-type/name" in str(p) for p in problems), problems
