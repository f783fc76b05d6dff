"""The dead-man's switch as every pass checks it: is the monitor itself failing?

A pass calls `check_before_pass` when it starts and `check_after_pass` once its feeds are
polled and stored (before alerts are sent, so its notices leave with them). Three
conditions, each an incident of `store.health` (told once, and once more when it is over):

- stalled: `watchdog.missed_passes` scheduled runs came and went after the last completed
  pass (`stall_deadline`). Only a pass that runs can see this, so under `serve` with a Prefect
  notification block the Prefect server tells it instead (`flows.stall_automation`), and
  the pass only records it (`notify_stalls=False`). The pass that completes ends it and
  tells so (Prefect's open-source server cannot tell a recovery).
- every feed this pass polled failed (a pass where at least one feed answers ends it);
- a feed that answers but has said nothing new for `watchdog.silent_feed_factor` times its
  usual gap (the median gap between its last HISTORY_ITEMS items, once it has
  `silent_feed_min_items`; never less than one scheduled interval, the finest gap a
  pass can see). Its next new item ends it. Failing feeds are told of by parking instead.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from itertools import islice
from zoneinfo import ZoneInfo

from cronsim import CronSim
from sqlalchemy import Engine

from config.models import Config, Schedule, WatchdogSettings
from flows.redaction import redact
from store import FeedState
from store.health import (IncidentNotice, PassRecord, close_incident, item_histories, last_completed_pass,
                          last_item_at, open_incident, open_incidents, record_completed_pass)

STALLED = "stalled"
STALL_WATCH_TAG = "newswatch-stall-watch"  # on a deployment whose stalls Prefect tells (flows.stall_automation)
ALL_FEEDS_FAILED = "all_feeds_failed"
SILENT_FEED = "feed_silent:"
HISTORY_ITEMS = 20
ANSWERED = ("ok", "not_modified")


def scheduled_times(schedule: Schedule, after: datetime) -> Iterator[datetime]:
    """The schedule's run times after `after`: its cron line, or its interval counted from
    midnight in its timezone (as `flows.serve.monitor_schedule` schedules them)."""
    zone = ZoneInfo(schedule.timezone)
    if schedule.cron:
        yield from CronSim(schedule.cron, after.astimezone(zone))
        return
    interval = timedelta(minutes=schedule.interval_minutes or 15)
    anchor = datetime(2020, 1, 1, tzinfo=zone)
    at = anchor + interval * ((after - anchor) // interval + 1)
    while True:
        yield at
        at += interval


def schedule_interval(schedule: Schedule, around: datetime) -> timedelta:
    """The gap between two scheduled runs (for a cron line: between its next two)."""
    first, second = islice(scheduled_times(schedule, around), 2)
    return second - first


def stall_deadline(schedule: Schedule, last_completed: datetime, missed_passes: int) -> datetime:
    """When the monitor counts as stalled: `missed_passes` scheduled runs came and went
    after the last completed pass without one completing (the run due then is the next)."""
    return next(islice(scheduled_times(schedule, last_completed), missed_passes, None))


def check_before_pass(engine: Engine, config: Config, now: datetime, *, notify_stalls: bool = True) -> None:
    """Open the `stalled` incident if no pass has completed for too long (a new database never is)."""
    last = last_completed_pass(engine)
    if last is None:
        return
    watchdog, schedule = config.settings.watchdog, config.settings.schedule
    if now < stall_deadline(schedule, last.finished_at, watchdog.missed_passes):
        return
    gap = now - last.finished_at
    notice = IncidentNotice(
        "monitor_stalled", f"monitor stalled: no pass completed for {_span(gap)}",
        f"No newswatch pass completed between {last.finished_at:%Y-%m-%d %H:%M} UTC and {now:%Y-%m-%d %H:%M} UTC "
        f"(more than {watchdog.missed_passes} scheduled intervals): no feed was polled and no alert sent meanwhile. "
        "Check the scheduler (newswatch serve, cron or systemd) and its log. A pass is running now; you will be "
        "told when one completes.")
    open_incident(engine, STALLED, notice if notify_stalls else None, detail=last.finished_at.isoformat())


def check_after_pass(engine: Engine, config: Config, started_at: datetime, shard: str,
                     polled: Sequence[tuple[FeedState, str]]) -> None:
    """Record the completed pass and end a stall; check the pass's feeds. `polled`: each
    feed this pass polled with its outcome's status (`ok`, `not_modified`, `failed`)."""
    record = PassRecord(shard, started_at, datetime.now(timezone.utc), len(polled),
                        sum(status not in ANSWERED for _, status in polled))
    record_completed_pass(engine, record)
    close_incident(engine, STALLED, IncidentNotice(  # told either way: Prefect has no "resolved" to tell it
        "monitor_recovered", "monitor running again: a pass completed",
        f"A newswatch pass completed at {record.finished_at:%Y-%m-%d %H:%M} UTC; feeds are polled and alerts "
        "sent again. Hits of the missed time are picked up from the feeds that still list them."))
    check_all_failed(engine, record, polled)
    answered = [feed for feed, status in polled if status in ANSWERED]
    check_silent_feeds(engine, config, answered, record.finished_at)


def check_all_failed(engine: Engine, record: PassRecord, polled: Sequence[tuple[FeedState, str]]) -> None:
    if not polled:
        return
    key = ALL_FEEDS_FAILED if record.shard == "0/1" else f"{ALL_FEEDS_FAILED}:{record.shard}"
    if any(status in ANSWERED for _, status in polled):
        close_incident(engine, key, IncidentNotice(
            "feeds_working", "feeds working again", f"In the pass of {record.started_at:%Y-%m-%d %H:%M} UTC, "
            f"{sum(status in ANSWERED for _, status in polled)} of {len(polled)} feeds answered."))
        return
    names = ", ".join(feed.name for feed, _ in polled[:5]) + (f" and {len(polled) - 5} more" if len(polled) > 5 else "")
    open_incident(engine, key, IncidentNotice(
        "all_feeds_failed", f"every feed failed: {len(polled)} of {len(polled)}",
        f"Every feed polled in the pass of {record.started_at:%Y-%m-%d %H:%M} UTC failed ({names}). Nothing new "
        "can be found until they answer: check this machine's network, DNS and proxy settings, and "
        "newswatch run's feed errors. You will be told when feeds work again."))


def usual_gap(times: Sequence[datetime], min_items: int) -> timedelta | None:
    """The median gap between consecutive item times (oldest first); None with too little history."""
    if len(times) < min_items:
        return None
    return statistics.median(later - earlier for earlier, later in zip(times, times[1:]))


def check_silent_feeds(engine: Engine, config: Config, answered: Sequence[FeedState], now: datetime) -> None:
    """Open `feed_silent:<id>` for the feeds that answered this pass and are silent; close it
    for those that brought an item newer than the one they were silent after. Only feeds
    quiet for longer than the least silence that can count, and not told of already, have
    their history read."""
    watchdog = config.settings.watchdog
    interval = schedule_interval(config.settings.schedule, now)
    last_items = last_item_at(engine, [feed.id for feed in answered])
    silent_after = {incident.key: json.loads(incident.detail or "{}").get("last_item_at")
                    for incident in open_incidents(engine, SILENT_FEED)}
    quiet = [feed for feed in answered if f"{SILENT_FEED}{feed.id}" not in silent_after and feed.id in last_items
             and now - last_items[feed.id] > watchdog.silent_feed_factor * interval]
    histories = item_histories(engine, [feed.id for feed in quiet], HISTORY_ITEMS)
    for feed in quiet:
        last, gap = last_items[feed.id], usual_gap(histories[feed.id], watchdog.silent_feed_min_items)
        if gap is not None and now - last > watchdog.silent_feed_factor * max(gap, interval):
            open_incident(engine, f"{SILENT_FEED}{feed.id}", _silent_notice(feed, last, now - last, gap, watchdog),
                          detail=json.dumps({"feed": feed.name, "url": redact(feed.url), "last_item_at": last.isoformat(),
                                             "usual_gap_hours": round(gap.total_seconds() / 3600, 2)}))
    for feed in answered:
        last, silent_since = last_items.get(feed.id), silent_after.get(key := f"{SILENT_FEED}{feed.id}")
        if last is not None and silent_since and last > datetime.fromisoformat(silent_since):
            close_incident(engine, key, IncidentNotice(
                "feed_publishing", f"feed publishing again: {feed.name}",
                f"The feed {feed.name} ({redact(feed.url)}) has new items again (the last at {last:%Y-%m-%d %H:%M} UTC)."))


def _silent_notice(feed: FeedState, last: datetime, quiet_for: timedelta, gap: timedelta,
                   watchdog: WatchdogSettings) -> IncidentNotice:
    return IncidentNotice(
        "feed_silent", f"feed silent: {feed.name} (nothing new for {_span(quiet_for)})",
        f"The feed {feed.name} ({redact(feed.url)}) answers but has had no new item since {last:%Y-%m-%d %H:%M} UTC, "
        f"{_span(quiet_for)} ago; it usually publishes every {_span(gap)} (median gap of its last items), and the "
        f"limit is {watchdog.silent_feed_factor:g} times that. The publisher may have moved or frozen the feed: "
        "open it in a browser and update feeds.yaml. You will be told when it publishes again.")


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    return f"{hours:.1f} hours" if hours >= 1 else f"{max(1, round(hours * 60))} minutes"
