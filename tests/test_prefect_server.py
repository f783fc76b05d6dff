"""The local persistent Prefect server: started once and reused, never confused with a
program that merely holds the port, and a failed start says where the log is."""

from __future__ import annotations

import socket
import sys

import httpx
import pytest

from flows import prefect_server
from flows.prefect_server import PrefectServerError, is_healthy, server_pid, start_local_server


def test_a_port_held_by_another_program_is_refused_with_what_to_do(tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(PrefectServerError) as error:
            start_local_server(tmp_path / "home", port)
    message = str(error.value)
    assert f"127.0.0.1:{port} is already in use" in message
    assert "NEWSWATCH_PREFECT_PORT" in message and "PREFECT_API_URL" in message
    assert not (tmp_path / "home" / "server.pid").exists()


def test_a_server_that_dies_while_starting_is_reported_with_its_log(tmp_path, monkeypatch):
    from tests.prefectserver import free_port

    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(PrefectServerError) as error:
        start_local_server(tmp_path / "home", free_port())
    assert "exited with code 1 while starting" in str(error.value)
    assert str(tmp_path / "home" / "server.log") in str(error.value)
    assert server_pid(tmp_path / "home") is None


def test_a_stale_pid_file_is_ignored(tmp_path):
    (tmp_path / "server.pid").write_text("999999999")
    assert server_pid(tmp_path) is None
    (tmp_path / "server.pid").write_text("not a pid")
    assert server_pid(tmp_path) is None


def test_the_port_can_be_configured_and_is_validated(monkeypatch):
    monkeypatch.setenv("NEWSWATCH_PREFECT_PORT", "4317")
    assert prefect_server.configured_port() == 4317
    monkeypatch.setenv("NEWSWATCH_PREFECT_PORT", "http")
    with pytest.raises(PrefectServerError, match="not a port number"):
        prefect_server.configured_port()


@pytest.mark.slow
def test_a_running_server_is_reused_and_serves_the_ui(prefect_server, tmp_path):
    port = int(prefect_server.rsplit(":", 1)[1].split("/")[0])
    assert is_healthy(prefect_server)
    assert start_local_server(tmp_path / "other-home", port) == prefect_server  # reused, nothing started
    assert not (tmp_path / "other-home").exists()
    page = httpx.get(prefect_server.removesuffix("/api") + "/", timeout=10, trust_env=False)
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_one_shot_runs_skip_heartbeats_unless_the_user_asks_for_them(monkeypatch):
    """`newswatch run` turns Prefect's flow-run heartbeat off (nothing listens to it by
    default, and its thread holds every run's end up to a second); a user who set the
    heartbeat frequency keeps it."""
    from prefect.settings import get_current_settings

    from flows.prefect_server import one_shot_run_settings

    for name in ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY"):
        monkeypatch.delenv(name, raising=False)
    with one_shot_run_settings():
        assert get_current_settings().flows.heartbeat_frequency is None
    monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "60")
    with one_shot_run_settings():
        assert get_current_settings().flows.heartbeat_frequency is not None
