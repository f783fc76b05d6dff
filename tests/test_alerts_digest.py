"""Digest channels: one message per schedule tick holding every hit since the last one,
grouped by rule and story; the relay leaves them alone; `newswatch digest` sends them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from alerts import latest_tick, send_pending
from flows.digest import send_digest
from newswatch.cli import main
from store.tables import Delivery
from tests.alerts_support import add_feeds, numbered_article, simple_match, store_article
from tests.conftest import write_config

DAILY = {"mode": "digest", "digest_cron": "0 8 * * *", "timezone": "Asia/Seoul"}


def digest_config(tmp_path, smtp, webhook):
    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/feed.xml", "name": "Wire"}],
                             channels={"daily": {"url": smtp.apprise_url(), **DAILY},
                                       "hook": {"url": webhook.apprise_url()}})
    from config import load_config

    return directory, load_config(directory)


def store_day(config, first: int, count: int) -> None:
    from store import open_database

    engine = open_database(config.settings.database_url)
    feed = add_feeds(engine, "Wire")["Wire"]
    for number in range(first, first + count):
        article = numbered_article(number)
        rule = "Missiles" if number % 2 else "Launchers"
        store_article(engine, feed, article, [simple_match(rule, article.text, "missile")], ["daily"])
    engine.dispose()


def next_tick_after(moment: datetime) -> datetime:
    tick = latest_tick("0 8 * * *", "Asia/Seoul", moment + timedelta(days=1))
    return tick + timedelta(minutes=1)


def test_latest_tick_follows_the_cron_in_its_timezone():
    now = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)  # 11:00 in Seoul
    assert latest_tick("0 8 * * *", "Asia/Seoul", now) == datetime(2026, 11, 27, 23, 0, tzinfo=timezone.utc)
    assert latest_tick("0 8 * * *", "UTC", now) == datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)


def test_a_daily_digest_channel_gets_one_message_per_day_with_all_that_days_hits(tmp_path, smtp, webhook):
    _, config = digest_config(tmp_path, smtp, webhook)
    day_one = next_tick_after(datetime.now(timezone.utc))  # 08:01 Seoul time
    store_day(config, 0, 7)
    found_at(config, day_one - timedelta(hours=20))  # found yesterday, during the day
    engine_report = _relay(config)
    assert engine_report.sent == 0 and engine_report.deferred == 7  # the relay leaves digests alone

    outcome = send_digest(config, "daily", now=day_one)
    assert outcome.sent and outcome.hits == 7
    assert len(smtp.inbox.messages) == 1
    body = smtp.inbox.messages[0].get_body(("html",)).get_content()
    assert all(f"Story {n}<" in body for n in range(7))
    assert "Rule: Missiles (3 stories)" in body and "Rule: Launchers (4 stories)" in body

    assert send_digest(config, "daily", now=day_one + timedelta(hours=3)).hits == 0  # once a day
    store_day(config, 100, 3)
    found_at(config, day_one + timedelta(hours=2))  # found today, after this morning's digest
    assert send_digest(config, "daily", now=day_one + timedelta(hours=3)).hits == 0  # they wait for tomorrow
    assert len(smtp.inbox.messages) == 1

    outcome = send_digest(config, "daily", now=day_one + timedelta(days=1))
    assert outcome.hits == 3 and len(smtp.inbox.messages) == 2
    assert "Story 100<" in smtp.inbox.messages[1].get_body(("html",)).get_content()
    assert webhook.received == []


def found_at(config, moment: datetime) -> None:
    """Date the pending deliveries as if their hits had been found at `moment`."""
    from store import open_database

    engine = open_database(config.settings.database_url)
    with Session(engine) as session:
        for delivery in session.exec(select(Delivery).where(Delivery.status == "pending")):
            delivery.created_at = moment
            session.add(delivery)
        session.commit()
    engine.dispose()


def test_newswatch_digest_command_sends_due_digests(tmp_path, smtp, webhook, capsys):
    directory, config = digest_config(tmp_path, smtp, webhook)
    store_day(config, 0, 2)
    found_at(config, datetime.now(timezone.utc) - timedelta(days=2))  # the last 08:00 digest is due
    assert main(["digest", "--config", str(directory)]) == 0
    assert "daily: 2 hits sent in one digest" in capsys.readouterr().out
    assert main(["digest", "--config", str(directory), "--channel", "daily"]) == 0
    assert "nothing to send" in capsys.readouterr().out
    assert len(smtp.inbox.messages) == 1
    assert main(["digest", "--config", str(directory), "--channel", "hook"]) == 1


def _relay(config):
    from store import open_database

    engine = open_database(config.settings.database_url)
    try:
        return send_pending(engine, config.channels, config.settings.alerts)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_the_digest_flow_sends_under_prefect_with_only_the_channel_name_as_parameter(prefect_harness, tmp_path,
                                                                                     smtp, webhook):
    from prefect.client.orchestration import get_client

    from flows.digest import digest

    directory, config = digest_config(tmp_path, smtp, webhook)
    store_day(config, 0, 2)
    found_at(config, datetime.now(timezone.utc) - timedelta(days=2))
    state = digest(config_dir=str(directory), channel="daily", return_state=True)
    assert state.is_completed() and "2 hits sent" in state.result()
    assert len(smtp.inbox.messages) == 1
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.name.startswith("digest daily ")
    assert run.parameters == {"config_dir": str(directory), "channel": "daily"}
