"""The README's deploy section, run as written for a process work pool against a real local
`prefect server`: create the pool, `prefect deploy --name monitor-process` from the
repository root, and a process worker picks up a run of the deployment and completes it
(against a feed on 127.0.0.1, so the run needs no internet)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO_PAGES, REPO, rss, write_config

PREFECT = str(Path(sys.executable).with_name("prefect"))


def readme_deploy_commands() -> list[str]:
    """The shell lines of the README's process-pool block, `.venv/bin/prefect ...`."""
    section = (REPO / "README.md").read_text().split("## Deploying", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def prefect_cli(api_url: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_CLI_PROMPT": "false"}
    done = subprocess.run([PREFECT, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_readme_deploy_block_is_pool_create_deploy_worker():
    commands = readme_deploy_commands()
    assert commands == [
        ".venv/bin/prefect work-pool create newswatch-process --type process",
        ".venv/bin/prefect deploy --name monitor-process",
        ".venv/bin/prefect worker start --pool newswatch-process",
    ]


@pytest.mark.slow
def test_prefect_deploy_from_the_repo_root_and_a_process_worker_runs_it(prefect_server, site, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    seed = site.add("/news/dprk.html", (DEMO_PAGES / "seed_article.html").read_bytes())
    site.add("/rss.xml", rss([{"title": "North Korea shipped missiles", "link": seed}]),
             content_type="application/rss+xml")
    config = write_config(tmp_path / "config", feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily"}])

    create, deploy, worker = (command.removeprefix(".venv/bin/prefect ").split() for command in readme_deploy_commands())
    prefect_cli(prefect_server, *create)
    prefect_cli(prefect_server, *deploy)

    with temporary_settings(updates={PREFECT_API_URL: prefect_server}), get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("monitor/monitor-process")
        assert deployment.work_pool_name == "newswatch-process"
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.concurrency_options.collision_strategy.value == "CANCEL_NEW"
        assert deployment.schedules and deployment.schedules[0].schedule.interval.total_seconds() == 900
        # this test's run only: the deployment's own 15-minute schedule would poll the real feeds
        client.pause_deployment(deployment.id)
        for run in client.read_flow_runs():
            if run.deployment_id == deployment.id and run.state_type.value == "SCHEDULED":
                client.delete_flow_run(run.id)
        run = client.create_flow_run_from_deployment(deployment.id, parameters={"config_dir": str(config)})

        prefect_cli(prefect_server, *worker, "--run-once", "--limit", "1", timeout=300)

        finished = client.read_flow_run(run.id)
        assert finished.state_type.value == "COMPLETED", finished.state
        assert finished.name.startswith("monitor ") and finished.name.endswith("hits")
        assert finished.work_pool_name == "newswatch-process"
