"""What a user sees of a run, against a real local `prefect server` reached the way
`newswatch run` finds it on its own (NEWSWATCH_PREFECT_PORT, no PREFECT_API_URL):
a quiet terminal that names each failed feed once as it fails, the summary once, the
feed warnings in the run's logs in the Prefect API, a run named after its scheduled minute
in the schedule's zone, the UI address actually used; and a demo that stays a demo."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import pytest

from config import load_config
from flows.artifacts import rule_key
from tests.conftest import DEMO_PAGES, rss, write_config
from tests.localservers import free_port

ZONE = "Asia/Kolkata"  # a half-hour offset: a name in UTC, or in no zone, could not pass for it


def run_newswatch(api_url: str, cwd, *argv: str) -> subprocess.CompletedProcess:
    """`newswatch ...` in its own process, finding the local server by its port as users do."""
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    env["NEWSWATCH_PREFECT_PORT"] = api_url.rsplit(":", 1)[1].split("/")[0]
    workdir = cwd / "work"  # not beside config/: `python -m` would import that as the config package
    workdir.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "newswatch", *argv], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=600)


@contextlib.contextmanager
def prefect_client(api_url: str):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        yield client


def flow_runs_of(client, config_dir) -> list:
    return [run for run in client.read_flow_runs(limit=200) if run.parameters.get("config_dir") == str(config_dir)]


def run_warnings(client, run_id, expected: int, seconds: float = 30) -> list[str]:
    """The run's newswatch warnings in the API (logs are sent in batches: wait for them)."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + seconds
    while True:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
        warnings = [log.message for log in logs if log.level == 30 and log.name.startswith("newswatch")]
        if len(warnings) >= expected or time.monotonic() > deadline:
            return warnings
        time.sleep(1)


def test_the_summary_names_the_hits_command_as_the_user_runs_it(monkeypatch, tmp_path):
    """Run through a venv that is not on PATH, `newswatch hits` would not be found: say the path."""
    from newswatch.commands import invoked_as

    script = tmp_path / "venv" / "bin" / "newswatch"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script), "run"])
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    assert invoked_as() == str(script)
    monkeypatch.setenv("PATH", str(script.parent))
    assert invoked_as() == "newswatch"


@pytest.mark.slow
def test_three_unreachable_feeds_are_named_at_most_twice_and_their_warnings_are_in_the_runs_logs(
    prefect_server, site, tmp_path
):
    site.add("/down.xml", "Service Unavailable", content_type="text/plain", status=503)
    feeds = [{"url": site.url("/down.xml"), "name": "Downcast Daily"},
             {"url": f"http://127.0.0.1:{free_port()}/feed.xml", "name": "Refusenik Times"},
             {"url": f"http://127.0.0.1:{free_port()}/rss", "name": "Nowhere Herald"}]
    config = write_config(tmp_path / "config", feeds=feeds,
                          settings={"schedule": {"interval_minutes": 15, "timezone": ZONE}})

    done = run_newswatch(prefect_server, tmp_path, "run", "--config", str(config))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    for feed in feeds:
        assert 1 <= output.count(feed["name"]) <= 2, (feed["name"], output)
    for noise in ("Traceback", "NoneType: None", "UserWarning"):
        assert noise not in output, output
    assert output.count("feeds: 3 configured, 3 polled, 0 ok") == 1  # the summary, once
    warning_lines = [line for line in done.stderr.splitlines() if "WARNING" in line and " failed: " in line]
    assert len(warning_lines) == 3 and all("next try: " in line for line in warning_lines), warning_lines
    assert any("http_5xx" in line or "503" in line for line in warning_lines)
    ui = prefect_server.removesuffix("/api")
    assert done.stdout.rstrip().endswith(f"Prefect UI: {ui}"), done.stdout  # the server used, not :4200
    assert "review past hits: python -m newswatch hits" in done.stdout  # as it was run

    with prefect_client(prefect_server) as client:
        (run,) = flow_runs_of(client, config)
        warnings = run_warnings(client, run.id, expected=3)
        tasks = client.read_task_runs()
    for feed in feeds:
        assert any(message.startswith(f"feed {feed['name']} failed: ") and "next try: " in message
                   for message in warnings), (feed["name"], warnings)
    when = run.expected_start_time.astimezone(ZoneInfo(ZONE))
    assert run.name == f"monitor {when:%Y-%m-%d %H:%M} {ZONE} - 0 hits, 3 of 3 feeds failed"  # not a quiet "0 hits"
    assert f"Flow run 'monitor {when:%Y-%m-%d %H:%M} {ZONE}'" in done.stderr  # the terminal used that name too
    failed = {task.name: task for task in tasks if task.flow_run_id == run.id and task.name.startswith("feed failed")}
    assert set(failed) == {f"feed failed: {feed['name']}" for feed in feeds}
    assert all(task.state.is_failed() and task.run_count == 1 for task in failed.values())


@pytest.mark.slow
def test_the_demo_is_tagged_and_named_a_demo_and_leaves_the_real_rules_artifacts_alone(
    prefect_server, site, tmp_path
):
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    seed = site.add("/news/dprk.html", (DEMO_PAGES / "seed_article.html").read_bytes())
    site.add("/rss.xml", rss([{"title": "South Korea says North Korea shipped missiles", "link": seed}]),
             content_type="application/rss+xml")
    config = write_config(tmp_path / "desk" / "config", feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily",
                                                                 "tags": ["korea"]}])
    real_key = rule_key("DPRK arms transfer", load_config(config).settings.instance)
    assert real_key == "hits-desk-dprk-arms-transfer"  # the instance is the config dir's parent: desk
    done = run_newswatch(prefect_server, tmp_path, "run", "--config", str(config))
    assert done.returncode == 0, done.stderr[-3000:]

    def versions(client, key: str) -> list:
        return client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))

    with prefect_client(prefect_server) as client:
        before = sorted(str(artifact.id) for artifact in versions(client, real_key))
    assert len(before) == 1

    demo = run_newswatch(prefect_server, tmp_path, "demo", "--config", str(config))  # the same rules
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "DPRK arms transfer" in demo.stdout  # the demo found its hit

    with prefect_client(prefect_server) as client:
        after = sorted(str(artifact.id) for artifact in versions(client, real_key))
        demo_runs = [run for run in client.read_flow_runs(limit=200) if "demo" in run.tags]
        demo_versions = versions(client, "hits-newswatch-demo-dprk-arms-transfer")
    assert after == before  # untouched: no new version under the real rule's key
    (demo_run,) = demo_runs
    assert re.fullmatch(r"demo \d{4}-\d\d-\d\d \d\d:\d\d UTC - [1-9]\d* hits?", demo_run.name), demo_run.name
    assert [artifact.flow_run_id for artifact in demo_versions] == [demo_run.id]
    assert f"Flow run 'demo " in demo.stderr


@pytest.mark.slow
def test_a_skipped_page_and_a_failed_alert_are_warnings_in_the_runs_logs(prefect_harness, site, webhook, tmp_path):
    """The warnings logged from the pass's worker threads (the page writer, the alert relay)
    reach the run's logs in the API, in a flow run in this process."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    from flows.monitor import monitor

    gone = site.url("/news/gone.html")  # no route: 404
    site.add("/rss.xml", rss([{"title": "North Korea ships missiles to Russia", "link": gone,
                               "description": "North Korea shipped artillery shells and missiles to Russia."}]),
             content_type="application/rss+xml")
    webhook.status = 500
    config = write_config(tmp_path / "config", feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily"}],
                          channels={"team-hook": {"url": webhook.apprise_url()}})
    state = monitor(config_dir=str(config), return_state=True)
    summary = state.result()
    assert summary.flagged_articles == 1 and summary.hits >= 1 and summary.alerts_failed >= 1

    with get_client(sync_client=True) as client:
        run_id = state.state_details.flow_run_id
        deadline = time.monotonic() + 30
        while True:
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
            warnings = [log.message for log in logs if log.level == 30 and log.name.startswith("newswatch")]
            if len(warnings) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(1)
    assert any(message.startswith("feed Local Daily: 1 page(s) skipped (http_404)") for message in warnings), warnings
    assert any(message.startswith("alert to channel team-hook failed") for message in warnings), warnings
