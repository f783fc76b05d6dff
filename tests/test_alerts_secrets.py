"""Secrets in channel URLs never leave the environment.

A canary token is planted in channel URLs through `${ENV}` placeholders. Deliveries fail
(500, refused connection, SMTP login) and succeed, in-process and in a full `newswatch
run` under a real Prefect API; then the canary is searched for in the SQLite files'
bytes, every captured log record, stdout and stderr, and the Prefect API's flow runs
(parameters), logs and artifacts. It must be found nowhere.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from alerts import send_pending
from config import load_config
from store import open_database
from store.tables import utcnow
from tests.alerts_support import add_feeds, match_article, seed_article, settings, store_article
from tests.conftest import DEMO_PAGES, rss, write_config
from tests.localservers import WebhookReceiver

CANARY = f"cnry{uuid.uuid4().hex}"


def channels_with_canary(webhook: WebhookReceiver, broken: WebhookReceiver, smtp) -> dict:
    return {
        "good-hook": {"url": webhook.apprise_url("/hook/${NW_CANARY}")},
        "bad-hook": {"url": broken.apprise_url("/x").replace("json://", "json://bot:${NW_CANARY}@")},
        "refused": {"url": "json://127.0.0.1:9/${NW_CANARY}"},
        "bad-mail": {"url": f"mailto://desk:${{NW_CANARY}}@127.0.0.1:{smtp.port}"
                            "?to=desk@example.org&from=newswatch@example.org&mode=insecure"},
        "operator": {"url": webhook.apprise_url("/ops/${NW_CANARY}")},
    }


def database_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in directory.glob("newswatch.db*"))


@pytest.fixture
def broken():
    receiver = WebhookReceiver()
    receiver.status = 500
    yield receiver
    receiver.close()


def test_canary_in_channel_urls_never_reaches_logs_errors_or_database(tmp_path, webhook, broken, smtp,
                                                                       monkeypatch, caplog):
    monkeypatch.setenv("NW_CANARY", CANARY)
    caplog.set_level(logging.DEBUG)
    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/feed.xml"}],
                             channels=channels_with_canary(webhook, broken, smtp))
    config = load_config(directory)
    assert CANARY in config.channels["good-hook"].url  # the placeholder was filled from the environment
    engine = open_database(config.settings.database_url)
    feed = add_feeds(engine, "Local Daily")["Local Daily"]
    store_article(engine, feed, seed_article(), match_article(seed_article()), config.channels)
    now = utcnow()
    reports = []
    for _ in range(3):
        reports.append(send_pending(engine, config.channels, settings(max_attempts=2), now=now))
        now += timedelta(days=1)
    engine.dispose()

    assert reports[0].sent >= 1 and reports[0].failed >= 3 and reports[1].dead >= 3
    assert webhook.received  # the good hook and the operator got their messages
    everything = " ".join(r.getMessage() + str(r.args) for r in caplog.records)
    everything += json.dumps([r.errors for r in reports]) + json.dumps([vars(r) for r in reports], default=str)
    everything += json.dumps(webhook.received) + json.dumps(broken.received)
    assert "json://***" in everything or "mailto://***" in everything or "***" in everything
    leaks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if CANARY in r.getMessage()]
    assert not leaks, leaks
    assert CANARY not in everything
    assert CANARY.encode() not in database_bytes(directory)


@pytest.mark.slow
def test_canary_never_reaches_stdout_stderr_database_or_prefect(prefect_harness, tmp_path, site, webhook, broken,
                                                                smtp):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    seed = site.add("/news/dprk.html", (DEMO_PAGES / "seed_article.html").read_bytes())
    site.add("/rss.xml", rss([{"title": "North Korean missiles", "link": seed}]), content_type="application/rss+xml")
    directory = write_config(tmp_path / "config", feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily"}],
                             channels=channels_with_canary(webhook, broken, smtp))
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "NW_CANARY": CANARY}
    outputs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "newswatch", "run", "--config", str(directory)],
                              capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
    assert webhook.received and "failed" in outputs[0]

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
        logs = client.read_logs()
        artifacts = client.read_artifacts()
    prefect_text = json.dumps([run.model_dump(mode="json") for run in runs])
    prefect_text += json.dumps([log.model_dump(mode="json") for log in logs])
    prefect_text += json.dumps([artifact.model_dump(mode="json") for artifact in artifacts])
    assert str(directory) in prefect_text  # we are looking at this test's runs
    assert CANARY not in "".join(outputs)
    assert CANARY not in prefect_text
    assert CANARY.encode() not in database_bytes(directory)
