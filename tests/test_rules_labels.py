"""`newswatch label`: after a pass over a local outlet, the analyst labels hits (by hit id) and
stored articles (by URL) for a rule, on SQLite and PostgreSQL. `hits --json` shows each
hit's `id` and `label`; a label can be changed and keeps the rule version it was given under;
an unknown target is named and nothing is labelled; retention keeps labelled articles."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from config import load_config
from flows.run_pass import run_pass
from store import open_database, purge_expired_articles
from store.tables import Article, Label
from tests.rules_support import edit_rules, outlet_config, publish, run_cli, snapshot
from tests.test_store_retention import age_articles


def hits_json(capsys, config_dir, *extra) -> list[dict]:
    code, out, err = run_cli(capsys, "hits", "--config", str(config_dir), "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_label_hits_and_articles_then_change_a_label(site, webhook, tmp_path, database_url, capsys):
    urls = publish(site)
    config_dir = outlet_config(tmp_path / "config", site, webhook, database_url)
    run_pass(load_config(config_dir))
    hits = hits_json(capsys, config_dir, "--rule", "Missiles")
    assert all(hit["id"] == hit["hit_id"] and hit["label"] is None for hit in hits)
    launch = next(hit for hit in hits if hit["url"] == urls["launch"])

    code, out, err = run_cli(capsys, "label", "--config", str(config_dir), "--rule", "Missiles", "--irrelevant",
                             str(launch["id"]))
    assert code == 0 and "1 new" in out, err
    code, out, err = run_cli(capsys, "label", "--config", str(config_dir), "--rule", "Missiles", "--relevant",
                             urls["missile-factory"], urls["drone-factory"])
    assert code == 0, err
    labels = {hit["url"]: hit["label"] for hit in hits_json(capsys, config_dir, "--rule", "Missiles")}
    assert labels == {urls["launch"]: "irrelevant", urls["missile-factory"]: "relevant"}
    assert all(hit["label"] is None for hit in hits_json(capsys, config_dir, "--rule", "Drones"))
    drone_hit = hits_json(capsys, config_dir, "--rule", "Drones")[0]
    code, out, err = run_cli(capsys, "label", "--config", str(config_dir), "--rule", "Missiles", "--irrelevant",
                             str(drone_hit["id"]))  # another rule's hit id: allowed, but said
    assert code == 0 and f"note: hit {drone_hit['id']} is a hit of rule 'Drones'" in err
    code, out, err = run_cli(capsys, "label", "--config", str(config_dir), "--rule", "Missiles", "--relevant",
                             drone_hit["url"])  # the label given back, so the rest of the test reads as before

    edit_rules(config_dir)  # a new version of Missiles: the label changes under it
    code, out, err = run_cli(capsys, "label", "--config", str(config_dir), "--rule", "Missiles", "--relevant",
                             urls["launch"])
    assert code == 0 and "1 changed" in out, err
    engine = open_database(database_url)
    with Session(engine) as session:
        rows = {a.url: (label.relevant, label.rule_hash) for label, a in session.execute(
            select(Label, Article).join(Article, Article.id == Label.article_id))}
    engine.dispose()
    new_hash = next(rule.content_hash for rule in load_config(config_dir).rules if rule.name == "Missiles")
    assert rows[urls["launch"]] == (True, new_hash)
    assert rows[urls["drone-factory"]][0] is True and rows[urls["drone-factory"]][1] != new_hash


def test_unknown_target_or_rule_labels_nothing(site, webhook, tmp_path, database_url, capsys):
    urls = publish(site)
    config_dir = outlet_config(tmp_path / "config", site, webhook, database_url)
    run_pass(load_config(config_dir))
    before = snapshot(database_url)
    code, _, err = run_cli(capsys, "label", "--config", str(config_dir), "--rule", "Missiles", "--relevant",
                           urls["launch"], "https://nowhere.example/x", "999999")
    assert code == 1 and "'https://nowhere.example/x', '999999'" in err and "nothing was labelled" in err
    code, _, err = run_cli(capsys, "label", "--config", str(config_dir), "--rule", "Nope", "--relevant",
                           urls["launch"])
    assert code == 1 and "no rule named 'Nope'" in err
    assert snapshot(database_url) == before


def test_retention_keeps_labelled_articles(site, webhook, tmp_path, database_url, capsys):
    urls = publish(site)
    config_dir = outlet_config(tmp_path / "config", site, webhook, database_url)
    run_pass(load_config(config_dir))
    code, _, err = run_cli(capsys, "label", "--config", str(config_dir), "--rule", "Weather", "--irrelevant",
                           urls["snow"])
    assert code == 0, err
    engine = open_database(database_url)
    age_articles(engine, 90)
    assert purge_expired_articles(engine, 30) == 4
    with Session(engine) as session:
        kept = session.execute(select(Article.url, Article.text)).all()
    engine.dispose()
    assert [url for url, _ in kept] == [urls["snow"]] and "heavy snow" in kept[0][1]


def test_rule_briefing_shows_labels_and_precision(site, webhook, tmp_path, capsys):
    from flows.briefing import briefing_markdown, label_summary
    from store import list_hits

    urls = publish(site)
    config_dir = outlet_config(tmp_path / "config", site, webhook, f"sqlite:///{tmp_path / 'n.db'}")
    run_pass(load_config(config_dir))
    for flag, slug in (("--relevant", "missile-factory"), ("--irrelevant", "launch")):
        assert run_cli(capsys, "label", "--config", str(config_dir), "--rule", "Missiles", flag, urls[slug])[0] == 0
    engine = open_database(f"sqlite:///{tmp_path / 'n.db'}")
    history = list_hits(engine, rule="Missiles")
    engine.dispose()
    markdown = briefing_markdown("Missiles", history, None)
    assert "**Label:** relevant" in markdown and "**Label:** irrelevant" in markdown
    assert label_summary(history) == "; labelled 2: 1 relevant, precision 0.50"
