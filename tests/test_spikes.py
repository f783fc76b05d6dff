"""Spike alerts, their backtest, and stories that spread: a local outlet on 127.0.0.1 publishes
a topic's history, real passes store it, alerts arrive at a real webhook receiver."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from config import load_config
from config.errors import ConfigError
from config.models import SpikeConfig
from flows.run_pass import run_pass
from newswatch.cli import main
from store import database
from store.events import list_events
from store.spikestats import find_spikes, poisson_tail
from tests.conftest import rss, write_config
from tests.spikes_support import RULES, publish, quiet_then_burst


def spike_messages(webhook) -> list[dict]:
    return [m for m in webhook.received if "spike" in m.get("title", "")]


def update_messages(webhook) -> list[dict]:
    return [m for m in webhook.received if "story spreading" in m.get("title", "")]


def volcano_config(tmp_path, site, webhook, feeds: list[str], rules: str = RULES, database_url: str | None = None):
    return write_config(tmp_path / "config", rules=rules, channels={"desk": {"url": webhook.apprise_url()}},
                        database_url=database_url,
                        feeds=[{"url": url, "name": f"Outlet {n + 1}"} for n, url in enumerate(feeds)])


def test_poisson_tail_matches_the_textbook_values():
    assert poisson_tail(0, 3.0) == 1.0
    assert poisson_tail(1, 2.0) == pytest.approx(1 - 0.1353352832, rel=1e-9)
    assert poisson_tail(5, 5.0) == pytest.approx(0.5595067149, rel=1e-9)
    assert poisson_tail(10, 0.5) == pytest.approx(1.7096700293e-10, rel=1e-6)  # tiny tails keep their digits
    assert 0 < poisson_tail(200, 3.0) < 1e-250


def test_one_story_a_day_never_spikes_and_a_burst_does_once():
    now = datetime(2026, 12, 7, 16, 0, tzinfo=timezone.utc)
    times = [at for _, at in quiet_then_burst(now)]
    spikes = find_spikes(times, now - timedelta(days=30), now, SpikeConfig())
    assert len(spikes) == 1 and spikes[0].stories == 10 and spikes[0].end == now
    assert spikes[0].start >= now - timedelta(hours=6) and spikes[0].expected < 2
    quiet = [at for _, at in quiet_then_burst(now, burst=1)]
    assert find_spikes(quiet, now - timedelta(days=30), now, SpikeConfig()) == []
    busy = [now - timedelta(days=15) + timedelta(hours=h) for h in range(0, 15 * 24, 1)]  # a story an hour
    assert find_spikes(busy + times[-10:], now - timedelta(days=30), now, SpikeConfig()) == []  # 10 in 2 h is usual


def test_spikes_and_story_updates_are_checked_with_line_numbered_errors(tmp_path):
    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/a.xml"}], rules=(
        "rules:\n  - name: A\n    query: volcano\n    spikes:\n      window: 6x\n      min_stories: 1\n"
        "    story_updates: 0\n"))
    with pytest.raises(ConfigError) as raised:
        load_config(directory)
    text = str(raised.value)
    assert "rules.yaml:5: rules[0].spikes.window" in text and "'6h'" in text
    assert "rules.yaml:6: rules[0].spikes.min_stories" in text
    assert "rules.yaml:7: rules[0].story_updates" in text
    (directory / "rules.yaml").write_text("rules:\n  - name: A\n    query: volcano\n    spikes: {window: 1d, "
                                          "sensitivity: 0.01}\n  - name: B\n    query: lava\n    spikes: true\n")
    a, b = load_config(directory).rules
    assert a.spikes == SpikeConfig(window_hours=24, min_stories=5, sensitivity=0.01)
    assert b.spikes == SpikeConfig() and b.story_updates is None


def test_a_burst_after_quiet_days_alerts_one_spike_once_and_the_backtest_lists_it(tmp_path, site, webhook, capsys,
                                                                                 database_url):
    feed = publish(site, "/volcano", quiet_then_burst())
    config_dir = volcano_config(tmp_path, site, webhook, [feed], database_url=database_url)

    summary = run_pass(load_config(config_dir))
    assert summary.new_articles == 24
    spikes = spike_messages(webhook)
    assert len(spikes) == 1, [m["title"] for m in webhook.received]
    message = spikes[0]["title"] + "\n" + spikes[0]["message"]
    assert "Volcano watch" in message and "10 stories in 6 h" in message and "expected" in message
    assert "Outlet 1" in message and "Mountain bulletin 10" in message and "en" in message  # top stories,
    # with their outlets and languages
    assert len(webhook.received) == 11  # the burst's ten hits are alerted as usual, beside the spike

    run_pass(load_config(config_dir))
    assert len(spike_messages(webhook)) == 1  # the same spike, a pass later: no second alert

    assert main(["rules", "spikes", "--config", str(config_dir), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 1, listed
    spike = listed[0]
    assert set(spike) >= {"rule", "start", "end", "stories", "expected"} and spike["rule"] == "Volcano watch"
    start, end = (datetime.fromisoformat(spike[key].replace("Z", "+00:00")) for key in ("start", "end"))
    now = datetime.now(timezone.utc)
    assert now - timedelta(hours=7) <= start and end >= now - timedelta(minutes=5)  # the burst, not the quiet days
    assert spike["stories"] == 10 and spike["expected"] < 2

    assert main(["rules", "spikes", "--config", str(config_dir), "--since", "10d"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("[Volcano watch] ") and "10 stories, " in out and "1 spike(s)" in err
    assert main(["rules", "spikes", "--config", str(config_dir), "--rule", "Nope"]) == 1
    assert "no rule named 'Nope'" in capsys.readouterr().err


def test_ten_copies_of_one_story_are_no_spike(tmp_path, site, webhook):
    history = quiet_then_burst()
    quiet, burst = history[:14], history[14:]
    feeds = [publish(site, "/quiet", quiet)] + [publish(site, f"/copy{n}", [burst[n]], copies_of=burst[0][0])
                                                for n in range(10)]
    config_dir = volcano_config(tmp_path, site, webhook, feeds)
    summary = run_pass(load_config(config_dir))
    assert summary.new_articles == 24
    assert spike_messages(webhook) == []
    assert len(webhook.received) == 1  # the story alerted once, its nine copies listed in it
    with database(load_config(config_dir).settings.database_url) as engine:
        assert list_events(engine, kind="spike") == []


def test_a_story_reaching_a_fourth_outlet_sends_one_update(tmp_path, site, webhook, database_url):
    now = datetime.now(timezone.utc)
    story = [(7, now - timedelta(hours=1))]
    empty = rss([])
    paths = [f"/outlet{n}" for n in range(5)]
    feeds = [publish(site, paths[0], story)] + [site.add(f"{p}/rss.xml", empty, content_type="application/rss+xml")
                                                for p in paths[1:]]
    config_dir = volcano_config(tmp_path, site, webhook, feeds, database_url=database_url)
    run_pass(load_config(config_dir))
    assert len(webhook.received) == 1 and update_messages(webhook) == []

    for path in paths[1:3]:  # two more outlets: below `story_updates: 3`
        publish(site, path, story)
    run_pass(load_config(config_dir))
    assert update_messages(webhook) == []

    publish(site, paths[3], story)  # the fourth outlet: three more than at the alert
    run_pass(load_config(config_dir))
    updates = update_messages(webhook)
    assert len(updates) == 1, [m["title"] for m in webhook.received]
    assert "4 outlets" in updates[0]["title"] and "Volcano watch" in updates[0]["title"]
    assert all(f"Outlet {n}" in updates[0]["message"] for n in (1, 2, 3, 4))

    publish(site, paths[4], story)  # a fifth outlet the same day: no second update
    run_pass(load_config(config_dir))
    assert len(update_messages(webhook)) == 1
    assert len(webhook.received) == 2  # one hit alert, one update: copies never alert


def queue_spikes(engine, rule: str, count: int, channels: tuple[str, ...], prefix: str = "") -> None:
    from sqlmodel import Session

    from store.events import queue_event

    now = datetime.now(timezone.utc)
    with Session(engine) as session:
        for n in range(count):
            queue_event(session, dict(rule=rule, kind="spike", key=f"{prefix}{n}",
                                      window_start=now - timedelta(hours=6),
                                      window_end=now, stories=10 + n, expected=1.0,
                                      details=json.dumps({"window_hours": 6, "probability": 1e-7, "top": []}),
                                      created_at=now), channels, now)
        session.commit()


def test_event_alerts_keep_the_channel_cap_and_the_rule_cooldown(tmp_path, webhook):
    from sqlmodel import Session, select

    from alerts import send_pending
    from config.models import ChannelConfig, RuleConfig
    from store import open_database
    from store.tables import EventDelivery
    from tests.alerts_support import settings

    engine = open_database(f"sqlite:///{tmp_path / 'events.db'}")
    channels = {"desk": ChannelConfig("desk", webhook.apprise_url(), max_per_run=2)}
    queue_spikes(engine, "Busy rule", 3, ("desk",))
    report = send_pending(engine, channels, settings())
    titles = [m["title"] for m in webhook.received]
    assert len(titles) == 2 + 1 and "+1 more rule events" in titles[-1], titles  # the third is in a summary
    assert report.sent == 2 and send_pending(engine, channels, settings()).sent == 0  # each once

    rules = (RuleConfig("Cool rule", "x", cooldown_minutes=60),)
    queue_spikes(engine, "Cool rule", 1, ("desk",), prefix="first-")
    send_pending(engine, channels, settings(), rules=rules)
    assert len(webhook.received) == 4
    queue_spikes(engine, "Cool rule", 1, ("desk",), prefix="second-")  # a new spike within the cooldown
    send_pending(engine, channels, settings(), rules=rules)
    assert len(webhook.received) == 4
    with Session(engine) as session:
        held = session.exec(select(EventDelivery).where(EventDelivery.status == "pending")).one()
        wait = held.next_attempt_at.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)
    assert timedelta(minutes=58) < wait <= timedelta(minutes=60)  # it goes out when the cooldown ends
    engine.dispose()


def test_a_story_reaching_a_new_language_sends_one_update(tmp_path, site, webhook):
    """One more outlet is below `story_updates: 3`, but it carries the story in a new language."""
    story = [(8, datetime.now(timezone.utc) - timedelta(hours=1))]
    first = publish(site, "/en", story)
    later = site.add("/de/rss.xml", rss([]), content_type="application/rss+xml")
    config_dir = volcano_config(tmp_path, site, webhook, [first, later])
    run_pass(load_config(config_dir))
    publish(site, "/de", story, language="de")
    run_pass(load_config(config_dir))
    updates = update_messages(webhook)
    assert len(updates) == 1 and "de, en" in updates[0]["message"] and "2 languages" in updates[0]["title"]


def test_a_spike_alert_that_fails_is_retried_then_given_up_and_reported(tmp_path, webhook):
    from alerts import send_pending
    from config.models import ChannelConfig
    from store import open_database
    from tests.alerts_support import settings
    from tests.localservers import WebhookReceiver

    operator = WebhookReceiver()
    try:
        engine = open_database(f"sqlite:///{tmp_path / 'events.db'}")
        channels = {"desk": ChannelConfig("desk", webhook.apprise_url()),
                    "operator": ChannelConfig("operator", operator.apprise_url())}
        queue_spikes(engine, "Busy rule", 1, ("desk",))
        webhook.status = 500
        report = send_pending(engine, channels, settings(max_attempts=2))
        assert report.failed == 1 and report.dead == 0 and operator.received == []  # pending, retried later
        with database(f"sqlite:///{tmp_path / 'events.db'}") as later:
            later_now = datetime.now(timezone.utc) + timedelta(hours=1)
            report = send_pending(later, channels, settings(max_attempts=2), now=later_now)
        assert report.dead == 1
        assert len(operator.received) == 1 and "given up" in operator.received[0]["title"]
        webhook.status = 200
        assert send_pending(engine, channels, settings(max_attempts=2), now=later_now).sent == 0  # never resent
        engine.dispose()
    finally:
        operator.close()


def test_an_imported_burst_builds_history_but_never_spikes(tmp_path, site, webhook, capsys):
    """`newswatch import` of an archive is history, not news: ten stories of the last hours loaded
    from a file make no spike alert when the next live hit is judged."""
    from tests.spikes_support import story_text

    now = datetime.now(timezone.utc)
    quiet = [item for item in quiet_then_burst(now) if item[0] < 100]
    config_dir = volcano_config(tmp_path, site, webhook, [publish(site, "/volcano", quiet)])
    run_pass(load_config(config_dir))  # the quiet days, polled
    archive = tmp_path / "burst.jsonl"
    archive.write_text("".join(json.dumps({
        "url": f"https://archive.example/{n}", "title": f"Archived bulletin {n}", "text": story_text(200 + n),
        "published": (now - timedelta(minutes=10 + 9 * n)).isoformat()}) + "\n" for n in range(10)))
    assert main(["import", "--config", str(config_dir), str(archive)]) == 0
    publish(site, "/volcano", quiet + [(300, now - timedelta(minutes=2))])  # one live story
    run_pass(load_config(config_dir))
    assert spike_messages(webhook) == []
    capsys.readouterr()
