"""A real `prefect server` for tests: its own PREFECT_HOME in tmp, a free port, stopped after.

Started through `flows.prefect_server.start_local_server`, the code `newswatch run` uses."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# the scheduler looks for runs to create every 5 s instead of 60 s, so a served deployment's
# first scheduled runs exist within seconds; everything else is the server as users run it
SERVER_ENV = {"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5"}


@contextlib.contextmanager
def running_prefect_server(home: Path) -> Iterator[str]:
    """Yield the API URL of a fresh local Prefect server; stop it (and its children) after."""
    from flows.prefect_server import start_local_server, stop_local_server

    saved = {name: os.environ.get(name) for name in SERVER_ENV}
    os.environ.update(SERVER_ENV)
    try:
        try:
            api_url = start_local_server(home, free_port())
        finally:
            for name, value in saved.items():
                os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
        yield api_url
    finally:
        stop_local_server(home)
