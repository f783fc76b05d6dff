"""`newswatch serve` that keeps passing on schedule while the Prefect API is away.

Prefect's runner (`prefect.serve`) learns of its scheduled runs from the API: with the API gone
it starts nothing, retries, and after three failed polls stops. So serve runs two things:

- the runner, in the main thread, while the API answers; when it stops because the API is
  lost, serve waits for the API and serves again (the deployments are applied again, so their
  schedules are active); newswatch's own local server is started again if it stopped;
- a standby clock, a thread that follows the same schedule. At each scheduled time, plus
  STANDBY_GRACE_SECONDS, it asks the API's health check (`flows.fallback.unreachable_reason`):
  unreachable, the pass runs without Prefect and is recorded (one line says so); reachable, the
  passes the UI missed are published, and the scheduled runs of the outage that Prefect still
  holds (Late) are cancelled with a message naming why, so the runner does not run them all on
  its return. The clock never runs a pass while the API answers: then the runner does.

Two passes may meet (a Late run the runner took before it was cancelled, beside a pass of the
clock): the store and the outbox keep that harmless (each article stored and alerted once).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from cronsim import CronSim

from config.models import Config, Schedule
from flows.fallback import catch_up_ui, run_without_prefect, unreachable_line, unreachable_reason
from flows.prefect_client import PrefectApiError

STANDBY_GRACE_SECONDS = 5.0  # after a scheduled time: the runner has started its run by then
WAIT_FOR_API_SECONDS = 5.0  # between health checks while the API is away
ANCHOR = datetime(2020, 1, 1)  # intervals count from midnight, as `flows.serve.monitor_schedule`


def next_slot(schedule: Schedule, after: datetime) -> datetime:
    """The first scheduled time strictly after `after` (aware), as `flows.serve` schedules it."""
    zone = ZoneInfo(schedule.timezone)
    if schedule.cron:
        local = after.astimezone(zone).replace(tzinfo=None)
        return next(iter(CronSim(schedule.cron, local))).replace(tzinfo=zone).astimezone(timezone.utc)
    every = timedelta(minutes=schedule.interval_minutes or 15)
    anchor = ANCHOR.replace(tzinfo=zone)
    steps = (after - anchor) // every + 1
    return (anchor + steps * every).astimezone(timezone.utc)


class StandbyClock:
    """The thread that runs the passes Prefect cannot run while its API is away."""

    def __init__(self, config: Config, api_url: str, say: Callable[[str], None],
                 revive: Callable[[], object] | None = None):
        self.config, self.api_url, self.say, self.revive = config, api_url, say, revive
        self.reviving: threading.Thread | None = None
        self.stopped = threading.Event()
        self.outage_slots: list[datetime] = []  # scheduled times this clock passed for Prefect
        self.thread = threading.Thread(target=contextvars.copy_context().run, args=(self.run,),
                                       name="newswatch-standby", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30) -> None:
        self.stopped.set()
        self.thread.join(timeout)

    def run(self) -> None:
        """Wake at each scheduled time (plus the grace); during an outage also every
        WAIT_FOR_API_SECONDS, to hand back to Prefect as soon as its API answers."""
        slot = next_slot(self.config.settings.schedule, datetime.now(timezone.utc))
        while True:
            due = slot + timedelta(seconds=STANDBY_GRACE_SECONDS)
            wait = (due - datetime.now(timezone.utc)).total_seconds()
            if self.outage_slots:
                wait = min(wait, WAIT_FOR_API_SECONDS)
            if self.stopped.wait(max(0.0, wait)):
                return
            try:
                if datetime.now(timezone.utc) >= due:
                    self.check(slot)
                    slot = next_slot(self.config.settings.schedule, max(slot, datetime.now(timezone.utc)))
                elif unreachable_reason(self.api_url, within=0) is None:
                    self.recover()
            except Exception as exc:  # noqa: BLE001 - one failed pass or publication must not stop the clock
                self.say(f"newswatch: standby: {type(exc).__name__}: {exc}; the next scheduled time tries again")
                slot = next_slot(self.config.settings.schedule, max(slot, datetime.now(timezone.utc)))

    def check(self, slot: datetime) -> None:
        """At scheduled time `slot`: pass without Prefect if its API is away, else catch the UI up."""
        reason = unreachable_reason(self.api_url)
        if reason is None:
            self.recover()
            return
        self.say(unreachable_line(self.api_url, reason, what=f"the pass of {slot:%H:%M:%S}"))
        self.revive_server()
        summary = run_without_prefect(self.config, reason)
        self.outage_slots.append(slot)
        self.say(f"newswatch: the pass of {slot:%H:%M:%S} without Prefect: {summary.headline()}, "
                 f"alerts {summary.alerts_sent} sent, {summary.alerts_failed} failed, {summary.alerts_pending} waiting")

    def revive_server(self) -> None:
        """Start newswatch's own local server again, in a thread of its own (a start takes up to
        its start timeout; the pass does not wait for it). Prefect's runner, still retrying,
        finds it; if the runner gave up, serve's main loop serves again."""
        if self.revive is None or (self.reviving is not None and self.reviving.is_alive()):
            return

        def revive() -> None:
            try:
                self.revive()
            except PrefectApiError as exc:
                self.say(f"newswatch: the local Prefect server could not be started again: {exc}")

        self.reviving = threading.Thread(target=revive, name="newswatch-revive", daemon=True)
        self.reviving.start()

    def recover(self) -> None:
        """The API answers: cancel the outage's leftover scheduled runs, publish what the UI missed."""
        if self.outage_slots:
            self.say(f"newswatch: Prefect API {self.api_url} is back: serving through Prefect again")
            cancel_outage_runs(self.outage_slots[-1])
            self.outage_slots = []
        catch_up_ui(self.config, self.say)


def cancel_outage_runs(last_slot: datetime) -> int:
    """Cancel the monitor deployment's runs still Scheduled for a time up to `last_slot`: the
    standby clock passed them without Prefect. How many were cancelled."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (DeploymentFilter, DeploymentFilterName, FlowRunFilter,
                                                FlowRunFilterExpectedStartTime, FlowRunFilterState,
                                                FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled

    from flows.serve import MONITOR_DEPLOYMENT

    cancelled = 0
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[MONITOR_DEPLOYMENT])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                expected_start_time=FlowRunFilterExpectedStartTime(before_=last_slot + timedelta(seconds=1))))
        for run in runs:
            result = client.set_flow_run_state(run.id, Cancelled(
                message="Prefect's API was not reached at this time: the pass ran without Prefect "
                        "(see the run tagged ran-without-prefect)"))
            cancelled += result.status.value == "ACCEPT"
    return cancelled


def serve_with_standby(config: Config, api_url: str, serve_runner: Callable[[Config], None],
                       say: Callable[[str], None], revive: Callable[[], object] | None = None) -> None:
    """Run `serve_runner(config)` (Prefect's runner) while the API answers, and a StandbyClock
    beside it; returns when the runner returns (Ctrl-C). `revive`, for newswatch's own local
    server, starts it again while it does not answer."""
    clock = StandbyClock(config, api_url, say, revive)
    clock.start()
    try:
        while True:
            wait_for_api(api_url, say, revive)
            try:
                serve_runner(config)
                return
            except Exception as exc:  # noqa: BLE001 - re-raised unless the API is what went away
                reason = unreachable_reason(api_url)
                if reason is None:
                    raise
                say(f"newswatch: Prefect's runner stopped: API {api_url} not reached ({reason}; "
                    f"{type(exc).__name__}); passes go on on schedule without Prefect until it is back")
    except KeyboardInterrupt:  # Ctrl-C while waiting for the API: stop like the runner does
        return
    finally:
        clock.stop()


def wait_for_api(api_url: str, say: Callable[[str], None], revive: Callable[[], object] | None = None) -> None:
    """Return once the API answers its health check; say once that serve waits for it. With
    `revive`, ask for the local server to be started again at each check (it is reused when it
    answers, waited for while it starts, and a wedged one is reported)."""
    reason = unreachable_reason(api_url)
    if reason is None:
        return
    say(f"newswatch: Prefect API {api_url} not reached ({reason}): passes run on schedule without Prefect; "
        "serving through Prefect again as soon as it answers")
    reported: set[str] = set()
    while unreachable_reason(api_url, within=0) is not None:
        if revive is not None:
            try:
                revive()
                continue
            except PrefectApiError as exc:  # said once per distinct problem, tried again after a while
                if str(exc) not in reported:
                    reported.add(str(exc))
                    say(f"newswatch: the local Prefect server could not be started again: {exc}")
        time.sleep(WAIT_FOR_API_SECONDS)
    say(f"newswatch: Prefect API {api_url} is back: serving through Prefect again")
