"""The Prefect flow `monitor`: one pass of newswatch, visible in the Prefect UI.

The flow is `flows.run_pass.run_pass` with its two steps called as tasks that take the
pass's context and plain data and return plain data: `poll-feeds` carries a batch of up to
POLL_BATCH feeds through poll, parse, fetch, extract, match and save (a Prefect task costs
milliseconds of orchestration, so one per feed made a 1,000-feed pass take minutes), run
`poll NAME` or `poll N feeds (NAME, ...)`; `deliver-alerts` sends the outbox. The run ends
with the artifacts of `flows.artifacts`. The run is renamed after what it did (`monitor
2026-11-27 08:15 - 3 hits`) and tagged. A run is named after the minute it was *scheduled*
for, in the schedule's timezone, zone shown (`monitor 2026-11-27 08:15 Asia/Seoul`), so a
served run due at 08:15 is never called 08:14 because its process started early; `newswatch
demo` runs are tagged `demo` and named `demo ...`.

Failures: a feed that fails (unreachable, bad status, unparsable) gets a small task run of
its own, `feed failed: NAME`, in a Failed state whose message is the error class and the
redacted message (at most MAX_FAILED_FEED_TASKS a pass; all of them are in the feed-health
artifact), while the pass goes on and the flow run completes. Those task runs are written
through the API, not run: a run of a failing task printed its failure three times in the
terminal (with an empty `NoneType: None` traceback), where the feed's one warning says it.
Every `newswatch.*` warning of the pass, from any thread, is in the run's logs
(`flows.run_logs`). Retries (with exponential backoff and jitter) are only for transient
database or network errors that escape a task: a batch polled again finds the entries it
stored already seen, and the relay sends only pending rows, so no work is stored or sent
twice (a feed's validators are saved only after its entries).

`shard`/`shards` split the feeds between deployments: shard k of N polls only the feeds
whose URL hashes to k (`flows.run_pass.Shard`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, tags, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run
from prefect.states import Failed, Running
from prefect.tasks import exponential_backoff
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from alerts import RelayReport
from config import ConfigError, load_config
from flows.artifacts import feed_error, publish_pass_artifacts, run_side_by_side
from flows.briefing import read_briefings
from flows.run_logs import newswatch_logs_in_run
from flows.run_pass import PassRun, Shard, deliver_alerts, process_feeds
from flows.stages import FeedOutcome, PassContext
from flows.watchdog import STALL_WATCH_TAG
from flows.summary import PassSummary
from store import FeedState, database, list_hits


TRANSIENT_ERRORS = (OperationalError, InterfaceError, DisconnectionError, ConnectionError, TimeoutError)
RULE_HISTORY_ROWS = 100


def is_transient(task, task_run, state) -> bool:
    """Retry condition: only errors a second attempt can cure (a locked or dropped database)."""
    try:
        state.result()
    except TRANSIENT_ERRORS:
        return True
    except BaseException:
        return False
    return False


IO_RETRIES = dict(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=2), retry_jitter_factor=0.5,
                  retry_condition_fn=is_transient)


MAX_FAILED_FEED_TASKS = 10  # each is two API calls after the pass; the feed-health artifact lists them all


def batch_label(feeds: list[FeedState]) -> str:
    return feeds[0].name if len(feeds) == 1 else f"{len(feeds)} feeds ({feeds[0].name}, ...)"


@task(name="poll-feeds", task_run_name="poll {label}", cache_policy=NO_CACHE, **IO_RETRIES)
def process_feeds_task(ctx: PassContext, feeds: list[FeedState], label: str) -> list[FeedOutcome]:
    """A batch of feeds through `flows.run_pass.process_feeds`; a feed's own trouble is in its
    outcome, never raised."""
    return process_feeds(ctx, feeds)


@task(name="feed-failed", task_run_name="feed failed: {name}", cache_policy=NO_CACHE)
def report_failed_feed(name: str, message: str):
    """The task of the Failed `feed failed: NAME` runs in the UI, one per failed feed (the pass
    goes on). Its runs are recorded by `report_failed_feeds`, never run: see the module's doc."""
    return Failed(message=message)


@task(name="deliver-alerts", cache_policy=NO_CACHE, **IO_RETRIES)
def deliver_alerts_task(ctx: PassContext) -> RelayReport:
    return deliver_alerts(ctx)


def report_failed_feeds(summary: PassSummary) -> None:
    """One Failed task run per failed feed (at most MAX_FAILED_FEED_TASKS), written through
    the API beside each other: it shows in the UI, and prints nothing (the feed's warning did)."""
    failed = [outcome for outcome in summary.feeds if outcome.status == "failed"][:MAX_FAILED_FEED_TASKS]
    run_id = flow_run.get_id()
    if not failed or not run_id:
        return
    with get_client(sync_client=True) as client:
        run_side_by_side([(_record_failed_feed, dict(client=client, flow_run_id=run_id, index=index, name=o.feed,
                                                     message=f"feed {o.feed}: {feed_error(o)}"))
                          for index, o in enumerate(failed)])


def _record_failed_feed(client, flow_run_id, index: int, name: str, message: str) -> None:
    """A task run `feed failed: NAME` that ran once (Running) and failed with `message`."""
    task_run = client.create_task_run(report_failed_feed, flow_run_id, dynamic_key=f"feed-failed-{index}",
                                      name=f"feed failed: {name}", state=Running())
    client.set_task_run_state(task_run.id, Failed(message=message), force=True)


def run_label() -> str:
    """`monitor 2026-11-27 08:15 Asia/Seoul`: the minute the run was scheduled for (for a run
    started by hand, when it was created), in the schedule's timezone; `demo ...` for a demo."""
    prefix = "demo" if "demo" in flow_run.get_tags() else "monitor"
    zone = schedule_timezone(flow_run.get_parameters().get("config_dir", "config"))
    when = flow_run.get_scheduled_start_time().astimezone(ZoneInfo(zone))
    return f"{prefix} {when:%Y-%m-%d %H:%M} {zone}"


def schedule_timezone(config_dir: str) -> str:
    """settings `schedule.timezone`; UTC when the config cannot be read (the run then says why)."""
    try:
        return load_config(config_dir).settings.schedule.timezone
    except ConfigError:
        return "UTC"


def run_demo_pass(config_dir: str) -> PassSummary:
    """`newswatch demo`'s pass: the monitor, its run tagged `demo` and named `demo ...`."""
    with tags("demo"):
        return monitor(config_dir=config_dir)


@flow(name="monitor", flow_run_name=run_label, log_prints=True)
def monitor(config_dir: str = "config", shard: int = 0, shards: int = 1) -> PassSummary:
    """Poll the feeds in `config_dir` (only shard `shard` of `shards`, counted from 0),
    store new articles and hits, send pending alerts, publish the run's artifacts."""
    config = load_config(config_dir)
    this_shard = Shard(shard, shards)
    watched = STALL_WATCH_TAG in flow_run.get_tags()  # Prefect itself tells this deployment's stalls
    with newswatch_logs_in_run(), PassRun(config, this_shard, notify_stalls=not watched) as run:
        for feeds in run.batches():
            run.add_feeds(process_feeds_task(run.ctx, feeds, batch_label(feeds)))
        run.queue_events()
        run.add_relay(deliver_alerts_task(run.ctx))
    summary = run.summary
    report_failed_feeds(summary)
    hits, history = read_hits(config.settings.database_url, summary.hit_ids)
    rename = (_label_run, dict(summary=summary, shard=this_shard))
    briefings = read_briefings(config.settings.database_url, history) if history else {}
    publish_pass_artifacts(summary, hits, history, also=[rename], briefings=briefings,
                           instance=config.settings.instance)
    get_run_logger().info("pass finished: %s", summary.headline_line())
    return summary


def read_hits(database_url: str, hit_ids: list[int]):
    """This run's stored hits, and for each rule among them its most recent stored hits.
    A pass without hits does not open the database again (10-20 ms of a quiet pass)."""
    if not hit_ids:
        return [], {}
    with database(database_url) as engine:
        hits = list_hits(engine, hit_ids=hit_ids)
        rules = sorted({hit.rule for hit in hits})
        return hits, {rule: list_hits(engine, rule=rule, limit=RULE_HISTORY_ROWS) for rule in rules}


def run_tags(summary: PassSummary, shard: Shard) -> list[str]:
    """Tags that make runs filterable in the UI: hits, failed feeds, failed alerts, shard."""
    tags = ["newswatch"]
    tags += ["hits"] if summary.hits + summary.baseline_hits else []
    tags += ["feed-failures"] if summary.feeds_failed else []
    tags += ["alert-failures"] if summary.alerts_failed else []
    tags += [f"shard-{shard.index}-of-{shard.count}"] if shard.count > 1 else []
    return tags


def _label_run(summary: PassSummary, shard: Shard) -> None:
    run_id = flow_run.get_id()
    if not run_id:
        return
    part = f" [shard {shard.index}/{shard.count}]" if shard.count > 1 else ""
    name = f"{run_label()}{part} - {summary.run_title()}"
    existing = flow_run.get_tags()  # the run's own, from its context: no API call
    with get_client(sync_client=True) as client:
        client.update_flow_run(run_id, name=name, tags=sorted(set(existing) | set(run_tags(summary, shard))))
