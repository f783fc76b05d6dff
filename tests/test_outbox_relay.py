"""The outbox relay against real receivers: an aiosmtpd inbox and an HTTP webhook on 127.0.0.1.

Exactly once per hit and channel; a failing channel retried after its backoff without
repeating the healthy ones; a hanging receiver abandoned at the deadline; a storm
capped with one summary; dead deliveries told to the operator once.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlmodel import Session, select

from alerts import send_pending
from alerts.deliver import EMAIL_PARALLEL_SENDS
from store.outbox import FIRST_RETRY, retry_delay
from store.tables import Delivery, DeliveryAttempt, Notice, utcnow
from tests.alerts_support import add_feeds, channel, numbered_article, open_db, settings, simple_match, store_article
from tests.localservers import WebhookReceiver


def store_numbered(engine, feed_id, count, channels, start=0, rule="Missiles"):
    for number in range(start, start + count):
        article = numbered_article(number)
        store_article(engine, feed_id, article, [simple_match(rule, article.text, "missile")], channels)


def statuses(engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(Delivery.status)).all())


def test_three_hits_two_channels_six_messages_and_a_second_run_sends_none(tmp_path, smtp, webhook):
    engine = open_db(tmp_path)
    feed = add_feeds(engine, "Local Daily")["Local Daily"]
    channels = {"mail": channel("mail", smtp.apprise_url()), "hook": channel("hook", webhook.apprise_url())}
    store_numbered(engine, feed, 3, channels)

    first = send_pending(engine, channels, settings())
    assert first.sent == 6 and first.failed == 0
    assert len(smtp.inbox.messages) == 3 and len(webhook.received) == 3

    second = send_pending(engine, channels, settings())
    assert second.sent == 0
    assert len(smtp.inbox.messages) == 3 and len(webhook.received) == 3
    assert statuses(engine) == ["sent"] * 6


def test_a_failing_receiver_gets_the_alert_later_exactly_once_and_healthy_ones_once(tmp_path, smtp, webhook):
    engine = open_db(tmp_path)
    feed = add_feeds(engine, "Local Daily")["Local Daily"]
    broken = WebhookReceiver()
    try:
        broken.status = 500
        channels = {"mail": channel("mail", smtp.apprise_url()), "hook": channel("hook", webhook.apprise_url()),
                    "broken": channel("broken", broken.apprise_url())}
        store_numbered(engine, feed, 1, channels)

        first = send_pending(engine, channels, settings())
        assert (first.sent, first.failed) == (2, 1)
        assert "broken" in first.errors[0]
        assert send_pending(engine, channels, settings()).sent == 0  # backoff: not due yet

        broken.status = 200
        later = utcnow() + FIRST_RETRY * 1.3  # past the first retry whatever its jitter (+-20%)
        retry = send_pending(engine, channels, settings(), now=later)
        assert (retry.sent, retry.failed) == (1, 0)
        assert send_pending(engine, channels, settings(), now=later + timedelta(hours=7)).sent == 0
        assert len(broken.received) == 1 and len(webhook.received) == 1 and len(smtp.inbox.messages) == 1
        with Session(engine) as session:
            attempts = session.exec(select(DeliveryAttempt.ok)).all()
        assert sorted(attempts) == [False, True, True, True]  # every attempt recorded
    finally:
        broken.close()


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    delays = [retry_delay(n).total_seconds() for n in range(1, 12)]
    assert 48 <= delays[0] <= 72 and 96 <= delays[1] <= 144 and 192 <= delays[2] <= 288
    assert max(delays) <= 6 * 3600 * 1.2
    assert len({retry_delay(3) for _ in range(20)}) > 1  # jitter


def test_a_hanging_receiver_is_abandoned_at_the_deadline_and_retried_later(tmp_path, webhook, smtp):
    engine = open_db(tmp_path)
    feed = add_feeds(engine, "Local Daily")["Local Daily"]
    webhook.delay = 3
    channels = {"hook": channel("hook", webhook.apprise_url()), "mail": channel("mail", smtp.apprise_url())}
    store_numbered(engine, feed, 3, channels)

    started = time.monotonic()
    report = send_pending(engine, channels, settings(send_timeout_seconds=1))
    elapsed = time.monotonic() - started
    assert elapsed < 4, f"the relay waited {elapsed:.1f} s on a hanging receiver"
    assert report.failed == 1 and "timeout" in report.errors[0]
    assert len(smtp.inbox.messages) == 3  # the healthy channel was not held up
    with Session(engine) as session:
        pending = session.exec(select(Delivery).where(Delivery.channel == "hook")).all()
    assert [d.status for d in pending] == ["pending"] * 3  # the other two were not even tried

    webhook.delay = 0
    time.sleep(3)  # let the abandoned request finish before the receiver counts again
    webhook.received.clear()
    retry = send_pending(engine, channels, settings(send_timeout_seconds=5), now=utcnow() + timedelta(hours=1))
    assert retry.sent == 3 and len(webhook.received) == 3


def test_a_storm_sends_at_most_the_cap_plus_one_summary_per_channel(tmp_path, smtp, webhook):
    engine = open_db(tmp_path)
    feed = add_feeds(engine, "Wire")["Wire"]
    channels = {"mail": channel("mail", smtp.apprise_url()),
                "hook": channel("hook", webhook.apprise_url(), max_per_run=5)}
    store_numbered(engine, feed, 150, channels, rule="Missiles")
    store_numbered(engine, feed, 50, channels, start=1000, rule="Launchers")

    report = send_pending(engine, channels, settings())
    assert len(smtp.inbox.messages) == 20 + 1  # the default cap, plus one summary
    assert len(webhook.received) == 5 + 1  # the channel's own max_per_run
    summary = smtp.inbox.messages[-1]
    assert "+180 more hits" in summary["subject"]
    text = summary.get_body(("plain",)).get_content()
    assert "+130 more hits for rule Missiles" in text and "+50 more hits for rule Launchers" in text
    assert report.sent == 25 and report.summarized == 180 + 195
    assert statuses(engine).count("summarized") == 375  # kept in the history, not dropped
    assert send_pending(engine, channels, settings()).sent == 0


def test_dead_deliveries_are_told_to_the_operator_once(tmp_path, webhook):
    engine = open_db(tmp_path)
    feed = add_feeds(engine, "Wire")["Wire"]
    broken = WebhookReceiver()
    try:
        broken.status = 500
        channels = {"broken": channel("broken", broken.apprise_url()), "operator": channel("operator", webhook.apprise_url())}
        store_numbered(engine, feed, 2, ["broken"])
        now = utcnow()
        for attempt in range(3):
            send_pending(engine, channels, settings(max_attempts=3), now=now)
            now += timedelta(days=1)
        assert statuses(engine) == ["dead", "dead"]
        assert len(webhook.received) == 1
        assert "2 alerts to broken given up" in webhook.received[0]["title"]
        for _ in range(2):
            send_pending(engine, channels, settings(max_attempts=3), now=now)
            now += timedelta(days=1)
        assert len(webhook.received) == 1
        with Session(engine) as session:
            assert [n.status for n in session.exec(select(Notice))] == ["sent"]
    finally:
        broken.close()


def test_a_hundred_email_alerts_arrive_without_apprises_throttle(tmp_path, smtp):
    """apprise's email plugin waits 5.5 s between two messages of one object: sent through
    shared objects, even a few at a time, 100 emails would take minutes. A fresh object per
    message keeps them far below that (how fast exactly is bench/alerts.py's figure)."""
    engine = open_db(tmp_path)
    feed = add_feeds(engine, "Wire")["Wire"]
    store_numbered(engine, feed, 100, ["mail"])
    started = time.monotonic()
    report = send_pending(engine, {"mail": channel("mail", smtp.apprise_url())}, settings(max_per_channel_per_run=100))
    elapsed = time.monotonic() - started
    assert report.sent == 100 and len(smtp.inbox.messages) == 100
    throttled = (100 / EMAIL_PARALLEL_SENDS - 1) * 5.5
    assert elapsed < throttled / 4, f"100 emails took {elapsed:.1f} s, as if throttled ({throttled:.0f} s)"
