"""How newswatch's commands talk to a Prefect API they reach over plain http.

Every Prefect client a run builds (the flow's, the event loop's, the log and event workers',
and each of Prefect's two server-version checks) loads certifi's CA bundle (117 certificates)
into a TLS context: 25 ms of CPU each, about 0.1 s a run, for an API that is `http://` and
never verifies a certificate. Two of a run's API calls are those version checks.

So when an `http://` API answers `/admin/version` itself (no redirect, no credentials asked),
`plain_http_settings` checks that version here, once and as Prefect would (the major version
must match; an older server is a warning), turns Prefect's own checks off, and gives the
clients a CA file of one certificate, which loads in a millisecond. Nothing sent over http is
verified either way; a client redirected to https would verify against that one certificate,
a narrower trust than certifi's, never a wider one. Any other API keeps Prefect's defaults.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import certifi
import httpx
import prefect
from packaging.version import InvalidVersion, Version

VERSION_TIMEOUT_SECONDS = 5


class PrefectApiError(RuntimeError):
    """The Prefect API cannot be used as it is; the message says what to do."""


def plain_http_settings(api_url: str) -> contextlib.AbstractContextManager:
    """Client settings for the API at `api_url` (see the module docstring); raises
    PrefectApiError when its server's major version differs from this Prefect's."""
    if urlsplit(api_url).scheme != "http":
        return contextlib.nullcontext()
    reported = server_version(api_url)
    if reported is None:
        return contextlib.nullcontext()
    check_compatible(api_url, reported)
    sections: dict[str, dict] = {"client": {"server_version_check_enabled": False}}
    bundle = one_certificate_bundle()
    if bundle:
        sections["api"] = {"ssl_cert_file": bundle}
    return settings_updated(**sections)


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


BUNDLE_NAME = "newswatch-api-ca.pem"


def one_certificate_bundle() -> str | None:
    """A CA file holding the first certificate of certifi's bundle, in Prefect's home folder
    (written atomically when missing, never removed: `serve`'s flow runs are processes of their
    own that inherit its path); None when it cannot be written (then Prefect's default is used)."""
    from prefect.settings import get_current_settings

    path = Path(get_current_settings().home).expanduser() / BUNDLE_NAME
    try:
        if path.is_file() and path.read_text(encoding="ascii").count("BEGIN CERTIFICATE") == 1:
            return str(path)
        text = Path(certifi.where()).read_text(encoding="ascii")
        end = "-----END CERTIFICATE-----"
        first = text[text.index("-----BEGIN CERTIFICATE-----"):text.index(end) + len(end)] + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, partial = tempfile.mkstemp(prefix=BUNDLE_NAME, dir=path.parent)
        with os.fdopen(descriptor, "w", encoding="ascii") as bundle:
            bundle.write(first)
        os.replace(partial, path)
        return str(path)
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def settings_updated(**sections: dict) -> Iterator[None]:
    """`temporary_settings` for fields that no other setting is derived from, without
    re-reading every settings source (profiles, TOML files, environment): 0.02 s a run.
    `settings_updated(client={"csrf_support_enabled": False})` changes one field of one section."""
    import prefect.context

    context = prefect.context.get_settings_context()
    settings = context.settings
    updated = settings.model_copy(update={name: getattr(settings, name).model_copy(update=values)
                                          for name, values in sections.items()})
    with prefect.context.SettingsContext(profile=context.profile, settings=updated):
        yield
