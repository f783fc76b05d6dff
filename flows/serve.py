"""`newswatch serve`: the monitor and the digests as long-running Prefect deployments.

One process serves the `monitor` deployment on the schedule of `settings.yaml` (an
interval, or a cron line in a timezone) and one `digest` deployment per channel with
`mode: digest`, on that channel's `digest_cron` and `timezone`.

No overlap: each deployment has a concurrency limit of 1 with the collision strategy
CANCEL_NEW. The Prefect server enforces it when a scheduled run is about to start
(Scheduled -> Pending): while a run of the deployment is still going, the next one is set
to Cancelled with the message "Deployment concurrency limit reached." (the runner logs
"Aborted submission ..."), so it shows in the UI as a skipped run and never runs in
parallel. Runs that pile up as Late are cancelled the same way. The next scheduled run
after the long one has finished runs normally, and the outbox makes up for what was skipped.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval, Schedule

from config.models import ChannelConfig, Config
from flows.monitor import monitor
from flows.stall_automation import register_stall_watch, remove_stall_watch
from flows.watchdog import STALL_WATCH_TAG

MONITOR_DEPLOYMENT = "newswatch-monitor"
TAGS = ["newswatch"]


def one_at_a_time() -> ConcurrencyLimitConfig:
    """At most one run of a deployment at a time; a run that would overlap is cancelled."""
    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def monitor_schedule(config: Config) -> Schedule:
    """The settings' cron line, or their interval counted from midnight in their timezone,
    so `interval_minutes: 15` runs at :00, :15, :30, :45 whenever serve was (re)started."""
    schedule = config.settings.schedule
    if schedule.cron:
        return Cron(schedule.cron, timezone=schedule.timezone)
    anchor = datetime(2020, 1, 1, tzinfo=ZoneInfo(schedule.timezone))
    return Interval(timedelta(minutes=schedule.interval_minutes or 15), anchor_date=anchor,
                    timezone=schedule.timezone)


def monitor_deployment(config: Config) -> RunnerDeployment:
    return monitor.to_deployment(
        name=MONITOR_DEPLOYMENT,
        schedules=[monitor_schedule(config)],
        parameters={"config_dir": str(Path(config.directory).resolve())},
        concurrency_limit=one_at_a_time(),
        tags=TAGS + ([STALL_WATCH_TAG] if config.settings.watchdog.prefect_notification_block else []),
        description="Poll the feeds, store new articles and hits, send alerts.",
    )


def digest_channels(config: Config) -> list[ChannelConfig]:
    return [channel for channel in config.channels.values() if channel.mode == "digest" and channel.digest_cron]


def digest_deployment_name(channel: ChannelConfig) -> str:
    return "newswatch-digest-" + ("-".join(re.findall(r"[a-z0-9]+", channel.name.lower())) or "channel")


def digest_deployments(config: Config) -> list[RunnerDeployment]:
    """One deployment of the `digest` flow per digest channel (none: flows.digest is not imported)."""
    channels = digest_channels(config)
    if not channels:
        return []
    from flows.digest import digest  # imported only when a channel needs it

    return [
        digest.to_deployment(
            name=digest_deployment_name(channel),
            schedules=[Cron(channel.digest_cron, timezone=channel.timezone)],
            parameters={"config_dir": str(Path(config.directory).resolve()), "channel": channel.name},
            concurrency_limit=one_at_a_time(),
            tags=TAGS + ["digest"],
            description=f"Send the digest of channel '{channel.name}'.",
        )
        for channel in channels
    ]


def all_deployments(config: Config) -> list[RunnerDeployment]:
    return [monitor_deployment(config), *digest_deployments(config)]


def serve_monitor(config: Config) -> None:
    """Serve the monitor and digest deployments until stopped (Ctrl-C pauses their schedules).
    With a Prefect notification block configured, the monitor deployment is applied first so
    the stall automation (`flows.stall_automation`) can watch its runs."""
    deployments = all_deployments(config)
    if config.settings.watchdog.prefect_notification_block:
        register_stall_watch(config, deployments[0].apply())
    elif remove_stall_watch():
        print("newswatch: removed the Prefect automation of a former watchdog.prefect_notification_block; "
              "stalls are told by the passes themselves", file=sys.stderr)
    serve(*deployments)
