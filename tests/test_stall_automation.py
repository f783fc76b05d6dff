"""Prefect's own dead-man's switch, against a real `prefect server` (its triggers and actions
services running as users run them).

`newswatch serve` registers the automation, read back through the Prefect API with the
proactive trigger it must have; and the trigger, armed by a completed run of the monitor
deployment, makes the Prefect server itself send the stall notice to a real webhook
receiver, once, when no other run completes in time (and once more for the next stall,
after a run completed again). The runs are completed through the API: the test is of the
trigger Prefect evaluates, not of a pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from config import load_config
from tests.conftest import REPO, rss, write_config
from tests.test_serve_schedule import _stop


@pytest.fixture
def prefect_api(prefect_server):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        yield prefect_server


def save_webhook_block(webhook, name: str) -> None:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    port = webhook.server.server_address[1]
    CustomWebhookNotificationBlock(name=name, url=f"http://127.0.0.1:{port}/ops",
                                   json_data={"title": "{{subject}}", "message": "{{body}}"}).save(name, overwrite=True)


def watched_config(tmp_path, httpserver, block: str):
    httpserver.expect_request("/feed.xml").respond_with_data(rss([]), content_type="application/rss+xml")
    return write_config(tmp_path / "config", rules="rules: []\n", feeds=[{"url": httpserver.url_for("/feed.xml")}],
                        settings={"schedule": {"interval_minutes": 10},
                                  "watchdog": {"missed_passes": 2, "prefect_notification_block": block}})


def wait_for(read, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = read()
        if found:
            return found
        time.sleep(1)
    return read()


def test_serve_registers_a_proactive_automation_on_the_monitor_deployment(prefect_api, tmp_path, httpserver, webhook):
    from prefect.client.orchestration import get_client
    from prefect.events.schemas.automations import Posture

    from flows.stall_automation import AUTOMATION_NAME
    from flows.watchdog import STALL_WATCH_TAG

    save_webhook_block(webhook, "ops-serve")
    config_dir = watched_config(tmp_path, httpserver, "custom-webhook/ops-serve")
    log = open(tmp_path / "serve.log", "w+")
    serve = subprocess.Popen([sys.executable, "-m", "newswatch", "serve", "--config", str(config_dir)], cwd=REPO,
                             env={**os.environ, "PREFECT_API_URL": prefect_api}, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with get_client(sync_client=True) as client:
            automations = wait_for(lambda: client.read_automations_by_name(AUTOMATION_NAME), 120)
            deployment = client.read_deployment_by_name("monitor/newswatch-monitor")
            block = client.read_block_document_by_name("ops-serve", "custom-webhook")
    finally:
        _stop(serve)
        log.seek(0)
        output = log.read()
        log.close()
    assert len(automations) == 1, output[-3000:]
    trigger, actions = automations[0].trigger, automations[0].actions
    assert trigger.posture == Posture.Proactive
    assert trigger.after == {"prefect.flow-run.Completed"} and trigger.expect == {"prefect.flow-run.Completed"}
    assert trigger.match_related.root == {"prefect.resource.id": f"prefect.deployment.{deployment.id}"}
    assert trigger.for_each == {"related:deployment:prefect.resource.id"}
    assert trigger.threshold == 1 and trigger.within == timedelta(minutes=25)  # 2 intervals of 10 min and a half
    assert [action.type for action in actions] == ["send-notification"]
    assert actions[0].block_document_id == block.id
    assert STALL_WATCH_TAG in deployment.tags


def test_the_prefect_server_tells_a_stall_once_through_the_block(prefect_api, tmp_path, httpserver, webhook):
    from prefect.client.orchestration import get_client

    from flows.serve import monitor_deployment
    from flows.stall_automation import AUTOMATION_NAME, register_stall_watch, remove_stall_watch

    save_webhook_block(webhook, "ops-fire")
    config = load_config(watched_config(tmp_path, httpserver, "custom-webhook/ops-fire"))
    deployment_id = monitor_deployment(config).apply()
    register_stall_watch(config, deployment_id, within=timedelta(seconds=10))  # the least Prefect allows
    time.sleep(5)  # the triggers service loads the new automation
    complete_a_run(deployment_id)  # armed: another must complete within 10 s
    told = wait_for(lambda: list(webhook.received), 90)
    time.sleep(25)  # more windows pass without a completed run: still told once
    assert len(webhook.received) == 1, webhook.received
    assert "monitor stalled" in told[0]["title"] and "newswatch serve" in told[0]["message"]

    complete_a_run(deployment_id)  # the monitor came back, then stalled again: a new incident, told once
    wait_for(lambda: len(webhook.received) > 1, 90)
    time.sleep(15)
    assert len(webhook.received) == 2, webhook.received

    assert remove_stall_watch() == 1  # what serve does once the block setting is gone
    with get_client(sync_client=True) as client:
        assert client.read_automations_by_name(AUTOMATION_NAME) == []


def complete_a_run(deployment_id) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Completed, Running

    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(deployment_id)
        client.set_flow_run_state(run.id, Running(), force=True)
        client.set_flow_run_state(run.id, Completed(), force=True)
