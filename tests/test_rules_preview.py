"""`newswatch rules preview`: after a pass over a local outlet, the edited rules are tried on the
stored articles. It lists exactly what each rule gains and loses (a changed query, a renamed
rule recognised by its content hash, a deleted rule with its stored hits, a new rule), and
writes nothing and sends nothing."""

from __future__ import annotations

import json

from config import load_config
from flows.run_pass import run_pass
from tests.rules_support import (by_rule, edit_rules, outlet_config, publish, run_cli, slugs_of, snapshot)


def test_preview_lists_gained_and_lost_articles_and_changes_nothing(site, webhook, tmp_path, database_url, capsys):
    urls = publish(site)
    config_dir = outlet_config(tmp_path / "config", site, webhook, database_url)
    first = run_pass(load_config(config_dir))
    assert first.new_articles == 5 and first.alerts_sent == 5
    sent, fetched, before = len(webhook.received), dict(site.hits), snapshot(database_url)

    edit_rules(config_dir)
    code, out, err = run_cli(capsys, "rules", "preview", "--config", str(config_dir), "--json")
    assert code == 0, err
    preview = json.loads(out)
    rules = by_rule(preview)
    assert preview["articles"] == 5

    missiles = rules["Missiles"]
    assert missiles["status"] == "changed"
    assert slugs_of(missiles["new"], urls) == {"drone-factory"}
    assert slugs_of(missiles["gone"], urls) == {"launch"}
    assert slugs_of(missiles["unchanged"], urls) == {"missile-factory"}
    assert missiles["gone"][0]["stored_rule_hash"] != missiles["rule_hash"]
    assert "drone" in missiles["new"][0]["terms"]

    renamed = rules["Unmanned aircraft"]
    assert renamed["status"] == "renamed" and renamed["former_names"] == ["Drones"]
    assert (renamed["new"], renamed["gone"]) == ([], [])
    assert slugs_of(renamed["unchanged"], urls) == {"drone-factory"}

    assert rules["Sanctions"]["status"] == "deleted" and rules["Sanctions"]["stored_hits"] == 1
    assert "Drones" not in rules  # recognised as the renamed rule, not reported as deleted
    assert rules["Weather"]["status"] == "unchanged" and len(rules["Weather"]["unchanged"]) == 1
    assert rules["Factories"]["status"] == "new"
    assert slugs_of(rules["Factories"]["new"], urls) == {"missile-factory", "drone-factory"}

    code, out, _ = run_cli(capsys, "rules", "preview", "--config", str(config_dir))
    assert code == 0
    assert "[Missiles] changed" in out and f"+ A new drone factory  (Local Daily)\n      {urls['drone-factory']}" in out
    assert f"- Missile launch over the sea  (Local Daily)\n      {urls['launch']}" in out
    assert "[Unmanned aircraft] renamed from 'Drones'" in out
    assert "[Sanctions] deleted: not in rules.yaml, 1 stored hit(s)" in out

    assert snapshot(database_url) == before
    assert len(webhook.received) == sent and site.hits == fetched


def test_preview_of_one_rule_since_a_date_and_unknown_rule(site, webhook, tmp_path, database_url, capsys):
    publish(site)
    config_dir = outlet_config(tmp_path / "config", site, webhook, database_url)
    run_pass(load_config(config_dir))
    edit_rules(config_dir)

    code, out, _ = run_cli(capsys, "rules", "preview", "--config", str(config_dir), "--rule", "Missiles", "--json")
    assert code == 0 and [rule["rule"] for rule in json.loads(out)["rules"]] == ["Missiles"]

    code, out, _ = run_cli(capsys, "rules", "preview", "--config", str(config_dir), "--rule", "Sanctions", "--json")
    assert code == 0 and json.loads(out)["rules"][0]["status"] == "deleted"

    code, out, _ = run_cli(capsys, "rules", "preview", "--config", str(config_dir), "--since", "2999-01-01",
                           "--json")
    preview = json.loads(out)
    assert preview["articles"] == 0 and all(not rule["new"] and not rule["gone"] for rule in preview["rules"])

    code, _, err = run_cli(capsys, "rules", "preview", "--config", str(config_dir), "--rule", "Nope")
    assert code == 1 and "no rule named 'Nope'" in err


def test_unchanged_rules_preview_as_unchanged(site, webhook, tmp_path, database_url, capsys):
    publish(site)
    config_dir = outlet_config(tmp_path / "config", site, webhook, database_url)
    run_pass(load_config(config_dir))
    code, out, _ = run_cli(capsys, "rules", "preview", "--config", str(config_dir), "--json")
    rules = json.loads(out)["rules"]
    assert code == 0 and {rule["status"] for rule in rules} == {"unchanged"}
    assert all(not rule["new"] and not rule["gone"] for rule in rules)
    assert sum(len(rule["unchanged"]) for rule in rules) == 5
