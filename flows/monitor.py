"""The Prefect flow `monitor`: one pass of newswatch, visible in the Prefect UI.

A thin shell over `flows.run_pass`: each feed is one task (retries and logs per feed),
alert delivery is one task, and the run ends with a table artifact of its hits and a
markdown summary. The run is renamed after what it did, e.g. `monitor 2026-11-27 08:15 - 3 hits`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from alerts import RelayReport
from config import load_config
from flows.artifacts import publish_pass_artifacts
from flows.run_pass import PassSteps, deliver_alerts, run_pass
from flows.stages import FeedPoll, PassContext, poll_feed, process_entries
from flows.summary import PassSummary
from store import FeedState, list_hits, open_database


@task(name="poll-feed", task_run_name="poll {feed.name}", cache_policy=NO_CACHE)
def poll_feed_task(ctx: PassContext, feed: FeedState) -> FeedPoll:
    return poll_feed(ctx, feed)


@task(name="extract-and-match", cache_policy=NO_CACHE)
def process_entries_task(ctx: PassContext, polls: list[FeedPoll]) -> None:
    process_entries(ctx, polls)


@task(name="deliver-alerts", cache_policy=NO_CACHE)
def deliver_alerts_task(ctx: PassContext) -> RelayReport:
    return deliver_alerts(ctx)


def poll_feeds_with_tasks(ctx: PassContext, feeds: list[FeedState]) -> list[FeedPoll]:
    futures = [poll_feed_task.submit(ctx, feed) for feed in feeds]
    return [future.result() for future in futures]


PREFECT_STEPS = PassSteps(poll_feeds=poll_feeds_with_tasks, process_entries=process_entries_task,
                          deliver=deliver_alerts_task)


def _run_name() -> str:
    return f"monitor {datetime.now(timezone.utc):%Y-%m-%d %H:%M}"


@flow(name="monitor", flow_run_name=_run_name, log_prints=True)
def monitor(config_dir: str = "config") -> PassSummary:
    """Poll the feeds in `config_dir`, store new articles and hits, send alerts."""
    config = load_config(config_dir)
    summary = run_pass(config, PREFECT_STEPS)
    engine = open_database(config.settings.database_url)
    try:
        hits = list_hits(engine, hit_ids=summary.hit_ids)
    finally:
        engine.dispose()
    publish_pass_artifacts(summary, hits)
    _rename_run(f"monitor {summary.started_at:%Y-%m-%d %H:%M} - {summary.headline()}")
    get_run_logger().info("pass finished:\n%s", summary.to_text())
    return summary


def _rename_run(name: str) -> None:
    run_id = flow_run.get_id()
    if run_id:
        with get_client(sync_client=True) as client:
            client.update_flow_run(run_id, name=name)
