"""The rule briefing in a real browser: `newswatch run` against outlets on 127.0.0.1 (a topic's
quiet fortnight, then a burst, one story carried by two outlets) records its run in a real
local `prefect server`; headless Debian chromium opens the rule's artifact at 1,400x1,000 and
finds a story's title, its outlets and its matching sentence on screen without any sideways
scrolling, and the volume picture.

Set NEWSWATCH_UPDATE_SCREENSHOT=1 to refresh docs/prefect-ui-rule-briefing.png."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from config import load_config
from flows.artifacts import rule_key
from tests.conftest import REPO, write_config
from tests.spikes_support import RULES, publish, quiet_then_burst
from tests.test_ui_browser import CHROMIUM_FLAGS, chromium, run_monitor  # noqa: F401 (the fixture)

SCREENSHOT = REPO / "docs" / "prefect-ui-rule-briefing.png"
SIDEWAYS_SCROLLERS = """() => Array.from(document.querySelectorAll('*')).filter(e => {
    const style = getComputedStyle(e);
    const scrolls = ['auto', 'scroll'].includes(style.overflowX) || e === document.scrollingElement;
    return scrolls && e.scrollWidth > e.clientWidth + 1;
}).map(e => e.tagName + '.' + e.className)"""


@pytest.mark.slow
def test_the_rule_briefing_reads_at_1400_px_with_its_volume_picture(prefect_server, chromium, site, webhook,
                                                                    tmp_path):
    from playwright.sync_api import sync_playwright

    history = quiet_then_burst()
    main_feed = publish(site, "/volcano", history)
    newest = history[14]  # "Mountain bulletin 100", minutes old
    copy_feed = publish(site, "/other", [newest], copies_of=newest[0])  # carried by a second outlet
    config = write_config(tmp_path / "config", rules=RULES, channels={"desk": {"url": webhook.apprise_url()}}, feeds=[
        {"url": main_feed, "name": "Lava Daily"}, {"url": copy_feed, "name": "Island Courier"}])
    run_monitor(prefect_server, config)

    ui = prefect_server.removesuffix("/api")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(chromium), headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1000})
        try:
            page = browser.new_page()
            key = rule_key("Volcano watch", load_config(config).settings.instance)
            page.goto(f"{ui}/artifacts/key/{key}", wait_until="domcontentloaded")
            page.locator("a[href*='/artifacts/artifact/']").first.click()
            page.get_by_text("Rule briefing: Volcano watch").first.wait_for(timeout=60_000)
            title = page.get_by_role("link", name="Mountain bulletin 100").first
            outlets = page.get_by_text(
                re.compile("2 outlets: (Lava Daily, Island Courier|Island Courier, Lava Daily)")).first
            sentence = page.get_by_text("was in the news again, report number 100 said").first
            picture = page.locator("img[alt^='Distinct stories a day']").first
            sparkline = page.get_by_text(re.compile(r"max \d+/day")).first
            spike = page.get_by_text("Spike: 10 stories in 6 h").first
            alerted = page.get_by_text(re.compile(r"sent [0-9: -]+UTC to desk")).first
            for element in (title, outlets, sentence, picture, sparkline, spike, alerted):
                element.wait_for(timeout=30_000)
                box = element.bounding_box()
                assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1400, (element, box)
            assert picture.evaluate("img => img.naturalWidth") > 0  # the chart image rendered
            assert page.evaluate(SIDEWAYS_SCROLLERS) == []  # nothing on the page scrolls sideways
            shot = tmp_path / "rule-briefing.png"
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    if os.environ.get("NEWSWATCH_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copy(shot, SCREENSHOT)
