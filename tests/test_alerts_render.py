"""What an alert looks like when it arrives: email through a real SMTP server, chat
through a real webhook; and that outside text cannot inject markup, mentions or headers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from alerts import send_pending
from alerts.escape import escape_markdown, one_line
from alerts.grouped import render_digest
from alerts.render import render_hit
from store import list_hits
from store.views import HitView
from tests.alerts_support import add_feeds, channel, match_article, open_db, seed_article, settings, store_article

HOSTILE = "<script>alert(1)</script> @everyone [click](javascript:alert(1))\r\nBcc: victim@example.org"


def hit_view(**changes) -> HitView:
    base = HitView(hit_id=1, rule="DPRK arms transfer", rule_hash="h", url="https://news.example.org/a",
                   title="North Korea ships shells", feed="Local Daily", feed_url="https://news.example.org/rss",
                   published=datetime(2026, 11, 27, 8, 15, tzinfo=timezone.utc),
                   found_at=datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc), terms=("North Korea", "shells"),
                   fields=("body",), snippet="North Korea shipped shells to Russia.", marks=((0, 11), (20, 26)),
                   baseline=False, language="en", flagged=None)
    return replace(base, **changes)


def test_seed_article_email_shows_rule_title_link_source_date_terms_and_snippet(tmp_path, smtp):
    engine = open_db(tmp_path)
    feed = add_feeds(engine, "Local Daily")["Local Daily"]
    article = seed_article()
    matches = [m for m in match_article(article) if m.rule == "DPRK arms transfer"]
    store_article(engine, feed, article, matches, ["mail"],
                  published=datetime(2026, 11, 27, 6, 30, tzinfo=timezone.utc))
    assert send_pending(engine, {"mail": channel("mail", smtp.apprise_url())}, settings()).sent == 1

    message = smtp.inbox.messages[0]
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert message["subject"] == one_line(f"[newswatch] DPRK arms transfer: {article.title}")
    assert f'<a href="{article.url}">' in html and "DPRK arms transfer" in html
    assert "Local Daily" in html and "2026-11-27 06:30 UTC" in html
    for term in matches[0].terms:
        assert f"<mark><b>{term}</b></mark>" in html or term in html
    assert "<mark><b>" in html  # the snippet has its terms marked
    assert "DPRK arms transfer" in text and article.title in text and "Matched terms" in text
    assert matches[0].snippet.split()[0] in text


def mattermost_url(webhook) -> str:
    """A chat that renders markdown (Mattermost), posting to the local receiver."""
    return webhook.apprise_url("/abcdefghijklmnopqrstuvwxyz").replace("json://", "mmost://")


def test_hostile_title_arrives_escaped_in_email_and_chat(tmp_path, smtp, webhook):
    engine = open_db(tmp_path)
    feed = add_feeds(engine, "Local Daily")["Local Daily"]
    article = replace(seed_article(), title=HOSTILE)
    matches = [m for m in match_article(article) if m.rule == "DPRK arms transfer"]
    channels = {"mail": channel("mail", smtp.apprise_url()), "chat": channel("chat", mattermost_url(webhook)),
                "hook": channel("hook", webhook.apprise_url())}
    store_article(engine, feed, article, matches, channels)
    assert send_pending(engine, channels, settings()).sent == 3

    message = smtp.inbox.messages[0]
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "@everyone" not in html and "@\u200beveryone" in html
    assert "\n" not in message["subject"] and "\r" not in message["subject"]
    assert message["bcc"] is None and "victim@example.org" not in (message["to"] or "")
    assert "@everyone" not in message["subject"]
    chat = next(post["text"] for post in webhook.received if "text" in post)
    assert "@everyone" not in chat and "<script>" not in chat
    assert "[click](javascript" not in chat
    raw = next(post for post in webhook.received if "message" in post)  # json://: plain text, for a script
    assert "@everyone" not in raw["message"] + raw["title"] and "\n" not in raw["title"]
    assert raw["message"].splitlines()[3] == article.url  # the title stayed on its one line


def test_markdown_escaping_and_links_only_for_http():
    hit = hit_view(title="**bold** [x](http://evil)", url="javascript:alert(1)")
    body = render_hit(hit, "markdown").body
    assert "](javascript" not in body  # no link for a non-http URL
    assert escape_markdown("**bold**") in body
    assert "[x](http://evil)" not in body


def test_bodies_are_cut_under_the_channel_limit():
    long = hit_view(snippet="word " * 5000)
    assert len(render_hit(long, "markdown", 1000).body) <= 1000
    digest = render_digest("desk", [replace(long, hit_id=i, story_id=i) for i in range(40)], "html", 8000)
    assert len(digest.body) <= 8000 and "more entries did not fit" in digest.body
    assert digest.body.count("<h3>") < 40


def test_list_hits_has_story_keys_even_without_copies(tmp_path):
    engine = open_db(tmp_path)
    feed = add_feeds(engine, "Local Daily")["Local Daily"]
    article = seed_article()
    store_article(engine, feed, article, match_article(article), [])
    data = list_hits(engine)[0].to_json()
    assert data["story"] is not None and data["also_reported_by"] == [] and data["deliveries"] == {}


def test_chat_titles_carry_no_markup_and_no_line_breaks():
    from alerts.escape import chat_title

    title = chat_title("<!here> [x](http://e) `code` *b* | @everyone\nSecond line")
    assert not set("<>[]`*|\n") & set(title)
    assert "@\u200beveryone" in title and title.startswith("‹!here›")


TRADE_PAGE = ("<!doctype html><html lang=\"en\"><head><title>Tariffs hit US-China trade</title></head><body>"
              "<article><h1>Tariffs hit US-China trade</h1><p>Markets were calm on Monday morning in most of "
              "Asia, traders said. Washington raised tariffs on China again, and Beijing said the new Tariffs "
              "would hurt US-China trade talks.</p><p>Officials gave no further details on Tuesday, and "
              "reporters were not allowed to ask questions. More is expected later this week.</p>"
              "</article></body></html>")
TRADE_SENTENCE = "Washington raised tariffs on China again, and Beijing said the new Tariffs would hurt US-China"


def test_email_chat_and_json_alerts_explain_a_title_and_body_hit(site, smtp, webhook, tmp_path):
    """Terms in the title and the body: every channel shows the body sentence where they meet,
    each term once, the title's terms marked, one title prefix; json:// gets plain text."""
    from config import load_config
    from flows.run_pass import run_pass
    from tests.conftest import rss, write_config

    page = site.add("/news/trade.html", TRADE_PAGE)
    site.add("/rss.xml", rss([{"title": "Tariffs hit US-China trade", "link": page}]),
             content_type="application/rss+xml")
    config = write_config(tmp_path / "config", feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily"}],
                          rules="rules:\n  - name: Trade war\n    query: 'tariff* AND china'\n",
                          channels={"mail": {"url": smtp.apprise_url()}, "chat": {"url": mattermost_url(webhook)},
                                    "hook": {"url": webhook.apprise_url()}})
    assert run_pass(load_config(config)).alerts_sent == 3

    [hit] = list_hits(open_db_at(config))
    assert hit.fields == ("title", "body")
    assert len({term.casefold() for term in hit.terms}) == len(hit.terms) == 2
    assert hit.snippet.startswith(TRADE_SENTENCE) and hit.snippet != hit.title

    message = smtp.inbox.messages[0]
    html = message.get_body(("html",)).get_content()
    assert message["subject"] == "[newswatch] Trade war: Tariffs hit US-China trade"
    assert '<mark>Tariffs</mark> hit US-<mark>China</mark> trade</a>' in html  # the title's terms, marked
    assert "Washington raised <mark><b>tariffs</b></mark> on <mark><b>China</b></mark>" in html
    assert f"Matched terms: {', '.join(hit.terms)}" in message.get_body(("plain",)).get_content()

    chat = next(post["text"] for post in webhook.received if "text" in post)
    assert chat.startswith("[newswatch] Trade war: Tariffs hit US-China trade")
    assert "Washington raised **tariffs** on **China** again" in chat and "hit US\\-*China*" in chat  # markdown
    assert chat.count("Matched terms: ") == 1

    raw = next(post for post in webhook.received if "message" in post)
    assert raw["title"] == "[newswatch] Trade war: Tariffs hit US-China trade"
    assert "\\" not in raw["message"] and TRADE_SENTENCE in raw["message"]
    terms_line = next(line for line in raw["message"].splitlines() if line.startswith("Matched terms: "))
    listed = terms_line.removeprefix("Matched terms: ").split(", ")
    assert sorted(term.casefold() for term in listed) == ["china", "tariffs"]


def open_db_at(config_dir):
    from store import open_database

    return open_database(f"sqlite:///{config_dir / 'newswatch.db'}")


def test_plain_text_messages_carry_no_markup_and_the_one_prefix():
    """What json:// gets (single hits, digests, storm summaries): plain text, no escapes, no
    markdown; and every format's title starts with the same prefix."""
    hit = hit_view(title="US-China [talks] *resume*", terms=("US-China",), fields=("title", "body"),
                   snippet="US-China talks resume. @everyone", marks=((0, 8),))
    single = render_hit(hit, "text")
    digest = render_digest("desk", [hit, replace(hit, hit_id=2, story_id=2)], "text", 8000)
    for message in (single, digest):
        assert message.body_format == "text" and "\\" not in message.body and "**" not in message.body
        assert "US-China [talks] *resume*" in message.body and "@everyone" not in message.body
    for body_format in ("html", "markdown", "text"):
        assert render_hit(hit, body_format).title.startswith("[newswatch] DPRK arms transfer: ")
        assert render_digest("desk", [hit], body_format, 8000).title.startswith("[newswatch] digest (desk)")
    assert "<mark>US-China</mark> [talks]" in render_hit(hit, "html").body


def test_alerts_show_the_articles_language():
    assert "<b>Language:</b> ko" in render_hit(hit_view(language="ko"), "html").body
    assert "Language: ko" in render_hit(hit_view(language="ko"), "markdown").body
    assert "Language: unknown" in render_hit(hit_view(language=None), "markdown").body
    assert "Language: ko" in render_hit(hit_view(language="ko"), "text").body  # json:// and other plain channels
