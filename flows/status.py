"""`newswatch status`: the monitor's health at a glance, as plain data (the CLI prints it).

Read from the database and the schedule, never from a pass: the stall is computed from
the last completed pass and the schedule now, so a monitor whose scheduler died (and
whose passes therefore cannot open the incident) still shows as stalled. The Prefect API
is the one `run` and `serve` would use (PREFECT_API_URL, else the local server), asked
only for its health (2 s at most), never started.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from prefect.settings import PREFECT_API_URL

from config.models import Config
from flows.prefect_server import PrefectServerError, configured_port, is_healthy, local_api_url
from flows.watchdog import SILENT_FEED, scheduled_times, stall_deadline
from store import database, delivery_counts
from store.health import FeedHealth, feed_health, last_completed_pass, notice_counts, open_incidents
from store.views import iso_utc


def collect_status(config: Config, now: datetime | None = None) -> dict:
    """The status as the JSON `newswatch status --json` prints (keys documented in the README);
    every time in it is ISO 8601 in UTC with a Z, as in `hits --json`."""
    now = now or datetime.now(timezone.utc)
    with database(config.settings.database_url) as engine:
        last = last_completed_pass(engine)
        feeds = feed_health(engine, [feed.url for feed in config.feeds])
        incidents = open_incidents(engine)
        deliveries, notices = delivery_counts(engine), notice_counts(engine)
    schedule = config.settings.schedule
    deadline = stall_deadline(schedule, last.finished_at, config.settings.watchdog.missed_passes) if last else None
    return {
        "last_completed_pass": None if last is None else {
            "started_at": iso_utc(last.started_at), "finished_at": iso_utc(last.finished_at), "shard": last.shard,
            "feeds_polled": last.feeds_polled, "feeds_failed": last.feeds_failed},
        "next_scheduled_pass": iso_utc(next(scheduled_times(schedule, now))),
        "schedule": f"cron {schedule.cron}" if schedule.cron else f"every {schedule.interval_minutes:g} minutes",
        "timezone": schedule.timezone,
        "stalled": deadline is not None and now >= deadline,
        "feeds": {
            "total": len(config.feeds),
            "failing": [_feed(feed) for feed in feeds if feed.error_count and not feed.parked],
            "parked": [_feed(feed) for feed in feeds if feed.parked],
            "silent": [_silent(incident) for incident in incidents if incident.key.startswith(SILENT_FEED)],
        },
        "alerts": {"pending": deliveries.get("pending", 0) + deliveries.get("sending", 0),
                   "dead": deliveries.get("dead", 0)},
        "operator_notices": {"pending": notices.get("pending", 0) + notices.get("sending", 0),
                             "dead": notices.get("dead", 0), "unrouted": notices.get("unrouted", 0)},
        "incidents": [{"key": incident.key, "opened_at": iso_utc(incident.opened_at)} for incident in incidents],
        "prefect_api": prefect_api_in_use(),
    }


def _feed(feed: FeedHealth) -> dict:
    return {"name": feed.name, "url": feed.url, "errors_in_a_row": feed.error_count, "last_error": feed.last_error,
            "last_ok_at": iso_utc(feed.last_ok_at)}


def _silent(incident) -> dict:
    detail = json.loads(incident.detail or "{}")
    last_item = detail.get("last_item_at")
    return {"name": detail.get("feed"), "url": detail.get("url"),
            "last_item_at": iso_utc(datetime.fromisoformat(last_item)) if last_item else None,
            "usual_gap_hours": detail.get("usual_gap_hours"), "since": iso_utc(incident.opened_at)}


def prefect_api_in_use() -> dict:
    """{"url", "source", "reachable"}: PREFECT_API_URL when set, else the local server's address."""
    configured = PREFECT_API_URL.value()
    if configured:
        return {"url": configured, "source": "PREFECT_API_URL", "reachable": is_healthy(configured)}
    try:
        url = local_api_url(configured_port())
    except PrefectServerError as exc:
        return {"url": None, "source": f"local server: {exc}", "reachable": False}
    return {"url": url, "source": "local server", "reachable": is_healthy(url)}
