"""`newswatch serve` for real: a 1-minute schedule against a real `prefect server`, with a
feed whose first answer takes longer than a minute. The scheduled run that would overlap
the slow one is cancelled ("Deployment concurrency limit reached."), never run beside it,
and the run after it runs on time. Each run is named after the minute it was scheduled for,
in the schedule's timezone with the zone shown, in the UI and in serve's own log.
Observes about two and a half minutes, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import pytest

from config import load_config
from flows.serve import MONITOR_DEPLOYMENT, all_deployments, monitor_schedule
from tests.conftest import REPO, rss, write_config
from tests.localservers import FeedServer

SLOW_SECONDS = 70
OBSERVE_SECONDS = 240
SERVE_ZONE = "Asia/Kolkata"  # UTC+05:30: a name in UTC or in the process's clock cannot pass for it


class SlowFeed(FeedServer):
    """An RSS feed on 127.0.0.1 whose first answer takes `delay` seconds; later ones are instant."""

    def __init__(self, delay: float):
        self.requests: list[float] = []

        def before_answer() -> None:
            self.requests.append(time.time())
            if len(self.requests) == 1:
                time.sleep(delay)

        super().__init__(rss([{"title": "Seoul weather turns cold", "link": "http://127.0.0.1:9/none"}]).encode(),
                         before_answer)

    def url(self) -> str:
        return super().url("/slow.xml")


def test_serve_builds_the_monitor_deployment_from_settings(tmp_path):
    config = load_config(write_config(tmp_path / "c", feeds=[{"url": "http://127.0.0.1:9/f.xml"}],
                                      settings={"schedule": {"cron": "*/5 * * * *", "timezone": "Asia/Seoul"}}))
    cron = monitor_schedule(config)
    assert cron.cron == "*/5 * * * *" and cron.timezone == "Asia/Seoul"
    every = monitor_schedule(load_config(write_config(tmp_path / "i", feeds=[{"url": "http://127.0.0.1:9/f.xml"}],
                                                      settings={"schedule": {"interval_minutes": 15}})))
    assert every.interval.total_seconds() == 900 and (every.anchor_date.minute, every.anchor_date.second) == (0, 0)
    (deployment,) = all_deployments(config)  # no digest channel: only the monitor
    assert deployment.name == MONITOR_DEPLOYMENT
    assert deployment.concurrency_limit == 1
    assert deployment.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    assert deployment.parameters == {"config_dir": str(config.directory)}


def test_digest_channels_get_their_own_deployment_on_their_cron(tmp_path):
    pytest.importorskip("flows.digest", reason="flows/digest.py (the digest flow) has not landed yet")
    config = load_config(write_config(
        tmp_path / "c", feeds=[{"url": "http://127.0.0.1:9/f.xml"}],
        channels={"morning": {"url": "json://127.0.0.1:9/hook", "mode": "digest", "digest_cron": "0 8 * * *",
                              "timezone": "Asia/Seoul"},
                  "now": {"url": "json://127.0.0.1:9/hook"}}))
    monitor, digest = all_deployments(config)
    assert digest.name == "newswatch-digest-morning" and digest.flow_name == "digest"
    assert digest.parameters == {"config_dir": str(config.directory), "channel": "morning"}
    schedule = digest.schedules[0].schedule
    assert schedule.cron == "0 8 * * *" and schedule.timezone == "Asia/Seoul"
    assert digest.concurrency_limit == 1


def _monitor_runs(client):
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    runs = client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[MONITOR_DEPLOYMENT])))
    return sorted(runs, key=lambda run: run.expected_start_time)


@pytest.mark.slow
def test_serve_runs_every_minute_and_never_overlaps_a_slow_run(prefect_server, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    feed = SlowFeed(SLOW_SECONDS)
    config = write_config(tmp_path / "config", feeds=[{"url": feed.url(), "name": "Slow Feed"}],
                          channels={"yearly": {"url": "json://127.0.0.1:9/hook", "mode": "digest",
                                               "digest_cron": "0 0 1 1 *", "timezone": "Asia/Seoul"}},
                          settings={"schedule": {"interval_minutes": 1, "timezone": SERVE_ZONE},
                                    "fetch": {"timeout_seconds": 150}})
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    log = open(tmp_path / "serve.log", "w+")
    serve = subprocess.Popen([sys.executable, "-m", "newswatch", "serve", "--config", str(config)], cwd=REPO,
                             env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with temporary_settings(updates={PREFECT_API_URL: prefect_server}), get_client(sync_client=True) as client:
            runs = _observe(client, serve)
            digest = client.read_deployment_by_name("digest/newswatch-digest-yearly")
    finally:
        _stop(serve)
        feed.close()
        log.seek(0)
        output = log.read()
        log.close()

    assert digest.schedules[0].schedule.cron == "0 0 1 1 *" and digest.schedules[0].schedule.timezone == "Asia/Seoul"
    assert digest.parameters == {"config_dir": str(config), "channel": "yearly"}
    assert digest.global_concurrency_limit.limit == 1
    states = [(run.state_type.value, run.state.message if run.state else None) for run in runs]
    ran = [run for run in runs if run.state_type.value != "CANCELLED"]
    cancelled = [run for run in runs if run.state_type.value == "CANCELLED"]
    assert cancelled, (states, output[-3000:])
    assert all("Deployment concurrency limit reached" in run.state.message for run in cancelled), states
    assert "Aborted submission" in output or "concurrency" in output.lower(), output[-3000:]
    first, *later = ran
    assert first.state_type.value == "COMPLETED" and first.total_run_time.total_seconds() > 60, states
    assert later and later[0].state_type.value == "COMPLETED", states
    for earlier, after in zip(ran, ran[1:]):  # never two at once
        assert earlier.end_time is not None and earlier.end_time <= after.start_time, states
    expected = [run.expected_start_time for run in runs]
    assert all(abs((b - a).total_seconds() - 60) < 1 for a, b in zip(expected, expected[1:]))  # every minute
    skipped = cancelled[0].expected_start_time
    assert first.start_time < skipped < first.end_time  # the cancelled one was due while the slow run ran
    assert abs((later[0].start_time - later[0].expected_start_time).total_seconds()) < 30  # next one on time
    assert len(feed.requests) == len(ran)
    for run in ran:  # named after the minute it was due, in the schedule's zone, here and in serve's log
        due = f"monitor {run.expected_start_time.astimezone(ZoneInfo(SERVE_ZONE)):%Y-%m-%d %H:%M} {SERVE_ZONE}"
        assert run.name == f"{due} - 0 hits", (run.name, due)
        assert f"Flow run '{due}'" in output, (due, output[-3000:])
    assert len({run.name for run in ran}) == len(ran)
    print("serve observed:", [(run.name, run.state_type.value, run.expected_start_time.isoformat(),
                               run.total_run_time.total_seconds()) for run in runs])


def _observe(client, serve: subprocess.Popen) -> list:
    """Poll the API until a slow run completed, one overlapping run was cancelled and the
    following run completed; at most OBSERVE_SECONDS."""
    deadline = time.monotonic() + OBSERVE_SECONDS
    while time.monotonic() < deadline:
        assert serve.poll() is None, "newswatch serve exited"
        runs = _monitor_runs(client)
        done = [run for run in runs if run.state_type.value in ("COMPLETED", "CANCELLED", "FAILED", "CRASHED")]
        if len([run for run in done if run.state_type.value == "COMPLETED"]) >= 2 and \
                any(run.state_type.value == "CANCELLED" for run in done):
            return [run for run in runs if run in done]
        time.sleep(3)
    raise AssertionError(f"not seen in {OBSERVE_SECONDS} s: {[(r.name, r.state_type.value) for r in runs]}")


def _stop(process: subprocess.Popen) -> None:
    """Ctrl-C as a user would (serve pauses its schedule), then make sure the group is gone."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def test_serve_says_what_to_do_when_the_local_prefect_port_is_taken(tmp_path):
    import socket

    config = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/f.xml"}])
    workdir = tmp_path / "work"
    workdir.mkdir()
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
        env["NEWSWATCH_PREFECT_PORT"] = str(other.getsockname()[1])
        done = subprocess.run([sys.executable, "-m", "newswatch", "serve", "--config", str(config)], cwd=workdir,
                              env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "is already in use by a program that is not a healthy Prefect server" in done.stderr
    assert "NEWSWATCH_PREFECT_PORT" in done.stderr
