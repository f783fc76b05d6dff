"""`newswatch hits` as a history: filter by rule, feed (name or URL), story and found date;
export CSV with the same keys as --json; every hit names the rule version that found it."""

from __future__ import annotations

import csv
import io
import json

from config import load_config
from flows.run_pass import run_pass
from tests.conftest import rss, write_config
from tests.rules_support import ARTICLES, PAGE, RULES_V1, publish, run_cli, slugs_of


def two_outlets(site, webhook, tmp_path, database_url):
    """Local Daily runs every article; Wire runs a copy of the launch story (same story)."""
    urls = publish(site)
    title, body = ARTICLES["launch"]
    copy = site.add("/wire/launch.html", PAGE.format(title=title, body=body))
    site.add("/wire.xml", rss([{"title": title, "link": copy}]), content_type="application/rss+xml")
    config_dir = write_config(tmp_path / "config", database_url=database_url, rules=RULES_V1,
                              feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily"},
                                     {"url": site.url("/wire.xml"), "name": "Wire"}],
                              channels={"hook": {"url": webhook.apprise_url()}})
    run_pass(load_config(config_dir))
    return config_dir, {**urls, "wire-launch": copy}


def hits(capsys, config_dir, *options: str) -> list[dict]:
    code, out, err = run_cli(capsys, "hits", "--config", str(config_dir), "--json", *options)
    assert code == 0, err
    return json.loads(out)


def test_hits_filter_by_rule_feed_story_and_date(site, webhook, tmp_path, database_url, capsys):
    config_dir, urls = two_outlets(site, webhook, tmp_path, database_url)
    everything = hits(capsys, config_dir)
    assert len(everything) == 6
    hashes = {rule.name: rule.content_hash for rule in load_config(config_dir).rules}
    assert all(hit["rule_hash"] == hashes[hit["rule"]] and not hit["backfilled"] for hit in everything)

    assert slugs_of(hits(capsys, config_dir, "--rule", "Missiles"), urls) == {"launch", "missile-factory",
                                                                                "wire-launch"}
    assert slugs_of(hits(capsys, config_dir, "--feed", "Wire"), urls) == {"wire-launch"}
    assert slugs_of(hits(capsys, config_dir, "--feed", site.url("/wire.xml")), urls) == {"wire-launch"}
    launch = next(hit for hit in everything if hit["url"] == urls["launch"])
    assert slugs_of(hits(capsys, config_dir, "--story", str(launch["story"])), urls) == {"launch", "wire-launch"}
    assert hits(capsys, config_dir, "--feed", "Nowhere") == []

    assert len(hits(capsys, config_dir, "--since", "1h", "--until", "2999-01-01")) == 6
    assert hits(capsys, config_dir, "--until", "1h") == []
    today = launch["found_at"][:10]
    assert len(hits(capsys, config_dir, "--since", today, "--until", today)) == 6  # a bare --until date: to its end
    assert len(hits(capsys, config_dir, "--rule", "Missiles", "--feed", "Local Daily", "--limit", "1")) == 1


def test_hits_csv_has_the_json_keys_and_joins_lists(site, webhook, tmp_path, database_url, capsys):
    config_dir, urls = two_outlets(site, webhook, tmp_path, database_url)
    as_json = hits(capsys, config_dir, "--rule", "Missiles")
    code, out, _ = run_cli(capsys, "hits", "--config", str(config_dir), "--rule", "Missiles", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(as_json) == 3
    assert list(rows[0]) == list(as_json[0])
    for row, hit in zip(rows, as_json):
        assert row["url"] == hit["url"] and row["rule_hash"] == hit["rule_hash"]
        assert row["terms"] == "; ".join(hit["terms"])
        assert row["deliveries"] == "; ".join(f"{c}: {s}" for c, s in hit["deliveries"].items())
        assert row["backfilled"] == "false" and row["story"] == str(hit["story"])
    wire = next(row for row in rows if row["url"] == urls["wire-launch"])
    assert wire["also_reported_by"] == f"Local Daily <{urls['launch']}>"

    code, out, _ = run_cli(capsys, "hits", "--config", str(config_dir), "--rule", "Nope", "--csv")
    assert code == 0 and out.splitlines() == [",".join(as_json[0])]
