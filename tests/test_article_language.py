"""The article's language comes from its text (metadata is a hint), no rule is silently kept
away from an article, and a hit's title is the page's, else the feed entry's.

Pages and feeds are served from 127.0.0.1; passes are real (`run_pass`, and the Prefect
`monitor` flow where its artifacts are checked); alerts go to a real local webhook.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import load_config
from extractors.articles import extract_article, fallback_article
from extractors.feeds import parse_feed
from extractors.language import LanguageDecision, decide_language, settle_language
from extractors.models import Article
from flows.run_pass import run_pass
from newswatch.cli import main
from tests.conftest import DEMO_PAGES, rss, write_config

PAGES = Path(__file__).resolve().parent / "data" / "language"
FOREIGN = {"german": "de", "korean": "ko", "russian": "ru"}
QUERY = "missile OR ICBM OR Rakete OR 미사일 OR ракет*"
RULES = f"""rules:
  - name: english missiles
    query: {QUERY}
    languages: [en]
  - name: missiles anywhere
    query: {QUERY}
"""
NO_TITLE_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body><article>
<p>North Korea fired a short-range ballistic missile toward the East Sea on Tuesday, the military in Seoul said.</p>
<p>The missile flew about 600 kilometres before falling into the sea outside Japan's economic zone.</p>
<p>Officials in Tokyo said no damage to ships or aircraft had been reported.</p>
</article></body></html>"""
FEED_TITLE = "Seoul says North Korea fired a ballistic missile"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# the decision


def test_the_text_decides_when_metadata_disagrees():
    text = "South Korea called on Russia to stop using North Korean missiles in Ukraine, officials said."
    assert decide_language(text, "ko") == decide_language(text, None)
    assert decide_language(text, "ko") == LanguageDecision("en", "text")
    assert decide_language(text, "en-GB").source == "text+metadata"


def test_too_little_text_falls_back_to_metadata_unless_its_script_says_otherwise():
    assert decide_language("Missile!", "de") == LanguageDecision("de", "metadata")
    assert decide_language("Missile!", None).source == "undecided" and decide_language("Missile!").language is None
    assert decide_language("미사일 발사", "en").source == "undecided"  # Hangul is not English


def test_a_feeds_language_is_a_hint_for_a_page_the_text_could_not_decide():
    undecided = Article(url="u", title="", text="ICBM", language=None, language_source="undecided")
    settled = settle_language(undecided, "fr-FR")
    assert (settled.language, settled.language_source) == ("fr", "metadata")
    english = extract_article((PAGES / "english.html").read_bytes(), "http://127.0.0.1/a")
    assert settle_language(english, "en").language_source == "text+metadata"
    assert settle_language(english, "de") == english  # the text decided: a disagreeing feed changes nothing


def test_feed_entries_carry_their_feeds_language_and_fallback_articles_are_decided():
    body = ('<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><language>de-DE</language>'
            '<item><title>Nordkorea feuert erneut ballistische Rakete ab</title><link>http://127.0.0.1/a</link>'
            '<description>Die Rakete flog etwa 600 Kilometer weit, teilte das Militär in Seoul mit.</description>'
            '</item></channel></rss>').encode()
    [entry] = parse_feed(body).entries
    assert entry.language == "de-DE"
    article = fallback_article(entry, "fetch_failed")
    assert (article.language, article.language_source) == ("de", "text+metadata")


# acceptance 1: stored with the right language; `languages: [en]` hits the English ones;
# `rules test --json` lists the others under `skipped` with the reason


@pytest.fixture
def language_site(site):
    """The seed page (English text, lang="ko") and four pages without language metadata."""
    urls = {"seed": site.add("/seed.html", (DEMO_PAGES / "seed_article.html").read_bytes())}
    for name in ("english", *FOREIGN):
        urls[name] = site.add(f"/{name}.html", (PAGES / f"{name}.html").read_bytes())
    site.add("/rss.xml", rss([{"title": f"{name} story", "link": url} for name, url in urls.items()]),
             content_type="application/rss+xml")
    return urls


def test_pages_are_stored_with_the_language_of_their_text_and_filtered_by_it(language_site, site, tmp_path, capsys):
    config_dir = write_config(tmp_path / "config", feeds=[{"url": site.url("/rss.xml"), "name": "Wire"}], rules=RULES)
    summary = run_pass(load_config(config_dir))
    assert summary.new_articles == 5

    code, out, err = run_cli(capsys, "hits", "--config", str(config_dir), "--json")
    assert code == 0, err
    hits = json.loads(out)
    by_url = {hit["url"]: hit for hit in hits if hit["rule"] == "missiles anywhere"}
    expected = {"seed": "en", "english": "en", **FOREIGN}
    assert {name: by_url[url]["language"] for name, url in language_site.items()} == expected
    assert {name: by_url[url]["language_source"] for name, url in language_site.items()} == dict.fromkeys(expected, "text")
    english_hits = {hit["url"] for hit in hits if hit["rule"] == "english missiles"}
    assert english_hits == {language_site["seed"], language_site["english"]}


SCORES_PAGE = """<!doctype html><html><head><title>ICBM 2:1</title></head><body><article>
<p>ICBM 14 - 11 - 6 - 15 = 46; 18 - 22 - 13 - 17 = 70; 21 - 9 - 12 - 30 = 72.</p>
<p>7:40, 600 / 1.000; 2024-01-05; 08:12; 3-1; 4-4; 10 / 12; 99%.</p></article></body></html>"""


def feed_with_language(items: list[tuple[str, str]], language: str | None) -> str:
    declared = f"<language>{language}</language>" if language else ""
    entries = "".join(f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid></item>"
                      for title, link in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{declared}{entries}</channel></rss>'


def test_the_feeds_language_decides_only_what_the_text_cannot(site, tmp_path, capsys):
    """In a pass: a page with too few words takes its feed's <language>, or stays undecided
    and is then seen by a `languages: [en]` rule; a Russian page in a feed declaring German
    is Russian."""
    scores = [site.add(f"/scores-{n}.html", SCORES_PAGE.replace("2:1", f"2:{n}")) for n in (1, 2)]
    russian = site.add("/russian.html", (PAGES / "russian.html").read_bytes())
    site.add("/de.xml", feed_with_language([("1", scores[0]), ("2", russian)], "de"),
             content_type="application/rss+xml")
    site.add("/plain.xml", feed_with_language([("3", scores[1])], None), content_type="application/rss+xml")
    config_dir = write_config(tmp_path / "config", rules=RULES, feeds=[
        {"url": site.url("/de.xml"), "name": "German wire"}, {"url": site.url("/plain.xml"), "name": "Plain"}])
    assert run_pass(load_config(config_dir)).new_articles == 3

    code, out, _ = run_cli(capsys, "hits", "--config", str(config_dir), "--json")
    hits = json.loads(out)
    stored = {hit["url"]: (hit["language"], hit["language_source"]) for hit in hits if hit["rule"] == "missiles anywhere"}
    assert stored == {scores[0]: ("de", "metadata"), russian: ("ru", "text"), scores[1]: (None, "undecided")}
    assert all(hit["flagged"] is None for hit in hits)  # the pages' own text, not the feed entries'
    assert {hit["url"] for hit in hits if hit["rule"] == "english missiles"} == {scores[1]}


def test_rules_test_json_lists_the_rules_that_did_not_look_and_why(language_site, site, tmp_path, capsys):
    config_dir = write_config(tmp_path / "config", feeds=[{"url": site.url("/rss.xml")}], rules=RULES)
    short = tmp_path / "short.txt"
    short.write_text("ICBM!")  # too little text to decide: not excluded by `languages:`
    inputs = [*language_site.values(), str(short)]
    code, out, err = run_cli(capsys, "rules", "test", "--config", str(config_dir), "--json", *inputs)
    assert code == 0, err
    results = {result["input"]: result for result in json.loads(out)}
    for name, url in language_site.items():
        result = results[url]
        assert {"input", "title", "matches", "skipped"} <= set(result)
        matched = [match["rule"] for match in result["matches"]]
        if name in FOREIGN:
            assert matched == ["missiles anywhere"]
            [skipped] = result["skipped"]
            assert skipped["rule"] == "english missiles"
            assert "languages" in skipped["reason"] and FOREIGN[name] in skipped["reason"]
            assert "decided by text" in skipped["reason"]
        else:
            assert matched == ["english missiles", "missiles anywhere"] and result["skipped"] == []
    assert results[str(short)]["language_source"] == "undecided"
    assert [m["rule"] for m in results[str(short)]["matches"]] == ["english missiles", "missiles anywhere"]

    code, out, _ = run_cli(capsys, "rules", "test", "--config", str(config_dir), language_site["korean"])
    assert "[english missiles] not tested: languages:" in out and "the article is in ko" in out


def test_a_rule_with_tags_says_an_input_without_a_feed_was_not_looked_at(tmp_path, capsys):
    rules = f"rules:\n  - name: asia desk\n    query: {QUERY}\n    tags: [asia]\n"
    config_dir = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/rss.xml"}], rules=rules)
    code, out, _ = run_cli(capsys, "rules", "test", "--config", str(config_dir), "--json", str(PAGES / "english.html"))
    [result] = json.loads(out)
    assert result["matches"] == []
    assert result["skipped"][0]["rule"] == "asia desk" and "tags" in result["skipped"][0]["reason"]


# acceptance 2: a page without <title>: the hit carries the feed entry's title everywhere


def test_a_hit_on_a_page_without_title_carries_the_feed_entrys_title(prefect_harness, site, webhook, tmp_path,
                                                                     capsys):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.artifacts import rule_key
    from flows.monitor import monitor

    page = site.add("/untitled.html", NO_TITLE_PAGE)
    assert extract_article(NO_TITLE_PAGE.encode(), page).title == ""  # the page really has none
    site.add("/rss.xml", rss([{"title": FEED_TITLE, "link": page}]), content_type="application/rss+xml")
    config_dir = write_config(tmp_path / "config", feeds=[{"url": site.url("/rss.xml"), "name": "Wire"}],
                              rules=f"rules:\n  - name: missiles\n    query: {QUERY}\n",
                              channels={"hook": {"url": webhook.apprise_url()}})

    state = monitor(config_dir=str(config_dir), return_state=True)
    assert state.is_completed(), state
    assert state.result().alerts_sent == 1

    code, out, _ = run_cli(capsys, "hits", "--config", str(config_dir), "--json")
    [hit] = json.loads(out)
    assert hit["title"] == FEED_TITLE and hit["url"] == page
    [alert] = webhook.received
    assert FEED_TITLE in alert["title"] and FEED_TITLE in alert["message"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    published = {artifact.key: artifact.data for artifact in artifacts}
    for key in ("monitor-hits", rule_key("missiles", load_config(config_dir).settings.instance)):
        assert f"[{FEED_TITLE}]({page})" in published[key], key
