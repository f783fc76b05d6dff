"""Operator notices and rule cooldowns, against a real webhook receiver.

A feed that is parked tells the operator once, and once more when it recovers, never
once per failed poll; without an `operator` channel nothing is sent. A rule with a
cooldown sends its next hits together once the cooldown is over.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from alerts import send_pending
from config.models import RuleConfig
from store import record_feed_error, record_feed_success
from store.tables import Notice, utcnow
from tests.alerts_support import add_feeds, channel, numbered_article, open_db, settings, simple_match, store_article


def test_a_parked_feed_tells_the_operator_once_and_once_more_when_it_recovers(tmp_path, webhook):
    engine = open_db(tmp_path)
    feed = add_feeds(engine, "Flaky Times")["Flaky Times"]
    channels = {"operator": channel("operator", webhook.apprise_url())}
    for poll in range(6):
        record_feed_error(engine, feed, "http_error", "HTTP 503")
        send_pending(engine, channels, settings())
    assert len(webhook.received) == 1
    assert "feed parked: Flaky Times" in webhook.received[0]["title"]
    assert "HTTP 503" in webhook.received[0]["message"]

    record_feed_success(engine, feed, etag=None, last_modified=None, next_poll_at=None)
    record_feed_success(engine, feed, etag=None, last_modified=None, next_poll_at=None)
    send_pending(engine, channels, settings())
    send_pending(engine, channels, settings())
    assert len(webhook.received) == 2
    assert "feed recovered: Flaky Times" in webhook.received[1]["title"]


def test_several_notices_go_out_as_one_message(tmp_path, webhook):
    engine = open_db(tmp_path)
    feeds = add_feeds(engine, "One", "Two", "Three")
    for feed in feeds.values():
        for _ in range(3):
            record_feed_error(engine, feed, "timeout", "no answer")
    send_pending(engine, {"operator": channel("operator", webhook.apprise_url())}, settings())
    assert len(webhook.received) == 1 and "+2 more" in webhook.received[0]["title"]
    assert all(name in webhook.received[0]["message"] for name in feeds)


def test_without_an_operator_channel_notices_are_kept_not_sent(tmp_path, webhook):
    engine = open_db(tmp_path)
    feed = add_feeds(engine, "Flaky Times")["Flaky Times"]
    for _ in range(3):
        record_feed_error(engine, feed, "http_error", "HTTP 503")
    send_pending(engine, {"hook": channel("hook", webhook.apprise_url())}, settings())
    assert webhook.received == []
    with Session(engine) as session:
        assert [n.status for n in session.exec(select(Notice))] == ["unrouted"]


def test_a_rule_cooldown_holds_its_next_hits_and_sends_them_together(tmp_path, webhook):
    engine = open_db(tmp_path)
    feed = add_feeds(engine, "Wire")["Wire"]
    channels = {"hook": channel("hook", webhook.apprise_url())}
    rules = [RuleConfig(name="Missiles", query="missile", cooldown_minutes=60)]

    def store(numbers):
        for number in numbers:
            article = numbered_article(number)
            store_article(engine, feed, article, [simple_match("Missiles", article.text, "missile")], ["hook"])

    store([1])
    now = utcnow()
    assert send_pending(engine, channels, settings(), rules=rules, now=now).sent == 1
    store([2, 3, 4])
    held = send_pending(engine, channels, settings(), rules=rules, now=now + timedelta(minutes=10))
    assert held.sent == 0 and held.held == 3 and len(webhook.received) == 1
    assert send_pending(engine, channels, settings(), rules=rules, now=now + timedelta(minutes=30)).sent == 0
    later = send_pending(engine, channels, settings(), rules=rules, now=now + timedelta(minutes=61))
    assert later.sent == 3 and len(webhook.received) == 2
    assert "3 hits" in webhook.received[1]["title"]
    assert all(f"Story {n}" in webhook.received[1]["message"] for n in (2, 3, 4))
