"""`newswatch backfill`: the hits edited rules find among stored articles are stored once.

Without --alert they are recorded as backfilled and nothing is sent, then or by a later
pass; with --alert each goes out once through the outbox. A renamed rule never re-alerts
what it alerted under its old name; a changed rule never re-alerts what it already hit."""

from __future__ import annotations

import json

from config import load_config
from flows.run_pass import run_pass
from store import count_rows, open_database
from tests.rules_support import (ARTICLES, edit_rules, outlet_config, publish, run_cli, slugs_of)

NEW_HITS = {("Missiles", "drone-factory"), ("Factories", "missile-factory"), ("Factories", "drone-factory")}


def stored_hits(capsys, config_dir) -> list[dict]:
    code, out, err = run_cli(capsys, "hits", "--config", str(config_dir), "--json")
    assert code == 0, err
    return json.loads(out)


def rows(database_url: str) -> dict[str, int]:
    engine = open_database(database_url)
    try:
        return count_rows(engine)
    finally:
        engine.dispose()


def pairs(hits: list[dict], urls: dict[str, str]) -> set[tuple[str, str]]:
    return {(hit["rule"], next(iter(slugs_of([hit], urls)))) for hit in hits}


def test_backfill_stores_new_hits_silently_and_a_later_run_sends_nothing(
        site, webhook, tmp_path, database_url, capsys):
    urls = publish(site)
    config_dir = outlet_config(tmp_path / "config", site, webhook, database_url)
    run_pass(load_config(config_dir))
    assert len(webhook.received) == 5
    edit_rules(config_dir)

    code, out, err = run_cli(capsys, "backfill", "--config", str(config_dir))
    assert code == 0, err
    assert "[Missiles] 1 new hit(s)" in out and "[Factories] 2 new hit(s)" in out
    assert "[Unmanned aircraft] 0 new hit(s)" in out
    assert "backfill: 3 hit(s) stored" in out and "no alert" in out
    backfilled = [hit for hit in stored_hits(capsys, config_dir) if hit["backfilled"]]
    assert pairs(backfilled, urls) == NEW_HITS
    assert all(hit["deliveries"] == {} and not hit["baseline"] for hit in backfilled)
    assert rows(database_url)["deliveries"] == 5
    current = {rule.name: rule.content_hash for rule in load_config(config_dir).rules}
    assert all(hit["rule_hash"] == current[hit["rule"]] for hit in backfilled)

    second = run_pass(load_config(config_dir))
    assert second.alerts_sent == 0 and len(webhook.received) == 5

    code, out, _ = run_cli(capsys, "backfill", "--config", str(config_dir))
    assert code == 0 and "backfill: 0 hit(s) stored" in out
    code, out, _ = run_cli(capsys, "rules", "preview", "--config", str(config_dir), "--rule", "Missiles", "--json")
    missiles = json.loads(out)["rules"][0]
    assert missiles["new"] == [] and slugs_of(missiles["gone"], urls) == {"launch"}  # backfill keeps old hits


def test_backfill_alert_sends_each_new_hit_once_and_never_re_alerts(site, webhook, tmp_path, database_url, capsys):
    urls = publish(site)
    config_dir = outlet_config(tmp_path / "config", site, webhook, database_url)
    run_pass(load_config(config_dir))
    edit_rules(config_dir)

    code, out, err = run_cli(capsys, "backfill", "--config", str(config_dir), "--alert")
    assert code == 0, err
    assert "3 alerting, 3 deliveries queued" in out and "alerts: 3 sent" in out
    alerts = webhook.received[5:]
    assert len(alerts) == 3
    sent_titles = sorted(ARTICLES[slug][0] for _, slug in NEW_HITS)
    assert sorted(next(t for t in sent_titles if t in alert["title"] + alert["message"]) for alert in alerts) \
        == sent_titles
    assert not any("Unmanned aircraft" in alert["title"] + alert["message"] for alert in alerts)
    backfilled = [hit for hit in stored_hits(capsys, config_dir) if hit["backfilled"]]
    assert pairs(backfilled, urls) == NEW_HITS
    assert all(hit["deliveries"] == {"hook": "sent"} for hit in backfilled)

    code, out, _ = run_cli(capsys, "backfill", "--config", str(config_dir), "--alert")
    assert code == 0 and "backfill: 0 hit(s) stored" in out
    run_pass(load_config(config_dir))
    assert len(webhook.received) == 8


def test_backfill_of_one_rule_and_a_story_already_alerted_stays_silent(site, webhook, tmp_path, database_url, capsys):
    """A second outlet runs a copy of the drone factory story: the changed Missiles rule alerts
    the story once, and a copy the same rule already alerted is stored without alerting."""
    publish(site)
    config_dir = outlet_config(tmp_path / "config", site, webhook, database_url)
    run_pass(load_config(config_dir))
    edit_rules(config_dir)

    code, out, _ = run_cli(capsys, "backfill", "--config", str(config_dir), "--rule", "Factories")
    assert code == 0 and "[Factories] 2 new hit(s)" in out and "Missiles" not in out
    assert {hit["rule"] for hit in stored_hits(capsys, config_dir) if hit["backfilled"]} == {"Factories"}

    copy = publish(site, "/wire.xml", slugs=("drone-factory",), prefix="/wire/")["drone-factory"]
    config = load_config(write_second_feed(config_dir, site))
    run_pass(config)  # the copy is new: the current Missiles rule hits it and alerts the story
    sent = len(webhook.received)
    code, out, _ = run_cli(capsys, "backfill", "--config", str(config_dir), "--rule", "Missiles", "--alert")
    assert code == 0 and "[Missiles] 1 new hit(s)" in out and "0 alerting" in out
    assert len(webhook.received) == sent
    missiles = {hit["url"]: hit for hit in stored_hits(capsys, config_dir) if hit["rule"] == "Missiles"}
    assert missiles[copy]["deliveries"] == {"hook": "sent"} and not missiles[copy]["backfilled"]


def write_second_feed(config_dir, site):
    feeds = config_dir / "feeds.yaml"
    feeds.write_text(feeds.read_text() + f"- url: {site.url('/wire.xml')}\n  name: Wire\n")
    return config_dir


def test_backfill_since_limits_articles_and_unknown_rule_fails(site, webhook, tmp_path, database_url, capsys):
    publish(site)
    config_dir = outlet_config(tmp_path / "config", site, webhook, database_url)
    run_pass(load_config(config_dir))
    edit_rules(config_dir)
    code, out, _ = run_cli(capsys, "backfill", "--config", str(config_dir), "--since", "2999-01-01")
    assert code == 0 and "backfill: 0 hit(s) stored from 0 stored article(s)" in out
    code, _, err = run_cli(capsys, "backfill", "--config", str(config_dir), "--rule", "Nope")
    assert code == 1 and "no rule named 'Nope'" in err


def test_backfill_alert_after_a_quiet_backfill_alerts_those_hits_exactly_once(
        site, webhook, tmp_path, database_url, capsys):
    """The hits a quiet backfill stored are alerted by a later `backfill --alert`, once; a
    second `backfill --alert` and later passes send nothing more."""
    urls = publish(site)
    config_dir = outlet_config(tmp_path / "config", site, webhook, database_url)
    run_pass(load_config(config_dir))
    edit_rules(config_dir)
    code, out, err = run_cli(capsys, "backfill", "--config", str(config_dir))
    assert code == 0 and "backfill: 3 hit(s) stored" in out, err
    quiet = [hit for hit in stored_hits(capsys, config_dir) if hit["backfilled"]]
    assert {hit["alert"]["state"] for hit in quiet} == {"not_alerted"}
    assert {hit["alert"]["reason"] for hit in quiet} == {"backfilled"}

    code, out, err = run_cli(capsys, "backfill", "--config", str(config_dir), "--alert")
    assert code == 0, err
    assert "backfill: 0 hit(s) stored" in out and "3 alerting, 3 deliveries queued" in out
    assert "3 hit(s) stored earlier and never alerted" in out and "alerts: 3 sent" in out
    alerts = webhook.received[5:]
    assert sorted(next(slug for _, slug in NEW_HITS if ARTICLES[slug][0] in alert["title"]) for alert in alerts) \
        == sorted(slug for _, slug in NEW_HITS)
    backfilled = [hit for hit in stored_hits(capsys, config_dir) if hit["backfilled"]]
    assert pairs(backfilled, urls) == NEW_HITS
    assert all(hit["alert"]["state"] == "sent" and hit["alert"]["channels"] == ["hook"] for hit in backfilled)

    code, out, _ = run_cli(capsys, "backfill", "--config", str(config_dir), "--alert")
    assert code == 0 and "0 alerting, 0 deliveries queued" in out
    run_pass(load_config(config_dir))
    assert len(webhook.received) == 8 and rows(database_url)["deliveries"] == 8
