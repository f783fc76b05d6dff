"""Check a Prefect API's server version before a command uses it.

Prefect's client compares versions too, but a mismatch surfaces from deep inside a flow
run as a traceback. `check_server_version` asks an `http://` API's `/admin/version`
itself, once, so a server of another major version stops the command with both versions
named and what to do; an older server of the same major version is a warning. An API that
does not answer that request itself (https, a redirect, credentials asked, not Prefect) is
left to Prefect's own checks, which stay on in every case.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import httpx
import prefect
from packaging.version import InvalidVersion, Version

VERSION_TIMEOUT_SECONDS = 5


class PrefectApiError(RuntimeError):
    """The Prefect API cannot be used as it is; the message says what to do."""


def check_server_version(api_url: str) -> None:
    """Raise PrefectApiError when the plain-http API at `api_url` runs another major version
    of Prefect than this installation (see the module docstring)."""
    if urlsplit(api_url).scheme != "http":
        return
    reported = server_version(api_url)
    if reported is not None:
        check_compatible(api_url, reported)


def server_version(api_url: str) -> Version | None:
    """The version the server at `api_url` reports, or None when it does not answer
    /admin/version itself with one (down, redirecting, asking for credentials, not Prefect)."""
    try:
        response = httpx.get(f"{api_url.rstrip('/')}/admin/version", timeout=VERSION_TIMEOUT_SECONDS,
                             follow_redirects=False, verify=False)  # http only: nothing to verify
        return Version(response.json()) if response.status_code == 200 else None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, TypeError, InvalidVersion):
        return None


def check_compatible(api_url: str, server: Version) -> None:
    """Prefect's own rule: the major versions must match; an older server only warns."""
    client = Version(prefect.__version__)
    if server.major != client.major:
        raise PrefectApiError(
            f"the Prefect server at {api_url} runs Prefect {server}, and this newswatch uses Prefect "
            f"{client}: their major versions must match. Restart that server from this installation "
            "(for newswatch's own local server: stop the process in prefect/server.pid of the data directory; the next "
            "command starts a new one), or point PREFECT_API_URL at a Prefect 3 server.")
    if server < client:
        print(f"newswatch: warning: the Prefect server at {api_url} runs Prefect {server}, older than this "
              f"installation's {client}; restart or upgrade it if runs misbehave", file=sys.stderr)
