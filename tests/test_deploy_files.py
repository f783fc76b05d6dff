"""Dockerfile and compose.yaml pass their linters, pin their images, run as non-root, and
build newswatch the way the README installs it; prefect.yaml's deployments are consistent."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text())


def test_dockerfile_passes_hadolint():
    done = subprocess.run([str(BIN / "hadolint"), "--failure-threshold", "info", "Dockerfile"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_file_is_valid_against_the_compose_spec():
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_pins_images_and_runs_nothing_as_root():
    services = COMPOSE["services"]
    assert {"postgres", "prefect-server", "worker"} <= set(services)
    for name, service in services.items():
        image = service.get("image", "")
        if "build" in service:
            assert service["build"] == "." and image == "newswatch:local", name
        else:
            assert re.fullmatch(r"[\w./-]+:\d+\.\d+(\.\d+)?-[\w.-]+|[\w./-]+@sha256:[0-9a-f]{64}", image), \
                f"{name}: unpinned image {image!r}"
        assert service.get("user") not in (None, "root", "0", "0:0"), f"{name} runs as root"


def test_compose_stores_prefect_and_newswatch_on_postgres():
    services = COMPOSE["services"]
    server_env = services["prefect-server"]["environment"]
    assert server_env["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")
    worker_env = services["worker"]["environment"]
    assert worker_env["NEWSWATCH_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert worker_env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    deploy = " ".join(services["deploy"]["command"])
    assert "work-pool create newswatch-process --type process" in deploy and "deploy --name monitor-process" in deploy
    assert "@" not in server_env["PREFECT_API_DATABASE_CONNECTION_URL"].split("${POSTGRES_PASSWORD")[0].split("//")[1]


def test_dockerfile_ships_what_prefect_deploy_needs():
    dockerfile = (REPO / "Dockerfile").read_text()
    copied = " ".join(re.findall(r"^COPY (.+)$", dockerfile, re.M))
    for path in ("requirements.lock", "pyproject.toml", "prefect.yaml", "flows/", "config/"):
        assert path in copied, f"{path} is not copied into the image"
    entrypoints = {d["entrypoint"].split(":")[0] for d in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]}
    assert all(entry.split("/")[0] + "/" in copied for entry in entrypoints)


def test_prefect_yaml_deployments_run_one_at_a_time_and_shards_cover_every_feed():
    deployments = yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]
    for deployment in deployments:
        assert deployment["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}, deployment["name"]
    shards = sorted((d["parameters"]["shard"], d["parameters"]["shards"]) for d in deployments
                    if "shard" in d.get("parameters", {}))
    assert shards == [(0, 3), (1, 3), (2, 3)]
