"""Rules that learn from the analyst, through the CLI on SQLite and PostgreSQL: after a pass over
a local outlet, the analyst labels what `rules candidates` offers; `rules stats` reports the
rule's precision; `rules suggest` proposes a whole revised query whose gained/lost equal what
`rules preview` reports once it is written, and `--apply` writes it into rules.yaml with
deciding examples, leaving every other byte of the file as it was."""

from __future__ import annotations

import json

from config import load_config
from flows.run_pass import run_pass
from tests.feedback_support import IRRELEVANT, RELEVANT, RULES, outlet_config, publish_outlet
from tests.rules_support import run_cli, snapshot


def cli_json(capsys, *argv):
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    return json.loads(out)


def label_all(capsys, config_dir, urls, slugs, relevant: bool) -> None:
    flag = "--relevant" if relevant else "--irrelevant"
    code, _, err = run_cli(capsys, "label", "--config", str(config_dir), "--rule", "Missiles", flag,
                           *(urls[slug] for slug in slugs))
    assert code == 0, err


def taught_outlet(site, tmp_path, database_url, capsys):
    urls = publish_outlet(site)
    config_dir = outlet_config(tmp_path / "config", site, database_url)
    assert run_pass(load_config(config_dir)).new_articles == len(urls)
    label_all(capsys, config_dir, urls, RELEVANT, True)
    label_all(capsys, config_dir, urls, IRRELEVANT, False)
    return urls, config_dir


def test_candidates_offer_hits_first_then_likely_misses_and_leave_out_labelled(site, tmp_path, database_url,
                                                                               capsys):
    urls = publish_outlet(site)
    config_dir = outlet_config(tmp_path / "config", site, database_url)
    run_pass(load_config(config_dir))
    first = cli_json(capsys, "rules", "candidates", "--config", str(config_dir), "--rule", "Missiles", "--json")
    hits = {urls[s] for s in urls if s.startswith(("test-", "game-"))}
    assert {c["url"] for c in first} == hits and all(c["hit"] and c["why"] for c in first)
    assert set(first[0]) >= {"url", "title", "hit", "why"}

    label_all(capsys, config_dir, urls, ["test-1", "test-2", "rocket-1"], True)
    label_all(capsys, config_dir, urls, ["game-1"], False)
    after = cli_json(capsys, "rules", "candidates", "--config", str(config_dir), "--rule", "Missiles",
                     "--limit", "4", "--json")
    offered = [c["url"] for c in after]
    assert len(offered) == 4 and not {urls["test-1"], urls["test-2"], urls["rocket-1"], urls["game-1"]} & set(offered)
    misses = [c for c in after if not c["hit"]]
    assert misses and misses[0]["url"] in {urls["rocket-2"], urls["rocket-3"], urls["rocket-4"]}, after


def test_stats_report_precision_with_interval_and_misses(site, tmp_path, database_url, capsys):
    urls, config_dir = taught_outlet(site, tmp_path, database_url, capsys)
    rows = cli_json(capsys, "rules", "stats", "--config", str(config_dir), "--json")
    missiles = next(row for row in rows if row["rule"] == "Missiles" and row["current"])
    assert (missiles["hits"], missiles["labelled"], missiles["relevant"], missiles["irrelevant"]) == (10, 10, 4, 6)
    assert missiles["precision"] == round(4 / 10, 4) and missiles["missed"] == 4
    assert 0.1 < missiles["precision_low"] < 4 / 10 < missiles["precision_high"] < 0.9
    weather = next(row for row in rows if row["rule"] == "Weather")
    assert weather["labelled"] == 0 and weather["precision"] is None
    code, out, _ = run_cli(capsys, "rules", "stats", "--config", str(config_dir))
    assert code == 0 and "Missiles" in out and "0.40 (" in out


def test_suggest_then_apply_matches_preview_and_keeps_the_file(site, tmp_path, database_url, capsys):
    urls, config_dir = taught_outlet(site, tmp_path, database_url, capsys)
    before_db = snapshot(database_url)
    suggestions = cli_json(capsys, "rules", "suggest", "--config", str(config_dir), "--rule", "Missiles", "--json")
    assert suggestions and all(set(s) >= {"rule", "query", "change", "fixes", "breaks", "gained", "lost"}
                               for s in suggestions)
    best = suggestions[0]
    fixed = {f["url"] for f in best["fixes"]}
    assert fixed == {urls[s] for s in urls if s.startswith(("rocket-", "game-"))}, best
    assert best["breaks"] == [] and best["query"] != "missile*"
    assert snapshot(database_url) == before_db  # suggesting writes nothing

    code, out, err = run_cli(capsys, "rules", "suggest", "--config", str(config_dir), "--rule", "Missiles",
                             "--apply")
    assert code == 0 and "rules.yaml updated" in out, err
    written = (config_dir / "rules.yaml").read_text()
    rule = next(r for r in load_config(config_dir).rules if r.name == "Missiles")
    assert rule.query == best["query"]
    assert 1 <= len(rule.examples.match) + len(rule.examples.no_match) <= 4
    assert rule.examples.match[0] == "North Korea fired a missile on Tuesday."
    edited_lines = set(written.splitlines()) - set(RULES.splitlines())
    assert all(line.startswith(("    query: ", "        - ", "      no_match:")) for line in edited_lines), written
    assert written.replace(f"query: '{best['query']}'", "query: 'missile*'").startswith(
        RULES.split("        - North Korea fired a missile on Tuesday.\n")[0])
    assert written.endswith(RULES.split("  # a rule nobody touches\n")[1])
    code, out, err = run_cli(capsys, "check", "--config", str(config_dir))
    assert code == 0, err

    preview = cli_json(capsys, "rules", "preview", "--config", str(config_dir), "--rule", "Missiles", "--json")
    rule_preview = preview["rules"][0]
    assert [a["url"] for a in rule_preview["new"]] == [a["url"] for a in best["gained"]]
    assert [a["url"] for a in rule_preview["gone"]] == [a["url"] for a in best["lost"]]
    assert {a["url"] for a in best["gained"]} == {urls[s] for s in urls if s.startswith("rocket-")}


def test_nothing_to_suggest_says_so_and_exits_0(site, tmp_path, database_url, capsys):
    urls = publish_outlet(site)
    config_dir = outlet_config(tmp_path / "config", site, database_url)
    run_pass(load_config(config_dir))
    label_all(capsys, config_dir, urls, ["test-1"], True)
    assert cli_json(capsys, "rules", "suggest", "--config", str(config_dir), "--json") == []
    code, out, _ = run_cli(capsys, "rules", "suggest", "--config", str(config_dir), "--rule", "Missiles", "--apply")
    assert code == 0 and "no suggestion to apply" in out
    assert (config_dir / "rules.yaml").read_text() == RULES
    code, _, err = run_cli(capsys, "rules", "suggest", "--config", str(config_dir), "--rule", "Nope")
    assert code == 1 and "no rule named 'Nope'" in err
