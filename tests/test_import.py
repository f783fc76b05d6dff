"""`newswatch import`: an archive of articles (JSON Lines) becomes history.

Bad lines are skipped and named by number while the rest is stored; articles are
deduplicated by the same identity as polled entries (the canonical URL), so importing
twice stores nothing twice; hits are marked `imported`, dated by their published time,
and alerted only with --alert, then once each, at a real local webhook receiver."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import write_config
from tests.rules_support import run_cli

RULES = """\
rules:
  - name: Munitions
    query: munition* NEAR/10 (Russia OR Moscow)
"""
MATCHING = "North Korea has shipped more than 1,000 containers of munitions to Russia, officials said."
QUIET = "The central bank left interest rates unchanged on {day}."


def article_line(number: int, published: datetime, *, matching: bool, **extra) -> str:
    return json.dumps({
        "url": f"https://archive.example.org/news/{number}?utm_source=export",
        "title": f"Report number {number}",
        "text": MATCHING if matching else QUIET.format(day=published.date()),
        "published": published.isoformat().replace("+00:00", "Z"),
        "feed": "Wire archive" if number % 2 else "Daily archive",
        **extra,
    })


def archive(path, count: int, *, bad: dict[int, str] | None = None, start: int = 0):
    """`count` lines, one article in ten matching, published an hour apart going back from now;
    `bad` replaces the given (1-based) line numbers with the given text."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    lines = [article_line(start + i, now - timedelta(hours=i), matching=i % 10 == 0) for i in range(count)]
    for number, text in (bad or {}).items():
        lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def hits(capsys, config_dir, *extra) -> list[dict]:
    code, out, err = run_cli(capsys, "hits", "--config", str(config_dir), "--json", *extra)
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("workers", ["1", "2"])  # in this process, and in a pool of two
def test_an_archive_with_three_bad_lines_stores_the_rest_and_names_each_bad_line(tmp_path, webhook, capsys, workers,
                                                                                 database_url):
    config_dir = write_config(tmp_path / "config", feeds=[], rules=RULES, database_url=database_url,
                              channels={"hook": {"url": webhook.apprise_url()}})
    bad = {17: "{not json", 420: '["a", "list"]', 999: json.dumps({"url": "https://x.example/1", "text": "t",
                                                                  "published": "last Tuesday"})}
    source = archive(tmp_path / "archive.jsonl", 1000, bad=bad)

    code, out, err = run_cli(capsys, "import", "--config", str(config_dir), "--workers", workers, str(source))

    assert code == 0, err
    assert "1000 line(s) read: 997 article(s) stored, 0 already stored, 3 skipped" in out
    assert f"{source}:17: skipped: not JSON" in err
    assert f"{source}:420: skipped: not a JSON object" in err
    assert f"{source}:999: skipped: 'published' is not a date: 'last Tuesday'" in err
    stored = hits(capsys, config_dir)
    assert len(stored) == 100  # lines 1, 11, ... 991 match; none of them was a bad line
    assert all(hit["imported"] and hit["deliveries"] == {} for hit in stored)
    assert webhook.received == []  # history is not news: nothing alerted without --alert
    newest = min(stored, key=lambda hit: hit["url"].rsplit("/", 1)[1].zfill(4))
    assert newest["found_at"] == newest["published"]  # dated by the article, not the import
    assert {hit["feed"] for hit in stored} == {"Daily archive"}  # even numbers: the feed named in the line
    assert "utm_source" not in stored[0]["url"]  # the canonical URL, as for polled entries
    assert {(hit["language"], hit["language_source"]) for hit in stored} == {("en", "text")}


def test_importing_again_stores_nothing_twice_and_since_filters_by_published_time(tmp_path, capsys, database_url):
    config_dir = write_config(tmp_path / "config", feeds=[], rules=RULES, database_url=database_url)
    source = archive(tmp_path / "archive.jsonl", 200)
    assert run_cli(capsys, "import", "--config", str(config_dir), str(source))[0] == 0

    compressed = tmp_path / "again.jsonl.gz"
    compressed.write_bytes(gzip.compress(source.read_bytes()))
    code, out, err = run_cli(capsys, "import", "--config", str(config_dir), str(compressed), "--json")

    assert code == 0, err
    summary = json.loads(out)
    assert (summary["stored"], summary["already_stored"], summary["hits"]) == (0, 200, 0)
    assert len(hits(capsys, config_dir)) == 20
    recent = hits(capsys, config_dir, "--since", "2d")  # published within 48 hours: lines 1, 11, ..., 41
    assert len(recent) == 5


DISTINCT = [
    "North Korea has shipped more than 1,000 containers of munitions to Russia, officials said on Monday.",
    "Satellite images show trains carrying munitions from the port of Rajin towards Russia's border.",
    "Ukraine's intelligence service said a third of the shells Russia fires came from North Korean munitions plants.",
]


def test_alert_sends_each_imported_hit_once(tmp_path, webhook, capsys):
    config_dir = write_config(tmp_path / "config", feeds=[], rules=RULES,
                              channels={"hook": {"url": webhook.apprise_url()}})
    source = tmp_path / "archive.jsonl"
    source.write_text("".join(json.dumps({"url": f"https://wire.example/{i}", "title": f"Story {i}", "text": text,
                                          "published": "2026-12-01T08:00:00Z"}) + "\n"
                              for i, text in enumerate(DISTINCT)), encoding="utf-8")

    code, out, err = run_cli(capsys, "import", "--config", str(config_dir), "--alert", str(source))

    assert code == 0, err
    assert "3 hit(s) (3 queued for alerting)" in out and "alerts: 3 sent" in out
    assert len(webhook.received) == 3
    assert {hit["deliveries"]["hook"] for hit in hits(capsys, config_dir)} == {"sent"}
    assert run_cli(capsys, "import", "--config", str(config_dir), "--alert", str(source))[0] == 0
    assert len(webhook.received) == 3  # nothing new, nothing sent again


def test_nothing_importable_exits_non_zero(tmp_path, capsys):
    config_dir = write_config(tmp_path / "config", feeds=[], rules=RULES)
    source = tmp_path / "broken.jsonl"
    source.write_text('{"url": "https://x.example/1"}\n[]\nnot json\n', encoding="utf-8")

    code, out, err = run_cli(capsys, "import", "--config", str(config_dir), str(source),
                             str(tmp_path / "missing.jsonl"))

    assert code == 1
    assert f"{source}:1: skipped: no 'text'" in err
    assert f"newswatch: cannot read {tmp_path / 'missing.jsonl'}: no such file\n" in err
    assert "FileNotFoundError" not in err
    assert "nothing could be imported" in err


def test_a_snippet_of_two_lines_is_indented_line_by_line_in_hits(tmp_path, capsys):
    """`hits` shows the snippet under its hit: a second line of it starts indented, not at column 0."""
    config_dir = write_config(tmp_path / "config", feeds=[], rules=RULES)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    text = "North Korea shipped munitions to Russia.\nMore followed."
    (tmp_path / "a.jsonl").write_text(article_line(1, now, matching=True, text=text) + "\n", encoding="utf-8")
    assert run_cli(capsys, "import", "--config", str(config_dir), str(tmp_path / "a.jsonl"))[0] == 0
    snippet = hits(capsys, config_dir)[0]["snippet"]
    assert "\n" in snippet

    code, out, _ = run_cli(capsys, "hits", "--config", str(config_dir))
    assert code == 0
    for line in snippet.splitlines():
        assert f"\n    {line}\n" in out, out
