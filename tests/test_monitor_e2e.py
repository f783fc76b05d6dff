"""The whole monitor, end to end, as a user runs it: `newswatch run` against feeds and
pages served from 127.0.0.1, alerts into a real SMTP server and a real webhook, the
run recorded by a real Prefect API."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from newswatch.cli import main
from tests.conftest import DEMO_PAGES, rss, write_config

UNRELATED_PAGE = """<!doctype html><html lang="en"><head><title>Seoul weather turns cold</title></head>
<body><article><h1>Seoul weather turns cold</h1>
<p>Temperatures in Seoul fell below freezing on Tuesday morning as a cold front moved across the peninsula.</p>
<p>The Korea Meteorological Administration said the cold spell would last until the weekend, and advised
residents to check heating systems and to take care on icy roads.</p>
<p>Forecasters expect snow in the mountainous east of the country by Thursday.</p>
</article></body></html>"""


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """In-process, for the commands that do not run a flow."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_newswatch(*argv: str) -> tuple[int, str, str]:
    """The installed `newswatch` command in its own process, against the test Prefect API."""
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()  # set while a test Prefect server is up; a broken config never needs one
    env = {**os.environ, **({"PREFECT_API_URL": api_url} if api_url else {})}
    done = subprocess.run([sys.executable, "-m", "newswatch", *argv], capture_output=True, text=True,
                          env=env, timeout=300)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def monitored_site(site, smtp, webhook, tmp_path, database_url):
    """A local outlet publishing the seed article and an unrelated one; two channels."""
    seed = site.add("/news/dprk-missiles.html", (DEMO_PAGES / "seed_article.html").read_bytes())
    weather = site.add("/news/weather.html", UNRELATED_PAGE)
    site.add("/rss.xml", rss([
        {"title": "South Korea calls Russia 'self-contradictory' for using North Korean missiles", "link": seed},
        {"title": "Seoul weather turns cold", "link": weather},
    ]), content_type="application/rss+xml")
    config = write_config(
        tmp_path / "config",
        database_url=database_url,
        feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily", "tags": ["korea"]}],
        channels={"desk-email": {"url": smtp.apprise_url()}, "team-hook": {"url": webhook.apprise_url()}},
    )
    return config, seed


@pytest.mark.slow
def test_run_stores_dprk_hit_alerts_once_and_second_run_is_silent(
    prefect_harness, monitored_site, smtp, webhook, capsys
):
    config, seed_url = monitored_site

    code, out, err = run_newswatch("run", "--config", str(config), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["feeds_ok"] == 1 and summary["new_articles"] == 2

    code, out, _ = run_cli(capsys, "hits", "--config", str(config), "--json")
    hits = json.loads(out)
    rules_hit = {hit["rule"] for hit in hits}
    assert "DPRK arms transfer" in rules_hit
    assert "K-pop tours" not in rules_hit  # "Stray Kids ... world tour" is only in the related-headlines chrome
    dprk = next(hit for hit in hits if hit["rule"] == "DPRK arms transfer")
    assert dprk["url"] == seed_url
    assert dprk["feed"] == "Local Daily"
    assert "Pyongyang" in dprk["terms"] or "North Korea" in dprk["terms"]
    assert any(term in dprk["snippet"] for term in dprk["terms"])
    assert all(hit["url"] == seed_url for hit in hits)  # the weather page hits nothing

    assert len(smtp.inbox.messages) == len(hits)
    assert len(webhook.received) == len(hits)
    subjects = [message["subject"] for message in smtp.inbox.messages]
    assert any("DPRK arms transfer" in subject for subject in subjects)
    assert all("\n" not in subject for subject in subjects)
    posted = " ".join(item.get("message", "") + item.get("title", "") for item in webhook.received)
    assert "DPRK arms transfer" in posted

    code, out, err = run_newswatch("run", "--config", str(config), "--json")
    assert code == 0, err
    again = json.loads(out)
    assert again["hits"] == 0 and again["new_articles"] == 0 and again["alerts_sent"] == 0
    code, out, _ = run_cli(capsys, "hits", "--config", str(config), "--json")
    assert len(json.loads(out)) == len(hits)
    assert len(smtp.inbox.messages) == len(hits)
    assert len(webhook.received) == len(hits)


@pytest.mark.slow
def test_each_run_shows_in_prefect_with_a_readable_name_and_its_hits(prefect_harness, monitored_site, capsys):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    config, seed_url = monitored_site
    code, out, err = run_newswatch("run", "--config", str(config), "--json")
    assert code == 0, err
    found = json.loads(out)["hits"]
    assert found >= 1

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
        names = [run.name for run in runs]
        assert any(name.startswith("monitor ") and name.endswith(f"- {found} hit{'s' if found != 1 else ''}")
                   for name in names), names
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["monitor-hits"])))
    stories = [a.data for a in artifacts if a.type == "markdown"]  # the run's hits, as stories
    assert any(f"]({seed_url})" in text and "**Rule:** DPRK arms transfer" in text for text in stories)


def test_hits_json_on_empty_history_is_an_empty_array(tmp_path, capsys):
    config = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/feed.xml"}])
    code, out, _ = run_cli(capsys, "hits", "--config", str(config), "--json")
    assert code == 0 and json.loads(out) == []


def test_rules_test_json_lists_matching_rules_with_terms_and_snippet(tmp_path, capsys):
    body = tmp_path / "kpop.txt"
    body.write_text("Stray Kids will hold a third world tour in 2024 after two new albums.")
    code, out, _ = run_cli(capsys, "rules", "test", "--config", "config", "--json",
                           str(DEMO_PAGES / "seed_article.html"), str(body))
    assert code == 0
    results = json.loads(out)
    assert [result["input"] for result in results] == [str(DEMO_PAGES / "seed_article.html"), str(body)]
    seed_rules = {match["rule"]: match for match in results[0]["matches"]}
    assert "DPRK arms transfer" in seed_rules and "K-pop tours" not in seed_rules
    for match in results[0]["matches"] + results[1]["matches"]:
        assert match["terms"] and all(isinstance(term, str) for term in match["terms"])
        assert any(term in match["snippet"] for term in match["terms"])
    assert [match["rule"] for match in results[1]["matches"]] == ["K-pop tours"]


def test_extract_json_gives_clean_article(capsys):
    code, out, _ = run_cli(capsys, "extract", str(DEMO_PAGES / "seed_article_divs.html"), "--json")
    assert code == 0
    article = json.loads(out)
    assert {"title", "text", "date", "language", "url"} <= set(article)
    assert "Pyongyang" in article["text"]
    assert "Stray Kids" not in article["text"]


BROKEN_CONFIGS = {
    "unknown key": ("rules.yaml", "rules:\n  - name: r\n    query: missile\n    chanels: [x]\n", 4, "rules[0].chanels"),
    "missing query": ("rules.yaml", "rules:\n  - name: r\n    channels: []\n", 2, "rules[0].query"),
    "unknown channel": ("rules.yaml", "rules:\n  - name: r\n    query: missile\n    channels:\n      - nowhere\n",
                        5, "rules[0].channels"),
    "bad yaml": ("feeds.yaml", "feeds:\n  - url: http://127.0.0.1/a\n    tags: [x\n", 3, "yaml"),  # the unclosed [
    "bad query": ("rules.yaml", "rules:\n  - name: r\n    query: (missile AND\n", 3, "rules[0].query"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CONFIGS))
@pytest.mark.parametrize("command", ["check", "run"])
def test_broken_config_names_file_line_field_and_writes_nothing(tmp_path, capsys, case, command):
    filename, text, line, field = BROKEN_CONFIGS[case]
    config = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/feed.xml"}])
    (config / filename).write_text(text)
    code, _, err = run_newswatch(command, "--config", str(config)) if command == "run" else \
        run_cli(capsys, command, "--config", str(config))
    assert code == (1 if command == "check" else 2)
    assert f"{config / filename}:{line}: {field}" in err, err
    assert not (config / "newswatch.db").exists()


def test_shipped_config_passes_check(capsys):
    code, out, err = run_cli(capsys, "check")
    assert code == 0, err
    assert "config OK" in out


def test_baseline_database_has_no_duplicate_rows(tmp_path):
    """Guard for the uniqueness the whole design leans on: the constraints exist in the schema."""
    from store import open_database

    engine = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    engine.dispose()
    schema = "\n".join(row[0] for row in sqlite3.connect(tmp_path / "x.db").execute(
        "select sql from sqlite_master where sql is not null"))
    assert "UNIQUE (rule, article_id)" in schema
    assert "UNIQUE (hit_id, channel)" in schema
    assert "UNIQUE (\"key\")" in schema or "UNIQUE (key)" in schema
