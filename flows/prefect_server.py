"""Start, or reuse, the local Prefect server that keeps run history and artifacts.

Without `PREFECT_API_URL`, Prefect would start a temporary server inside every process:
slow to start and gone at exit, with its runs. newswatch instead runs one persistent
`prefect server` on 127.0.0.1:4200 (or `NEWSWATCH_PREFECT_PORT`) backed by SQLite in its home,
`prefect/` in the config's data directory (`local_server_home`), started in the background on
first use and reused after, so the UI shows every past run. Analytics are off. Set PREFECT_API_URL to use any other server.

Contract of `start_local_server`: it returns the API URL of a healthy server, or raises
`PrefectServerError` with a message that says what to do and where the log is. It never
starts a second server over one of its own that is still starting (a lock and a pid file
in the home folder), and never talks to a program that merely happens to hold the port.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_UI_URL, temporary_settings

from flows.prefect_client import PrefectApiError, check_server_version

DEFAULT_PORT = 4200
PORT_VARIABLE = "NEWSWATCH_PREFECT_PORT"
START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 20
WEDGED_GRACE_SECONDS = 6  # a server started before its start timeout that still does not answer


class PrefectServerError(PrefectApiError):
    """The local Prefect server could not be started; the message says why and where its log is."""


class ServerStopped(PrefectServerError):
    """The server this home had started stopped while it was waited for."""


def configured_port() -> int:
    """The local server's port: NEWSWATCH_PREFECT_PORT, else 4200."""
    value = os.environ.get(PORT_VARIABLE, "").strip()
    if not value:
        return DEFAULT_PORT
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise PrefectServerError(f"{PORT_VARIABLE}={value!r} is not a port number (1-65535)")
    return int(value)


def local_server_home(data_dir: str | os.PathLike[str]) -> Path:
    """The local server's PREFECT_HOME: `prefect/` in the data directory, so its run history
    stays beside the database whatever directory a command is started from."""
    return Path(data_dir) / "prefect"


def local_api_url(port: int = DEFAULT_PORT) -> str:
    return f"http://127.0.0.1:{port}/api"


def is_healthy(api_url: str) -> bool:
    """True when a Prefect API answers its health check at `api_url`."""
    try:
        response = httpx.get(f"{api_url}/health", timeout=2, trust_env=False, verify=False)  # http://127.0.0.1
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.text.strip() == "true"


def is_port_taken(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def server_pid(home: Path) -> int | None:
    """The pid of the server this home started, if that process is still alive."""
    try:
        pid = int((home / "server.pid").read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:
        return pid
    return pid


def start_local_server(home: Path, port: int | None = None) -> str:
    """Reuse the healthy server on `port`, else start `prefect server` in the background
    (it outlives this process) and wait until it is healthy."""
    port = configured_port() if port is None else port
    api_url = local_api_url(port)
    if is_healthy(api_url):
        return api_url
    home.mkdir(parents=True, exist_ok=True)
    with _start_lock(home):
        if is_healthy(api_url):
            return api_url
        pid = server_pid(home)
        if pid is not None:
            try:
                return _wait_healthy(api_url, home, None, pid=pid, within=_start_window(home))
            except ServerStopped:  # it was on its way out (stopped, or crashed): start a new one
                (home / "server.pid").unlink(missing_ok=True)
        _refuse_foreign_port(port, home)
        process = _spawn_server(home, port)
        return _wait_healthy(api_url, home, process)


def stop_local_server(home: Path) -> bool:
    """Stop the server this home started (SIGTERM, then SIGKILL); True if one was running."""
    pid = server_pid(home)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and server_pid(home) is not None and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        _signal_group(pid, signal.SIGKILL)
    if server_pid(home) in (pid, None):  # not a new server's, started meanwhile (serve revives its own)
        (home / "server.pid").unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


@contextlib.contextmanager
def _start_lock(home: Path) -> Iterator[None]:
    """One starter at a time per home: two commands started together share one server."""
    with open(home / "server.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _refuse_foreign_port(port: int, home: Path) -> None:
    if is_port_taken(port):
        raise PrefectServerError(
            f"127.0.0.1:{port} is already in use by a program that is not a healthy Prefect server "
            f"(and not one started from {home}). Stop that program, or set {PORT_VARIABLE} to a free "
            "port, or set PREFECT_API_URL to the Prefect server you want to use."
        )


def _spawn_server(home: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PREFECT_HOME": str(home.resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": "",
        # the UI asks this URL for its data; left to itself it would assume port 4200
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_UI_API_URL": local_api_url(port),
    }
    with open(home / "server.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port),
             "--analytics-off"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )
    (home / "server.pid").write_text(str(process.pid))
    return process


def _start_window(home: Path) -> float:
    """How long to wait for this home's live server to answer: what is left of its start
    timeout, or WEDGED_GRACE_SECONDS for a server started longer ago than that, which is
    wedged, not starting (callers run their pass without Prefect instead of waiting minutes)."""
    try:
        age = time.time() - (home / "server.pid").stat().st_mtime
    except FileNotFoundError:
        return START_TIMEOUT_SECONDS
    return max(WEDGED_GRACE_SECONDS, START_TIMEOUT_SECONDS - age)


def _wait_healthy(api_url: str, home: Path, process: subprocess.Popen | None, pid: int | None = None,
                  within: float = START_TIMEOUT_SECONDS) -> str:
    """Wait for the server to answer; raise with the log's path and last lines if it cannot."""
    log_path = home / "server.log"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if is_healthy(api_url):
            return api_url
        if pid is not None and not _alive(pid):
            raise ServerStopped(f"the Prefect server (pid {pid}) stopped")
        if process is not None and process.poll() is not None:
            (home / "server.pid").unlink(missing_ok=True)
            raise PrefectServerError(f"the Prefect server exited with code {process.returncode} while starting; "
                                     f"see {log_path}:\n{_log_tail(log_path)}")
        time.sleep(0.5)
    which = f"the Prefect server (pid {pid or process.pid})"
    raise PrefectServerError(f"{which} did not answer at {api_url} within {round(within)} s; "
                             f"see {log_path}. If it is stuck, stop it (kill {pid or process.pid}) and retry.")


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def ui_url(api_url: str) -> str:
    """The Prefect UI that goes with the API in use: PREFECT_UI_URL when set (or derived by
    Prefect from PREFECT_API_URL), else the API URL without its `/api`."""
    return PREFECT_UI_URL.value() or api_url.rstrip("/").removesuffix("/api")


def local_server_reviver(home: Path) -> Callable[[], str] | None:
    """For `serve`: what starts the local server kept in `home` again if it stops (a crash, a
    reboot of its process); None when PREFECT_API_URL names the server to use. Called before
    `prefect_api`, which sets PREFECT_API_URL for the local server."""
    if PREFECT_API_URL.value():
        return None
    port = configured_port()
    return lambda: start_local_server(home, port)


def one_shot_run_settings() -> contextlib.AbstractContextManager:
    """Settings for a run the caller waits on (`newswatch run`): no flow-run heartbeat
    unless PREFECT_FLOWS_HEARTBEAT_FREQUENCY asks for one. Heartbeats only feed a
    zombie-run automation the user would have to create, and the engine joins the
    heartbeat thread, which sleeps in steps, at the end of every run: each pass would end
    up to one step later for a feature nobody asked for."""
    heartbeat_variables = ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY")
    if any(os.environ.get(name) for name in heartbeat_variables):
        return contextlib.nullcontext()
    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


@contextlib.contextmanager
def prefect_api(home: Path) -> Iterator[str]:
    """Use the configured PREFECT_API_URL, else the local persistent server; either way after
    `check_server_version` (raises PrefectApiError on a server of another major version)."""
    configured = PREFECT_API_URL.value()
    if configured:
        check_server_version(configured)
        yield configured
        return
    api_url = start_local_server(home)
    check_server_version(api_url)
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        yield api_url
