"""`newswatch status`: what a user checks at a glance, through the real command line.

Passes run for real (no Prefect) against a local feed server: one feed answers but has been
quiet for five times its hourly rhythm, one fails, one fails until it is parked; an alert
waits for a channel. Then `newswatch status --json` (in a process of its own, with the
Prefect API pointed at a closed port) must say exactly that.
"""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from werkzeug.wrappers import Response

from config import load_config
from flows.run_pass import run_pass
from store import add_notice, open_database, record_feed_error
from tests.alerts_support import numbered_article, simple_match, store_article
from tests.conftest import REPO, rss, write_config
from tests.localservers import free_port
from tests.test_watchdog import write_history

KEYS = {"last_completed_pass", "next_scheduled_pass", "schedule", "timezone", "stalled", "feeds", "alerts",
        "operator_notices", "incidents", "prefect_api"}


def newswatch(*args: str, api_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_API_URL": api_url}
    return subprocess.run([sys.executable, "-m", "newswatch", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def test_status_shows_last_and_next_pass_feeds_failing_parked_silent_alerts_and_the_prefect_api(
        httpserver, tmp_path, webhook):
    httpserver.expect_request("/herald.xml").respond_with_handler(
        lambda request: Response(rss([]), content_type="application/rss+xml"))
    for name in ("flaky", "dead"):
        httpserver.expect_request(f"/{name}.xml").respond_with_data("down", status=503)
    directory = write_config(tmp_path / "config", rules="rules: []\n",
                             feeds=[{"url": httpserver.url_for("/herald.xml"), "name": "Hourly Herald"},
                                    {"url": httpserver.url_for("/flaky.xml"), "name": "Flaky"},
                                    {"url": httpserver.url_for("/dead.xml"), "name": "Dead"}],
                             channels={"operator": {"url": webhook.apprise_url()}},
                             settings={"schedule": {"interval_minutes": 5}})
    config = load_config(directory)
    run_pass(config)
    engine = open_database(config.settings.database_url)
    write_history(engine, datetime.now(timezone.utc) - timedelta(hours=5), every=timedelta(hours=1), count=12)
    article = numbered_article(1)
    store_article(engine, 2, article, [simple_match("Missiles", article.text, "missile")], ["not-configured"])
    last = run_pass(config)
    for _ in range(2):
        record_feed_error(engine, 3, "http_error", "HTTP 503")  # Dead: parked at its third error in a row

    closed = f"http://127.0.0.1:{free_port()}/api"
    done = newswatch("--config", str(directory), "status", "--json", api_url=closed)
    assert done.returncode == 1, done.stderr  # something needs attention
    status = json.loads(done.stdout)
    assert KEYS <= set(status)
    passed = status["last_completed_pass"]
    assert datetime.fromisoformat(passed["finished_at"]) >= last.started_at
    assert passed["feeds_polled"] == 3 and passed["feeds_failed"] == 2
    upcoming = datetime.fromisoformat(status["next_scheduled_pass"])
    assert timedelta(0) < upcoming - datetime.now(timezone.utc) <= timedelta(minutes=5)
    assert status["schedule"] == "every 5 minutes" and status["stalled"] is False
    feeds = status["feeds"]
    assert feeds["total"] == 3
    assert [feed["name"] for feed in feeds["failing"]] == ["Flaky"]
    assert feeds["failing"][0]["last_error"].startswith("http_5xx: server answered 503")
    assert feeds["failing"][0]["errors_in_a_row"] == 2
    assert [feed["name"] for feed in feeds["parked"]] == ["Dead"]
    assert [(feed["name"], feed["usual_gap_hours"]) for feed in feeds["silent"]] == [("Hourly Herald", 1.0)]
    assert status["alerts"] == {"pending": 1, "dead": 0}
    assert status["operator_notices"]["pending"] == 1  # Dead was parked after the last pass: its notice waits
    assert status["prefect_api"] == {"url": closed, "source": "PREFECT_API_URL", "reachable": False}
    times = list(times_in(status))
    assert len(times) >= 6  # the passes, last ok per failing feed, silent feed, incidents
    for key, value in times:  # ISO 8601 in UTC with a Z, as `hits --json` writes them
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", value), (key, value)

    text = newswatch("--config", str(directory), "status", api_url=closed).stdout
    assert "feeds: 3 configured, 1 failing, 1 parked, 1 silent" in text
    assert "silent   Hourly Herald" in text and "alerts: 1 pending, 0 dead" in text
    assert f"Prefect API: {closed} (PREFECT_API_URL, NOT reachable)" in text
    assert "next scheduled pass, when `newswatch serve` runs it: " in text


def times_in(data, key=""):
    """Every (key, value) of `data` that holds a time: the keys ending in _at, since, next_scheduled_pass."""
    if isinstance(data, dict):
        for name, value in data.items():
            yield from times_in(value, name)
    elif isinstance(data, list):
        for value in data:
            yield from times_in(value, key)
    elif data is not None and (key.endswith("_at") or key in ("since", "next_scheduled_pass")):
        yield key, data


def test_status_says_stalled_when_no_pass_completed_for_the_missed_intervals(httpserver, tmp_path):
    httpserver.expect_request("/feed.xml").respond_with_data(rss([]), content_type="application/rss+xml")
    directory = write_config(tmp_path / "config", rules="rules: []\n", feeds=[{"url": httpserver.url_for("/feed.xml")}],
                             settings={"schedule": {"interval_minutes": 1}, "watchdog": {"missed_passes": 1}})
    closed = f"http://127.0.0.1:{free_port()}/api"
    assert json.loads(newswatch("--config", str(directory), "status", "--json", api_url=closed).stdout)[
        "last_completed_pass"] is None
    add_notice(open_database(load_config(directory).settings.database_url), "feed_parked", "Feed parked", "x")
    run_pass(load_config(directory))  # no `operator` channel: the notice is kept, unrouted
    from sqlalchemy import update
    from sqlmodel import Session

    from store.tables import CompletedPass

    engine = open_database(load_config(directory).settings.database_url)
    with Session(engine) as session:  # no pass since 5 minutes: the scheduler is gone
        session.execute(update(CompletedPass).values(finished_at=datetime.now(timezone.utc) - timedelta(minutes=5)))
        session.commit()
    done = newswatch("--config", str(directory), "status", api_url=closed)
    assert done.returncode == 1
    assert "STALLED: no pass completed for 1 scheduled intervals" in done.stdout
    assert "operator notices: 0 pending, 0 dead, 1 unrouted (no `operator` channel in channels.yaml)" in done.stdout
