"""A real `prefect server` for tests: its own PREFECT_HOME in tmp, a free port, stopped after.

Started through `flows.prefect_server.start_local_server`, the code `newswatch run` uses."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_prefect_server(home: Path) -> Iterator[str]:
    """Yield the API URL of a fresh local Prefect server; stop it (and its children) after."""
    from flows.prefect_server import start_local_server, stop_local_server

    try:
        yield start_local_server(home, free_port())
    finally:
        stop_local_server(home)
