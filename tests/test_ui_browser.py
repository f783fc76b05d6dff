"""A real browser check of the log book: `newswatch run` against a feed on 127.0.0.1 records
its run in a real local `prefect server`, then headless Debian chromium (driven by
Playwright, no downloaded browser) opens the Prefect UI and finds the hit's title on the
rule's artifact page (`hits-<instance>-<rule-slug>`) and the run's name on the runs page.

Set NEWSWATCH_UPDATE_SCREENSHOT=1 to refresh docs/prefect-ui-rule-artifact.png."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config import load_config
from flows.artifacts import rule_key
from tests.conftest import DEMO_PAGES, REPO, rss, write_config

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = REPO / "docs" / "prefect-ui-rule-artifact.png"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HIT_TITLE = "South Korea calls Russia 'self-contradictory' for using North Korean missiles"


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; .ci/run does it): "
                    "the browser check of the Prefect UI cannot run")
    return CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium"))


def run_monitor(api_url: str, config: Path) -> str:
    env = {**os.environ, "PREFECT_API_URL": api_url}
    done = subprocess.run([sys.executable, "-m", "newswatch", "run", "--config", str(config)], env=env,
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_the_hit_shows_on_its_rule_artifact_page_in_the_prefect_ui(prefect_server, chromium, site, tmp_path):
    from playwright.sync_api import sync_playwright

    seed = site.add("/news/dprk-missiles.html", (DEMO_PAGES / "seed_article.html").read_bytes())
    site.add("/rss.xml", rss([{"title": HIT_TITLE, "link": seed}]), content_type="application/rss+xml")
    config = write_config(tmp_path / "config", feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily",
                                                        "tags": ["korea"]}])
    run_monitor(prefect_server, config)

    ui = prefect_server.removesuffix("/api")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(chromium), headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 900})
        try:
            page = browser.new_page()
            # the rule's key page lists one version per run; the newest opens its table
            key = rule_key("DPRK arms transfer", load_config(config).settings.instance)
            page.goto(f"{ui}/artifacts/key/{key}", wait_until="domcontentloaded")
            page.get_by_text("Rule 'DPRK arms transfer'", exact=False).first.wait_for(timeout=60_000)
            page.locator("a[href*='/artifacts/artifact/']").first.click()
            page.get_by_text("self-contradictory", exact=False).first.wait_for(timeout=60_000)
            link = page.locator(f"a[href='{seed}']").first
            link.wait_for(timeout=30_000)
            assert "self-contradictory" in link.inner_text()
            shot = tmp_path / "rule-artifact.png"
            page.screenshot(path=str(shot), full_page=False)

            page.goto(f"{ui}/runs", wait_until="domcontentloaded")
            page.get_by_text(re.compile(r"monitor \d{4}-\d\d-\d\d \d\d:\d\d UTC - \d+ hits?")).first.wait_for(timeout=60_000)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    if os.environ.get("NEWSWATCH_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copy(shot, SCREENSHOT)
