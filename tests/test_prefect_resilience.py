"""Retries only where they repeat no work, and crashes that the next run finishes.

- a transient database error in `poll-feed` is retried (with backoff) and the pass completes;
- a programming error is not retried: the task fails once and the flow run fails;
- a flow run whose pass fails while poll batches are still queued ends (Failed), it does not hang;
- a feed's pages are fetched as soon as it is polled, not when its poll batch (one task
  for many feeds) is done;
- a pass that crashes after storing its hits, before delivering them, leaves the alerts in
  the outbox, and the next pass sends each exactly once."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from config import load_config
import flows.run_pass
from flows.run_pass import run_pass
from tests.conftest import DEMO_PAGES, rss, write_config
from tests.localservers import FeedServer


@pytest.fixture
def one_feed(site, tmp_path):
    seed = site.add("/news/dprk.html", (DEMO_PAGES / "seed_article.html").read_bytes())
    site.add("/rss.xml", rss([{"title": "North Korea shipped missiles", "link": seed}]),
             content_type="application/rss+xml")
    return tmp_path, site.url("/rss.xml")


def _task_runs(flow_run_id, name_prefix: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return [run for run in runs if run.name.startswith(name_prefix)]


@pytest.mark.slow
def test_a_transient_database_error_is_retried_and_the_pass_completes(prefect_harness, one_feed, monkeypatch):
    import flows.monitor as monitor_module

    tmp_path, feed_url = one_feed
    config = write_config(tmp_path / "config", feeds=[{"url": feed_url, "name": "Local Daily"}])
    real_poll, calls = flows.run_pass.poll_feed, []

    def flaky_poll(ctx, feed):
        calls.append(feed.name)
        if len(calls) == 1:
            raise OperationalError("UPDATE feed", {}, Exception("database is locked"))
        return real_poll(ctx, feed)

    monkeypatch.setattr(flows.run_pass, "poll_feed", flaky_poll)
    state = monitor_module.monitor(config_dir=str(config), return_state=True)
    assert state.is_completed(), state
    assert calls == ["Local Daily", "Local Daily"]
    assert state.result().feeds_ok == 1
    (task,) = _task_runs(state.state_details.flow_run_id, "poll Local Daily")
    assert task.state.is_completed() and task.run_count == 2


@pytest.mark.slow
def test_a_programming_error_is_not_retried(prefect_harness, one_feed, monkeypatch):
    import flows.monitor as monitor_module

    tmp_path, feed_url = one_feed
    config = write_config(tmp_path / "config", feeds=[{"url": feed_url, "name": "Local Daily"}])
    calls = []

    def broken_poll(ctx, feed):
        calls.append(feed.name)
        raise KeyError("a bug")

    monkeypatch.setattr(flows.run_pass, "poll_feed", broken_poll)
    state = monitor_module.monitor(config_dir=str(config), return_state=True)
    assert state.is_failed()
    assert calls == ["Local Daily"]


@pytest.mark.slow
def test_a_pass_that_fails_while_batches_are_queued_ends_instead_of_hanging(prefect_harness, one_feed, monkeypatch):
    """One poll thread and one feed per batch: when the first feed's bug fails the pass, the
    other batches' feeds are still queued, and the pass drops them. Their batch tasks must end
    too (they waited forever for the dropped feeds, and the flow run for them)."""
    import flows.monitor as monitor_module

    tmp_path, feed_url = one_feed
    feeds = [{"url": f"{feed_url}?n={n}", "name": f"Feed {n}"} for n in range(4)]
    config = write_config(tmp_path / "config", feeds=feeds, settings={"fetch": {"concurrency": 1}})
    real_poll, polled = flows.run_pass.poll_feed, []

    def first_poll_breaks(ctx, feed):
        polled.append(feed.name)
        if len(polled) == 1:
            time.sleep(0.5)  # the other batches queue their feeds meanwhile
            raise KeyError("a bug")
        time.sleep(1)  # slower than the failure's way to the pass: feeds are still queued when it drops them
        return real_poll(ctx, feed)

    monkeypatch.setattr(flows.run_pass, "poll_feed", first_poll_breaks)
    monkeypatch.setattr(flows.run_pass, "POLL_BATCH", 1)
    states: list = []
    run = threading.Thread(target=lambda: states.append(
        monitor_module.monitor(config_dir=str(config), return_state=True)), daemon=True)
    run.start()
    run.join(60)
    assert not run.is_alive(), "the flow run still hangs 60 s after its pass failed"
    (state,) = states
    assert state.is_failed(), state
    assert "a bug" in state.message
    assert len(polled) < len(feeds), "the pass went on polling after it had failed"


@pytest.mark.slow
def test_a_feeds_pages_are_fetched_while_its_poll_batch_waits_for_a_slow_feed(prefect_harness, site, one_feed):
    """Both feeds are polled by one task; the slow one answers only once the quick one's
    page has been asked for (or after 8 s): the page must not wait for the batch."""
    import flows.monitor as monitor_module

    tmp_path, feed_url = one_feed
    released = threading.Event()
    slow = FeedServer(rss([]).encode(), before_answer=lambda: released.wait(30))
    page_asked_first: list[bool] = []

    def release_once_the_page_is_asked_for() -> None:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not site.hits.get("/news/dprk.html"):
            time.sleep(0.01)
        page_asked_first.append(bool(site.hits.get("/news/dprk.html")))
        released.set()

    config = write_config(tmp_path / "config", feeds=[{"url": feed_url, "name": "Quick"},
                                                      {"url": slow.url("/slow.xml"), "name": "Slow"}])
    threading.Thread(target=release_once_the_page_is_asked_for, daemon=True).start()
    try:
        state = monitor_module.monitor(config_dir=str(config), return_state=True)
    finally:
        released.set()
        slow.close()
    assert page_asked_first == [True], "the quick feed's page was fetched only after the slow feed answered"
    assert state.is_completed(), state
    summary = state.result()
    assert (summary.feeds_ok, summary.feeds_failed, summary.new_articles) == (2, 0, 1) and summary.hits >= 1


def test_a_pass_that_crashes_before_delivery_is_finished_by_the_next(one_feed, webhook, monkeypatch):
    tmp_path, feed_url = one_feed
    config = load_config(write_config(tmp_path / "config", feeds=[{"url": feed_url, "name": "Local Daily"}],
                                      channels={"hook": {"url": webhook.apprise_url()}}))

    def crash(ctx):
        raise RuntimeError("killed before delivery")

    with monkeypatch.context() as crashing:
        crashing.setattr(flows.run_pass, "deliver_alerts", crash)
        with pytest.raises(RuntimeError):
            run_pass(config)
    assert webhook.received == []

    again = run_pass(config)
    assert again.new_articles == 0 and again.hits == 0  # stored by the crashed pass, not twice
    assert again.alerts_sent >= 1 and len(webhook.received) == again.alerts_sent
    third = run_pass(config)
    assert third.alerts_sent == 0 and len(webhook.received) == again.alerts_sent
