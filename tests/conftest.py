"""Shared fixtures: real local servers, a Prefect test harness, config directories."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from newswatch.demo.feed import build_rss
from tests.localservers import Site, SmtpServer, WebhookReceiver

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEMO_PAGES = REPO / "newswatch" / "demo" / "pages"


def shared_path(*parts: str) -> Path:
    """A file under ../shared/, or skip the test saying which folder is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found: {path} (clone the repo with ../shared beside it)")
    return path


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for the whole session: flows run for real against it."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def postgres_base_url() -> str:
    """The cluster `.ci/run` starts; without it the PostgreSQL variants skip (fail on CI)."""
    url = os.environ.get("NEWSWATCH_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail("NEWSWATCH_TEST_POSTGRES_URL is unset: .ci/run must start PostgreSQL for these variants")
    pytest.skip("PostgreSQL variant: run .ci/run, or set NEWSWATCH_TEST_POSTGRES_URL to a server you own")


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the test cluster, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(postgres_base_url())
    name = f"newswatch_{uuid.uuid4().hex[:12]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """Each storage test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newswatch.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site()
    yield server
    server.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


rss = build_rss


def write_config(
    directory: Path,
    *,
    feeds: list[dict],
    channels: dict | None = None,
    rules: str | None = None,
    settings: dict | None = None,
    database_url: str | None = None,
) -> Path:
    """A config directory: the shipped rules.yaml (and its examples/) unless `rules` is given; loopback allowed.
    `settings` override the defaults section by section: `{"fetch": {"concurrency": 1}}` keeps loopback allowed."""
    directory.mkdir(parents=True, exist_ok=True)
    base_settings = {
        "database_url": database_url or f"sqlite:///{directory / 'newswatch.db'}",
        "fetch": {"allowed_networks": ["127.0.0.0/8"], "timeout_seconds": 10},
    }
    for key, value in (settings or {}).items():
        base_settings[key] = {**base_settings[key], **value} if isinstance(base_settings.get(key), dict) else value
    (directory / "settings.yaml").write_text(yaml.safe_dump(base_settings))
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds}, allow_unicode=True))
    (directory / "channels.yaml").write_text(yaml.safe_dump({"channels": channels or {}}))
    if rules is None:
        shutil.copy(REPO / "config" / "rules.yaml", directory / "rules.yaml")
        shutil.copytree(REPO / "config" / "examples", directory / "examples", dirs_exist_ok=True)
    else:
        (directory / "rules.yaml").write_text(rules)
    return directory


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory) -> Iterator[str]:
    """A real, persistent-style `prefect server` (SQLite, own PREFECT_HOME, free port) for the
    tests that need what the temporary harness lacks: a UI, a scheduler, workers."""
    from tests.prefectserver import running_prefect_server

    with running_prefect_server(tmp_path_factory.mktemp("prefect-home")) as api_url:
        yield api_url
