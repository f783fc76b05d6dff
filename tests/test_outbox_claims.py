"""Outbox claims on SQLite and PostgreSQL: two relays at once send each delivery once,
a claim left by a relay that stopped goes out again (logged as a possible redelivery),
a live relay's claim is left alone, and nothing is marked sent that was not."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from alerts import send_pending
from store import claim_deliveries, delivery_counts, open_database
from store.claims import claimer_is_gone, new_claim_token
from store.tables import Delivery, utcnow
from tests.alerts_support import add_feeds, channel, numbered_article, settings, simple_match, store_article


def store_hits(engine, count: int, channels) -> None:
    feed = add_feeds(engine, "Wire")["Wire"]
    for number in range(count):
        article = numbered_article(number)
        store_article(engine, feed, article, [simple_match("Missiles", article.text, "missile")], channels)


def test_two_relays_at_once_send_each_delivery_exactly_once(database_url, webhook, smtp):
    setup = open_database(database_url)
    store_hits(setup, 40, ["hook", "mail"])
    setup.dispose()
    webhook.delay = 0.01  # the relays' sends overlap in time
    channels = {"hook": channel("hook", webhook.apprise_url()), "mail": channel("mail", smtp.apprise_url())}
    engines = [open_database(database_url) for _ in range(3)]
    start, reports = threading.Barrier(len(engines)), []

    def relay(engine):
        start.wait()
        reports.append(send_pending(engine, channels, settings(max_per_channel_per_run=1000)))

    threads = [threading.Thread(target=relay, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(reports) == 3
    hook_titles = Counter(message["title"] for message in webhook.received)
    mail_titles = Counter(message["subject"] for message in smtp.inbox.messages)
    assert len(hook_titles) == 40 and set(hook_titles.values()) == {1}, hook_titles.most_common(3)
    assert len(mail_titles) == 40 and set(mail_titles.values()) == {1}, mail_titles.most_common(3)
    assert sum(report.sent for report in reports) == 80
    assert delivery_counts(engines[0]) == {"sent": 80}
    for engine in engines:
        engine.dispose()


def dead_process_token() -> str:
    """A claim token of a process of this machine that has exited."""
    code = "from store.claims import new_claim_token; print(new_claim_token())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def set_claims(engine, ids, token, claimed_at) -> None:
    with Session(engine) as session:
        session.execute(update(Delivery).where(Delivery.id.in_(ids))
                        .values(status="sending", claim_token=token, claimed_at=claimed_at))
        session.commit()


def test_claims_of_a_stopped_relay_go_out_again_and_a_live_relays_claims_wait(database_url, webhook, caplog):
    engine = open_database(database_url)
    store_hits(engine, 4, ["hook"])
    gone = dead_process_token()
    assert claimer_is_gone(gone) and not claimer_is_gone(new_claim_token())
    other_host = "elsewhere|1|42|1|abc"  # a relay on another machine: only its lease can end its claim
    assert not claimer_is_gone(other_host)
    set_claims(engine, [1], gone, utcnow())  # killed here a moment ago
    set_claims(engine, [2], other_host, utcnow() - timedelta(minutes=11))  # lease (10 min) over
    set_claims(engine, [3], other_host, utcnow() - timedelta(minutes=1))  # still being sent there
    set_claims(engine, [4], new_claim_token(), utcnow())  # this very process, alive

    with caplog.at_level(logging.WARNING, logger="newswatch.alerts"):
        report = send_pending(engine, {"hook": channel("hook", webhook.apprise_url())}, settings())
    assert report.sent == 2 and len(webhook.received) == 2
    assert sorted(m["title"][-7:] for m in webhook.received) == ["Story 0", "Story 1"]
    redeliveries = [r.getMessage() for r in caplog.records if "possible redelivery" in r.getMessage()]
    assert len(redeliveries) == 1, redeliveries
    assert "(ids 1, 2)" in redeliveries[0] and "lease expired" in redeliveries[0] and "process gone" in redeliveries[0]
    with Session(engine) as session:
        rows = {d.id: d.status for d in session.exec(select(Delivery))}
    assert rows == {1: "sent", 2: "sent", 3: "sending", 4: "sending"}  # never "sent" unless it was
    engine.dispose()


def test_a_claim_is_committed_before_sending_and_skipped_by_a_second_claimer(database_url):
    engine = open_database(database_url)
    store_hits(engine, 3, ["hook", "mail"])
    token, jobs = claim_deliveries(engine, channels=["hook"])
    assert len(jobs) == 3 and {job.channel for job in jobs} == {"hook"}
    assert claim_deliveries(engine, channels=["hook", "mail"])[1] != []  # only mail is left
    assert claim_deliveries(engine, channels=["hook", "mail"])[1] == []
    assert delivery_counts(engine) == {"sending": 6}
    engine.dispose()
