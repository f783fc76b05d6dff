"""Shared fixtures: real local servers, a Prefect test harness, config directories."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
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
) -> Path:
    """A config directory: the shipped rules.yaml unless `rules` is given; loopback allowed."""
    directory.mkdir(parents=True, exist_ok=True)
    base_settings = {
        "database_url": f"sqlite:///{directory / 'newswatch.db'}",
        "fetch": {"allowed_networks": ["127.0.0.0/8"], "timeout_seconds": 10},
    }
    base_settings.update(settings or {})
    (directory / "settings.yaml").write_text(yaml.safe_dump(base_settings))
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds}, allow_unicode=True))
    (directory / "channels.yaml").write_text(yaml.safe_dump({"channels": channels or {}}))
    if rules is None:
        shutil.copy(REPO / "config" / "rules.yaml", directory / "rules.yaml")
    else:
        (directory / "rules.yaml").write_text(rules)
    return directory
