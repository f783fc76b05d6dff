"""Helpers for the alert and outbox tests: a database with feeds, and hits stored the way
a pass stores them (`save_articles`, matched by the real rules), without fetching."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from config import load_config
from config.models import AlertSettings, ChannelConfig, Config, FeedConfig
from extractors.articles import extract_article
from extractors.models import Article, FeedEntry
from matching import compile_rules
from matching.models import MatchInput, RuleMatch
from store import ArticleToSave, open_database, save_articles, sync_feeds

REPO = Path(__file__).resolve().parents[1]
SEED_PAGE = REPO / "newswatch" / "demo" / "pages" / "seed_article.html"


@lru_cache(maxsize=1)
def seed_article() -> Article:
    return extract_article(SEED_PAGE.read_bytes(), "https://news.example.org/dprk-missiles")


@lru_cache(maxsize=1)
def shipped_config() -> Config:
    return load_config(REPO / "config", environ={})


def open_db(tmp_path: Path):
    return open_database(f"sqlite:///{tmp_path / 'alerts.db'}")


def add_feeds(engine, *names: str) -> dict[str, int]:
    feeds = [FeedConfig(url=f"https://{name.lower().replace(' ', '-')}.example.org/rss", name=name) for name in names]
    return {state.name: state.id for state in sync_feeds(engine, feeds)}


def match_article(article: Article) -> list[RuleMatch]:
    config = shipped_config()
    ruleset = compile_rules(config.rules, config.aliases)
    return ruleset.match(MatchInput(title=article.title, body=article.text, language=article.language))


def simple_match(rule: str, text: str, term: str) -> RuleMatch:
    start = text.find(term)
    marks = ((start, start + len(term)),) if start >= 0 else ()
    return RuleMatch(rule=rule, rule_hash="h", terms=(term,), fields=("body",), snippet=text[:300], marks=marks)


def store_article(engine, feed_id: int, article: Article, matches, channels, *, key: str | None = None,
                  published: datetime | None = None):
    """Store one article with its matches; every rule alerts `channels`."""
    entry = FeedEntry(entry_key=key or article.url, link=article.url, title=article.title, summary="",
                      published=published or datetime.now(timezone.utc) - timedelta(hours=1))
    item = ArticleToSave(entry=entry, article=article, matches=tuple(matches))
    return save_articles(engine, feed_id, [item], channels_for_rule=lambda rule: tuple(channels))


def numbered_article(number: int, rule_word: str = "missile") -> Article:
    """A distinct article (different text, so a different story) mentioning `rule_word`."""
    words = " ".join(f"word{number}x{i}" for i in range(40))
    text = f"Report {number}: the {rule_word} story number {number}. {words}."
    return Article(url=f"https://news.example.org/story-{number}", title=f"Story {number}", text=text)


def channel(name: str, url: str, **options) -> ChannelConfig:
    return ChannelConfig(name=name, url=url, **options)


def settings(**options) -> AlertSettings:
    return replace(AlertSettings(send_timeout_seconds=5), **options)
