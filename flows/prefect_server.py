"""Start, or reuse, the local Prefect server that keeps run history and artifacts.

Without `PREFECT_API_URL`, Prefect would start a temporary server inside every process:
slow to start and gone at exit, with its runs. newswatch instead runs one persistent
`prefect server` on 127.0.0.1:4200 backed by SQLite under `data/prefect/`, started in
the background on first use and reused after, so the UI at http://127.0.0.1:4200 shows
every past run. Analytics are off. Set PREFECT_API_URL to use any other server.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from prefect.settings import PREFECT_API_URL, temporary_settings

DEFAULT_PORT = 4200
START_TIMEOUT_SECONDS = 120


class PrefectServerError(RuntimeError):
    """The local Prefect server could not be started; the message says where its log is."""


def local_api_url(port: int = DEFAULT_PORT) -> str:
    return f"http://127.0.0.1:{port}/api"


def is_healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def start_local_server(home: Path, port: int = DEFAULT_PORT) -> str:
    """Start `prefect server` in the background (it outlives this process); wait until healthy."""
    api_url = local_api_url(port)
    if is_healthy(api_url):
        return api_url
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "server.log"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home.resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": "",
    }
    with open(log_path, "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if is_healthy(api_url):
            return api_url
        time.sleep(0.5)
    raise PrefectServerError(f"the Prefect server did not start within {START_TIMEOUT_SECONDS} s; see {log_path}")


@contextlib.contextmanager
def prefect_api(home: Path) -> Iterator[str]:
    """Use the configured PREFECT_API_URL, else the local persistent server."""
    configured = PREFECT_API_URL.value()
    if configured:
        yield configured
        return
    api_url = start_local_server(home)
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        yield api_url
