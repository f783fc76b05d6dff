"""A Prefect API over plain http: its version is checked once, by newswatch, with a clear
error on a server of another major version. Anything else (https, redirects, credentials)
is left to Prefect's own checks. Fake servers are real HTTP servers on 127.0.0.1
(pytest-httpserver)."""

from __future__ import annotations

import os
import subprocess
import sys

import prefect
import pytest
from packaging.version import Version

from flows.prefect_client import PrefectApiError, check_server_version
from tests.conftest import write_config

THIS_PREFECT = Version(prefect.__version__)


def api_of(httpserver, version: str | None = None, status: int = 200, headers: dict | None = None) -> str:
    """The API URL of a fake server whose /api/admin/version answers `version` (JSON) with `status`."""
    httpserver.expect_request("/api/admin/version").respond_with_json(version, status=status, headers=headers)
    return httpserver.url_for("/api")


def test_a_compatible_http_server_is_checked_once_and_passes_quietly(httpserver, capsys):
    check_server_version(api_of(httpserver, prefect.__version__))
    assert len(httpserver.log) == 1
    assert capsys.readouterr().err == ""


def test_a_server_of_another_major_version_is_refused_with_what_to_do(httpserver):
    other = f"{THIS_PREFECT.major - 1}.20.0"
    with pytest.raises(PrefectApiError) as error:
        check_server_version(api_of(httpserver, other))
    message = str(error.value)
    assert f"runs Prefect {other}" in message and f"uses Prefect {THIS_PREFECT}" in message
    assert "major versions must match" in message and "server.pid" in message


def test_an_older_server_of_the_same_major_version_is_a_warning(httpserver, capsys):
    older = f"{THIS_PREFECT.major}.0.0"
    if Version(older) >= THIS_PREFECT:
        pytest.skip(f"Prefect {THIS_PREFECT} has no older release of its major version")
    check_server_version(api_of(httpserver, older))
    assert f"runs Prefect {older}, older than this installation's {THIS_PREFECT}" in capsys.readouterr().err


@pytest.mark.parametrize("answer", ["redirect", "credentials", "not-prefect"])
def test_an_api_that_does_not_answer_its_version_itself_is_left_to_prefect(httpserver, answer, capsys):
    """Each answer but its flaw is a good one: the redirect leads to a valid version, the 401
    carries one, the last is a 200 without one."""
    httpserver.expect_request("/elsewhere/admin/version").respond_with_json(prefect.__version__)
    api_url = {
        "redirect": lambda: api_of(httpserver, None, status=302,
                                   headers={"Location": httpserver.url_for("/elsewhere/admin/version")}),
        "credentials": lambda: api_of(httpserver, prefect.__version__, status=401),
        "not-prefect": lambda: api_of(httpserver, "not a version"),
    }[answer]()
    check_server_version(api_url)  # neither an error nor a warning
    assert capsys.readouterr().err == ""
    assert [request.path for request, _ in httpserver.log] == ["/api/admin/version"]  # no redirect followed


def test_an_https_api_is_left_to_prefect_without_a_request(monkeypatch):
    import httpx

    def no_request(*args, **kwargs):
        raise AssertionError("an https API was probed")

    monkeypatch.setattr(httpx, "get", no_request)
    check_server_version("https://127.0.0.1:1/api")


def test_newswatch_run_against_a_server_of_another_major_version_says_so_and_exits_1(httpserver, tmp_path):
    other = f"{THIS_PREFECT.major + 1}.0.0"
    api_url = api_of(httpserver, other)
    config = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/rss.xml", "name": "Nowhere"}])
    done = subprocess.run([sys.executable, "-m", "newswatch", "run", "--config", str(config)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PREFECT_API_URL": api_url})
    assert done.returncode == 1, done.stderr
    assert f"newswatch: the Prefect server at {api_url} runs Prefect {other}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "config" / "newswatch.db").exists()  # refused before the pass began
