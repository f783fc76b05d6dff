"""`newswatch serve`: the monitor as a long-running Prefect deployment on a schedule."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from prefect.schedules import Cron, Interval

from config.models import Config
from flows.monitor import monitor


def monitor_schedule(config: Config):
    schedule = config.settings.schedule
    if schedule.cron:
        return Cron(schedule.cron, timezone=schedule.timezone)
    return Interval(timedelta(minutes=schedule.interval_minutes or 15), timezone=schedule.timezone)


def serve_monitor(config: Config) -> None:
    """Serve the monitor deployment; a run never overlaps the previous one (global limit 1)."""
    monitor.serve(
        name="newswatch-monitor",
        schedules=[monitor_schedule(config)],
        parameters={"config_dir": str(Path(config.directory).resolve())},
        global_limit=1,
        tags=["newswatch"],
        description="Poll the feeds, store new articles and hits, send alerts.",
    )
