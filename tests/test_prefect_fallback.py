"""Alerts don't depend on the UI: with the Prefect API unreachable, `newswatch run` still polls,
stores and alerts (real feed site, real webhook receiver), says so in one line and exits 0;
the next run that reaches the API publishes the missed pass as a flow run with its artifacts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest

from config import load_config
from flows.artifacts import rule_key
from flows.fallback import PROBE_SECONDS, summary_from_json, unreachable_reason
from flows.run_pass import run_pass
from store import database
from store.missed import claim_missed_runs, count_unpublished, record_missed_run, release_missed_run
from tests.conftest import DEMO_PAGES, REPO, rss, write_config
from tests.localservers import free_port


def newswatch(*argv: str, api_url: str, cwd=REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_API_URL": api_url}
    return subprocess.run([sys.executable, "-m", "newswatch", *argv], capture_output=True, text=True, env=env,
                          timeout=300, cwd=cwd)


@pytest.fixture
def dprk_site(site, webhook, tmp_path):
    seed = site.add("/news/dprk-missiles.html", (DEMO_PAGES / "seed_article.html").read_bytes())
    site.add("/rss.xml", rss([{"title": "South Korea calls Russia 'self-contradictory'", "link": seed}]),
             content_type="application/rss+xml")
    config = write_config(tmp_path / "config", feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily"}],
                          channels={"team-hook": {"url": webhook.apprise_url()}})
    return config, seed


def hits_of(config) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "newswatch", "hits", "--config", str(config), "--json"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    return json.loads(done.stdout)


def test_a_closed_port_is_unreachable_within_seconds():
    started = time.monotonic()
    reason = unreachable_reason(f"http://127.0.0.1:{free_port()}/api")
    assert reason and "refused" in reason
    assert time.monotonic() - started < 15


def test_a_server_that_starts_within_the_probe_is_not_taken_for_unreachable(tmp_path):
    """A server that opens its port two seconds after the check began is 'slow to start', not down."""
    port = free_port()
    script = ("import time, http.server as h; time.sleep(2)\n"
              "class H(h.BaseHTTPRequestHandler):\n"
              "    def do_GET(self):\n"
              "        self.send_response(200); self.send_header('Content-Length', '4'); self.end_headers();"
              " self.wfile.write(b'true')\n"
              f"h.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n")
    server = subprocess.Popen([sys.executable, "-c", script])
    try:
        assert unreachable_reason(f"http://127.0.0.1:{port}/api") is None
    finally:
        server.kill()
        server.wait()


def test_a_wedged_local_server_is_given_up_within_seconds_not_its_start_timeout(tmp_path):
    """newswatch's own server, started long ago, holding its port and answering nothing: `run`
    must not wait the two minutes a starting server gets before running without Prefect."""
    from flows.prefect_server import PrefectServerError, START_TIMEOUT_SECONDS, start_local_server

    port, home = free_port(), tmp_path / "home"
    home.mkdir()
    wedged = subprocess.Popen([sys.executable, "-c", "import socket, time; s = socket.socket(); "
                               f"s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(300)"])
    try:
        (home / "server.pid").write_text(str(wedged.pid))
        long_ago = time.time() - START_TIMEOUT_SECONDS - 60
        os.utime(home / "server.pid", (long_ago, long_ago))
        started = time.monotonic()
        with pytest.raises(PrefectServerError, match=f"pid {wedged.pid}.*did not answer"):
            start_local_server(home, port)
        assert time.monotonic() - started < 30
    finally:
        wedged.kill()
        wedged.wait()


def test_a_missed_summary_reads_back_as_the_pass_summary(dprk_site, webhook):
    config_dir, _ = dprk_site
    config = load_config(config_dir)
    summary = run_pass(config)
    again = summary_from_json(json.loads(json.dumps(summary.to_json(), default=str)))
    assert again.to_json() == summary.to_json()
    assert again.hit_ids == summary.hit_ids and again.hit_ids


def test_a_missed_run_is_claimed_by_one_publisher_and_released_on_failure(database_url):
    with database(database_url) as engine:
        missed = record_missed_run(engine, datetime.now(timezone.utc), None, "refused", {"hits": 1})
        (first,) = claim_missed_runs(engine)
        assert first.missed_id == missed and first.summary == {"hits": 1}
        assert claim_missed_runs(engine) == [] and count_unpublished(engine) == 0
        release_missed_run(engine, missed)
        assert count_unpublished(engine) == 1


@pytest.mark.slow
def test_run_without_prefect_alerts_then_the_next_run_publishes_the_missed_pass(prefect_harness, dprk_site,
                                                                                 webhook, site, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.settings import PREFECT_API_URL

    config, seed_url = dprk_site
    closed = f"http://127.0.0.1:{free_port()}/api"
    started = time.monotonic()
    down = newswatch("run", "--config", str(config), api_url=closed)
    elapsed = time.monotonic() - started
    assert down.returncode == 0, down.stderr[-3000:]
    said = [line for line in down.stderr.splitlines() if "not reached" in line]
    assert len(said) == 1 and closed in said[0] and "without Prefect" in said[0], down.stderr[-3000:]
    assert "Traceback" not in down.stderr and "Failed to reach API" not in down.stderr
    hits = hits_of(config)
    assert hits and {hit["url"] for hit in hits} == {seed_url}
    assert len(webhook.received) == len(hits)  # alerted without Prefect, once each
    assert "DPRK arms transfer" in json.dumps(webhook.received)
    print(f"run without Prefect took {elapsed:.1f} s")

    up = newswatch("run", "--config", str(config), "--json", api_url=PREFECT_API_URL.value())
    assert up.returncode == 0, up.stderr[-3000:]
    assert json.loads(up.stdout)["hits"] == 0 and len(webhook.received) == len(hits)  # nothing twice
    assert "published 1 pass(es) that ran without Prefect" in up.stderr

    with get_client(sync_client=True) as client:
        (missed,) = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=["ran-without-prefect"])))
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(id={"any_": [missed.id]}))
    assert missed.state_type.value == "COMPLETED"
    found = len(hits)
    assert missed.name.startswith("monitor ") and " UTC - " in missed.name, missed.name  # when it ran, its zone
    assert missed.name.endswith(f"- {found} hit{'s' if found != 1 else ''} (ran without Prefect)"), missed.name
    published = {a.key: a.data for a in artifacts}
    assert f"]({seed_url})" in published["monitor-hits"] and "DPRK arms transfer" in published["monitor-hits"]
    assert {"monitor-summary", "feed-health"} <= set(published)
    rule = rule_key("DPRK arms transfer", load_config(config).settings.instance)
    assert f"]({seed_url})" in published[rule]  # the rule's briefing under this config's key, as a live run's

    third = newswatch("run", "--config", str(config), api_url=PREFECT_API_URL.value())
    assert third.returncode == 0 and "without Prefect" not in third.stderr  # published once


class HealthServer:
    """A Prefect-like health check on 127.0.0.1: `up()` answers `true`, `down()` closes the port."""

    def __init__(self, port: int):
        self.port, self.process = port, None

    def up(self) -> None:
        script = ("import http.server as h\n"
                  "class H(h.BaseHTTPRequestHandler):\n"
                  "    def do_GET(self):\n"
                  "        self.send_response(200); self.send_header('Content-Length', '4'); self.end_headers();"
                  " self.wfile.write(b'true')\n"
                  "    def log_message(self, *args): pass\n"
                  f"h.HTTPServer(('127.0.0.1', {self.port}), H).serve_forever()\n")
        self.process = subprocess.Popen([sys.executable, "-c", script])

    def down(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


def test_serve_starts_prefects_runner_again_once_the_api_is_back(tmp_path, monkeypatch):
    """Prefect's runner gives up after three failed polls (it raises): serve waits for the API
    to answer and serves again."""
    import flows.standby as standby

    monkeypatch.setattr(standby, "WAIT_FOR_API_SECONDS", 0.2)
    config = load_config(write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/f.xml"}],
                                      settings={"schedule": {"cron": "0 0 1 1 *"}}))
    health = HealthServer(free_port())
    api_url = f"http://127.0.0.1:{health.port}/api"
    said, served = [], []

    def runner(config):
        served.append(time.monotonic())
        if len(served) == 1:
            health.down()  # the API goes away, and the runner gives up as Prefect's does
            threading.Timer(2 * PROBE_SECONDS + 3, health.up).start()  # back after serve's health check gave up
            raise RuntimeError("Service exceeded error threshold.")
        if len(served) == 2:
            return None  # Ctrl-C

    health.up()
    try:
        wait_until(lambda: unreachable_reason(api_url, within=0) is None, 20, "the health server")
        standby.serve_with_standby(config, api_url, runner, said.append)
    finally:
        health.down()
    assert len(served) == 2
    assert any("runner stopped" in line and "not reached" in line for line in said), said
    assert any("is back: serving through Prefect again" in line for line in said), said


INTERVAL_SECONDS = 15
INTERVAL_SECONDS = 15


def wait_until(condition, timeout: float, what: str, serve=None, step: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if serve is not None:
            assert serve.poll() is None, "newswatch serve exited"
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def flow_runs(api_url: str, **filters) -> list:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        return client.read_flow_runs(**filters)


@pytest.mark.slow
def test_serve_keeps_its_schedule_through_a_prefect_server_stopped_for_three_intervals(site, webhook, smtp,
                                                                                      tmp_path):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    from flows.prefect_server import start_local_server, stop_local_server
    from flows.serve import MONITOR_DEPLOYMENT
    from tests.crash_support import RULES, Workload, received_alerts
    from tests.prefectserver import SERVER_ENV

    work = Workload(site, 30)
    config = write_config(tmp_path / "config", rules=RULES,
                          feeds=[{"url": site.url(f"/feed{f}.xml"), "name": f"Feed {f}"} for f in range(4)],
                          channels={"hook": {"url": webhook.apprise_url()}, "mail": {"url": smtp.apprise_url()}},
                          settings={"schedule": {"interval_minutes": INTERVAL_SECONDS / 60}})
    home, port = tmp_path / "prefect-home", free_port()
    os.environ.update(SERVER_ENV)
    try:
        api_url = start_local_server(home, port)
    finally:
        for name in SERVER_ENV:
            os.environ.pop(name)
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    log = open(tmp_path / "serve.log", "w+")
    serve = subprocess.Popen([sys.executable, "-m", "newswatch", "serve", "--config", str(config)], cwd=REPO,
                             env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def passes_without_prefect() -> list[str]:
        return [line for line in (tmp_path / "serve.log").read_text().splitlines() if "runs without Prefect" in line]

    def arrived(count: int):
        return sorted(received_alerts(webhook, smtp)) == sorted(work.expected_alerts(count).elements())

    def completed_monitor_runs():
        runs = flow_runs(api_url)
        return [run for run in runs if run.deployment_id and run.state_type.value == "COMPLETED"]

    phases = {"started": time.monotonic()}
    try:
        shown = 3
        work.reveal(shown)
        wait_until(lambda: arrived(shown) and completed_monitor_runs(), 150, "a first pass through Prefect", serve)
        phases["first pass through Prefect"] = time.monotonic()
        stop_local_server(home)
        down_at = phases["server stopped"] = time.monotonic()
        for _ in range(3):  # three intervals without the API: each pass's new items alert, once
            shown += 3
            work.reveal(shown)
            wait_until(lambda: arrived(shown), 2 * INTERVAL_SECONDS + 20, f"the alerts of items < {shown}", serve)
        assert unreachable_reason(api_url, within=0) is not None  # still down: they came without Prefect
        time.sleep(max(0.0, down_at + 3 * INTERVAL_SECONDS - time.monotonic()))  # down three intervals at least
        outage = time.monotonic() - down_at

        os.environ.update(SERVER_ENV)
        try:
            start_local_server(home, port)
        finally:
            for name in SERVER_ENV:
                os.environ.pop(name)
        back_at = datetime.now(timezone.utc)
        phases["server back"] = time.monotonic()
        wait_until(lambda: any(run.deployment_id and run.start_time and run.start_time > back_at
                               for run in flow_runs(api_url)),
                   90, "a scheduled run started through Prefect after its return", serve, step=2)
        phases["a run through Prefect again"] = time.monotonic()
        def published():
            runs = [run for run in flow_runs(api_url, flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=["ran-without-prefect"]))) if run.state_type.value == "COMPLETED"]
            return runs if len(runs) >= 3 and len(runs) == len(passes_without_prefect()) else None

        missed = wait_until(published, 90, "every pass without Prefect published", serve, step=2)
        phases["missed passes published"] = time.monotonic()
        assert arrived(shown)  # nothing sent twice
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, 2)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, 9)
                serve.wait(10)
        stop_local_server(home)
        log.seek(0)
        output = log.read()
        log.close()
    without = [line for line in output.splitlines() if "runs without Prefect" in line]
    assert len(without) >= 3, output[-4000:]
    assert len(missed) == len(without) and all(run.name.endswith("(ran without Prefect)") for run in missed)
    slots = [datetime.strptime(re.search(r"the pass of (\d\d:\d\d:\d\d)", line).group(1), "%H:%M:%S")
             for line in without]
    assert all((b - a).total_seconds() % INTERVAL_SECONDS == 0 and b > a for a, b in zip(slots, slots[1:])), without
    print({name: round(at - phases["started"]) for name, at in phases.items()})
    print(f"outage {outage:.0f} s, {len(without)} passes without Prefect, {len(missed)} published:",
          [run.name for run in missed])


@pytest.mark.parametrize("status, reachable", [(200, True), (401, True), (404, True), (502, False)])
def test_any_answer_but_a_server_error_counts_as_reachable(httpserver, status, reachable):
    """An API behind credentials (401) is there: Prefect's client reports what is wrong with it;
    a proxy answering 502 for a server that is down is not."""
    httpserver.expect_request("/api/health").respond_with_data("x", status=status)
    assert (unreachable_reason(httpserver.url_for("/api"), within=0) is None) is reachable


@pytest.mark.slow
def test_serve_starts_its_own_local_prefect_server_again_when_it_stops(site, webhook, smtp, tmp_path):
    """No PREFECT_API_URL: serve uses newswatch's local server; killed, it is started again by
    serve (the same home and port, so the history stays), and the passes meanwhile still alert."""
    from flows.prefect_server import local_api_url, stop_local_server
    from tests.crash_support import RULES, Workload, received_alerts
    from tests.prefectserver import SERVER_ENV

    work = Workload(site, 12)
    config = write_config(tmp_path / "config", rules=RULES,
                          feeds=[{"url": site.url(f"/feed{f}.xml"), "name": f"Feed {f}"} for f in range(4)],
                          channels={"hook": {"url": webhook.apprise_url()}, "mail": {"url": smtp.apprise_url()}},
                          settings={"schedule": {"interval_minutes": INTERVAL_SECONDS / 60}})
    port, workdir = free_port(), tmp_path / "work"
    workdir.mkdir()
    api_url = local_api_url(port)
    env = {**{k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}, **SERVER_ENV,
           "NEWSWATCH_PREFECT_PORT": str(port), "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    log = open(tmp_path / "serve.log", "w+")
    serve = subprocess.Popen([sys.executable, "-m", "newswatch", "serve", "--config", str(config)], cwd=workdir,
                             env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def arrived(count: int):
        return sorted(received_alerts(webhook, smtp)) == sorted(work.expected_alerts(count).elements())

    def homes():
        return [pid.parent for pid in tmp_path.rglob("server.pid")]

    try:
        work.reveal(3)
        wait_until(lambda: arrived(3) and any(run.deployment_id and run.state_type.value == "COMPLETED"
                                              for run in flow_runs(api_url)), 180, "a pass through Prefect", serve)
        (home,) = homes()
        stopped_pid = (home / "server.pid").read_text()
        stop_local_server(home)
        work.reveal(6)
        wait_until(lambda: unreachable_reason(api_url, within=0) is None, 150, "the local server started again",
                   serve, step=2)
        assert (home / "server.pid").read_text() != stopped_pid  # a new server, in the same home
        back_at = datetime.now(timezone.utc)
        wait_until(lambda: arrived(6) and any(run.deployment_id and run.start_time and run.start_time > back_at
                                              for run in flow_runs(api_url)),
                   120, "the alerts of the outage, and a run through Prefect again", serve, step=2)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, 2)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, 9)
                serve.wait(10)
        for home in homes():
            stop_local_server(home)
        log.seek(0)
        output = log.read()
        log.close()
    assert arrived(6), output[-3000:]  # each alert once
    assert "newswatch: Prefect API" in output and "is back: serving through Prefect again" in output, output[-3000:]
